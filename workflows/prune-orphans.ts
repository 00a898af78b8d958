import type { PruneOrphansInput } from '../domain/inputs.js';
import type { PruneOrphansResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { parseDuration } from '../domain/time.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput } from './common.js';

/**
 * Deletes the snapshots of workspaces that no longer exist (Rigbox answers 404 for them: Rigbox
 * restores only into the same workspace, so they can never be restored) once they are `olderThan`.
 * `dryRun` only lists them; `snapshotIds` limits a real run to what a dry run showed. It takes no
 * workspace lock: the workspace is gone, so no operation can hold it, and each snapshot's workspace is
 * asked again within the same activity that deletes it.
 */
export async function pruneOrphans(rawInput: PruneOrphansInput = {}): Promise<PruneOrphansResult> {
  const input = validateInput(schemas.pruneOrphansInput(), rawInput);
  tagWorkflow(null, 'prune-orphans');
  const tracker = new ProgressTracker('prune-orphans', null);
  try {
    tracker.begin(input.dryRun ? 'list' : 'delete');
    const result = await activities(
      input.dryRun ? 'inventory' : 'pruneDelete',
      `${input.dryRun ? 'find' : 'delete'} orphan snapshots older than ${input.olderThan}`,
    ).pruneOrphanSnapshots({
      olderThanMs: parseDuration(input.olderThan)!,
      olderThan: input.olderThan,
      dryRun: input.dryRun,
      ...(input.snapshotIds ? { snapshotIds: input.snapshotIds } : {}),
    });
    tracker.setDetail({ selected: result.selectedCount, deleted: result.deletedCount, failed: result.failed.length });
    tracker.finish('completed');
    return result;
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, input.dryRun ? 'list' : 'delete');
  }
}
