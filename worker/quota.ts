/**
 * The Rigbox quota shared by the workers of a task queue: each worker's call limiter gets 1/N of it, N
 * being the workers of the task queue, this one always among them.
 *
 * Who counts: every identity Temporal saw polling the task queue lately, for workflow tasks or for
 * activity tasks. A worker whose activity slots are all busy stops polling for activities (and would
 * drop out of that list after a minute and a half) but keeps polling for workflow tasks, so it stays
 * counted while it is busiest. The lists are read again every REFRESH_MS.
 *
 * Joining: the others learn of a new worker only at their next read after it first polls. So a worker
 * makes no Rigbox call until it has seen itself among the pollers; alone, it then takes the whole quota
 * at once; with others, it waits one more read interval (the others have counted it by then) before it
 * takes its share. Workers that start together: at least one of them sees the other (each reads after
 * its own first poll), and that one waits. Meanwhile the counts only ever err high (a worker that has
 * gone is counted for up to 90 s), so the shares never add up to more than the quota.
 */
import type { Client } from '@temporalio/client';
import type { CallLimiter } from '../activities/call-limiter.js';

/** How often a worker reads the task queue's pollers (two describe calls). */
export const QUOTA_REFRESH_MS = 5_000;
/** While joining: how often it looks for itself among the pollers. */
const JOIN_LOOK_MS = 500;
/** Slack on top of one read interval before a joining worker takes its share (the others' reads take time). */
const JOIN_SLACK_MS = 1_500;
/** A worker that cannot see itself (or Temporal) this long after start takes its share anyway, and says so. */
const JOIN_GIVE_UP_MS = 30_000;
/** While the worker has not started running: how often to look at its state. */
const STARTING_LOOK_MS = 25;
/** A poller not seen for this long has gone (a live worker's long poll comes back within about a minute). */
const RECENT_MS = 90_000;
const TASK_QUEUE_TYPES = [1, 2]; // temporal.api.enums.v1.TaskQueueType: WORKFLOW, ACTIVITY

/** The identities that polled `taskQueue` lately, for workflow or activity tasks. */
export async function taskQueuePollers(client: Client, namespace: string, taskQueue: string): Promise<Set<string>> {
  const now = Date.now();
  const answers = await Promise.all(
    TASK_QUEUE_TYPES.map((taskQueueType) => client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType })),
  );
  const recent = new Set<string>();
  for (const p of answers.flatMap((a) => a.pollers ?? [])) {
    const at = p.lastAccessTime ? Number(p.lastAccessTime.seconds ?? 0) * 1000 : 0;
    if (now - at <= RECENT_MS && p.identity) recent.add(p.identity);
  }
  return recent;
}

export interface QuotaSharing {
  /** Workers counted at the last read, this one included. */
  workers(): number;
  /** Whether this worker takes its share yet (false while joining). */
  joined(): boolean;
  stop(): void;
}

export interface ShareQuotaOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  /** This worker's identity as it polls (Worker.options.identity). */
  identity: string;
  /**
   * The worker's state: it takes part from when it runs (a worker created and never run holds nobody's
   * calls), and its share is forgotten once it has stopped.
   */
  state?: () => 'starting' | 'running' | 'stopped';
  log?: (level: 'info' | 'warn', message: string) => void;
  refreshMs?: number;
  /** Told the count at every read (a metric). */
  onCount?: (workers: number) => void;
}

let sources = 0;

/** Keeps `limiter` at this worker's share while it runs (see the module's comment). */
export function shareQuota(limiter: CallLimiter, o: ShareQuotaOptions): QuotaSharing {
  const source = `${o.taskQueue}#${++sources}`;
  const refreshMs = o.refreshMs ?? QUOTA_REFRESH_MS;
  const log = o.log ?? (() => {});
  let startedAt = Date.now();
  let workers = 1;
  let joinAt: number | undefined; // when this worker may take its share
  let joined = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let began = false;

  const take = (n: number, why: string) => {
    if (!joined || n !== workers) log('info', `Rigbox quota shared by ${n} worker${n === 1 ? '' : 's'}${why}: this one takes 1/${n} of it`);
    workers = n;
    joined = true;
    limiter.setShare(1 / n, source);
  };
  const read = async () => {
    let pollers: Set<string>;
    try {
      pollers = await taskQueuePollers(o.client, o.namespace, o.taskQueue);
    } catch (err) {
      // Temporal unreachable for a moment: keep the last share (or, joining for too long, take one alone).
      if (!joined && Date.now() - startedAt > JOIN_GIVE_UP_MS) {
        log('warn', `cannot read the pollers of ${o.taskQueue} (${(err as Error).message}): taking the share of the workers last counted`);
        take(workers, ' (as last counted)');
      }
      return;
    }
    const n = new Set([...pollers, o.identity]).size;
    o.onCount?.(n);
    if (joined) return take(n, '');
    if (joinAt === undefined && pollers.has(o.identity)) joinAt = n === 1 ? Date.now() : Date.now() + refreshMs + JOIN_SLACK_MS;
    if (joinAt === undefined && Date.now() - startedAt > JOIN_GIVE_UP_MS) {
      log('warn', `this worker (${o.identity}) is not among the pollers of ${o.taskQueue} after ${JOIN_GIVE_UP_MS / 1000} s: taking its share anyway`);
      joinAt = Date.now();
    }
    workers = n;
    if (joinAt !== undefined && Date.now() >= joinAt) take(n, '');
  };
  // Runs for as long as the worker: ends when it has stopped (or on stop()). What it does shows in the
  // log and in rigsnap_quota_workers; it holds nothing but this worker's share meanwhile.
  const loop = async () => {
    timer = undefined;
    if (stopped) return;
    const state = o.state?.() ?? 'running';
    if (state === 'stopped') return sharing.stop();
    if (state === 'starting') {
      // Not polling yet, so no activity can run here: look again shortly (a local check, no call).
      startedAt = Date.now();
      timer = setTimeout(() => void loop(), STARTING_LOOK_MS);
      timer.unref();
      return;
    }
    if (!began) {
      began = true;
      limiter.setShare(0, source);
    }
    await read();
    if (stopped) return;
    const delay = joined ? refreshMs : joinAt !== undefined ? Math.max(0, Math.min(JOIN_LOOK_MS * 4, joinAt - Date.now())) : JOIN_LOOK_MS;
    timer = setTimeout(() => void loop(), delay);
    timer.unref();
  };
  const sharing: QuotaSharing = {
    workers: () => workers,
    joined: () => joined,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      limiter.clearShare(source);
    },
  };
  void loop();
  return sharing;
}
