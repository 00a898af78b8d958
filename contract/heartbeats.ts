/**
 * What rigsnap's long activities put in their heartbeats: written by activities/, shown in the Temporal
 * UI's pending activity, read back by a retried attempt and by the client (progress, status).
 */

/**
 * A wait for a stop or a start, as stored. Times are ISO text (`2026-11-30T07:21:05.123Z`), not epoch
 * milliseconds: the Temporal UI shows heartbeat details as they are.
 */
export interface WaitHeartbeatDetails {
  phase: string;
  /** The workspace's status at the last poll. */
  status?: string;
  polls: number;
  /** When the current wait began (the maximum wait counts from here). */
  waitStartedAt: string;
  firstLookAt?: string;
  actionRequested?: boolean;
  previousStatus?: string;
  queuePosition?: number;
  /** The last error a poll met, while it is tolerated. */
  lastError?: string;
}

/**
 * Any rigsnap activity's heartbeat as a reader sees it: a wait's, or the `{phase, listed}` /
 * `{phase, done, of}` of listings and batches. Every field may be missing, and workers of earlier
 * versions wrote times as epoch milliseconds.
 */
export type HeartbeatDetails = Partial<Omit<WaitHeartbeatDetails, 'waitStartedAt' | 'firstLookAt'>> & {
  waitStartedAt?: string | number;
  firstLookAt?: string | number;
  /** Listings: snapshots read so far. */
  listed?: number;
  /** Batches (a prune's deletions): done so far, failed, of how many. */
  done?: number;
  failed?: number;
  of?: number;
};

/** A heartbeat payload as a reader gets it (decoded JSON), or null when it is not an object. */
export function asHeartbeatDetails(raw: unknown): HeartbeatDetails | null {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : null;
}
