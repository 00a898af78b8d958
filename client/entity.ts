/**
 * The one way a client changes a workspace entity (workflows/workspace-entity.ts) from outside: an Update
 * with Start (the entity starts if it never ran), after recovering it from its closed run's state if an
 * operator terminated it, so its state (holds, baseline, enrollment) is never lost with a run. Holds
 * (client/holds.ts) and enrollment (client/enrollment.ts) both go through `onEntity`.
 */
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { WORKFLOW_TYPES, operationKey, workspaceIdKey, workspaceStateQuery } from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import type { WorkspaceEntityInput } from '../domain/workspace-entity.js';
import type { TemporalContext } from './context.js';

function startOf(ctx: TemporalContext, input: WorkspaceEntityInput) {
  return {
    workflowId: workflowIds.workspace(input.workspaceId),
    taskQueue: ctx.taskQueue,
    args: [input] as [WorkspaceEntityInput],
    typedSearchAttributes: [
      { key: workspaceIdKey, value: input.workspaceId },
      { key: operationKey, value: 'workspace' },
    ],
    staticSummary: `rigsnap internal: the lock and state of ${input.workspaceId}`,
  };
}

/** A terminated entity's successor, started from the closed run's state (never an empty run in its place). */
async function recover(ctx: TemporalContext, workspaceId: string): Promise<void> {
  const id = workflowIds.workspace(workspaceId);
  const latest = await ctx.client.workflow.getHandle(id).describe();
  if (latest.status.name === 'RUNNING') return;
  const state = await ctx.client.workflow.getHandle(id, latest.runId).query(workspaceStateQuery);
  try {
    await ctx.client.workflow.start(WORKFLOW_TYPES.workspace, {
      ...startOf(ctx, { workspaceId, state, recoveredFrom: latest.runId }),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** One update on the entity, starting it if it never ran and recovering it if it was terminated. */
export async function onEntity<R>(ctx: TemporalContext, workspaceId: string, run: (start: WithStartWorkflowOperation<never>) => Promise<R>): Promise<R> {
  const where = { workflowId: workflowIds.workspace(workspaceId) };
  for (let attempt = 0; ; attempt++) {
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPES.workspace, {
      ...startOf(ctx, { workspaceId }),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    }) as unknown as WithStartWorkflowOperation<never>;
    try {
      return await run(start);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 2) throw ctx.error(err, where);
      await ctx.call(where, () => recover(ctx, workspaceId));
    }
  }
}
