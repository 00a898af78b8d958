import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
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
   * Legacy (preflightAndLock): preflight, then waiting in the workspace's queue inside the activity. Only
   * operations started before the lock granted by signal use it.
   */
  lockWait: {
    startToCloseTimeout: '24h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '48h',
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
   * Starting a workspace again after a failure or a cancellation: one round of attempts (about 15 s of
   * backoff: a short outage passes within it). Every error type is retried (the activity reports them
   * all retryable): a revoked token gets replaced, a maintenance page ends. The workflow runs rounds until
   * the workspace runs, showing why in its current details between them (workflows/restart.ts).
   */
  compensation: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
  },
  /** Listing snapshots: many pages on a large account, heartbeating per page. */
  listing: {
    startToCloseTimeout: '30m',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '1h',
    retry: transientRetry,
  },
  /** Deleting one prune round's batch (up to a few hundred snapshots), heartbeating. */
  pruneDelete: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '6h',
    retry: transientRetry,
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
  /** The lock's checks: whether its holder's run has closed, what a closed holder left, what an open operation holds. */
  lockCheck: {
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '10m',
    retry: transientRetry,
  },
  /**
   * Queueing on (and releasing to) the workspace entity: an Update-with-Start to Temporal, not Rigbox. A
   * regular activity, not a local one: while it waits for the entity's answer the operation can leave the
   * worker's cache, and the entity needs a slot there to answer (a full cache of operations each waiting in
   * a local activity stalled them all). Retried for an hour while Temporal is unreachable.
   */
  entityCall: {
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '1h',
    retry: { ...transientRetry, maximumInterval: '10s' },
  },
  /** A fleet asking its handed-over and slow children how they are: a describe and a query per child. */
  fleetCheck: {
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '10m',
    retry: transientRetry,
  },
} as const satisfies Record<string, ActivityOptions>;

export type ProfileName = keyof typeof profiles;

/**
 * The heartbeat timeout of a long activity that nobody waits for at a screen (a scheduled or fleet
 * backup; domain/priority.ts isInteractive): a dead worker is noticed within this, and the activity beats
 * 15 s before it lapses (activities/heartbeat.ts), so a 30 s stop, a 60 s copy and a 30 s start cost about 1
 * heartbeat (a billed action) instead of 47. The profiles' 10 s stays for operations someone waits for, so
 * a cancel reaches their activity within seconds. Only the timeout differs: replay does not compare it.
 */
export const BATCH_HEARTBEAT_TIMEOUT = '60s';

/** A profile as a run at this priority uses it: a batch run's heartbeats at the minute's scale. */
export function profileFor(profile: ProfileName, interactive: boolean): ActivityOptions {
  const p: ActivityOptions = profiles[profile];
  if (interactive || p.heartbeatTimeout === undefined || profile === 'lockWait') return p;
  return { ...p, heartbeatTimeout: BATCH_HEARTBEAT_TIMEOUT };
}

/**
 * Local activities: short calls made inside the workflow task, recorded as one marker event each instead
 * of an activity's three plus a workflow task. For the steps every locked operation takes, where history
 * size and latency add up across a fleet.
 */
export const localProfiles = {
  /**
   * Queueing on the workspace lock (signal-with-start to Temporal, not Rigbox). Retried for an hour:
   * while Temporal is unreachable the operation has nothing better to do than wait.
   */
  lockSignal: {
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '1h',
    retry: { ...transientRetry, maximumInterval: '10s' },
  },
  /**
   * The checks under the lock: a status read, and listings for a restore or a new snapshot's name. A long
   * listing keeps the workflow task alive (the SDK heartbeats it); retries past a few seconds wait on a
   * timer instead of in the worker.
   */
  preflight: {
    startToCloseTimeout: '10m',
    scheduleToCloseTimeout: '30m',
    localRetryThreshold: '10s',
    retry: transientRetry,
  },
  /**
   * A lock run that starts without carried state asks the workspace's open operations: one visibility
   * query and, rarely, a query to an operation it does not know yet. The lock retries a failed rebuild
   * itself, every 30 s.
   */
  lockRebuild: {
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: '5m',
    localRetryThreshold: '10s',
    retry: transientRetry,
  },
  /**
   * A snapshot whose name exists already asks whether an earlier run of its workflow id was cancelled after
   * its copy (one visibility query, then the closed runs' results). Temporal, not Rigbox.
   */
  earlierRun: {
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: '5m',
    localRetryThreshold: '10s',
    retry: transientRetry,
  },
  /** A prune's selection: one listing of the workspace's snapshots and the retention policy applied to it. */
  pruneSelect: {
    startToCloseTimeout: '10m',
    scheduleToCloseTimeout: '30m',
    localRetryThreshold: '10s',
    retry: transientRetry,
  },
  /** A worker's in-memory hint (the expected downtime of a stop): no call out, so a few quick tries. */
  hint: {
    startToCloseTimeout: '10s',
    retry: { initialInterval: '1s', maximumAttempts: 3 },
  },
} as const satisfies Record<string, LocalActivityOptions>;

export type LocalProfileName = keyof typeof localProfiles;
