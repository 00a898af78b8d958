/**
 * What every activity factory shares: the dependencies the worker passes (the Rigbox client, the
 * Temporal client for the lock activities, timing settings) with their defaults applied once, and the
 * options of Rigbox calls made on behalf of the current activity.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { DEFAULT_MAX_WAIT_MS, DEFAULT_POLL_SCHEDULE, type LockTiming, type PollSchedule } from '../domain/index.js';
import type { CallOptions, ListOptions, RigboxClient } from './rigbox-client.js';
import { TransitionDurations } from './transition-durations.js';

export interface ActivityDeps {
  rigbox: RigboxClient;
  /** Needed by the lock activities: queueing on a workspace lock, finding its participants, checking on its holder. */
  temporal?: { client: Client; taskQueue: string };
  pollSchedule?: PollSchedule;
  /** Longest wait for a stop or a start before a Timeout failure. */
  maxWaitMs?: number;
  /** Timeout of the long calls (create snapshot, restore) while they copy a disk. */
  longCallTimeoutMs?: number;
  /** How often long activities report liveness (default 3 s). The SDK throttles what reaches the server. */
  heartbeatEveryMs?: number;
  /** Failure notifications: the webhook, and the Temporal UI base its links point into. */
  notifyUrl?: string;
  uiUrl?: string;
  /** Rigbox may lose a create's answer; a snapshot with the same name created this close before we asked is ours. */
  adoptionSkewMs?: number;
  /** What this worker learnt of how long stops and starts take (a hint for polling; in memory). */
  transitionDurations?: TransitionDurations;
  /** Timing of the lock runs this worker starts (tests shorten it; production leaves the lock's defaults). */
  lockTiming?: LockTiming;
  /** Deletions in flight at once within one prune round. */
  pruneConcurrency?: number;
}

export interface ActivityEnv {
  deps: ActivityDeps;
  rigbox: RigboxClient;
  schedule: PollSchedule;
  maxWaitMs: number;
  longCallTimeoutMs: number;
  heartbeatEveryMs: number;
  adoptionSkewMs: number;
  durations: TransitionDurations;
  pruneConcurrency: number;
}

export function activityEnv(deps: ActivityDeps): ActivityEnv {
  return {
    deps,
    rigbox: deps.rigbox,
    schedule: deps.pollSchedule ?? DEFAULT_POLL_SCHEDULE,
    maxWaitMs: deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    longCallTimeoutMs: deps.longCallTimeoutMs ?? 2 * 3_600_000,
    // Three beats per 10 s heartbeat timeout; the SDK sends at most one every 2 s (worker/worker.ts).
    heartbeatEveryMs: deps.heartbeatEveryMs ?? 3000,
    adoptionSkewMs: deps.adoptionSkewMs ?? 60_000,
    durations: deps.transitionDurations ?? new TransitionDurations(),
    pruneConcurrency: deps.pruneConcurrency ?? 4,
  };
}

/** Local activities' priorities, from their workflow's header (worker/priority-header.ts). */
const inherited = new WeakMap<Context, NonNullable<Context['info']['priority']>>();

/** Gives a local activity its workflow's priority (Temporal gives local activities none). */
export function inheritPriority(ctx: Context, priority: NonNullable<Context['info']['priority']>): void {
  inherited.set(ctx, priority);
}

/**
 * The activity's Temporal priority and fairness (set by the workflow that scheduled it), for its calls'
 * place in the quota's queue (activities/call-queue.ts). A local activity has its workflow's, from a
 * header; absent on servers without priorities: calls then queue at Temporal's default priority, 3.
 */
function callPriority(ctx: Context): CallOptions['priority'] {
  // A local activity's own priority is empty (zero values): its workflow's, from the header, stands in.
  const own = ctx.info.priority;
  const p = (own?.priorityKey ?? 0) >= 1 || own?.fairnessKey ? own : (inherited.get(ctx) ?? own);
  if (!p) return undefined;
  return {
    ...(p.priorityKey !== undefined ? { priorityKey: p.priorityKey } : {}),
    ...(p.fairnessKey !== undefined ? { fairnessKey: p.fairnessKey } : {}),
    ...(p.fairnessWeight !== undefined ? { fairnessWeight: p.fairnessWeight } : {}),
  };
}

/** Options of a read: cancelled with the activity. */
export function readOptions(extra: ListOptions = {}): ListOptions {
  const ctx = Context.current();
  return { signal: ctx.cancellationSignal, origin: ctx.info.workflowExecution?.workflowId, priority: callPriority(ctx), ...extra };
}

/**
 * Options of a change (stop, start, create, restore, delete): never aborted by a cancellation once sent.
 * Once sent, Rigbox carries a change out whether or not we wait for its answer; abandoning it would let
 * compensation run while it is still in flight (a stop landing after the restart). Its own timeout
 * bounds it, and the activity reports the cancellation once it has settled. Until it is sent (waiting
 * for its turn under the quota) nothing of it exists, so a cancellation ends that wait: otherwise a
 * worker shutting down with a saturated quota waits for every queued change (the SDK waits for all its
 * running activities), minutes at a low quota.
 */
export function changeOptions(extra: ListOptions = {}): ListOptions {
  const ctx = Context.current();
  return { origin: ctx.info.workflowExecution?.workflowId, priority: callPriority(ctx), turnSignal: ctx.cancellationSignal, ...extra };
}
