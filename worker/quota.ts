/**
 * The Rigbox quota shared by the workers of a task queue: each worker's call limiter gets 1/N of it,
 * N being the workers that polled the task queue lately (as Temporal reports them), read again every
 * 15 s. Workers that start together each take the whole quota until the first read counts them; Rigbox's
 * 429s (Retry-After) cover that moment.
 */
import type { Client } from '@temporalio/client';
import type { CallLimiter } from '../activities/call-limiter.js';

const REFRESH_MS = 15_000;
/** A poller not seen for this long has gone (a live worker polls again within about a minute). */
const RECENT_MS = 90_000;
const TASK_QUEUE_TYPE_ACTIVITY = 2; // temporal.api.enums.v1.TaskQueueType

/** How many workers polled `taskQueue` for activities lately (at least 1: this one). */
export async function liveWorkerCount(client: Client, namespace: string, taskQueue: string): Promise<number> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  const recent = new Set(
    (res.pollers ?? [])
      .filter((p) => {
        const at = p.lastAccessTime ? Number(p.lastAccessTime.seconds ?? 0) * 1000 : 0;
        return now - at <= RECENT_MS;
      })
      .map((p) => p.identity ?? ''),
  );
  return Math.max(1, recent.size);
}

/** Keeps `limiter` at this worker's share until the returned function is called. */
export function shareQuota(limiter: CallLimiter, client: Client, namespace: string, taskQueue: string, log: (message: string) => void = () => {}): () => void {
  let workers = 1;
  const refresh = async () => {
    try {
      const n = await liveWorkerCount(client, namespace, taskQueue);
      if (n !== workers)
        log(`Rigbox quota shared by ${n} worker${n === 1 ? '' : 's'}: this one makes at most ${((limiter.ratePerSecond * workers) / n).toFixed(1)} calls/s`);
      workers = n;
      limiter.setShare(1 / n);
    } catch {
      // Temporal unreachable for a moment: keep the last share.
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
