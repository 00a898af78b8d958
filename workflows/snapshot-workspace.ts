/** The snapshotWorkspace workflow, and the snapshot step under the lock that backups and checkpoints share. */
import type { PreflightResult } from '../activities/index.js';
import type { RestartPolicy, SnapshotWorkspaceInput } from '../domain/inputs.js';
import type { SnapshotWorkspaceResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { activities, runOperation, validateInput, withWorkspaceLock, type ProgressTracker } from './common.js';
import { whileStopped } from './restart.js';

export interface SnapshotCoreResult {
  snapshot: SnapshotWorkspaceResult['snapshot'];
  workspaceStatus: string;
  adopted: boolean;
}

/**
 * stop → await stopped → snapshot → start → await running, for a caller that holds the lock.
 * Shared by snapshotWorkspace, backupWorkspace and checkpointWorkspace.
 */
export async function snapshotUnderLock(
  params: { workspaceId: string; name: string; restart: RestartPolicy },
  preflight: PreflightResult,
  tracker: ProgressTracker,
): Promise<SnapshotCoreResult> {
  const { workspaceId, name } = params;
  const { changed: created, workspaceStatus } = await whileStopped(workspaceId, preflight, params.restart, tracker, () => {
    tracker.begin('snapshot');
    return activities('longCopy', `snapshot ${workspaceId} as "${name}"`).createSnapshot({
      workspaceId,
      name,
      knownIds: preflight.sameNameSnapshotIds,
      notBeforeMs: Date.now(),
    });
  });
  return { snapshot: created.snapshot, workspaceStatus, adopted: created.adopted };
}

/**
 * Takes a named snapshot of a workspace: the docs' stop → snapshot → start, durable. By default the
 * workspace ends as it began (`restart: "previous"`); a failure or a cancellation after the stop
 * starts it again before the workflow fails.
 */
export async function snapshotWorkspace(rawInput: SnapshotWorkspaceInput): Promise<SnapshotWorkspaceResult> {
  const input = validateInput(schemas.snapshotWorkspaceInput(), rawInput);
  return runOperation('snapshot', input.workspaceId, (tracker) =>
    withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'snapshot', snapshotName: input.name }, tracker, (preflight) =>
      snapshotUnderLock(input, preflight, tracker),
    ),
  );
}
