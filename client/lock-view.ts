import { lockStateQuery } from '../contract/index.js';
import { WorkspaceId, workflowIds, type LockState } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { validateField } from './errors.js';
import type { LockWait } from './views.js';

/** The workspace lock seen from outside, through its `lockState` query: who holds it, who waits. */

/**
 * Who holds a workspace's lock and who waits; null when no lock runs (nobody holds or waits) or no
 * worker answers within `timeoutMs`.
 */
export async function lockStateOf(ctx: TemporalContext, workspaceId: string, timeoutMs = 2000): Promise<LockState | null> {
  const id = validateField('workspaceId', WorkspaceId, workspaceId);
  const ask = (workflowId: string) => ctx.client.withDeadline(Date.now() + timeoutMs, () => ctx.client.workflow.getHandle(workflowId).query(lockStateQuery));
  // The workspace entity holds the lock; operations from before it still finish on the old lock workflow.
  const [entity, legacy] = await Promise.all([ask(workflowIds.workspace(id)).catch(() => null), ask(workflowIds.lock(id)).catch(() => null)]);
  if (legacy && (legacy.holder || legacy.queue.length)) return legacy;
  return entity ?? legacy;
}

/**
 * Where an operation stands in its workspace's lock: who holds it and how many are ahead (the holder
 * counts); null when it neither waits nor holds it.
 */
export async function lockWaitOf(ctx: TemporalContext, workflowId: string, workspaceId: string): Promise<LockWait | null> {
  const state = await lockStateOf(ctx, workspaceId);
  if (!state) return null;
  const ours = (r: { workflowId: string }) => r.workflowId === workflowId;
  if (state.holder && ours(state.holder)) return null;
  const index = state.queue.findIndex(ours);
  if (index < 0) return null;
  return {
    workspaceId,
    holder: state.holder ? { workflowId: state.holder.workflowId, operation: state.holder.operation, since: state.holder.grantedAt } : null,
    ahead: index + (state.holder ? 1 : 0),
  };
}
