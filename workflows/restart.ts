/**
 * The saga around downtime: a workspace that rigsnap stopped is running again when the operation ends,
 * whether it succeeded, failed or was cancelled. Starting it again is not given up on a transient or
 * fixable error (a revoked token, a maintenance page, an outage): it is retried in rounds with a capped
 * pause between them, while the workflow shows why in its current details and sends one failure
 * notification. Two things end the loop: Rigbox saying the workspace is gone (WorkspaceGone, terminal:
 * nothing can start it), and an operator's `abandon` (workflows/abandon.ts). An operator who terminates
 * the run instead leaves the workspace lock to start the workspace before the next operation
 * (workflows/workspace-lock.ts).
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log, sleep, workflowInfo } from '@temporalio/workflow';
import type { RestartPolicy } from '../domain/inputs.js';
import { formatDuration } from '../domain/time.js';
import type { PreflightResult } from '../activities/index.js';
import type { Abandonment } from './abandon.js';
import { activities, asWorkflowFailure, shouldEndRunning, type ProgressTracker } from './common.js';
import { withDowntime } from './metrics.js';
import { describeFailure, notifyFailure } from './notify.js';
import { PATCHES, hasPatch } from './patches.js';

/** Pause after a failed round of restart attempts: 30 s, doubling, at most 15 min (about 11 history events a round). */
const FIRST_PAUSE_MS = 30_000;
const MAX_PAUSE_MS = 15 * 60_000;

/** Whether a failure (or the failure an activity or child reported) is the terminal WorkspaceGone. */
export function isWorkspaceGone(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === 'WorkspaceGone';
}

/**
 * Starts the workspace and waits until it runs, retrying every error until it does, except the two that
 * end it: WorkspaceGone (thrown, typed, so the run ends and frees its lock) and, when `abandonment` is
 * given, an operator's abandon (the `Abandoned` failure is thrown). `report` shows why it keeps failing
 * (undefined once it runs). Resolves with the number of rounds it took. `original` is the failure that
 * made the restart necessary (recorded in an abandon).
 */
export async function startAgainUntilRunning(
  workspaceId: string,
  report: (alert: string | undefined) => void,
  abandonable?: Abandonment,
  original?: unknown,
): Promise<number> {
  // Histories from before `abandon` replay without its attempt scope: a cancellable scope inside the
  // non-cancellable one would, in a run cancelled before this SDK flag was recorded, inherit the
  // cancellation and skip the start.
  const abandonment = abandonable && hasPatch(PATCHES.terminal2026_12) ? abandonable : undefined;
  let notified = false;
  let lastError = 'no attempt has failed';
  const abandoned = () => {
    const failure = abandonment!.stopped(workspaceId, lastError, original);
    report(failure.message);
    return failure;
  };
  abandonment?.trying(workspaceId, 0);
  for (let round = 1; ; round++) {
    try {
      const start = () => activities('compensation', `start ${workspaceId} again`).startWorkspace({ workspaceId, compensating: true });
      await (abandonment ? abandonment.attemptRound(start) : start());
      abandonment?.restarted();
      report(undefined);
      return round;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      if (isWorkspaceGone(err) && hasPatch(PATCHES.terminal2026_12)) {
        abandonment?.loopEnded();
        throw goneFailure(workspaceId, cause);
      }
      // The abandon cancelled this attempt: the reason to record is the last real failure.
      if (abandonment?.requested && isCancellation(err)) throw abandoned();
      const { errorType, message } = describeFailure(cause);
      lastError = `${errorType}: ${message}`;
      if (abandonment?.requested) throw abandoned();
      const pause = Math.min(FIRST_PAUSE_MS * 2 ** (round - 1), MAX_PAUSE_MS);
      report(
        `${workspaceId} is stopped and could not be started again (${errorType}: ${message}). ` +
          `rigsnap keeps trying: round ${round} failed, next in ${formatDuration(pause)}` +
          (abandonment ? ` (to stop trying and leave it stopped: rigsnap abandon ${workflowInfo().workflowId} --reason <text>).` : '.'),
      );
      log.warn('could not start the workspace again; retrying', { workspaceId, round, errorType, message });
      abandonment?.trying(workspaceId, round);
      if (!notified) {
        notified = true;
        await notifyFailure({
          text: `rigsnap: ${workspaceId} is stopped and could not be started again (${errorType}); rigsnap keeps trying`,
          workspaceId,
          errorType,
          message,
        });
      }
      if (abandonment) await abandonment.pause(pause);
      else await sleep(pause);
      if (abandonment?.requested) throw abandoned();
    }
  }
}

/** The run's end when Rigbox says the workspace is gone: typed, non-retryable, naming the workspace. */
export function goneFailure(workspaceId: string, cause: unknown): ApplicationFailure {
  log.warn('the workspace no longer exists in Rigbox; not starting it again', { workspaceId });
  return ApplicationFailure.create({
    type: 'WorkspaceGone',
    message: cause instanceof Error ? cause.message : `workspace ${workspaceId} no longer exists in Rigbox`,
    nonRetryable: true,
    details: [{ workspaceId }],
  });
}

/**
 * Runs `body`; if it fails or is cancelled after the workspace may have been stopped, starts the
 * workspace again (when `shouldStart`) in a non-cancellable scope, then fails with the original error.
 * Compensation runs only once nothing of `body` is in flight: its activities wait for their
 * cancellation to complete.
 */
export async function withRestartGuarantee<T>(workspaceId: string, shouldStart: boolean, tracker: ProgressTracker, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const failedStep = tracker.current?.step;
    const original = asWorkflowFailure(err, failedStep);
    if (!shouldStart) throw original;
    if (!hasPatch(PATCHES.core2026_11)) return legacyRestart(workspaceId, tracker, original);
    // The stop or start found the workspace gone (twice): there is nothing to start again.
    if (isWorkspaceGone(err) && hasPatch(PATCHES.terminal2026_12)) throw original;
    await CancellationScope.nonCancellable(async () => {
      tracker.begin('start', 'starting it again after a failure');
      await startAgainUntilRunning(workspaceId, (alert) => tracker.setAlert(alert), tracker.abandonment, original);
      tracker.end();
    });
    throw original;
  }
}

/** Legacy: one round of attempts, and a failure that said so when it did not work. Old histories replay here. */
async function legacyRestart(workspaceId: string, tracker: ProgressTracker, original: unknown): Promise<never> {
  const restartError = await CancellationScope.nonCancellable(async () => {
    tracker.begin('start', 'restarting after a failure');
    try {
      await activities('compensation', `restart ${workspaceId} after a failure`).startWorkspace({ workspaceId });
      tracker.end();
      return undefined;
    } catch (startErr) {
      log.error('could not start the workspace again after a failure', { workspaceId, error: String(startErr) });
      return startErr;
    }
  });
  if (restartError && original instanceof ApplicationFailure) {
    const why = restartError instanceof ActivityFailure ? restartError.cause?.message : restartError instanceof Error ? restartError.message : 'unknown error';
    throw ApplicationFailure.create({
      type: original.type ?? 'Error',
      message: `${original.message}; and the workspace could NOT be started again: ${why}`,
      nonRetryable: true,
      cause: original,
    });
  }
  throw original;
}

/**
 * The docs' stop → `change` → start, for a caller that holds the lock: stops the workspace, runs
 * `change` while it is stopped, and starts it again when it should end running (`restart`). Whatever
 * happens after the stop, the workspace is started again before this returns or throws, and the
 * downtime is measured. Shared by the snapshot and the restore.
 */
export async function whileStopped<T>(
  workspaceId: string,
  preflight: PreflightResult,
  restart: RestartPolicy,
  tracker: ProgressTracker,
  change: () => Promise<T>,
): Promise<{ changed: T; workspaceStatus: string }> {
  const endRunning = shouldEndRunning(restart, preflight.workspace.status);
  return withDowntime(tracker.operation, preflight.workspace.status, tracker.lock.holding?.requestId ?? '', (downtime) =>
    withRestartGuarantee(workspaceId, endRunning, tracker, async () => {
      tracker.begin('stop');
      downtime.stopping();
      await activities('awaitTransition', `stop ${workspaceId}`).stopWorkspace({
        workspaceId,
        restartAfter: endRunning,
        knownStatus: preflight.workspace.status,
      });
      const changed = await change();
      let workspaceStatus = 'stopped';
      if (endRunning) {
        tracker.begin('start');
        workspaceStatus = (await activities('awaitTransition', `start ${workspaceId}`).startWorkspace({ workspaceId, knownStatus: 'stopped' })).status;
        downtime.running();
      }
      tracker.end();
      return { changed, workspaceStatus };
    }),
  );
}
