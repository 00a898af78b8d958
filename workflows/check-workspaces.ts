import type { CheckWorkspacesInput } from '../domain/inputs.js';
import type { CheckWorkspacesResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput } from './common.js';

/**
 * Whether workspaces exist in Rigbox (GET /workspaces/{id}), through the worker so that callers need
 * no Rigbox token; for each that does not, the nearest known ids. `schedule create` and `fleet` ask it
 * first, so that a typo (`ws_dmeo`) is refused with "did you mean ws_demo?" instead of a schedule that
 * fails every night. Read-only: it takes no lock.
 */
export async function checkWorkspaces(rawInput: CheckWorkspacesInput): Promise<CheckWorkspacesResult> {
  const input = validateInput(schemas.checkWorkspacesInput(), rawInput);
  tagWorkflow(null, 'check');
  const tracker = new ProgressTracker('check', null);
  try {
    tracker.begin('preflight');
    const result = await activities('inventory', `check that ${input.workspaceIds.length} workspaces exist`).checkWorkspaceIds({
      workspaceIds: input.workspaceIds,
    });
    tracker.finish('completed');
    return result;
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, 'preflight');
  }
}
