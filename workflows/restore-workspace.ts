import { WORKFLOW_TYPES } from '../contract/index.js';
import { SAFETY_SNAPSHOT_PREFIX } from '../domain/constants.js';
import type { RestartPolicy, RestoreWorkspaceInput } from '../domain/inputs.js';
import type { RestoreWorkspaceResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import { utcStamp } from '../domain/time.js';
import * as schemas from '../domain/schemas.js';
import type { PreflightResult } from '../activities/index.js';
import { workflowInfo } from '@temporalio/workflow';
import { SAFETY_HOLD_MS } from '../domain/holds.js';
import { activities, runOperation, checkedInput, withWorkspaceLock, type ProgressTracker } from './common.js';
import { finishedWhileCancelled, snapshotOfCancelledCopy } from './landed.js';
import { requestedBy } from './delete-snapshot.js';
import { PATCHES, hasPatch } from './patches.js';
import { whileStopped } from './restart.js';

/**
 * stop → await stopped → (safety snapshot) → restore → start → await running, for a caller that
 * holds the lock. Shared by restoreWorkspace and the checkpoint's rollback.
 */
export async function restoreUnderLock(
  params: { workspaceId: string; snapshotId: string; keepCurrent: boolean; restart: RestartPolicy },
  preflight: PreflightResult,
  tracker: ProgressTracker,
): Promise<Omit<RestoreWorkspaceResult, 'steps'>> {
  const { workspaceId, snapshotId } = params;
  const restored = preflight.snapshot as RigboxSnapshot;
  const { changed: safetySnapshot, workspaceStatus } = await whileStopped(workspaceId, preflight, params.restart, tracker, async () => {
    let safety: RigboxSnapshot | null = null;
    if (params.keepCurrent) {
      tracker.begin('safety-snapshot');
      safety = await takeSafetySnapshot(workspaceId, preflight, (snapshot) => tracker.noteLanded({ kind: 'safety-snapshot', snapshot }));
    }
    tracker.begin('restore');
    const landed = { kind: 'restored' as const, snapshotId, name: restored.name };
    try {
      await activities('longCopy', `restore ${snapshotId} into ${workspaceId}`).restoreSnapshot({ workspaceId, snapshotId });
    } catch (err) {
      // Cancelled while Rigbox restored: the disk is overwritten all the same.
      if (finishedWhileCancelled(err)?.restored === snapshotId) tracker.noteLanded(landed);
      throw err;
    }
    tracker.noteLanded(landed);
    return safety;
  });
  if (safetySnapshot && hasPatch(PATCHES.holds2026_12)) await holdSafetySnapshot(workspaceId, safetySnapshot.id);
  return { restored, safetySnapshot, workspaceStatus };
}

/**
 * The safety snapshot `pre-restore-<UTC time>` of a stopped workspace, the disk as it was before a restore.
 * `landed` hears of it once it exists, a copy that a cancellation could not stop included. Shared by the
 * single and the group restore.
 */
export async function takeSafetySnapshot(workspaceId: string, preflight: PreflightResult, landed: (snapshot: RigboxSnapshot) => void): Promise<RigboxSnapshot> {
  const name = `${SAFETY_SNAPSHOT_PREFIX}${utcStamp(new Date())}`;
  let safety: RigboxSnapshot;
  try {
    safety = (
      await activities('longCopy', `safety snapshot of ${workspaceId} as "${name}"`).createSnapshot({
        workspaceId,
        name,
        // Under the lock, every safety snapshot the preflight saw was made before this step: never ours to adopt.
        knownIds: preflight.existingSafetySnapshotIds ?? [],
        notBeforeMs: Date.now(),
      })
    ).snapshot;
  } catch (err) {
    const made = snapshotOfCancelledCopy(err);
    if (made) landed(made);
    throw err;
  }
  landed(safety);
  return safety;
}

/** A restore's safety snapshot is held for 24 h: a prune or a hasty delete cannot take the way back. */
export async function holdSafetySnapshot(workspaceId: string, safetySnapshotId: string): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  await activities('quickCall', `hold safety snapshot ${safetySnapshotId} for 24 h`).holdAutomatically({
    workspaceId,
    request: {
      snapshotId: safetySnapshotId,
      reason: `safety snapshot of the restore ${workflowId}`,
      by: requestedBy(),
      until: new Date(Date.now() + SAFETY_HOLD_MS).toISOString(),
      kind: 'safety',
      owner: workflowId,
    },
    updateId: `${workflowId}/${runId}/hold-${safetySnapshotId}`,
  });
}

/**
 * Restores a snapshot into its workspace. Before any downtime it checks that the snapshot exists and
 * is this workspace's; with `keepCurrent` it first takes a safety snapshot `pre-restore-<UTC time>`.
 */
export async function restoreWorkspace(rawInput: RestoreWorkspaceInput): Promise<RestoreWorkspaceResult> {
  const input = await checkedInput(WORKFLOW_TYPES.restore, schemas.restoreWorkspaceInput, rawInput);
  return runOperation('restore', input.workspaceId, (tracker) =>
    withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'restore', snapshotId: input.snapshotId }, tracker, (preflight) =>
      restoreUnderLock(input, preflight, tracker),
    ),
  );
}
