import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_POLL_SCHEDULE,
  LOCK_ACQUIRE_SIGNAL,
  LOCK_STATE_QUERY,
  SAFETY_SNAPSHOT_PREFIX,
  WORKFLOW_TYPES,
  formatDuration,
  isRetryable,
  nextPollDelayMs,
  workflowUrl,
  workflowIds,
  type ErrorType,
  type LockRequest,
  type LockState,
  type PollSchedule,
  type RigboxSnapshot,
  type RigboxWorkspace,
  type WorkspaceLockInput,
} from '../domain/index.js';
import { fromStoredHeartbeat, toStoredHeartbeat } from './heartbeat.js';
import { RigboxApiError, type RigboxClient } from './rigbox-client.js';
import { TransitionDurations } from './transition-durations.js';

export { createRigboxClient, RigboxApiError, type RigboxClient } from './rigbox-client.js';
export { TransitionDurations } from './transition-durations.js';

export interface ActivityDeps {
  rigbox: RigboxClient;
  /** Needed by the lock activities: queueing on a workspace lock and checking on its holder. */
  temporal?: { client: Client; taskQueue: string };
  pollSchedule?: PollSchedule;
  /** Longest wait for a stop or a start before a Timeout failure. */
  maxWaitMs?: number;
  /** Timeout of the long calls (create snapshot, restore) while they copy a disk. */
  longCallTimeoutMs?: number;
  /** How often long calls and waits report liveness. The SDK throttles what reaches the server. */
  heartbeatEveryMs?: number;
  /** Failure notifications: the webhook, and the Temporal UI base its links point into. */
  notifyUrl?: string;
  uiUrl?: string;
  /** Rigbox may lose a create's answer; a snapshot with the same name created this close before we asked is ours. */
  adoptionSkewMs?: number;
  /** What this worker learnt of how long stops and starts take (a hint for polling; in memory). */
  transitionDurations?: TransitionDurations;
}

/** What a wait reports in its heartbeat: shown in the UI's pending activity and by the CLI. */
export interface WaitHeartbeat {
  phase: string;
  status?: string;
  polls: number;
  waitStartedAt: number;
  firstLookAt?: number;
  actionRequested?: boolean;
  previousStatus?: string;
  queuePosition?: number;
}

export interface TransitionResult {
  /** Status when the activity first looked. */
  previousStatus: string;
  status: 'stopped' | 'running';
  /** Whether this activity asked Rigbox to stop/start (false when it already was). */
  actionRequested: boolean;
  polls: number;
  waitedMs: number;
}

export interface PreflightInput {
  workspaceId: string;
  /** For a restore: must exist and belong to this workspace. */
  snapshotId?: string;
  /** For a snapshot: ids of existing snapshots with this name, so a retried create can tell ours apart. */
  snapshotName?: string;
  /** Queue on the workspace lock after the checks; omitted for read-only preflights. */
  lock?: Omit<LockRequest, 'requestedAt'>;
}

export interface PreflightResult {
  workspace: RigboxWorkspace;
  snapshot: RigboxSnapshot | null;
  sameNameSnapshotIds: string[];
  /**
   * For a restore: ids of the workspace's safety snapshots (pre-restore-…) at the check, so that a retried
   * safety-snapshot create never adopts one of them (another restore's `pre-restore-<same second>`).
   * Absent in histories recorded before it existed.
   */
  existingSafetySnapshotIds?: string[];
  /** How long the operation waited behind others on the lock. */
  lockWaitMs: number;
}

export interface CreateSnapshotInput {
  workspaceId: string;
  name: string;
  /** Snapshots with this name that existed before: never adopted. */
  knownIds: string[];
  /** Workflow time when the step began (epoch ms). */
  notBeforeMs: number;
}

export interface NotifyInput {
  /** One line for people (Slack shows it). */
  text: string;
  workspaceId: string | null;
  workflowId: string;
  runId: string;
  workflowType: string;
  errorType: string | null;
  message: string;
  failures?: Array<{ workspaceId: string; errorType: string; message: string }>;
}

/** Turns a RigboxApiError into the ApplicationFailure the retry policy understands; passes others on. */
export function toFailure(err: unknown): unknown {
  const ctx = safeContext();
  if (ctx?.cancellationSignal.aborted) {
    const reason: unknown = ctx.cancellationSignal.reason;
    return reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
  }
  if (err instanceof RigboxApiError) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: !isRetryable(err.type),
      nextRetryDelay: err.retryAfterMs,
      details: err.status !== undefined ? [{ status: err.status }] : undefined,
    });
  }
  return err;
}

function failure(type: ErrorType, message: string, nonRetryable = !isRetryable(type)) {
  return ApplicationFailure.create({ type, message, nonRetryable });
}

function safeContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function createActivities(deps: ActivityDeps) {
  const { rigbox } = deps;
  const schedule = deps.pollSchedule ?? DEFAULT_POLL_SCHEDULE;
  const maxWaitMs = deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const longCallTimeoutMs = deps.longCallTimeoutMs ?? 2 * 3_600_000;
  const heartbeatEveryMs = deps.heartbeatEveryMs ?? 1000;
  const adoptionSkewMs = deps.adoptionSkewMs ?? 60_000;
  const durations = deps.transitionDurations ?? new TransitionDurations();

  const signal = () => Context.current().cancellationSignal;

  /** Keeps heartbeating while a long call is in flight, so a dead worker is noticed within the heartbeat timeout. */
  async function heartbeating<T>(details: unknown, work: () => Promise<T>): Promise<T> {
    const ctx = Context.current();
    ctx.heartbeat(details);
    const timer = setInterval(() => ctx.heartbeat(details), heartbeatEveryMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toFailure(err);
    }
  }

  /**
   * Drives a workspace to `target` and waits until Rigbox reports it: one loop that reads the status,
   * asks for the transition when the workspace is at the other end, and otherwise waits, polling on a
   * schedule that backs off with the time waited. Resumes its wait clock from the last heartbeat, so a
   * retried attempt (after a worker crash) still honours the maximum wait.
   */
  async function driveTo(workspaceId: string, target: 'stopped' | 'running'): Promise<TransitionResult> {
    const ctx = Context.current();
    const resumed = fromStoredHeartbeat(ctx.info.heartbeatDetails);
    // The clock of the current wait: reset when we ask for our transition, so waiting for someone
    // else's transition to end (a stop still running before we can start) has its own maximum wait.
    let waitStartedAt = resumed?.waitStartedAt ?? Date.now();
    let polls = resumed?.polls ?? 0;
    let actionRequested = resumed?.actionRequested ?? false;
    let previousStatus = resumed?.previousStatus;
    let consecutiveErrors = 0;
    /** Time into our own transition at the last poll that still saw it running (for learning its length). */
    let lastNotDoneMs: number | undefined;
    const firstLookAt = resumed?.firstLookAt ?? Date.now();
    const other = target === 'stopped' ? 'running' : 'stopped';
    const verb = target === 'stopped' ? 'stop' : 'start';

    for (;;) {
      let status: string | undefined;
      let retryAfterMs: number | undefined;
      try {
        status = (await rigbox.getWorkspace(workspaceId, { signal: signal() })).status;
        consecutiveErrors = 0;
      } catch (err) {
        // A transient error on a poll is a missed poll, not a failed wait; persistent ones fail the attempt.
        if (!(err instanceof RigboxApiError) || !isRetryable(err.type) || ++consecutiveErrors >= 10) throw toFailure(err);
        retryAfterMs = err.retryAfterMs;
      }
      polls++;
      if (status !== undefined) {
        previousStatus ??= status;
        if (status === target) {
          if (actionRequested && lastNotDoneMs !== undefined) {
            durations.record(target, workspaceId, lastNotDoneMs, Date.now() - waitStartedAt);
          }
          return { previousStatus, status: target, actionRequested, polls, waitedMs: Date.now() - firstLookAt };
        }
        if (status === other) {
          try {
            if (target === 'stopped') await rigbox.stopWorkspace(workspaceId, { signal: signal() });
            else await rigbox.startWorkspace(workspaceId, { signal: signal() });
            if (!actionRequested) waitStartedAt = Date.now();
            actionRequested = true;
          } catch (err) {
            // 409: the workspace moved under us (or a snapshot is being taken): read it again.
            if (!(err instanceof RigboxApiError && err.type === 'Conflict')) throw toFailure(err);
          }
        }
      }
      const elapsed = Date.now() - waitStartedAt;
      if (actionRequested && status !== undefined) lastNotDoneMs = elapsed;
      if (elapsed >= maxWaitMs) {
        throw failure(
          'Timeout',
          `workspace ${workspaceId} is still "${status ?? 'unknown'}" after ${formatDuration(elapsed)} waiting to ${verb} ` +
            `(${polls} checks; the maximum wait is ${formatDuration(maxWaitMs)}, RIGSNAP_MAX_WAIT_MS)`,
        );
      }
      const heartbeat: WaitHeartbeat = {
        phase: actionRequested ? `waiting for ${target}` : `requesting ${verb}`,
        status,
        polls,
        waitStartedAt,
        firstLookAt,
        actionRequested,
        previousStatus,
      };
      ctx.heartbeat(toStoredHeartbeat(heartbeat));
      const expected = actionRequested ? durations.expected(target, workspaceId) : undefined;
      const delay = Math.min(Math.max(nextPollDelayMs(elapsed, schedule, expected), retryAfterMs ?? 0), maxWaitMs - elapsed);
      await ctx.sleep(Math.max(1, delay));
    }
  }

  async function findSnapshot(workspaceId: string, snapshotId: string): Promise<{ snapshot: RigboxSnapshot; own: RigboxSnapshot[] }> {
    const own = await rigbox.listSnapshots(workspaceId, { signal: signal() });
    const found = own.find((s) => s.id === snapshotId);
    if (found) return { snapshot: found, own };
    // Say whose it is, if anyone's: restoring across workspaces is the docs' first limitation.
    const all = await rigbox.listAllSnapshots({ signal: signal() });
    const elsewhere = all.find((s) => s.id === snapshotId);
    if (elsewhere) {
      throw failure(
        'NotFound',
        `snapshot ${snapshotId} belongs to workspace ${elsewhere.workspace_id}, not ${workspaceId}: ` +
          'Rigbox restores a snapshot only into its own workspace',
      );
    }
    throw failure('NotFound', `snapshot ${snapshotId} does not exist in workspace ${workspaceId}`);
  }

  async function checkWorkspace(input: PreflightInput) {
    const workspace = await rigbox.getWorkspace(input.workspaceId, { signal: signal() }).catch((err: unknown) => {
      if (err instanceof RigboxApiError && err.type === 'NotFound') {
        throw failure('NotFound', `workspace ${input.workspaceId} does not exist (or this token cannot see it)`);
      }
      throw err;
    });
    const found = input.snapshotId ? await findSnapshot(input.workspaceId, input.snapshotId) : null;
    let sameNameSnapshotIds: string[] = [];
    if (input.snapshotName !== undefined) {
      const own = await rigbox.listSnapshots(input.workspaceId, { signal: signal() });
      sameNameSnapshotIds = own.filter((s) => s.name === input.snapshotName).map((s) => s.id);
    }
    return {
      workspace,
      snapshot: found?.snapshot ?? null,
      sameNameSnapshotIds,
      ...(found ? { existingSafetySnapshotIds: found.own.filter((s) => s.name.startsWith(SAFETY_SNAPSHOT_PREFIX)).map((s) => s.id) } : {}),
    };
  }

  /** Queues on the workspace lock and waits for the grant. Resolves with how long that took. */
  async function queueOnLock(workspaceId: string, request: LockRequest): Promise<number> {
    if (!deps.temporal) throw new Error('the lock activities need a Temporal client (ActivityDeps.temporal)');
    const { client, taskQueue } = deps.temporal;
    const ctx = Context.current();
    const lockId = workflowIds.lock(workspaceId);
    const started = Date.now();
    const send = () =>
      client.workflow.signalWithStart(WORKFLOW_TYPES.lock, {
        workflowId: lockId,
        taskQueue,
        args: [{ workspaceId } satisfies WorkspaceLockInput],
        signal: LOCK_ACQUIRE_SIGNAL,
        signalArgs: [request],
        staticSummary: `Serializes rigsnap operations on ${workspaceId}`,
      });
    await send();
    // The lock grants within one of its workflow tasks (tens of ms) when free: look soon, then back off.
    let delay = 15;
    for (;;) {
      await ctx.sleep(delay);
      delay = Math.min(1000, delay * 2);
      let state: LockState;
      try {
        state = await client.workflow.getHandle(lockId).query<LockState>(LOCK_STATE_QUERY);
      } catch {
        // The lock may be between runs (continue-as-new) or closed after idling: ask again.
        await send();
        continue;
      }
      if (state.holder?.requestId === request.requestId) return Date.now() - started;
      const position = state.queue.findIndex((r) => r.requestId === request.requestId);
      if (position < 0) {
        await send(); // not queued (the lock closed before our signal): queue again; duplicates are ignored
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

  return {
    /**
     * Checks before any downtime (the workspace exists; a restore's snapshot is this workspace's),
     * then queues on the workspace lock and waits for its turn, then checks again: what it returns is
     * the state under the lock.
     */
    async preflightAndLock(input: PreflightInput): Promise<PreflightResult> {
      return guarded(async () => {
        const first = await checkWorkspace(input);
        if (!input.lock) return { ...first, lockWaitMs: 0 };
        const lockWaitMs = await heartbeating({ phase: 'waiting for lock' }, () =>
          queueOnLock(input.workspaceId, { ...input.lock!, requestedAt: new Date().toISOString() }),
        );
        // Look again under the lock, even when no query saw another holder: the first check ran before we
        // held it, and another operation may have run in between unseen (a retried attempt whose request an
        // earlier attempt queued, lock queries that failed while a worker died, a release just before our
        // signal). A status read while someone else had the workspace stopped would leave it stopped.
        const fresh = await checkWorkspace(input);
        return { ...fresh, lockWaitMs };
      });
    },

    /** Stops the workspace (unless it already is) and waits until Rigbox reports it stopped. */
    async stopWorkspace(input: { workspaceId: string }): Promise<TransitionResult> {
      return guarded(() => driveTo(input.workspaceId, 'stopped'));
    },

    /** Starts the workspace (unless it already runs) and waits until Rigbox reports it running. */
    async startWorkspace(input: { workspaceId: string }): Promise<TransitionResult> {
      return guarded(() => driveTo(input.workspaceId, 'running'));
    },

    /**
     * Creates a snapshot, exactly once. A retried attempt first looks for a snapshot with this name
     * that did not exist before the step and was created after it began: that is the one the lost
     * answer was about, and it is adopted instead of making a second.
     */
    async createSnapshot(input: CreateSnapshotInput): Promise<{ snapshot: RigboxSnapshot; adopted: boolean }> {
      return guarded(async () => {
        const ctx = Context.current();
        if (ctx.info.attempt > 1) {
          const own = await rigbox.listSnapshots(input.workspaceId, { signal: signal() });
          const ours = own
            .filter(
              (s) =>
                s.name === input.name &&
                !input.knownIds.includes(s.id) &&
                Date.parse(s.created_at) >= input.notBeforeMs - adoptionSkewMs,
            )
            .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))[0];
          if (ours) {
            ctx.log.info('adopting snapshot created by an earlier attempt', { snapshotId: ours.id, attempt: ctx.info.attempt });
            return { snapshot: ours, adopted: true };
          }
        }
        try {
          const snapshot = await heartbeating({ phase: 'copying disk' }, () =>
            rigbox.createSnapshot(input.workspaceId, input.name, { signal: signal(), timeoutMs: longCallTimeoutMs }),
          );
          return { snapshot, adopted: false };
        } catch (err) {
          if (err instanceof RigboxApiError && err.type === 'Conflict') await explainConflict(input.workspaceId, 'snapshot', err);
          throw err;
        }
      });
    },

    /** Restores a snapshot into its (stopped) workspace. Repeating a restore is harmless: same result. */
    async restoreSnapshot(input: { workspaceId: string; snapshotId: string }): Promise<void> {
      return guarded(async () => {
        try {
          await heartbeating({ phase: 'restoring disk' }, () =>
            rigbox.restoreSnapshot(input.workspaceId, input.snapshotId, { signal: signal(), timeoutMs: longCallTimeoutMs }),
          );
        } catch (err) {
          if (err instanceof RigboxApiError && err.type === 'Conflict') await explainConflict(input.workspaceId, 'restore', err);
          throw err;
        }
      });
    },

    /** Deletes a snapshot. A snapshot already gone (a retry after a lost answer) counts as deleted. */
    async deleteSnapshot(input: { workspaceId: string; snapshotId: string }): Promise<{ alreadyGone: boolean }> {
      return guarded(async () => {
        try {
          await rigbox.deleteSnapshot(input.workspaceId, input.snapshotId, { signal: signal() });
          return { alreadyGone: false };
        } catch (err) {
          if (err instanceof RigboxApiError && err.type === 'NotFound') return { alreadyGone: true };
          throw err;
        }
      });
    },

    async listSnapshots(input: { workspaceId?: string }): Promise<RigboxSnapshot[]> {
      return guarded(async () => {
        if (input.workspaceId) {
          await checkWorkspace({ workspaceId: input.workspaceId });
          return rigbox.listSnapshots(input.workspaceId, { signal: signal() });
        }
        return rigbox.listAllSnapshots({ signal: signal() });
      });
    },

    /** For the lock's liveness check: has the holder's run closed (completed, failed, terminated…)? */
    async describeWorkflowRun(input: { workflowId: string; runId: string }): Promise<{ running: boolean; status: string }> {
      if (!deps.temporal) throw new Error('describeWorkflowRun needs a Temporal client (ActivityDeps.temporal)');
      try {
        const d = await deps.temporal.client.workflow.getHandle(input.workflowId, input.runId).describe();
        return { running: d.status.name === 'RUNNING', status: d.status.name };
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') return { running: false, status: 'NOT_FOUND' };
        throw err;
      }
    },

    /** Posts a failure notification (Slack-compatible `text` plus structured fields). */
    async notify(input: NotifyInput): Promise<{ delivered: boolean }> {
      if (!deps.notifyUrl) return { delivered: false };
      const info = Context.current().info;
      const uiUrl = workflowUrl(deps.uiUrl ?? 'http://localhost:8233', info.namespace, input.workflowId, input.runId);
      const body = { ...input, text: `${input.text}\n<${uiUrl}|Open in Temporal UI>`, uiUrl };
      let res: Response;
      try {
        res = await fetch(deps.notifyUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal(), AbortSignal.timeout(10_000)]),
        });
      } catch (err) {
        throw toFailure(new RigboxApiError('Unavailable', `notification webhook unreachable (${(err as Error).message})`));
      }
      if (!res.ok) {
        throw failure(res.status >= 500 || res.status === 429 ? 'Unavailable' : 'InvalidRequest', `notification webhook answered HTTP ${res.status}`);
      }
      return { delivered: true };
    },
  };

  /** A 409 on create/restore: retry if the workspace is stopped (Rigbox busy), give up if someone started it. */
  async function explainConflict(workspaceId: string, what: string, err: RigboxApiError): Promise<never> {
    const status = (await rigbox.getWorkspace(workspaceId, { signal: signal() })).status;
    if (status !== 'stopped') {
      throw failure(
        'Conflict',
        `cannot ${what} workspace ${workspaceId}: it is "${status}", not stopped (was it started by someone else?)`,
        true,
      );
    }
    throw failure('Conflict', `${what} of workspace ${workspaceId} refused: ${err.message}; retrying`, false);
  }
}

export type RigsnapActivities = ReturnType<typeof createActivities>;
