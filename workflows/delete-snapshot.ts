import { WORKFLOW_TYPES } from '../contract/index.js';
import type { DeleteSnapshotInput } from '../domain/inputs.js';
import type { DeleteSnapshotResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import * as schemas from '../domain/schemas.js';
import { activities, runOperation, checkedInput, withWorkspaceLock } from './common.js';

/** Deletes a snapshot of a workspace, after checking it is this workspace's. Serialized with the workspace's other operations. */
export async function deleteSnapshot(rawInput: DeleteSnapshotInput): Promise<DeleteSnapshotResult> {
  const input = await checkedInput(WORKFLOW_TYPES.delete, schemas.deleteSnapshotInput, rawInput);
  return runOperation('delete', input.workspaceId, (tracker) =>
    withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'delete', snapshotId: input.snapshotId }, tracker, async (preflight) => {
      tracker.begin('delete');
      await activities('quickCall', `delete ${input.snapshotId} of ${input.workspaceId}`).deleteSnapshot(input);
      tracker.end();
      return { workspaceId: input.workspaceId, snapshotId: input.snapshotId, snapshot: preflight.snapshot as RigboxSnapshot };
    }),
  );
}
