/**
 * checkpointGroup (issue 23, item 3): the pre-demo checkpoint of a whole group. A set of the group now
 * (the snapshotGroup workflow, as a child: it records the set in the group entity like any group
 * snapshot), then a session like checkpointWorkspace's (its CheckpointSession and Updates): `rollback`
 * runs the group restore of that set, all or nothing (workflows/group-restore.ts), as often as asked;
 * `release` (or the TTL) ends it, `{deleteSnapshot: true}` deleting the set's snapshots. Each member's
 * snapshot of the set is held in its workspace entity while the session is open. The locks are held
 * only while the set is taken, a rollback runs, or the set is deleted: backups go on during the session.
 */
import { ApplicationFailure, allHandlersFinished, condition, executeChild, isCancellation, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import { MEMO_KEYS } from '../domain/constants.js';
import type { RestoreTarget } from '../domain/group-restore.js';
import type { CheckpointGroupInput } from '../domain/inputs.js';
import type { CheckpointGroupResult, GroupRollbackResult } from '../domain/results.js';
import { parseDuration } from '../domain/time.js';
import * as schemas from '../domain/schemas.js';
import { CheckpointSession, endFailedSession, holdCheckpoint, setSessionHandlers, unholdCheckpoint } from './checkpoint-workspace.js';
import { ProgressTracker, activities, asWorkflowFailure, checkedInput, tagWorkflow } from './common.js';
import { settleAll } from './group-downtime.js';
import { restoreGroupUnderLocks } from './group-restore.js';
import type { snapshotGroup } from './snapshot-group.js';
import { withWorkspaceLocks } from './workspace-locks.js';

/** The session's set: what every rollback restores (`id` is the set's name, what the session shows). */
interface GroupCheckpointSet {
  id: string;
  targets: RestoreTarget[];
  startOrder: string[];
}

type Session = CheckpointSession<GroupCheckpointSet>;

/** The set, taken by a snapshotGroup child (a member's failure fails the checkpoint: a partial set is no checkpoint). */
async function takeSet(group: string, name: string, tracker: ProgressTracker): Promise<GroupCheckpointSet> {
  tracker.begin('snapshot', `group snapshot "${name}" of ${group}`);
  const requestedBy = workflowInfo().memo?.[MEMO_KEYS.requestedBy];
  const taken = await executeChild<typeof snapshotGroup>(WORKFLOW_TYPES['group-snapshot'], {
    workflowId: `${workflowInfo().workflowId}-set`,
    args: [{ group, name, restart: 'previous' }],
    ...(typeof requestedBy === 'string' ? { memo: { [MEMO_KEYS.requestedBy]: requestedBy } } : {}),
  });
  tracker.end();
  return { id: name, targets: taken.members.map((m) => ({ workspaceId: m.workspaceId, snapshotId: m.snapshotId! })), startOrder: taken.startOrder };
}

/** The `rollback` Update: the group restore of the set under every member's lock; answered once all run again. */
async function rollBackGroup(group: string, session: Session, tracker: ProgressTracker): Promise<GroupRollbackResult> {
  session.beginRollback();
  let succeeded = false;
  try {
    const set = session.snapshot!;
    const plan = { group, set: set.id, targets: set.targets, startOrder: set.startOrder };
    const ids = set.targets.map((t) => t.workspaceId);
    const restored = await withWorkspaceLocks(ids, { operation: 'group-checkpoint' }, tracker, () => restoreGroupUnderLocks(plan, tracker));
    succeeded = true;
    return { ...restored, rollbacks: session.rollbacks + 1 };
  } catch (err) {
    throw asWorkflowFailure(err, undefined);
  } finally {
    session.endRollback(succeeded);
  }
}

/** Deletes every snapshot of the set under the members' locks (a release that asked for it). */
async function deleteSet(set: GroupCheckpointSet, session: Session, tracker: ProgressTracker): Promise<void> {
  const ids = set.targets.map((t) => t.workspaceId);
  await withWorkspaceLocks(ids, { operation: 'group-checkpoint' }, tracker, async () => {
    tracker.begin('delete', `deleting the ${set.targets.length} snapshots of the set "${set.id}"`);
    await settleAll(
      set.targets.map((t) =>
        activities('quickCall', `delete ${t.snapshotId} of ${t.workspaceId}`).deleteSnapshot({ workspaceId: t.workspaceId, snapshotId: t.snapshotId }),
      ),
    );
    tracker.end();
  });
  session.snapshotDeleted = true;
}

/** The session from the set to its end by release or TTL, once every update has its answer. */
async function runGroupSession(
  input: { group: string; name: string },
  ttlMs: number,
  session: Session,
  tracker: ProgressTracker,
): Promise<CheckpointGroupResult> {
  const set = await takeSet(input.group, input.name, tracker);
  session.activate(set, new Date(Date.now() + ttlMs).toISOString());
  // Every member's snapshot of the set is held while the session is open, as a single checkpoint's is: a
  // prune, an expiry or a `delete` leaves it (the hold ends with the TTL by itself, or at the release).
  await settleAll(set.targets.map((t) => holdCheckpoint(t.workspaceId, { id: t.snapshotId }, input.name, session.expiresAt!, true)));
  const releasedByUser = await condition(() => session.release !== null, ttlMs);
  // A rollback in flight finishes first: the group must not be left half-restored.
  await condition(() => session.state !== 'rolling-back');
  if (releasedByUser) await settleAll(set.targets.map((t) => unholdCheckpoint(t.workspaceId, { id: t.snapshotId }, true)));
  if (session.release?.deleteSnapshot) await deleteSet(set, session, tracker);
  session.end({ kind: releasedByUser ? 'released' : 'expired' });
  tracker.finish('completed');
  await condition(allHandlersFinished);
  return {
    group: input.group,
    name: input.name,
    members: set.targets,
    startOrder: set.startOrder,
    endedBy: releasedByUser ? 'release' : 'ttl',
    rollbacks: session.rollbacks,
    snapshotDeleted: session.snapshotDeleted,
  };
}

/** A session cancelled once its set exists ends CancelledAfterChange naming the set (its snapshots are kept). */
function truthfulGroupCancellation(failure: unknown, session: Session): unknown {
  const set = session.snapshot;
  if (!set || !isCancellation(failure)) return failure;
  return ApplicationFailure.create({
    type: 'CancelledAfterChange',
    message:
      `cancelled after its set "${set.id}" was taken; its snapshots are kept (${set.targets.map((t) => `${t.workspaceId}: ${t.snapshotId}`).join(', ')})` +
      (session.rollbacks ? `; ${session.rollbacks} rollback(s) had restored it` : ''),
    nonRetryable: true,
    details: [{ set: set.id, members: set.targets, rollbacks: session.rollbacks }],
  });
}

/**
 * A checkpoint of a whole group: `{group, name, ttl?}`. Returns when the session ends (release or TTL);
 * `rollback` and `release` are the checkpoint's Updates, as for a single workspace.
 */
export async function checkpointGroup(rawInput: CheckpointGroupInput): Promise<CheckpointGroupResult> {
  const input = await checkedInput(WORKFLOW_TYPES['group-checkpoint'], schemas.checkpointGroupInput, rawInput);
  tagWorkflow(null, 'group-checkpoint');
  const tracker = new ProgressTracker('group-checkpoint', null);
  const session: Session = new CheckpointSession<GroupCheckpointSet>(tracker, input.name);
  setSessionHandlers(session, () => rollBackGroup(input.group, session, tracker));
  try {
    return await runGroupSession(input, parseDuration(input.ttl)!, session, tracker);
  } catch (err) {
    throw truthfulGroupCancellation(await endFailedSession(err, session, tracker), session);
  }
}
