import type { InventoryWorkspacesInput } from '../domain/inputs.js';
import type { InventoryWorkspacesResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { parseDuration } from '../domain/time.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput } from './common.js';

/**
 * Every workspace rigsnap can know of: those Rigbox reveals through its snapshot list, those the
 * schedules name and those asked for; per workspace its snapshots by kind, whether it still exists,
 * its protection, its backup runs in the period and a 30-day storage forecast; and the orphans. Read
 * through the worker (callers need no Rigbox token) and read-only: it takes no lock. `discover`,
 * `usage` and `report` are views of this one result.
 */
export async function inventoryWorkspaces(rawInput: InventoryWorkspacesInput = {}): Promise<InventoryWorkspacesResult> {
  const input = validateInput(schemas.inventoryWorkspacesInput(), rawInput);
  tagWorkflow(null, 'inventory');
  const tracker = new ProgressTracker('inventory', null);
  try {
    tracker.begin('list');
    const result = await activities('inventory', 'read snapshots, workspaces, schedules and runs').workspaceInventory({
      checkExistence: input.checkExistence,
      sinceMs: Date.now() - parseDuration(input.since)!,
      workspaceIds: input.workspaceIds,
    });
    tracker.setDetail({ workspaces: result.workspaces.length, snapshots: result.totals.count, bytes: result.totals.bytes, orphans: result.orphans.count });
    tracker.finish('completed');
    return result;
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, 'list');
  }
}
