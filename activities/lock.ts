/**
 * The activities of the per-workspace lock. None calls Rigbox: they talk to Temporal (start or signal
 * the lock, ask the open operations of a workspace whether they hold or wait for it, read a closed
 * holder's history). Operations wait for their turn in workflow code (grant by signal), never here.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type SignalDefinition } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES, lockAcquireSignal, lockParticipationQuery, lockReleaseSignal, lockStateQuery } from '../contract/index.js';
import {
  participationIn,
  workflowIds,
  type LockParticipation,
  type LockReleaseRequest,
  type LockRequest,
  type LockState,
  type WorkspaceLockInput,
} from '../domain/index.js';
import type { ActivityEnv } from './env.js';
import { toStoredHeartbeat } from './heartbeat.js';

export interface LockParticipants {
  /** Open operations that answered: what they hold or wait for. */
  answered: Array<{ workflowId: string; runId: string } & LockParticipation>;
  /** Open operations that could not be asked (no worker answered, code from before the query). */
  unknown: Array<{ workflowId: string; runId: string; why: string }>;
  /**
   * Operations that closed without finishing (terminated, timed out) leaving the workspace stopped
   * although they meant to start it again, and that no lock run has dealt with since: to be started
   * again before anyone is granted the workspace. Absent from results of before it existed.
   */
  abandoned?: Array<{ workflowId: string; runId: string; closedAt: string; why: string }>;
}

/** How far back a rebuilding lock looks for operations that closed without finishing. */
const ABANDONED_WINDOW_MS = 7 * 86_400_000;

/** Operation types that never take the lock: not asked when a lock rebuilds. */
const NEVER_LOCKS: string[] = [WORKFLOW_TYPES.lock, WORKFLOW_TYPES.list];
const QUERY_TIMEOUT_MS = 5000;

/**
 * Whether a closed operation left its workspace stopped although it meant to start it again: its last
 * stop said `restartAfter` and no start completed after it (from its history).
 */
async function inspectClosed(
  client: Client,
  input: { workflowId: string; runId: string; workspaceId: string },
): Promise<{ restartOwed: boolean; why: string }> {
  const history = await client.workflow.getHandle(input.workflowId, input.runId).fetchHistory();
  const scheduled = new Map<string, { type: string; input: Record<string, unknown> | undefined }>();
  let restartOwed = false;
  let why = 'it never stopped the workspace';
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const type = s.activityType?.name ?? '';
      const value = payloadValue(s.input?.payloads?.[0]) as Record<string, unknown> | undefined;
      scheduled.set(String(e.eventId), { type, input: value });
      if (type === 'stopWorkspace' && value?.workspaceId === input.workspaceId) {
        restartOwed = value.restartAfter === true;
        why = restartOwed ? 'it stopped the workspace and meant to start it again' : 'its stop was meant to leave the workspace stopped';
      }
      continue;
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const act = scheduled.get(String(c.scheduledEventId));
      if (act?.type === 'startWorkspace' && act.input?.workspaceId === input.workspaceId) {
        restartOwed = false;
        why = 'it started the workspace again before it closed';
      }
    }
  }
  return { restartOwed, why };
}

/**
 * Whether an operation that closed without finishing (terminated, timed out) was dealt with by a lock
 * run since: a run that ended normally after it closed either saw it release or repaired it (a run
 * ends normally only with no holder and nobody waiting).
 */
async function settledByALockRun(client: Client, workspaceId: string, closedAt: string): Promise<boolean> {
  const runs = client.workflow.list({
    query: `WorkflowId = "${workflowIds.lock(workspaceId)}" AND ExecutionStatus = "Completed" AND CloseTime >= "${closedAt}"`,
    pageSize: 1,
  });
  for await (const _ of runs) return true;
  return false;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The JSON value of an activity input payload, or undefined if it is not plain JSON. */
function payloadValue(p: Payload | null | undefined): unknown {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
}

function temporalOf(env: ActivityEnv): { client: Client; taskQueue: string } {
  if (!env.deps.temporal) throw new Error('the lock activities need a Temporal client (ActivityDeps.temporal)');
  return env.deps.temporal;
}

/** Sends a signal to the workspace's lock, starting the lock if none runs (signal-with-start). */
function signalLock<A>(env: ActivityEnv, workspaceId: string, signal: SignalDefinition<[A]>, arg: A) {
  const { client, taskQueue } = temporalOf(env);
  return client.workflow.signalWithStart(WORKFLOW_TYPES.lock, {
    workflowId: workflowIds.lock(workspaceId),
    taskQueue,
    args: [{ workspaceId, ...(env.deps.lockTiming ? { timing: env.deps.lockTiming } : {}) } satisfies WorkspaceLockInput],
    signal,
    signalArgs: [arg],
    staticSummary: `Serializes rigsnap operations on ${workspaceId}`,
  });
}

/** Queues `request` on the workspace's lock, starting the lock if none runs. */
const startOrSignal = (env: ActivityEnv, workspaceId: string, request: LockRequest) => signalLock(env, workspaceId, lockAcquireSignal, request);

/**
 * Queues a request on the workspace's lock, starting the lock if none runs (signal-with-start).
 * Sending the same request again is harmless: the lock keeps one place per request id.
 */
async function requestLock(env: ActivityEnv, input: { workspaceId: string; request: LockRequest }): Promise<void> {
  await startOrSignal(env, input.workspaceId, input.request);
}

/**
 * Releases a request on a lock that no longer runs (terminated while this operation held it): starts
 * a new lock run with the release, which rebuilds its queue from the open operations and serves those
 * that were waiting on the old run at once, instead of when they next ask.
 */
async function releaseLock(env: ActivityEnv, input: { workspaceId: string; release: LockReleaseRequest }): Promise<void> {
  await signalLock(env, input.workspaceId, lockReleaseSignal, input.release);
}

/**
 * For a lock run that starts without carried state: in one visibility query, the workspace's open
 * operations and those that closed without finishing lately. Each open one the lock does not know
 * yet (`known`: what reached it by signal already) is asked which request it holds or waits for; each
 * abandoned one whose history shows it left the workspace stopped, and that no lock run settled
 * since, is reported for repair.
 */
async function findLockParticipants(env: ActivityEnv, input: { workspaceId: string; known?: string[] }): Promise<LockParticipants> {
  const { client } = temporalOf(env);
  const since = new Date(Date.now() - ABANDONED_WINDOW_MS).toISOString();
  const query =
    `${SEARCH_ATTRIBUTES.workspaceId} = "${input.workspaceId}" AND (ExecutionStatus = "Running" OR ` +
    `((ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut") AND CloseTime > "${since}"))`;
  const known = new Set(input.known ?? []);
  const out: Required<LockParticipants> = { answered: [], unknown: [], abandoned: [] };
  for await (const wf of client.workflow.list({ query })) {
    if (NEVER_LOCKS.includes(wf.type) || known.has(wf.workflowId)) continue;
    if (wf.status.name === 'RUNNING') {
      try {
        const p = await withTimeout(client.workflow.getHandle(wf.workflowId, wf.runId).query(lockParticipationQuery), QUERY_TIMEOUT_MS, wf.workflowId);
        out.answered.push({ workflowId: wf.workflowId, runId: wf.runId, ...p, ...participationIn(p, input.workspaceId) });
      } catch (err) {
        out.unknown.push({ workflowId: wf.workflowId, runId: wf.runId, why: (err as Error).message.slice(0, 200) });
      }
      continue;
    }
    if (!wf.closeTime) continue;
    const closedAt = wf.closeTime.toISOString();
    if (await settledByALockRun(client, input.workspaceId, closedAt)) continue;
    const left = await inspectClosed(client, { workflowId: wf.workflowId, runId: wf.runId, workspaceId: input.workspaceId });
    if (left.restartOwed) out.abandoned.push({ workflowId: wf.workflowId, runId: wf.runId, closedAt, why: left.why });
  }
  return out;
}

/** Asks one open operation what it holds or waits for (for a lock that could not ask it before). */
async function askLockParticipant(
  env: ActivityEnv,
  input: { workflowId: string; runId: string },
): Promise<({ running: true } & LockParticipation) | { running: false } | { running: true; unknown: string }> {
  const { client } = temporalOf(env);
  const handle = client.workflow.getHandle(input.workflowId, input.runId);
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return { running: false };
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return { running: false };
    throw err;
  }
  try {
    return { running: true, ...(await withTimeout(handle.query(lockParticipationQuery), QUERY_TIMEOUT_MS, input.workflowId)) };
  } catch (err) {
    return { running: true, unknown: (err as Error).message.slice(0, 200) };
  }
}

/** For the lock's liveness check: has the holder's run closed (completed, failed, terminated…)? */
async function describeWorkflowRun(env: ActivityEnv, input: { workflowId: string; runId: string }): Promise<{ running: boolean; status: string }> {
  const { client } = temporalOf(env);
  try {
    const d = await client.workflow.getHandle(input.workflowId, input.runId).describe();
    return { running: d.status.name === 'RUNNING', status: d.status.name };
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return { running: false, status: 'NOT_FOUND' };
    throw err;
  }
}

/**
 * Reads the history of a holder that closed without releasing the lock (terminated, timed out) and
 * tells whether it left the workspace stopped although it meant to start it again.
 */
async function inspectClosedHolder(
  env: ActivityEnv,
  input: { workflowId: string; runId: string; workspaceId: string },
): Promise<{ restartOwed: boolean; why: string }> {
  return inspectClosed(temporalOf(env).client, input);
}

export function createLockActivities(env: ActivityEnv) {
  return {
    requestLock: (input: { workspaceId: string; request: LockRequest }) => requestLock(env, input),
    releaseLock: (input: { workspaceId: string; release: LockReleaseRequest }) => releaseLock(env, input),
    findLockParticipants: (input: { workspaceId: string; known?: string[] }) => findLockParticipants(env, input),
    askLockParticipant: (input: { workflowId: string; runId: string }) => askLockParticipant(env, input),
    describeWorkflowRun: (input: { workflowId: string; runId: string }) => describeWorkflowRun(env, input),
    inspectClosedHolder: (input: { workflowId: string; runId: string; workspaceId: string }) => inspectClosedHolder(env, input),
  };
}

/**
 * Legacy: operations started before the lock granted by signal waited inside their preflight activity,
 * polling the lock's query. Kept so that such operations, still running during an upgrade, finish; new
 * ones never wait in an activity.
 */
export async function queueOnLockLegacy(env: ActivityEnv, workspaceId: string, request: LockRequest): Promise<number> {
  const { client } = temporalOf(env);
  const ctx = Context.current();
  const lockId = workflowIds.lock(workspaceId);
  const started = Date.now();
  const send = () => startOrSignal(env, workspaceId, request);
  await send();
  let delay = 15;
  for (;;) {
    await ctx.sleep(delay);
    delay = Math.min(1000, delay * 2);
    let state: LockState;
    try {
      state = await client.workflow.getHandle(lockId).query(lockStateQuery);
    } catch {
      await send();
      continue;
    }
    if (state.holder?.requestId === request.requestId) return Date.now() - started;
    const position = state.queue.findIndex((r) => r.requestId === request.requestId);
    if (position < 0) {
      await send();
      continue;
    }
    ctx.heartbeat(
      toStoredHeartbeat({
        phase: 'waiting for lock',
        polls: 0,
        waitStartedAt: started,
        queuePosition: position + 1,
        status: state.holder ? `held by ${state.holder.workflowId}` : 'free',
      }),
    );
  }
}
