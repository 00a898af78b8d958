/**
 * The snapshotGroup workflow (issue 23, docs/design-groups.md item 2): one snapshot of every member of a
 * group, taken while all of them are stopped, so the set is one moment of the whole application.
 *
 * resolve (the group entity's query) → lock all (lockOrder, workflows/workspace-locks.ts) → preflight all
 * (before any downtime) → stop all and wait until all are stopped → snapshot each → start all in the start
 * order → record the set in the group entity. The stop, the snapshots and the start are the group's
 * downtime (workflows/group-downtime.ts, shared with the group restore): every member it stopped runs again
 * whatever failed or was cancelled (the restart guarantee), and the set is recorded, not cancellably. A member's failure fails the group with PartialFailure whose
 * details[0] is the result with each member's outcome; the snapshots made are kept as an incomplete set.
 */
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import type { GroupMembers } from '../activities/index.js';
import { groupSetOf, refuseMembers, type GroupSetMember } from '../domain/groups.js';
import type { RestartPolicy, SnapshotGroupInput } from '../domain/inputs.js';
import type { SnapshotGroupResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import * as schemas from '../domain/schemas.js';
import { activities, checkedInput, localActivities, nowIso, runOperation, shouldEndRunning, type ProgressTracker } from './common.js';
import { snapshotOfCancelledCopy } from './landed.js';
import { failureOf, leftDownFailure, whileAllStopped } from './group-downtime.js';
import { withWorkspaceLocks } from './workspace-locks.js';

/** One member as the run goes: what the preflight read, what was sent, what landed, how it ended. */
interface Member {
  workspaceId: string;
  knownStatus: string;
  endRunning: boolean;
  sameNameSnapshotIds: string[];
  snapshot: RigboxSnapshot | null;
  /** Its own failure (not a cancellation). */
  error: { errorType: string; message: string } | null;
  status: string;
}

type Input = { group?: string; workspaceIds?: string[]; name: string; restart: RestartPolicy };

/** The members and start order: from the group entity (strongly consistent), or the workspaces as listed. */
async function resolveMembers(input: Input, tracker: ProgressTracker): Promise<GroupMembers> {
  if (!input.group) return { members: input.workspaceIds!, startOrder: input.workspaceIds! };
  tracker.begin('resolve-group');
  const found = await activities('entityCall', `read the members of group ${input.group}`).readGroup({ group: input.group });
  const why = refuseMembers(found.members);
  if (why) throw ApplicationFailure.create({ type: 'InvalidInput', message: `group ${input.group}: ${why}`, nonRetryable: true });
  tracker.end();
  return found;
}

/** Checks every member under its lock, all before anything stops: one that fails ends the group with nothing stopped. */
async function preflightAll(input: Input, ids: readonly string[], tracker: ProgressTracker): Promise<Member[]> {
  tracker.begin('preflight', `checking ${ids.length} workspaces`);
  const checked = await Promise.all(
    ids.map((workspaceId) => localActivities('preflight', `check ${workspaceId}`).preflight({ workspaceId, snapshotName: input.name })),
  );
  return checked.map((c, i) => ({
    workspaceId: ids[i]!,
    knownStatus: c.workspace.status,
    endRunning: shouldEndRunning(input.restart, c.workspace.status),
    sameNameSnapshotIds: c.sameNameSnapshotIds,
    snapshot: null,
    error: null,
    status: c.workspace.status,
  }));
}

/** Snapshots every member at once (the create-and-adopt activity: a retry or a cancelled copy that landed is adopted). */
async function snapshotAll(members: Member[], name: string, tracker: ProgressTracker): Promise<void> {
  tracker.begin('snapshot', `snapshotting ${members.length} workspaces as "${name}"`);
  await Promise.all(
    members.map(async (m) => {
      try {
        const made = await activities('longCopy', `snapshot ${m.workspaceId} as "${name}"`).createSnapshot({
          workspaceId: m.workspaceId,
          name,
          knownIds: m.sameNameSnapshotIds,
          notBeforeMs: Date.now(),
        });
        m.snapshot = made.snapshot;
      } catch (err) {
        // Cancelled during the copy: a copy cannot be stopped, and the activity says which snapshot it became.
        m.snapshot = snapshotOfCancelledCopy(err) ?? null;
        if (!m.snapshot && !isCancellation(err)) m.error = failureOf(err);
      }
    }),
  );
}

/** Each member's outcome, in member order (pure from what the run recorded). */
function outcomes(members: readonly Member[]): Array<GroupSetMember & { workspaceStatus: string }> {
  return members.map((m) => ({
    workspaceId: m.workspaceId,
    outcome: m.snapshot ? 'snapshotted' : m.error ? 'failed' : 'not-snapshotted',
    snapshotId: m.snapshot?.id ?? null,
    ...(m.error && !m.snapshot ? { errorType: m.error.errorType, message: m.error.message } : {}),
    workspaceStatus: m.status,
  }));
}

/** Records the set in the group entity when there is a group and a snapshot landed; never fails the group. */
async function recordSet(input: Input, members: readonly Member[], tracker: ProgressTracker): Promise<{ recorded: boolean; why?: string }> {
  if (!input.group) return { recorded: false, why: 'the workspaces were listed, not a group' };
  const { workflowId, runId } = workflowInfo();
  const set = groupSetOf(
    { name: input.name, at: nowIso(), workflowId, runId },
    outcomes(members).map(({ workspaceStatus: _, ...m }) => m),
  );
  if (!set) return { recorded: false, why: 'no snapshot was made' };
  tracker.begin('record-set');
  try {
    return await activities('entityCall', `record the set "${input.name}" in group ${input.group}`).recordGroupSet({ group: input.group, set });
  } catch (err) {
    return { recorded: false, why: failureOf(err).message };
  } finally {
    tracker.end();
  }
}

/**
 * Under every member's lock: preflight all, then stop, snapshot and start with the group's restart
 * guarantee, then the set. Ends with the result, PartialFailure, or (cancelled) CancelledAfterChange when
 * a snapshot landed, Cancelled otherwise.
 */
async function snapshotMembers(input: Input, resolved: GroupMembers, tracker: ProgressTracker): Promise<Omit<SnapshotGroupResult, 'steps'>> {
  const members = await preflightAll(input, resolved.members, tracker);
  const downtime = await whileAllStopped(
    members.map((m) => ({ workspaceId: m.workspaceId, status: m.knownStatus, endRunning: m.endRunning })),
    resolved.startOrder,
    tracker,
    () => snapshotAll(members, input.name, tracker),
  );
  for (const m of members) {
    const d = downtime.members[m.workspaceId]!;
    m.status = d.status;
    if (d.failure !== null) m.error ??= failureOf(d.failure);
  }
  // Every member it stopped runs again (or is gone, or was abandoned): the set is recorded whatever ended the run.
  const record = await CancellationScope.nonCancellable(() => recordSet(input, members, tracker));
  const interrupted = downtime.outcome.ok || downtime.outcome.phase === 'stop' ? null : downtime.outcome.failure;
  const result = {
    group: input.group ?? null,
    name: input.name,
    complete: members.every((m) => m.snapshot !== null),
    members: outcomes(members),
    startOrder: resolved.startOrder,
    recorded: record.recorded,
    ...(record.why ? { recordedWhy: record.why } : {}),
  };
  // Members left down (an operator's abandon, a member gone) are the news, whatever else happened.
  if (downtime.startFailure !== undefined) {
    const made = result.complete ? `the set "${input.name}" is complete${result.recorded ? ' and recorded' : ''}` : `the set "${input.name}" is incomplete`;
    throw leftDownFailure(downtime, `group snapshot: ${made}`, result);
  }
  if (interrupted !== null || CancellationScope.current().consideredCancelled) throw endOfInterrupted(interrupted, result);
  if (!result.complete) throw partialFailure(result);
  return result;
}

/** What a run that was interrupted (cancelled, mostly) ends with, once every member it stopped runs again. */
function endOfInterrupted(interrupted: unknown, result: Omit<SnapshotGroupResult, 'steps'>): unknown {
  const made = result.members.filter((m) => m.snapshotId);
  if (interrupted !== null && !isCancellation(interrupted)) return interrupted;
  if (made.length === 0)
    return interrupted ?? new CancelledFailure('the group snapshot was cancelled before any snapshot landed; every member it stopped was started again');
  return ApplicationFailure.create({
    type: 'CancelledAfterChange',
    message:
      `the group snapshot "${result.name}" was cancelled after ${made.length} of ${result.members.length} snapshots landed ` +
      `(${made.map((m) => `${m.workspaceId}: ${m.snapshotId}`).join(', ')}); every member it stopped was started again; ` +
      (result.recorded ? 'the set is recorded incomplete' : 'the set was not recorded'),
    nonRetryable: true,
    details: [result],
  });
}

/** The PartialFailure of a group snapshot with a member that failed: details[0] is the result. */
function partialFailure(result: Omit<SnapshotGroupResult, 'steps'>): ApplicationFailure {
  const failed = result.members.filter((m) => m.outcome !== 'snapshotted');
  return ApplicationFailure.create({
    type: 'PartialFailure',
    message:
      `the group snapshot "${result.name}"${result.group ? ` of group ${result.group}` : ''} is incomplete: ` +
      failed.map((m) => `${m.workspaceId} ${m.outcome}${m.errorType ? ` (${m.errorType}: ${m.message})` : ''}`).join('; ') +
      `; the ${result.members.length - failed.length} snapshots made are kept` +
      (result.recorded ? ', recorded as an incomplete set' : '') +
      `; members now: ${result.members.map((m) => `${m.workspaceId} ${m.workspaceStatus}`).join(', ')}`,
    nonRetryable: true,
    details: [result],
  });
}

/**
 * Snapshots every member of a group (or of the listed workspaces) as one set. Public, PINNED: a run stays
 * on the build that started it, so its code never changes under it.
 */
export async function snapshotGroup(rawInput: SnapshotGroupInput): Promise<SnapshotGroupResult> {
  const input = await checkedInput(WORKFLOW_TYPES['group-snapshot'], schemas.snapshotGroupInput, rawInput);
  return runOperation('group-snapshot', null, async (tracker) => {
    tracker.setDetail({ name: input.name, ...(input.group ? { group: input.group } : { workspaceIds: input.workspaceIds }) });
    const resolved = await resolveMembers(input, tracker);
    tracker.setDetail({ name: input.name, ...(input.group ? { group: input.group } : {}), members: resolved.members, startOrder: resolved.startOrder });
    return withWorkspaceLocks(resolved.members, { operation: 'group-snapshot' }, tracker, () => snapshotMembers(input, resolved, tracker));
  });
}
