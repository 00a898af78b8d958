/**
 * The activities that talk to a workspace entity (workflows/workspace-entity.ts) for an operation:
 * queue on it by Update-with-Start, release to it when the operation's own signal cannot reach it, and
 * recover it when an operator terminated it. None calls Rigbox, and none reads visibility: a closed
 * entity is found by describe, and its state is read by a query on the closed run (answered by replay).
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { WORKFLOW_TYPES, lockReleaseSignal, operationKey, workspaceAcquireUpdate, workspaceIdKey, workspaceStateQuery } from '../contract/index.js';
import { workflowIds, type LockReleaseRequest } from '../domain/index.js';
import type { AcquireAnswer, EntityRequest, EntityState, WorkspaceEntityInput } from '../domain/workspace-entity.js';
import type { ActivityEnv } from './env.js';

/** How many times one call recovers a closed entity before it lets the activity's retry take over. */
const RECOVERIES_PER_CALL = 3;

function temporalOf(env: ActivityEnv): { client: Client; taskQueue: string } {
  if (!env.deps.temporal) throw new Error('the workspace entity activities need a Temporal client (ActivityDeps.temporal)');
  return env.deps.temporal;
}

/** Start options shared by every start of an entity: marked internal (RigboxOperation=workspace) and summarised. */
export function entityStart(env: ActivityEnv, input: WorkspaceEntityInput) {
  const { taskQueue } = temporalOf(env);
  return {
    workflowId: workflowIds.workspace(input.workspaceId),
    taskQueue,
    args: [{ ...input, ...(env.deps.lockTiming ? { timing: env.deps.lockTiming } : {}) }] as [WorkspaceEntityInput],
    typedSearchAttributes: [
      { key: workspaceIdKey, value: input.workspaceId },
      { key: operationKey, value: 'workspace' },
    ],
    staticSummary: `rigsnap internal: the lock and state of ${input.workspaceId}`,
  };
}

/**
 * Recovers a closed entity (an operator terminated it): describes the latest run, reads the closed run's
 * state by a query (the worker replays its history), and starts the successor from it. A plain start never
 * does this: it refuses a closed id (REJECT_DUPLICATE), so an empty run can never replace a holder.
 * Racing recoverers end on the same run: the loser's start finds the winner's run open.
 */
export async function recoverEntity(env: ActivityEnv, workspaceId: string): Promise<'open' | 'recovered'> {
  const { client } = temporalOf(env);
  const workflowId = workflowIds.workspace(workspaceId);
  const latest = await client.workflow.getHandle(workflowId).describe();
  if (latest.status.name === 'RUNNING') return 'open';
  const state = await client.workflow.getHandle(workflowId, latest.runId).query(workspaceStateQuery);
  // Another recoverer may have started and lost a successor meanwhile: recover from the latest run only.
  const again = await client.workflow.getHandle(workflowId).describe();
  if (again.runId !== latest.runId) return again.status.name === 'RUNNING' ? 'open' : recoverEntity(env, workspaceId);
  try {
    await client.workflow.start(WORKFLOW_TYPES.workspace, {
      ...entityStart(env, { workspaceId, state: state satisfies EntityState, recoveredFrom: latest.runId }),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
    return 'recovered';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'open';
    throw err;
  }
}

/**
 * Queues a request on the workspace's entity, starting the entity if it never ran (Update-with-Start
 * keyed by the request id: a retry learns where the same request stands). Answers at once.
 */
async function acquireWorkspace(env: ActivityEnv, input: { workspaceId: string; request: EntityRequest; ask?: number }): Promise<AcquireAnswer> {
  const { client } = temporalOf(env);
  for (let recoveries = 0; ; recoveries++) {
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPES.workspace, {
      ...entityStart(env, { workspaceId: input.workspaceId }),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    try {
      return await client.workflow.executeUpdateWithStart(workspaceAcquireUpdate, {
        args: [input.request],
        // Keyed by the request: a retry of this call is the same update; asking again later is a new one
        // (the server would answer a finished update's id with its first answer, not where it stands now).
        updateId: `${input.request.requestId}/ask-${input.ask ?? 1}`,
        startWorkflowOperation: start,
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) return { status: 'denied', reason: err.cause?.message ?? err.message };
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || recoveries >= RECOVERIES_PER_CALL) throw err;
      await recoverEntity(env, input.workspaceId);
    }
  }
}

/**
 * Releases to an entity the operation's own signal could not reach (it was closed): recovers it first,
 * so the recovered run, which still counts this operation as its holder, frees the workspace now.
 */
async function releaseWorkspace(env: ActivityEnv, input: { workspaceId: string; release: LockReleaseRequest }): Promise<void> {
  const { client } = temporalOf(env);
  await recoverEntity(env, input.workspaceId);
  await client.workflow.getHandle(workflowIds.workspace(input.workspaceId)).signal(lockReleaseSignal, input.release);
}

/**
 * Whether the old lock workflow (`rigsnap-lock-<id>`) has an open run: operations from before the entity
 * may still hold the workspace through it. By describe of its latest run, never a list.
 */
async function legacyLockOpen(env: ActivityEnv, input: { workspaceId: string }): Promise<boolean> {
  const { client } = temporalOf(env);
  try {
    return (await client.workflow.getHandle(workflowIds.lock(input.workspaceId)).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export function createWorkspaceEntityActivities(env: ActivityEnv) {
  return {
    legacyLockOpen: (input: { workspaceId: string }) => legacyLockOpen(env, input),
    acquireWorkspace: (input: { workspaceId: string; request: EntityRequest; ask?: number }) => acquireWorkspace(env, input),
    releaseWorkspace: (input: { workspaceId: string; release: LockReleaseRequest }) => releaseWorkspace(env, input),
  };
}
