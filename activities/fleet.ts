/**
 * The activities of a fleet backup (workflows/backup-fleet.ts). None calls Rigbox: they read Temporal.
 * A continued fleet run reads its next chunk of workspace ids from the first run's input (by reference,
 * so no run carries the whole list), and asks its children how they are (strongly consistent describe
 * and the `progress` query, never visibility): to count the children an earlier run handed over, and
 * to show which are slow or stuck, and why.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { progressQuery } from '../contract/index.js';
import type { ActivityEnv } from './env.js';
import { failure } from './failures.js';

export interface FleetChildStatus {
  workflowId: string;
  /** running, or how it closed; `missing` when Temporal has no such workflow. */
  state: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'missing';
  /** For a failed child: its failure type (WorkspaceGone, Timeout… or Terminated, WorkflowTimedOut). */
  errorType?: string;
  message?: string;
  /** For a running child: its current step and the alert of its progress (why it is slow), if it answered. */
  step?: string | null;
  alert?: string;
  startedAt?: string;
}

const QUERY_TIMEOUT_MS = 3000;

function temporalOf(env: ActivityEnv): Client {
  if (!env.deps.temporal) throw new Error('the fleet activities need a Temporal client (ActivityDeps.temporal)');
  return env.deps.temporal.client;
}

/** The outermost typed failure of a closed run: its type and message. */
function failureOf(err: unknown): { errorType: string; message: string } {
  let cur: unknown = err;
  while (cur instanceof Error) {
    const type = (cur as { type?: unknown }).type;
    if (typeof type === 'string' && cur.name === 'ApplicationFailure') return { errorType: type, message: cur.message.slice(0, 300) };
    cur = (cur as { cause?: unknown }).cause;
  }
  return { errorType: 'Error', message: err instanceof Error ? err.message.slice(0, 300) : String(err) };
}

async function statusOf(client: Client, workflowId: string): Promise<FleetChildStatus> {
  const handle = client.workflow.getHandle(workflowId);
  let status: string;
  let startedAt: string;
  try {
    const d = await handle.describe();
    status = d.status.name;
    startedAt = d.startTime.toISOString();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return { workflowId, state: 'missing', errorType: 'WorkflowNotFound', message: 'no such workflow' };
    throw err;
  }
  if (status === 'RUNNING') {
    try {
      const p = await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(progressQuery));
      return { workflowId, state: 'running', startedAt, step: p.currentStep, ...(p.alert ? { alert: p.alert.slice(0, 300) } : {}) };
    } catch {
      return { workflowId, state: 'running', startedAt, alert: 'did not answer its progress query (no worker?)' };
    }
  }
  if (status === 'COMPLETED') return { workflowId, state: 'succeeded', startedAt };
  if (status === 'CANCELLED' || status === 'CANCELED') return { workflowId, state: 'cancelled', startedAt };
  if (status === 'TERMINATED') return { workflowId, state: 'failed', startedAt, errorType: 'Terminated', message: 'terminated by an operator' };
  if (status === 'TIMED_OUT') return { workflowId, state: 'failed', startedAt, errorType: 'WorkflowTimedOut', message: 'hit its execution timeout' };
  const outcome = await handle.result().then(
    () => ({ errorType: 'Error', message: `closed ${status.toLowerCase()}` }),
    (err: unknown) => failureOf(err),
  );
  return { workflowId, state: 'failed', startedAt, ...outcome };
}

/** How each child is: running (with its step and alert), or how it ended. */
async function fleetChildren(env: ActivityEnv, input: { workflowIds: string[] }): Promise<FleetChildStatus[]> {
  const client = temporalOf(env);
  const out: FleetChildStatus[] = [];
  for (const id of input.workflowIds) out.push(await statusOf(client, id));
  return out;
}

/**
 * `limit` workspace ids from `offset` of the list a fleet's first run was started with: read from that
 * run's first history event only. Fails NotFound if that history is gone (a fleet that outlived the
 * namespace's retention).
 */
async function fleetWorkspaceIds(env: ActivityEnv, input: { workflowId: string; runId: string; offset: number; limit: number }): Promise<string[]> {
  const client = temporalOf(env);
  let res;
  try {
    res = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: input.workflowId, runId: input.runId },
      maximumPageSize: 1,
    });
  } catch (err) {
    throw failure('NotFound', `the first run of fleet ${input.workflowId} (its list of workspaces) cannot be read: ${(err as Error).message}`);
  }
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const first = payload ? defaultPayloadConverter.fromPayload<{ workspaceIds?: unknown }>(payload) : undefined;
  if (!first || !Array.isArray(first.workspaceIds)) throw failure('NotFound', `the first run of fleet ${input.workflowId} has no list of workspaces`);
  return (first.workspaceIds as string[]).slice(input.offset, input.offset + input.limit);
}

export function createFleetActivities(env: ActivityEnv) {
  return {
    fleetChildren: (input: { workflowIds: string[] }) => fleetChildren(env, input),
    fleetWorkspaceIds: (input: { workflowId: string; runId: string; offset: number; limit: number }) => fleetWorkspaceIds(env, input),
  };
}
