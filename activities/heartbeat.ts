/**
 * Heartbeats that do not depend on what an activity is doing: a ticker reports the latest details every
 * `everyMs` for as long as the activity runs, whether it sleeps between polls, waits for a long copy or
 * pages through a large listing. A dead worker is then noticed within the heartbeat timeout, and a
 * cancellation (delivered in a heartbeat's answer) arrives promptly.
 */
import { Context } from '@temporalio/activity';

export interface Heartbeat<D> {
  /** The details the next heartbeats carry (sent now, and by the ticker). */
  update(details: D): void;
  stop(): void;
}

export function startHeartbeat<D>(details: D, everyMs: number): Heartbeat<D> {
  const ctx = Context.current();
  // Local activities have no heartbeat (the SDK keeps their workflow task alive instead).
  if (ctx.info.isLocal) return { update() {}, stop() {} };
  let current = details;
  ctx.heartbeat(current);
  // The SDK throttles what reaches the server; ticking often only keeps the latest details ready.
  const timer = setInterval(() => ctx.heartbeat(current), everyMs);
  timer.unref();
  return {
    update(next: D) {
      current = next;
      ctx.heartbeat(current);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Runs `work` with a heartbeat ticker around it. */
export async function heartbeating<T, D>(details: D, everyMs: number, work: (hb: Heartbeat<D>) => Promise<T>): Promise<T> {
  const hb = startHeartbeat(details, everyMs);
  try {
    return await work(hb);
  } finally {
    hb.stop();
  }
}
