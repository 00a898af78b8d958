/**
 * `abandon` from outside: ends an operation that keeps trying to start its workspace again (a revoked
 * token, a maintenance that does not end), leaving the workspace as it is. The update is answered once
 * the run has stopped trying; the run then ends with an `Abandoned` failure and releases its lock.
 */
import { WORKFLOW_TYPES, abandonUpdate } from '../contract/index.js';
import { parseAbandonRequest, type AbandonRequest, type AbandonResult } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { RigsnapError, invalidInput } from './errors.js';

export interface AbandonOutcome extends AbandonResult {
  workflowId: string;
  runId: string;
  url: string;
}

/**
 * Abandons the latest run of `workflowId`. Bad input (no reason) fails before anything is sent; a run
 * that is not in its restart loop refuses it (`Conflict`, saying why); a closed run is `Rejected`.
 */
export async function abandonRun(ctx: TemporalContext, workflowId: string, request: AbandonRequest): Promise<AbandonOutcome> {
  const parsed = parseAbandonRequest(request);
  if (!parsed.ok) throw invalidInput(parsed.message, [parsed.message.split(':')[0]!]);
  const desc = await ctx.call({ workflowId }, () => ctx.client.workflow.getHandle(workflowId).describe());
  const where = { workflowId, runId: desc.runId };
  if (desc.type === WORKFLOW_TYPES.lock) {
    throw new RigsnapError({ type: 'Rejected', message: `${workflowId} is the workspace lock; abandon the operation that holds it instead`, workflowId });
  }
  if (desc.status.name !== 'RUNNING') {
    throw new RigsnapError({ type: 'Rejected', message: `${workflowId} has already ended (${desc.status.name.toLowerCase()}); nothing to abandon`, ...where });
  }
  const handle = ctx.client.workflow.getHandle(workflowId, desc.runId);
  const r = await ctx.call(where, () => handle.executeUpdate(abandonUpdate, { args: [parsed.value] }));
  return { ...r, ...where, url: ctx.workflowUrl(workflowId, desc.runId) };
}
