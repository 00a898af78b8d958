import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';

/**
 * Timeouts and retry policies, named by what the call does. Every profile has an explicit
 * start-to-close timeout; those that run long also heartbeat, so a dead worker is noticed within the
 * heartbeat timeout rather than the start-to-close timeout.
 */

const transientRetry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

export const profiles = {
  /** One short Rigbox call (list, delete). Rides out a 30-minute outage, then fails. */
  quickCall: {
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: '30m',
    retry: transientRetry,
  },
  /**
   * Preflight, then waiting in the workspace's queue. The queue can be long (a big restore ahead), so
   * only the heartbeat bounds an attempt.
   */
  lockWait: {
    startToCloseTimeout: '24h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '48h',
    // Short backoff: once its turn comes, the lock waits for this operation; a long retry interval after
    // a worker died would leave the workspace's queue idle for minutes.
    retry: { ...transientRetry, maximumInterval: '5s' },
  },
  /**
   * Stop or start and wait for the transition. The activity itself gives up with a Timeout failure
   * after RIGSNAP_MAX_WAIT_MS (at most 50 minutes); this bound is only the backstop.
   */
  awaitTransition: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '2h',
    retry: transientRetry,
  },
  /** Create or restore a snapshot: minutes for a big disk, heartbeating while the request is in flight. */
  longCopy: {
    startToCloseTimeout: '3h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '6h',
    retry: transientRetry,
  },
  /**
   * Starting a workspace again after a failure or a cancellation. No schedule-to-close bound: leaving a
   * workspace down is the outcome rigsnap exists to prevent, so transient errors are retried until Rigbox
   * answers; only a non-retryable error (the workspace is gone, the token is refused) ends it.
   */
  compensation: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '10s',
    retry: transientRetry, // no maximumAttempts: unlimited
  },
  /** A webhook notification: a few tries, and a failing webhook never fails the backup. */
  notification: {
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '5m',
    retry: { ...transientRetry, maximumAttempts: 5 },
  },
  /** The backup audit's inventory: schedules, every snapshot and the recent backup runs, read once. */
  inventory: {
    startToCloseTimeout: '15m',
    heartbeatTimeout: '1m',
    scheduleToCloseTimeout: '1h',
    retry: transientRetry,
  },
  /** The lock's check on whether its holder's run has closed. */
  lockCheck: {
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '10m',
    retry: transientRetry,
  },
} as const satisfies Record<string, ActivityOptions>;

export type ProfileName = keyof typeof profiles;
