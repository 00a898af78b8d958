/**
 * A group's downtime (issue 23), shared by the group snapshot and the group restore: stop every member at
 * once, run a change while all are stopped, then start every member again. The group form of
 * workflows/restart.ts `whileStopped`, for a caller that holds every member's lock
 * (workflows/workspace-locks.ts): whatever happens after the first stop (a failure, a cancellation), every
 * member it stopped that should end running is started again before this returns, under the same restart
 * guarantee (`startAgainUntilRunning`: retried until it runs; a workspace gone or an operator's `abandon`
 * ends it).
 *
 * The start order is the order the starts are asked for: each member's start is sent once Rigbox accepted
 * the one before it (the requestStarts activity), and then all of them are waited for together, so a
 * group's downtime is about its slowest member's, not the sum of its members' (docs/groups.md).
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { membersToStart } from '../domain/groups.js';
import { activities, asWorkflowFailure, type ProgressTracker } from './common.js';
import { describeFailure } from './notify.js';
import { goneFailure, isWorkspaceGone, startAgainUntilRunning } from './restart.js';

/** A member as its preflight found it: the status its stop starts from, and whether it ends running. */
export interface StoppableMember {
  workspaceId: string;
  status: string;
  /** Whether it is started again at the end (a workspace found stopped may stay so); true when absent. */
  endRunning?: boolean;
}

/** One member through the downtime. */
export interface MemberDowntime {
  /** A stop was asked for: from then on the start phase owes it a start (when it should end running). */
  stopAsked: boolean;
  stopped: boolean;
  /** Its stop's or its start's own failure (never a cancellation). */
  failure: unknown;
  /** As last known: `stopped`, `running`, `gone`, or as the preflight read it. */
  status: string;
}

/** How the downtime went: the change's value or failure (typed), and each member's state. */
export interface Downtime<T> {
  outcome: { ok: true; value: T } | { ok: false; failure: unknown; phase: 'stop' | 'change' };
  members: Record<string, MemberDowntime>;
  /** The first start that failed (a member gone, or abandoned by an operator), if any. */
  startFailure: unknown;
  /** The members it owed a start, in the start order. */
  started: string[];
}

/**
 * Waits until every call has settled, then throws the first failure, if any: a compensation must never
 * start while a sibling's stop, copy or restore is still in flight.
 */
export async function settleAll<T>(calls: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Stops every member at once, each waiting until stopped; records each one's end. Returns a cancellation seen, if any. */
async function stopAll(members: readonly StoppableMember[], states: Record<string, MemberDowntime>, tracker: ProgressTracker): Promise<unknown> {
  tracker.begin('stop', `stopping ${members.length} workspaces`);
  let cancelled: unknown = null;
  await Promise.all(
    members.map(async ({ workspaceId, status, endRunning }) => {
      const state = states[workspaceId]!;
      state.stopAsked = true;
      try {
        await activities('awaitTransition', `stop ${workspaceId}`).stopWorkspace({ workspaceId, restartAfter: endRunning ?? true, knownStatus: status });
        Object.assign(state, { stopped: true, status: 'stopped' });
      } catch (err) {
        if (isCancellation(err)) cancelled ??= err;
        else state.failure = asWorkflowFailure(err, 'stop');
      }
    }),
  );
  return cancelled;
}

/**
 * One member's start after its request: waits until it runs. A few attempts (the compensation profile's
 * five, seconds apart), then a failure is left to the restart loop, where an operator can `abandon` it
 * (gone: it ends here).
 */
async function startOne(workspaceId: string, state: MemberDowntime): Promise<void> {
  try {
    const knownStatus = state.status === 'stopped' ? { knownStatus: 'stopped' } : {};
    state.status = (await activities('compensation', `start ${workspaceId}`).startWorkspace({ workspaceId, ...knownStatus })).status;
  } catch (err) {
    const gone = isWorkspaceGone(err);
    state.status = gone ? 'gone' : 'stopped';
    if (gone) state.failure ??= goneFailure(workspaceId, err instanceof ActivityFailure ? err.cause : err);
  }
}

/**
 * Starts every member in `order`, not cancellable: the starts asked for in order (each once the one
 * before it was accepted), then all waited for at once; a member whose start failed is then started
 * again until it runs, one at a time (startAgainUntilRunning: an operator's `abandon` ends the loop of
 * the member it is in, and the members after it get one round each). Returns the first start that failed.
 */
async function startAll(order: readonly string[], states: Record<string, MemberDowntime>, tracker: ProgressTracker, original: unknown): Promise<unknown> {
  if (!order.length) return undefined;
  return CancellationScope.nonCancellable(async () => {
    tracker.begin('start', `starting ${order.length} workspaces in order: ${order.join(' → ')}`);
    if (order.length > 1) {
      try {
        const asked = await activities('quickCall', `ask ${order.join(' → ')} to start, in that order`).requestStarts({ workspaceIds: [...order] });
        for (const a of asked) if (a.requested) states[a.workspaceId]!.status = 'starting';
      } catch {
        // Only the order is lost (no worker took it for its whole schedule-to-close): each member's own start still asks.
      }
    }
    await Promise.all(order.map((workspaceId) => startOne(workspaceId, states[workspaceId]!)));
    let first: unknown;
    for (const workspaceId of order) {
      const state = states[workspaceId]!;
      if (state.status !== 'stopped') continue;
      try {
        await startAgainUntilRunning(workspaceId, (alert) => tracker.setAlert(alert), tracker.abandonment, original);
        state.status = 'running';
      } catch (err) {
        state.status = isWorkspaceGone(err) ? 'gone' : 'stopped';
        state.failure ??= err;
        first ??= err;
      }
    }
    first ??= order.map((id) => states[id]!).find((s) => s.status === 'gone')?.failure;
    tracker.end();
    return first;
  });
}

/**
 * Stops all `members` (in parallel, each waiting until stopped), runs `change` if every one stopped, and
 * starts again, in `order`, every member a stop was asked for that should end running, whether `change`
 * succeeded, failed or was cancelled (or was skipped because a stop failed). Never throws: the change's
 * value or failure (typed, as asWorkflowFailure makes it; a stop's failure, or the cancellation, when it
 * did not run) and each member's state are the answer.
 */
export async function whileAllStopped<T>(
  members: readonly StoppableMember[],
  order: readonly string[],
  tracker: ProgressTracker,
  change: () => Promise<T>,
): Promise<Downtime<T>> {
  const states: Record<string, MemberDowntime> = Object.fromEntries(
    members.map((m) => [m.workspaceId, { stopAsked: false, stopped: false, failure: null, status: m.status }]),
  );
  let outcome: Downtime<T>['outcome'];
  try {
    const cancelled = await stopAll(members, states, tracker);
    const stopFailure = members.map((m) => states[m.workspaceId]!.failure).find((f) => f !== null);
    if (cancelled !== null || stopFailure !== undefined) outcome = { ok: false, failure: cancelled ?? stopFailure, phase: 'stop' };
    else outcome = { ok: true, value: await change() };
  } catch (err) {
    outcome = { ok: false, failure: asWorkflowFailure(err, tracker.current?.step), phase: 'change' };
  }
  const endRunning = new Set(members.filter((m) => states[m.workspaceId]!.stopAsked && (m.endRunning ?? true)).map((m) => m.workspaceId));
  const started = membersToStart(order, endRunning);
  const startFailure = await startAll(started, states, tracker, outcome.ok ? undefined : outcome.failure);
  return { outcome, members: states, startFailure, started };
}

/**
 * The failure of a group operation whose downtime left members down (an operator's abandon, a member
 * gone): the first start failure's type (`Abandoned`, `WorkspaceGone`), a message naming every member it
 * owed a start that does not run, and `details` (the operation's result: each member's state).
 */
export function leftDownFailure(downtime: Downtime<unknown>, what: string, details: unknown): ApplicationFailure {
  const first = downtime.startFailure;
  const cause = first instanceof ActivityFailure ? first.cause : first;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : 'Error';
  const down = downtime.started.filter((id) => downtime.members[id]!.status !== 'running');
  return ApplicationFailure.create({
    type,
    message:
      `${what}; left not running: ${down.map((id) => `${id} (${downtime.members[id]!.status})`).join(', ')}` +
      ` (${cause instanceof Error ? cause.message : String(cause)})`,
    nonRetryable: true,
    details: [details],
  });
}

/** A failure as an error type and message (an activity's unwrapped). */
export function failureOf(err: unknown): { errorType: string; message: string } {
  return describeFailure(err instanceof ActivityFailure ? err.cause : err);
}
