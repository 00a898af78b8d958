/**
 * Heartbeats that do not depend on what an activity is doing: a ticker reports the latest details every
 * `everyMs` for as long as the activity runs, whether it sleeps between polls, waits for a long copy or
 * pages through a large listing. A dead worker is then noticed within the heartbeat timeout, and a
 * cancellation (delivered in a heartbeat's answer) arrives promptly.
 *
 * Two cadences, chosen by the heartbeat timeout the workflow gave (workflows/profiles.ts): an operation
 * someone waits for (a short timeout) beats every few seconds from its start, so a cancel lands within
 * seconds; a scheduled or fleet backup (a timeout of a minute: BATCH_HEARTBEAT_TIMEOUT) beats only every
 * 45 s, the first one 45 s in (heartbeatCadence), and a change of details waits for the next beat. Every
 * heartbeat that reaches the server is a billed action on Temporal Cloud: a 30 s stop, a 60 s copy and a
 * 30 s start cost 47 of them at the fast cadence and about 1 at the slow one, and a dead worker is still
 * noticed within the minute.
 */
import { Context } from '@temporalio/activity';
import type { WaitHeartbeatDetails } from '../contract/index.js';

export interface Heartbeat<D> {
  /** The details the next heartbeats carry (sent now, and by the ticker). */
  update(details: D): void;
  stop(): void;
}

/** A heartbeat timeout at least this long asks for the slow cadence (see above). */
export const SLOW_CADENCE_FROM_MS = 30_000;

/**
 * What the slow cadence leaves between a beat and the timeout, for the beat to reach the server (the SDK's
 * own throttle sends at most every 80 % of the timeout: 48 s of a minute, within this).
 */
export const BEAT_MARGIN_MS = 15_000;

/**
 * How often, and whether at once, an activity with this heartbeat timeout beats (pure: unit-tested). The
 * slow cadence beats BEAT_MARGIN_MS before the timeout: a 60 s timeout beats 45 s in and every 45 s after
 * (issue 24: a 30 s stop or start then costs no heartbeat, a 60 s copy one; at every half timeout they
 * cost one each), and a dead worker is still noticed within the timeout.
 */
export function heartbeatCadence(heartbeatTimeoutMs: number | undefined, everyMs: number): { everyMs: number; eager: boolean } {
  if (heartbeatTimeoutMs === undefined || heartbeatTimeoutMs < SLOW_CADENCE_FROM_MS) return { everyMs, eager: true };
  return { everyMs: Math.max(everyMs, heartbeatTimeoutMs - BEAT_MARGIN_MS), eager: false };
}

export function startHeartbeat<D>(details: D, everyMs: number): Heartbeat<D> {
  const ctx = Context.current();
  // Local activities have no heartbeat (the SDK keeps their workflow task alive instead).
  if (ctx.info.isLocal) return { update() {}, stop() {} };
  const cadence = heartbeatCadence(ctx.info.heartbeatTimeoutMs, everyMs);
  let current = details;
  if (cadence.eager) ctx.heartbeat(current);
  // The SDK throttles what reaches the server; ticking often only keeps the latest details ready.
  const timer = setInterval(() => ctx.heartbeat(current), cadence.everyMs);
  timer.unref();
  return {
    update(next: D) {
      current = next;
      if (cadence.eager) ctx.heartbeat(current);
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

/**
 * What a wait (transitions.ts) reports in its heartbeat: contract/heartbeats.ts's shape, with its times
 * as epoch ms while the activity works on them.
 */
export interface WaitHeartbeat extends Omit<WaitHeartbeatDetails, 'waitStartedAt' | 'firstLookAt'> {
  /** When the current wait began (the maximum wait counts from here). */
  waitStartedAt: number;
  firstLookAt?: number;
}

/**
 * How a wait's heartbeat is stored (contract/heartbeats.ts): times as ISO text. A retried attempt reads
 * them back to resume its wait clock, from either form (a worker of the previous version wrote numbers).
 */
export type StoredWaitHeartbeat = WaitHeartbeatDetails;

export function toStoredHeartbeat(h: WaitHeartbeat): StoredWaitHeartbeat {
  const { waitStartedAt, firstLookAt, ...rest } = h;
  return {
    ...rest,
    waitStartedAt: new Date(waitStartedAt).toISOString(),
    ...(firstLookAt !== undefined ? { firstLookAt: new Date(firstLookAt).toISOString() } : {}),
  };
}

const toMs = (t: unknown): number | undefined => {
  if (typeof t === 'number' && Number.isFinite(t)) return t;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
};

/** The heartbeat a previous attempt left, or undefined when there is none (or it is not a wait's). */
export function fromStoredHeartbeat(raw: unknown): WaitHeartbeat | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const h = raw as Record<string, unknown>;
  const waitStartedAt = toMs(h.waitStartedAt);
  if (waitStartedAt === undefined) return undefined;
  const firstLookAt = toMs(h.firstLookAt);
  return {
    ...(h as unknown as WaitHeartbeat),
    waitStartedAt,
    ...(firstLookAt !== undefined ? { firstLookAt } : {}),
  };
}
