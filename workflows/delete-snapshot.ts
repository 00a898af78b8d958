import { DeleteSnapshotInput, type DeleteSnapshotResult, type RigboxSnapshot } from '../domain/index.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput, withWorkspaceLock } from './common.js';

/** Deletes a snapshot of a workspace, after checking it is this workspace's. Serialized with the workspace's other operations. */
export async function deleteSnapshot(rawInput: DeleteSnapshotInput): Promise<DeleteSnapshotResult> {
  const input = validateInput(DeleteSnapshotInput, rawInput);
  tagWorkflow(input.workspaceId, 'delete');
  const tracker = new ProgressTracker('delete', input.workspaceId);
  try {
    const snapshot = await withWorkspaceLock(
      { workspaceId: input.workspaceId, operation: 'delete', snapshotId: input.snapshotId },
      tracker,
      async (preflight) => {
        tracker.begin('delete');
        await activities('quickCall', `delete ${input.snapshotId} of ${input.workspaceId}`).deleteSnapshot(input);
        tracker.end();
        return preflight.snapshot as RigboxSnapshot;
      },
    );
    tracker.finish('completed');
    return { workspaceId: input.workspaceId, snapshotId: input.snapshotId, snapshot, steps: tracker.steps };
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, undefined);
  }
}
