import type { WaitHeartbeat } from './index.js';

/**
 * How a wait's heartbeat is stored: the Temporal UI shows a pending activity's heartbeat details as
 * they are, so times go in as ISO text (`2026-11-30T07:21:05.123Z`), not epoch milliseconds. A retried
 * attempt reads them back to resume its wait clock, from either form (a worker of the previous
 * version wrote numbers).
 */
export interface StoredWaitHeartbeat extends Omit<WaitHeartbeat, 'waitStartedAt' | 'firstLookAt'> {
  waitStartedAt: string;
  firstLookAt?: string;
}

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
