import { patched } from '@temporalio/workflow';
import { ListSnapshotsInput, newestFirst, type ListSnapshotsResult } from '../domain/index.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput } from './common.js';

/**
 * Reads used to carry RigboxWorkspaceId, so a workspace's list in the Temporal UI filled up with
 * `list-…` runs between the operations that changed it. They carry only RigboxOperation="list" now.
 */
export const READS_UNTAGGED_PATCH = 'reads-leave-the-workspace-filter';

/**
 * Lists snapshots (of one workspace, or all) through the worker, so callers need no Rigbox token.
 * Read-only: it takes no lock, and it stays out of `RigboxWorkspaceId="…"` (find reads with
 * `RigboxOperation="list"`).
 */
export async function listSnapshots(rawInput: ListSnapshotsInput = {}): Promise<ListSnapshotsResult> {
  const input = validateInput(ListSnapshotsInput, rawInput);
  const workspaceId = input.workspaceId ?? null;
  tagWorkflow(patched(READS_UNTAGGED_PATCH) ? null : workspaceId, 'list');
  const tracker = new ProgressTracker('list', workspaceId);
  try {
    tracker.begin('list');
    const snapshots = (
      await activities('quickCall', `list snapshots of ${workspaceId ?? 'all workspaces'}`).listSnapshots(input)
    ).sort(newestFirst);
    tracker.finish('completed');
    return {
      workspaceId,
      snapshots,
      count: snapshots.length,
      totalSizeBytes: snapshots.reduce((sum, s) => sum + s.size_bytes, 0),
    };
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, 'list');
  }
}
