import { ApplicationFailure, allHandlersFinished, condition, defineUpdate, setHandler } from '@temporalio/workflow';
import {
  CheckpointWorkspaceInput,
  ReleaseCheckpointInput,
  parseDuration,
  parseInput,
  type CheckpointStateName,
  type CheckpointWorkspaceResult,
  type RigboxSnapshot,
  type RollbackResult,
} from '../domain/index.js';
import {
  ProgressTracker,
  activities,
  asWorkflowFailure,
  tagWorkflow,
  validateInput,
  withWorkspaceLock,
} from './common.js';
import { restoreUnderLock } from './restore-workspace.js';
import { snapshotUnderLock } from './snapshot-workspace.js';

/** An update refused by its validator: typed, so callers can tell a conflict from bad input. */
const rejected = (type: 'Conflict' | 'InvalidInput', message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

export const rollbackUpdate = defineUpdate<RollbackResult, []>('rollback');
export const releaseUpdate = defineUpdate<{ released: true; snapshotDeleted: boolean }, [ReleaseCheckpointInput?]>('release');

/**
 * The docs' pre-demo checkpoint and experiment branching as one workflow: snapshot the workspace and
 * restart it, then wait. `rollback` (an update; repeatable) stops it, restores the checkpoint and starts
 * it, answering once it runs again. `release` (an update; `{deleteSnapshot: true}` to also delete the
 * checkpoint) ends the session; so does the TTL (keeping the snapshot). The lock is held only while a
 * step runs, so scheduled backups go on during the session.
 */
export async function checkpointWorkspace(rawInput: CheckpointWorkspaceInput): Promise<CheckpointWorkspaceResult> {
  const input = validateInput(CheckpointWorkspaceInput, rawInput);
  const { workspaceId } = input;
  tagWorkflow(workspaceId, 'checkpoint');
  const tracker = new ProgressTracker('checkpoint', workspaceId);
  const ttlMs = parseDuration(input.ttl)!;

  let state: CheckpointStateName = 'snapshotting';
  let snapshot: RigboxSnapshot | null = null;
  let rollbacks = 0;
  let release: { deleteSnapshot: boolean } | null = null;
  let snapshotDeleted = false;
  let expiresAt: string | null = null;
  const show = () =>
    tracker.setDetail({ state, snapshotId: snapshot?.id ?? null, snapshotName: input.name, rollbacks, expiresAt });

  setHandler(
    rollbackUpdate,
    async () => {
      state = 'rolling-back';
      show();
      try {
        const restored = await withWorkspaceLock(
          { workspaceId, operation: 'checkpoint', snapshotId: snapshot!.id },
          tracker,
          (preflight) =>
            restoreUnderLock({ workspaceId, snapshotId: snapshot!.id, keepCurrent: false, restart: 'always' }, preflight, tracker),
        );
        rollbacks++;
        return { snapshot: restored.restored, workspaceStatus: restored.workspaceStatus, rollbacks };
      } catch (err) {
        throw asWorkflowFailure(err, undefined);
      } finally {
        state = 'active';
        show();
      }
    },
    {
      validator: () => {
        if (state === 'snapshotting') throw rejected('Conflict', 'the checkpoint snapshot is still being taken; try again when it is active');
        if (state === 'rolling-back') throw rejected('Conflict', 'a rollback is already running');
        if (state !== 'active' || release) throw rejected('Conflict', `the checkpoint is ${release ? 'being released' : state}`);
      },
    },
  );

  setHandler(
    releaseUpdate,
    async (raw?: ReleaseCheckpointInput) => {
      const parsed = parseInput(ReleaseCheckpointInput, raw);
      release = parsed.ok ? parsed.value : { deleteSnapshot: false };
      await condition(() => state === 'released' || state === 'expired');
      return { released: true as const, snapshotDeleted };
    },
    {
      validator: (raw?: ReleaseCheckpointInput) => {
        const parsed = parseInput(ReleaseCheckpointInput, raw);
        if (!parsed.ok) throw rejected('InvalidInput', `invalid release input: ${parsed.message}`);
        if (release || state === 'released' || state === 'expired') throw rejected('Conflict', 'the checkpoint is already released');
      },
    },
  );

  try {
    const taken = await withWorkspaceLock({ workspaceId, operation: 'checkpoint', snapshotName: input.name }, tracker, (preflight) =>
      snapshotUnderLock({ workspaceId, name: input.name, restart: 'previous' }, preflight, tracker),
    );
    snapshot = taken.snapshot;
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, undefined);
  }

  state = 'active';
  expiresAt = new Date(Date.now() + ttlMs).toISOString();
  show();
  const releasedByUser = await condition(() => release !== null, ttlMs);
  // A rollback in flight finishes first: the workspace must not be left half-restored.
  await condition(() => state !== 'rolling-back');

  const requested = release as { deleteSnapshot: boolean } | null; // set by the update handler
  if (requested?.deleteSnapshot) {
    try {
      await withWorkspaceLock({ workspaceId, operation: 'checkpoint', snapshotId: snapshot.id }, tracker, async () => {
        tracker.begin('delete');
        await activities('quickCall', `delete checkpoint ${snapshot.id}`).deleteSnapshot({ workspaceId, snapshotId: snapshot.id });
        tracker.end();
      });
      snapshotDeleted = true;
    } catch (err) {
      // The session still ends; the caller of release learns the snapshot stayed.
      state = 'released';
      tracker.finish('failed');
      await condition(allHandlersFinished);
      throw asWorkflowFailure(err, 'delete');
    }
  }
  state = releasedByUser ? 'released' : 'expired';
  show();
  tracker.finish('completed');
  // Let the release update answer before the workflow completes.
  await condition(allHandlersFinished);
  return {
    workspaceId,
    snapshot,
    endedBy: releasedByUser ? 'release' : 'ttl',
    rollbacks,
    snapshotDeleted,
  };
}
