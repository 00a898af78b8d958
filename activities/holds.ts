/**
 * The activities through which operations ask the workspace entity about holds: authorise deletions
 * (a delete or prune, holding the workspace), report them settled, hold and release automatic holds (a
 * checkpoint's snapshot, a restore's safety snapshot). By Update-with-Start, recovering a terminated
 * entity first (activities/workspace-entity.ts), so holds are never lost with a run. None calls Rigbox.
 */
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  WORKFLOW_TYPES,
  authoriseDeletesUpdate,
  deletesSettledSignal,
  holdSnapshotUpdate,
  unholdSnapshotUpdate,
  workspaceHoldsQuery,
} from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import type { DeleteAuthorisation, DeleteAuthorisationRequest, HoldAnswer, HoldRequest, HoldsView, UnholdAnswer, UnholdRequest } from '../domain/holds.js';
import type { ActivityEnv } from './env.js';
import { entityStart, recoverEntity } from './workspace-entity.js';

const RECOVERIES_PER_CALL = 3;

/**
 * Runs one update on the workspace's entity, starting it if it never ran and recovering it if an
 * operator terminated it. The callers pass an update id, so a retry of the activity is the same update.
 */
async function onEntity<R>(env: ActivityEnv, workspaceId: string, call: (start: WithStartWorkflowOperation<never>) => Promise<R>): Promise<R> {
  for (let recoveries = 0; ; recoveries++) {
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPES.workspace, {
      ...entityStart(env, { workspaceId }),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    }) as unknown as WithStartWorkflowOperation<never>;
    try {
      return await call(start);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || recoveries >= RECOVERIES_PER_CALL) throw err;
      await recoverEntity(env, workspaceId);
    }
  }
}

function client(env: ActivityEnv) {
  if (!env.deps.temporal) throw ApplicationFailure.nonRetryable('the holds activities need a Temporal client (ActivityDeps.temporal)');
  return env.deps.temporal.client;
}

async function authoriseDeletes(
  env: ActivityEnv,
  input: { workspaceId: string; request: DeleteAuthorisationRequest; updateId: string },
): Promise<DeleteAuthorisation> {
  return onEntity(env, input.workspaceId, (start) =>
    client(env).workflow.executeUpdateWithStart(authoriseDeletesUpdate, { args: [input.request], updateId: input.updateId, startWorkflowOperation: start }),
  );
}

async function holdAutomatically(env: ActivityEnv, input: { workspaceId: string; request: HoldRequest; updateId: string }): Promise<HoldAnswer> {
  return onEntity(env, input.workspaceId, (start) =>
    client(env).workflow.executeUpdateWithStart(holdSnapshotUpdate, { args: [input.request], updateId: input.updateId, startWorkflowOperation: start }),
  );
}

async function unholdAutomatically(env: ActivityEnv, input: { workspaceId: string; request: UnholdRequest; updateId: string }): Promise<UnholdAnswer> {
  return onEntity(env, input.workspaceId, (start) =>
    client(env).workflow.executeUpdateWithStart(unholdSnapshotUpdate, { args: [input.request], updateId: input.updateId, startWorkflowOperation: start }),
  );
}

/** The entity's holds view, for a dry-run prune (which changes nothing, so a read is enough). */
async function readHolds(env: ActivityEnv, input: { workspaceId: string }): Promise<HoldsView | null> {
  try {
    return await client(env).workflow.getHandle(workflowIds.workspace(input.workspaceId)).query(workspaceHoldsQuery);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}

async function settleDeletes(env: ActivityEnv, input: { workspaceId: string; workflowId: string; deleted: string[] }): Promise<void> {
  await recoverEntity(env, input.workspaceId).catch(() => undefined);
  await client(env)
    .workflow.getHandle(workflowIds.workspace(input.workspaceId))
    .signal(deletesSettledSignal, { workflowId: input.workflowId, deleted: input.deleted });
}

export function createHoldsActivities(env: ActivityEnv) {
  return {
    authoriseDeletes: (input: { workspaceId: string; request: DeleteAuthorisationRequest; updateId: string }) => authoriseDeletes(env, input),
    holdAutomatically: (input: { workspaceId: string; request: HoldRequest; updateId: string }) => holdAutomatically(env, input),
    unholdAutomatically: (input: { workspaceId: string; request: UnholdRequest; updateId: string }) => unholdAutomatically(env, input),
    readHolds: (input: { workspaceId: string }) => readHolds(env, input),
    settleDeletes: (input: { workspaceId: string; workflowId: string; deleted: string[] }) => settleDeletes(env, input),
  };
}
