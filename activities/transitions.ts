/**
 * Stopping and starting a workspace: one activity each, which asks Rigbox for the transition and waits
 * until it is over, polling on a backoff schedule (dense around the transition's usual length once
 * this worker has seen it) while a heartbeat ticker reports progress.
 */
import { Context } from '@temporalio/activity';
import { formatDuration, isRetryable, nextPollDelayMs } from '../domain/index.js';
import { changeOptions, readOptions, type ActivityEnv } from './env.js';
import { failure, guarded, retryable, throwIfCancelled, toFailure } from './failures.js';
import { fromStoredHeartbeat, startHeartbeat, toStoredHeartbeat, type Heartbeat, type StoredWaitHeartbeat } from './heartbeat.js';
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
/**
 * Pause before reading a workspace again that Rigbox has just called missing: long enough for a stale
 * replica or a proxy's hiccup to pass, short enough that a deleted workspace ends the operation at once.
 */
const GONE_CONFIRM_DELAY_MS = 1000;

/**
 * One attempt at driving a workspace to `target` and waiting until Rigbox reports it: one loop that
 * reads the status, asks for the transition when the workspace is at the other end, and otherwise
 * waits. Resumes its wait clock from the last heartbeat, so a retried attempt (after a worker crash)
 * still honours the maximum wait.
 */
class WorkspaceTransition {
  private readonly ctx = Context.current();
  private readonly other: 'stopped' | 'running';
  private readonly verb: 'stop' | 'start';
  // The clock of the current wait: reset when we ask for our transition, so waiting for someone
  // else's transition to end (a stop still running before we can start) has its own maximum wait.
  private waitStartedAt: number;
  private polls: number;
  private actionRequested: boolean;
  private previousStatus: string | undefined;
  private consecutiveErrors = 0;
  private lastError: string | undefined;
  /** Time into our own transition at the last poll that still saw it running (for learning its length). */
  private lastNotDoneMs: number | undefined;
  private readonly firstLookAt: number;
  private status: string | undefined;
  private readonly hb: Heartbeat<StoredWaitHeartbeat>;
  /** A status the caller has just read under the lock, standing in for the first read. */
  private assumed: string | undefined;
  /** Whether this wait brackets the expected end (decided once, when an estimate is first used). */
  private probe: boolean | undefined;

  constructor(
    private readonly env: ActivityEnv,
    private readonly workspaceId: string,
    private readonly target: 'stopped' | 'running',
    knownStatus?: string,
  ) {
    const resumed = fromStoredHeartbeat(this.ctx.info.heartbeatDetails);
    this.waitStartedAt = resumed?.waitStartedAt ?? Date.now();
    this.polls = resumed?.polls ?? 0;
    this.actionRequested = resumed?.actionRequested ?? false;
    this.previousStatus = resumed?.previousStatus;
    this.firstLookAt = resumed?.firstLookAt ?? Date.now();
    this.other = target === 'stopped' ? 'running' : 'stopped';
    this.verb = target === 'stopped' ? 'stop' : 'start';
    this.hb = startHeartbeat(this.details(`checking before the ${this.verb}`), env.heartbeatEveryMs);
    // A first attempt only: a retried one cannot know what the earlier attempt did.
    this.assumed = !resumed && this.ctx.info.attempt === 1 && knownStatus === this.other ? knownStatus : undefined;
  }

  async run(): Promise<TransitionResult> {
    try {
      for (;;) {
        throwIfCancelled();
        let retryAfterMs = await this.look();
        if (this.status !== undefined) {
          this.previousStatus ??= this.status;
          if (this.status === this.target) return this.arrived(this.previousStatus);
          if (this.status === this.other) retryAfterMs = await this.askForTransition();
        }
        await this.waitBeforeNextLook(retryAfterMs);
      }
    } finally {
      this.hb.stop();
    }
  }

  private details(phase: string): StoredWaitHeartbeat {
    return toStoredHeartbeat({
      phase,
      status: this.status,
      polls: this.polls,
      waitStartedAt: this.waitStartedAt,
      firstLookAt: this.firstLookAt,
      actionRequested: this.actionRequested,
      previousStatus: this.previousStatus,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    });
  }

  /**
   * A failed call: a 404 on the workspace is read once more and, if Rigbox says it again, ends the wait
   * with WorkspaceGone (terminal: nothing can start a deleted workspace); an answer the second time makes
   * the first a missed poll. Other errors go to `tolerate`.
   */
  private async onCallError(err: unknown): Promise<number | undefined> {
    if (!(err instanceof RigboxApiError && err.type === 'NotFound')) return this.tolerate(err);
    await this.ctx.sleep(GONE_CONFIRM_DELAY_MS);
    try {
      this.status = (await this.env.rigbox.getWorkspace(this.workspaceId, readOptions())).status;
      this.polls++;
      return undefined;
    } catch (again) {
      if (this.ctx.cancellationSignal.aborted) throw again;
      if (again instanceof RigboxApiError && again.type === 'NotFound') {
        throw failure(
          'WorkspaceGone',
          `workspace ${this.workspaceId} no longer exists in Rigbox (HTTP 404 twice, ${GONE_CONFIRM_DELAY_MS} ms apart, ` +
            `while waiting to ${this.verb} it): ${err.message}`,
        );
      }
      return this.tolerate(again);
    }
  }

  /** A transient error (or a maintenance page) on a call is a missed poll, not a failed wait; persistent ones fail the attempt. */
  private tolerate(err: unknown): number | undefined {
    if (!(err instanceof RigboxApiError) || !isRetryable(err.type) || ++this.consecutiveErrors >= MAX_CONSECUTIVE_POLL_ERRORS) {
      throw err;
    }
    this.lastError = `${err.type}: ${err.message}`;
    return err.retryAfterMs;
  }

  /** Reads the status (or takes the assumed one); a tolerated failure leaves it undefined and returns its Retry-After. */
  private async look(): Promise<number | undefined> {
    this.status = undefined;
    if (this.assumed !== undefined) {
      this.status = this.assumed;
      this.assumed = undefined;
      return undefined;
    }
    let retryAfterMs: number | undefined;
    try {
      this.status = (await this.env.rigbox.getWorkspace(this.workspaceId, readOptions())).status;
      this.consecutiveErrors = 0;
      this.lastError = undefined;
    } catch (err) {
      if (this.ctx.cancellationSignal.aborted) throw err;
      retryAfterMs = await this.onCallError(err);
    }
    this.polls++;
    return retryAfterMs;
  }

  private arrived(previousStatus: string): TransitionResult {
    if (this.actionRequested && this.lastNotDoneMs !== undefined) {
      this.env.durations.record(this.target, this.workspaceId, this.lastNotDoneMs, Date.now() - this.waitStartedAt);
    }
    return { previousStatus, status: this.target, actionRequested: this.actionRequested, polls: this.polls, waitedMs: Date.now() - this.firstLookAt };
  }

  /** Asks Rigbox to stop or start; a tolerated failure returns its Retry-After. */
  private async askForTransition(): Promise<number | undefined> {
    // Remembered before asking: a retry after a crash mid-request must know it (maybe) asked.
    this.hb.update(this.details(`requesting ${this.verb}`));
    try {
      if (this.target === 'stopped') await this.env.rigbox.stopWorkspace(this.workspaceId, changeOptions());
      else await this.env.rigbox.startWorkspace(this.workspaceId, changeOptions());
      if (!this.actionRequested) this.waitStartedAt = Date.now();
      this.actionRequested = true;
    } catch (err) {
      // 409: the workspace moved under us (or a snapshot is being taken): read it again.
      if (!(err instanceof RigboxApiError && err.type === 'Conflict')) return this.onCallError(err);
    }
    return undefined;
  }

  /** Fails with Timeout past the maximum wait; otherwise sleeps until the next poll is due. */
  private async waitBeforeNextLook(retryAfterMs: number | undefined): Promise<void> {
    const { durations, schedule, maxWaitMs } = this.env;
    const elapsed = Date.now() - this.waitStartedAt;
    if (this.actionRequested && this.status !== undefined) this.lastNotDoneMs = elapsed;
    // Only a status read says the workspace is stuck: past the maximum wait with none (a maintenance of
    // Rigbox), it keeps reading until one comes; the consecutive-error bound and the activity's retry
    // policy (schedule-to-close) bound that.
    const statusUnknown = this.status === undefined;
    if (elapsed >= maxWaitMs && !statusUnknown) {
      throw failure(
        'Timeout',
        `workspace ${this.workspaceId} is still "${this.status ?? 'unknown'}" after ${formatDuration(elapsed)} waiting to ${this.verb} ` +
          `(${this.polls} checks; the maximum wait is ${formatDuration(maxWaitMs)}, RIGSNAP_MAX_WAIT_MS)`,
      );
    }
    this.hb.update(this.details(this.actionRequested ? `waiting for ${this.target}` : `requesting ${this.verb}`));
    const expected = this.actionRequested ? durations.expected(this.target, this.workspaceId) : undefined;
    this.probe ??= expected !== undefined ? durations.probe(this.target) : undefined;
    const untilMaxWait = statusUnknown ? Infinity : maxWaitMs - elapsed;
    const delay = Math.min(Math.max(nextPollDelayMs(elapsed, schedule, expected, this.probe ?? true), retryAfterMs ?? 0), untilMaxWait);
    await this.ctx.sleep(Math.max(1, delay));
  }
}

/** Stops the workspace (unless it already is) and waits until Rigbox reports it stopped. */
async function stopWorkspace(env: ActivityEnv, input: StopWorkspaceInput): Promise<TransitionResult> {
  return guarded(() => new WorkspaceTransition(env, input.workspaceId, 'stopped', input.knownStatus).run());
}

/** Starts the workspace (unless it already runs) and waits until Rigbox reports it running. */
async function startWorkspace(env: ActivityEnv, input: StartWorkspaceInput): Promise<TransitionResult> {
  return guarded(() => new WorkspaceTransition(env, input.workspaceId, 'running', input.knownStatus).run(), input.compensating ? retryable : toFailure);
}

export interface RequestStartsInput {
  /** The workspaces to start, in the order their starts are to be asked for. */
  workspaceIds: string[];
}

/** What asking for one start found: the status after it, whether this asked, and why not when a call failed. */
export interface StartRequested {
  workspaceId: string;
  status: string | null;
  requested: boolean;
  error?: string;
}

/**
 * Asks Rigbox to start each workspace in the given order, each once the one before it was accepted,
 * without waiting for any to run: a group's start order, with its members' starts overlapping (the
 * waits are each member's startWorkspace). Best effort by design: a member whose status read or start
 * request fails is reported and the next one is asked; its startWorkspace asks again. Idempotent (it
 * asks only a workspace it reads as stopped), so a retried attempt asks no workspace twice.
 */
async function requestStarts(env: ActivityEnv, input: RequestStartsInput): Promise<StartRequested[]> {
  const asked: StartRequested[] = [];
  for (const workspaceId of input.workspaceIds) {
    throwIfCancelled();
    const one: StartRequested = { workspaceId, status: null, requested: false };
    try {
      one.status = (await env.rigbox.getWorkspace(workspaceId, readOptions())).status;
      if (one.status === 'stopped') {
        try {
          await env.rigbox.startWorkspace(workspaceId, changeOptions());
          Object.assign(one, { requested: true, status: 'starting' });
        } catch (err) {
          // 409: it moved meanwhile (someone else's start, a snapshot finishing): its startWorkspace reads it again.
          if (!(err instanceof RigboxApiError && err.type === 'Conflict')) throw err;
        }
      }
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      one.error = err instanceof RigboxApiError ? `${err.type}: ${err.message}` : String(err);
    }
    asked.push(one);
  }
  return asked;
}

export function createTransitionActivities(env: ActivityEnv) {
  return {
    stopWorkspace: (input: StopWorkspaceInput) => stopWorkspace(env, input),
    startWorkspace: (input: StartWorkspaceInput) => startWorkspace(env, input),
    requestStarts: (input: RequestStartsInput) => guarded(() => requestStarts(env, input)),
  };
}
