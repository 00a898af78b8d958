import { WORKFLOW_TYPES } from '../contract/index.js';
import type { ListSnapshotsInput } from '../domain/inputs.js';
import { newestFirst } from '../domain/order.js';
import type { ListSnapshotsResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, checkedInput } from './common.js';
import { PATCHES, hasPatch } from './patches.js';

/**
 * Lists snapshots (of one workspace, or all) through the worker, so callers need no Rigbox token.
 * Read-only: it takes no lock, and it stays out of `RigboxWorkspaceId="…"` (find reads with
 * `RigboxOperation="list"`).
 */
export async function listSnapshots(rawInput: ListSnapshotsInput = {}): Promise<ListSnapshotsResult> {
  const input = await checkedInput(WORKFLOW_TYPES.list, schemas.listSnapshotsInput, rawInput);
  const workspaceId = input.workspaceId ?? null;
  tagWorkflow(hasPatch(PATCHES.core2026_11) ? null : workspaceId, 'list');
  const tracker = new ProgressTracker('list', workspaceId);
  try {
    tracker.begin('list');
    const snapshots = (await activities('listing', `list snapshots of ${workspaceId ?? 'all workspaces'}`).listSnapshots(input)).sort(newestFirst);
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
