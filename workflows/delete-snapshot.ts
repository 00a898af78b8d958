import { DeleteSnapshotInput, type DeleteSnapshotResult, type RigboxSnapshot } from '../domain/index.js';
import { activities, runOperation, validateInput, withWorkspaceLock } from './common.js';

/** Deletes a snapshot of a workspace, after checking it is this workspace's. Serialized with the workspace's other operations. */
export async function deleteSnapshot(rawInput: DeleteSnapshotInput): Promise<DeleteSnapshotResult> {
  const input = validateInput(DeleteSnapshotInput, rawInput);
  return runOperation('delete', input.workspaceId, (tracker) =>
    withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'delete', snapshotId: input.snapshotId }, tracker, async (preflight) => {
      tracker.begin('delete');
      await activities('quickCall', `delete ${input.snapshotId} of ${input.workspaceId}`).deleteSnapshot(input);
      tracker.end();
      return { workspaceId: input.workspaceId, snapshotId: input.snapshotId, snapshot: preflight.snapshot as RigboxSnapshot };
    }),
  );
}
