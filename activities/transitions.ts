/**
 * Stopping and starting a workspace: one activity each, which asks Rigbox for the transition and waits
 * until it is over, polling on a backoff schedule (dense around the transition's usual length once
 * this worker has seen it) while a heartbeat ticker reports progress.
 */
import { Context } from '@temporalio/activity';
import { formatDuration, isRetryable, nextPollDelayMs } from '../domain/index.js';
import { changeOptions, readOptions, type ActivityEnv } from './env.js';
import { failure, guarded, retryable, throwIfCancelled, toFailure } from './failures.js';
import { fromStoredHeartbeat, startHeartbeat, toStoredHeartbeat } from './heartbeat.js';
import { RigboxApiError } from './rigbox-client.js';

export type { WaitHeartbeat } from './heartbeat.js';

export interface TransitionResult {
  /** Status when the activity first looked. */
  previousStatus: string;
  status: 'stopped' | 'running';
  /** Whether this activity asked Rigbox to stop/start (false when it already was). */
  actionRequested: boolean;
  polls: number;
  waitedMs: number;
}

export interface StopWorkspaceInput {
  workspaceId: string;
  /**
   * The status the caller read under the workspace lock just before (the preflight): when it is the
   * other end ("running"), the stop is asked for at once, without reading it again.
   */
  knownStatus?: string;
  /**
   * Whether the operation means to start the workspace again. Not used by the activity: it is in the
   * history so that the lock can tell, from a holder that closed without finishing (terminated), that
   * the workspace it stopped must be started again.
   */
  restartAfter?: boolean;
}

export interface StartWorkspaceInput {
  workspaceId: string;
  /** As for the stop: "stopped" when the caller knows it (it has just taken a snapshot of it). */
  knownStatus?: string;
  /** Starting it again after a failure or a cancellation: every error is retryable (see failures.retryable). */
  compensating?: boolean;
}

/** Consecutive failed polls tolerated before an attempt fails (a maintenance page, a flaky proxy). */
const MAX_CONSECUTIVE_POLL_ERRORS = 10;

export function createTransitionActivities(env: ActivityEnv) {
  const { rigbox, durations, schedule, maxWaitMs } = env;

  /**
   * Drives a workspace to `target` and waits until Rigbox reports it: one loop that reads the status,
   * asks for the transition when the workspace is at the other end, and otherwise waits. Resumes its
   * wait clock from the last heartbeat, so a retried attempt (after a worker crash) still honours the
   * maximum wait.
   */
  async function driveTo(workspaceId: string, target: 'stopped' | 'running', knownStatus?: string): Promise<TransitionResult> {
    const ctx = Context.current();
    const resumed = fromStoredHeartbeat(ctx.info.heartbeatDetails);
    // The clock of the current wait: reset when we ask for our transition, so waiting for someone
    // else's transition to end (a stop still running before we can start) has its own maximum wait.
    let waitStartedAt = resumed?.waitStartedAt ?? Date.now();
    let polls = resumed?.polls ?? 0;
    let actionRequested = resumed?.actionRequested ?? false;
    let previousStatus = resumed?.previousStatus;
    let consecutiveErrors = 0;
    let lastError: string | undefined;
    /** Time into our own transition at the last poll that still saw it running (for learning its length). */
    let lastNotDoneMs: number | undefined;
    const firstLookAt = resumed?.firstLookAt ?? Date.now();
    const other = target === 'stopped' ? 'running' : 'stopped';
    const verb = target === 'stopped' ? 'stop' : 'start';
    let status: string | undefined;

    const details = (phase: string) =>
      toStoredHeartbeat({
        phase,
        status,
        polls,
        waitStartedAt,
        firstLookAt,
        actionRequested,
        previousStatus,
        ...(lastError ? { lastError } : {}),
      });
    const hb = startHeartbeat(details(`checking before the ${verb}`), env.heartbeatEveryMs);

    /** A transient error (or a maintenance page) on a call is a missed poll, not a failed wait; persistent ones fail the attempt. */
    const tolerate = (err: unknown): number | undefined => {
      if (!(err instanceof RigboxApiError) || !isRetryable(err.type) || ++consecutiveErrors >= MAX_CONSECUTIVE_POLL_ERRORS) {
        throw err;
      }
      lastError = `${err.type}: ${err.message}`;
      return err.retryAfterMs;
    };

    // A status the caller has just read under the lock stands in for the first read (a first attempt only:
    // a retried one cannot know what the earlier attempt did).
    let assumed = !resumed && ctx.info.attempt === 1 && knownStatus === other ? knownStatus : undefined;
    /** Whether this wait brackets the expected end (decided once, when an estimate is first used). */
    let probe: boolean | undefined;
    try {
      for (;;) {
        throwIfCancelled();
        let retryAfterMs: number | undefined;
        status = undefined;
        if (assumed !== undefined) {
          status = assumed;
          assumed = undefined;
        } else {
          try {
            status = (await rigbox.getWorkspace(workspaceId, readOptions())).status;
            consecutiveErrors = 0;
            lastError = undefined;
          } catch (err) {
            if (ctx.cancellationSignal.aborted) throw err;
            retryAfterMs = tolerate(err);
          }
          polls++;
        }
        if (status !== undefined) {
          previousStatus ??= status;
          if (status === target) {
            if (actionRequested && lastNotDoneMs !== undefined) {
              durations.record(target, workspaceId, lastNotDoneMs, Date.now() - waitStartedAt);
            }
            return { previousStatus, status: target, actionRequested, polls, waitedMs: Date.now() - firstLookAt };
          }
          if (status === other) {
            // Remembered before asking: a retry after a crash mid-request must know it (maybe) asked.
            hb.update(details(`requesting ${verb}`));
            try {
              if (target === 'stopped') await rigbox.stopWorkspace(workspaceId, changeOptions());
              else await rigbox.startWorkspace(workspaceId, changeOptions());
              if (!actionRequested) waitStartedAt = Date.now();
              actionRequested = true;
            } catch (err) {
              // 409: the workspace moved under us (or a snapshot is being taken): read it again.
              if (!(err instanceof RigboxApiError && err.type === 'Conflict')) retryAfterMs = tolerate(err);
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
        hb.update(details(actionRequested ? `waiting for ${target}` : `requesting ${verb}`));
        const expected = actionRequested ? durations.expected(target, workspaceId) : undefined;
        probe ??= expected !== undefined ? durations.probe(target) : undefined;
        const delay = Math.min(Math.max(nextPollDelayMs(elapsed, schedule, expected, probe ?? true), retryAfterMs ?? 0), maxWaitMs - elapsed);
        await ctx.sleep(Math.max(1, delay));
      }
    } finally {
      hb.stop();
    }
  }

  return {
    /** Stops the workspace (unless it already is) and waits until Rigbox reports it stopped. */
    async stopWorkspace(input: StopWorkspaceInput): Promise<TransitionResult> {
      return guarded(() => driveTo(input.workspaceId, 'stopped', input.knownStatus));
    },

    /** Starts the workspace (unless it already runs) and waits until Rigbox reports it running. */
    async startWorkspace(input: StartWorkspaceInput): Promise<TransitionResult> {
      return guarded(() => driveTo(input.workspaceId, 'running', input.knownStatus), input.compensating ? retryable : toFailure);
    },
  };
}
