/**
 * The backupGroup workflow (issue 23, item 4): what a group schedule (`rigsnap schedule create --group`)
 * runs. One set of the group, taken by a snapshotGroup child (so every stop, snapshot and start stays
 * visible in its own history), named `<namePrefix><YYYY-MM-DD-HHMM>` by the schedule's nominal time; then
 * the retention of the group's sets (domain/group-retention.ts): the sets it keeps are held in each
 * member's workspace entity (so a single workspace's prune or delete leaves them), the others lose that
 * hold and are deleted whole, each snapshot by a deleteSnapshot child, and are marked retired in the
 * group entity.
 *
 * One set per slot: the child's workflow id is the group and the set's name (workflowIds.groupScheduledSet)
 * with REJECT_DUPLICATE, so a second run for the same nominal time (a backfill over a slot that ran, a
 * retried action) finds the first one's set instead of taking another; the schedule's overlap policy is
 * SKIP, so two runs of one schedule never overlap.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, ParentClosePolicy, WorkflowIdReusePolicy, executeChild, log, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import { backupName } from '../domain/backup-names.js';
import { selectGroupRetention, setKey, setSnapshotIds, type GroupRetentionSelection } from '../domain/group-retention.js';
import type { GroupSet } from '../domain/groups.js';
import { isActive, keepReason } from '../domain/holds.js';
import { workflowIds } from '../domain/ids.js';
import type { BackupGroupInput, RetentionPolicy } from '../domain/inputs.js';
import type { BackupGroupResult, SnapshotGroupResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { backupNameDate } from './backup-workspace.js';
import { activities, checkedInput, nowIso, runOperation, type ProgressTracker } from './common.js';
import type { deleteSnapshot } from './delete-snapshot.js';
import { describeFailure } from './notify.js';
import type { snapshotGroup } from './snapshot-group.js';

type Input = { group: string; namePrefix: string; retention?: RetentionPolicy | undefined };
type RetentionReport = NonNullable<BackupGroupResult['retention']>;

/** The owner of the holds a group schedule places on its kept sets: one per group, whatever the prefix. */
export function groupRetentionOwner(group: string): string {
  return `group-schedule:${group}`;
}

/** The slot's set, by a snapshotGroup child; null when an earlier run of this slot already took it. */
async function takeSet(group: string, name: string, tracker: ProgressTracker): Promise<SnapshotGroupResult | null> {
  tracker.begin('snapshot', `group snapshot "${name}" of ${group}`);
  const workflowId = workflowIds.groupScheduledSet(group, name);
  try {
    return await executeChild<typeof snapshotGroup>(WORKFLOW_TYPES['group-snapshot'], {
      workflowId,
      args: [{ group, name, restart: 'previous' }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: `scheduled group snapshot "${name}" of ${group}, for ${workflowInfo().workflowId}`,
      // The schedule's level and fairness key (3 and the schedule id by default): the child runs as its parent.
      ...(workflowInfo().priority ? { priority: workflowInfo().priority } : {}),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info('this slot of the group schedule was taken already; no second set', { group, name, workflowId });
    return null;
  } finally {
    tracker.end();
  }
}

/** Each workspace's active holds as keep reasons, without this group schedule's own; and which snapshots carry its own. */
async function holdsOf(group: string, workspaceIds: readonly string[]): Promise<{ held: Record<string, string[]>; ours: Set<string> }> {
  const held: Record<string, string[]> = {};
  const ours = new Set<string>();
  const at = nowIso();
  for (const workspaceId of workspaceIds) {
    const view = await activities('quickCall', `read the holds of ${workspaceId}`).readHolds({ workspaceId });
    for (const h of view?.holds ?? []) {
      if (!isActive(h, at)) continue;
      if (h.owner === groupRetentionOwner(group)) ours.add(h.snapshotId);
      else (held[h.snapshotId] ??= []).push(keepReason(h));
    }
  }
  return { held, ours };
}

/** Holds every snapshot of the kept sets that does not carry this schedule's hold yet (one Update each, keyed by this run). */
async function holdKept(group: string, kept: readonly GroupSet[], ours: ReadonlySet<string>): Promise<void> {
  const { workflowId } = workflowInfo();
  const calls = kept.flatMap((set) =>
    set.members
      .filter((m) => m.snapshotId && !ours.has(m.snapshotId))
      .map((m) =>
        activities('entityCall', `hold ${m.snapshotId} of ${m.workspaceId} (set "${set.name}")`).holdAutomatically({
          workspaceId: m.workspaceId,
          request: {
            snapshotId: m.snapshotId!,
            reason: `kept by the group schedule of ${group}: set "${set.name}"`,
            by: workflowId,
            kind: 'manual',
            owner: groupRetentionOwner(group),
          },
          updateId: `${workflowId}/group-hold/${m.snapshotId}`,
        }),
      ),
  );
  await Promise.all(calls);
}

/**
 * Deletes every snapshot of one set: this schedule's hold ends first, then a deleteSnapshot child per
 * snapshot (under that workspace's lock, authorised by its entity). One held meanwhile is refused (Held)
 * and left in place; one already gone counts as deleted. Any other failure leaves the set for the next run.
 */
async function deleteSet(group: string, set: GroupSet): Promise<{ survivors: string[]; failed: string[] }> {
  const { workflowId } = workflowInfo();
  const survivors: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    set.members
      .filter((m) => m.snapshotId)
      .map(async ({ workspaceId, snapshotId }) => {
        const id = snapshotId!;
        await activities('entityCall', `release ${id} of ${workspaceId}`).unholdAutomatically({
          workspaceId,
          request: { snapshotId: id, by: workflowId, kind: 'manual', owner: groupRetentionOwner(group) },
          updateId: `${workflowId}/group-unhold/${id}`,
        });
        try {
          await executeChild<typeof deleteSnapshot>(WORKFLOW_TYPES.delete, {
            workflowId: `${workflowId}-delete-${id}`,
            args: [{ workspaceId, snapshotId: id }],
            parentClosePolicy: ParentClosePolicy.TERMINATE,
            staticSummary: `delete ${id} of ${workspaceId}: set "${set.name}" of ${group} is past the schedule's retention`,
            ...(workflowInfo().priority ? { priority: workflowInfo().priority } : {}),
          });
        } catch (err) {
          const { errorType } = describeFailure(err);
          if (errorType === 'Held') survivors.push(id);
          else if (errorType !== 'NotFound') failed.push(`${id} (${errorType})`);
        }
      }),
  );
  return { survivors, failed };
}

function reportOf(selection: GroupRetentionSelection, survivorsByKey: Map<string, string[]>, deletedKeys: Set<string>): RetentionReport {
  const view = (s: GroupSet) => ({ name: s.name, at: s.at, complete: s.complete, snapshotIds: setSnapshotIds(s) });
  return {
    kept: selection.kept.map((k) => ({ ...view(k.set), reasons: k.reasons })),
    deleted: selection.deleted.filter((s) => deletedKeys.has(setKey(s))).map((s) => ({ ...view(s), survivors: survivorsByKey.get(setKey(s)) ?? [] })),
    ignored: selection.ignored,
  };
}

/** The retention of the group's sets: select, hold the kept, delete the others whole, mark them retired. */
async function applyRetention(input: Input, retention: RetentionPolicy, tracker: ProgressTracker): Promise<RetentionReport> {
  tracker.begin('prune', `retention of the sets of ${input.group}`);
  const sets = await activities('entityCall', `read the sets of group ${input.group}`).readGroupSets({ group: input.group });
  const members = [...new Set(sets.filter((s) => !s.retired).flatMap((s) => s.members.map((m) => m.workspaceId)))].sort();
  const { held, ours } = await holdsOf(input.group, members);
  const selection = selectGroupRetention(sets, input.namePrefix, retention, held);
  await holdKept(
    input.group,
    selection.kept.map((k) => k.set),
    ours,
  );
  const survivorsByKey = new Map<string, string[]>();
  const deletedKeys = new Set<string>();
  const failures: string[] = [];
  // One set at a time, oldest first: a run cut short leaves the newest of the doomed sets, not holes everywhere.
  for (const set of [...selection.deleted].reverse()) {
    const { survivors, failed } = await deleteSet(input.group, set);
    if (failed.length) {
      failures.push(`set "${set.name}": ${failed.join(', ')}`);
      continue;
    }
    survivorsByKey.set(setKey(set), survivors);
    deletedKeys.add(setKey(set));
    await activities('entityCall', `mark the set "${set.name}" of ${input.group} deleted`).retireGroupSet({
      group: input.group,
      set: { ...set, retired: { at: nowIso(), by: workflowInfo().workflowId, survivors } },
    });
  }
  tracker.end();
  const report = reportOf(selection, survivorsByKey, deletedKeys);
  // Loud, like a prune's failed deletion: alerts and the schedule's pause on failure see it. The new set stands.
  if (failures.length)
    throw ApplicationFailure.create({
      type: 'PartialFailure',
      message: `the set was taken, but ${failures.length} sets past the retention of ${input.group} could not be deleted (the next run tries again): ${failures.join('; ')}`,
      nonRetryable: true,
      details: [report],
    });
  return report;
}

/**
 * What a group schedule runs. Public, PINNED: a run stays on the build that started it. A set that is
 * incomplete fails the run (PartialFailure from the child) before any retention: an old set is deleted
 * only after a new complete one exists, and the schedule's pause-on-failure sees it.
 */
export async function backupGroup(rawInput: BackupGroupInput): Promise<BackupGroupResult> {
  const input = await checkedInput(WORKFLOW_TYPES['group-backup'], schemas.backupGroupInput, rawInput);
  const { instant, timeZone } = backupNameDate(input.retention?.timezone);
  const name = backupName(input.namePrefix, instant, timeZone);
  return runOperation('group-backup', null, async (tracker) => {
    tracker.setDetail({ group: input.group, name });
    // An unknown or deleted group ends here (NotFound, non-retryable), before any workspace is touched.
    tracker.begin('resolve-group');
    await activities('entityCall', `read the members of group ${input.group}`).readGroup({ group: input.group });
    tracker.end();
    const taken = await takeSet(input.group, name, tracker);
    const set = taken ? (({ steps: _, ...rest }) => rest)(taken) : null;
    const duplicate = taken ? {} : { duplicateOf: workflowIds.groupScheduledSet(input.group, name) };
    const retention = taken && input.retention ? await applyRetention(input, input.retention, tracker) : null;
    return { group: input.group, name, set, ...duplicate, retention };
  });
}
