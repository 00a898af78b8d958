/**
 * A group's downtime (issue 23): stop every member at once, run a change while all are stopped, then start
 * every member in the group's start order, each running before the next starts (the database before the
 * API). The group form of workflows/restart.ts `whileStopped`, for a caller that holds every member's lock
 * (workflows/workspace-locks.ts): whatever happens after the first stop (a failure, a cancellation), every
 * member is started again before this returns or throws, under the same restart guarantee
 * (`startAgainUntilRunning`: retried until it runs; a workspace gone or an operator's `abandon` ends it).
 */
import { CancellationScope } from '@temporalio/workflow';
import { activities, asWorkflowFailure, type ProgressTracker } from './common.js';
import { startAgainUntilRunning } from './restart.js';

/** A member as its preflight found it: the status its stop starts from. */
export interface StoppableMember {
  workspaceId: string;
  status: string;
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

/**
 * Starts every member in `order`, not cancellable, each until it runs. A member that cannot be started
 * (gone, or abandoned by an operator) does not keep the others stopped: the rest are still started, and the
 * first such failure is returned.
 */
async function startAllInOrder(order: readonly string[], tracker: ProgressTracker, original: unknown): Promise<{ failed: boolean; failure: unknown }> {
  return CancellationScope.nonCancellable(async () => {
    tracker.begin('start', `starting ${order.length} workspaces in order: ${order.join(' → ')}`);
    const first: { failed: boolean; failure: unknown } = { failed: false, failure: undefined };
    for (const workspaceId of order) {
      try {
        await startAgainUntilRunning(workspaceId, (alert) => tracker.setAlert(alert), tracker.abandonment, original);
      } catch (err) {
        if (!first.failed) Object.assign(first, { failed: true, failure: err });
      }
    }
    tracker.end();
    return first;
  });
}

/**
 * Stops all `members` (in parallel, each waiting until stopped), runs `change`, and starts them all in
 * `order` whether `change` succeeded, failed or was cancelled; then returns what `change` returned, or
 * throws its failure (typed, as asWorkflowFailure makes it), or else the first start that failed.
 */
export async function whileAllStopped<T>(
  members: readonly StoppableMember[],
  order: readonly string[],
  tracker: ProgressTracker,
  change: () => Promise<T>,
): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; failure: unknown };
  try {
    tracker.begin('stop', `stopping ${members.length} workspaces`);
    await settleAll(
      members.map((m) =>
        activities('awaitTransition', `stop ${m.workspaceId}`).stopWorkspace({ workspaceId: m.workspaceId, restartAfter: true, knownStatus: m.status }),
      ),
    );
    outcome = { ok: true, value: await change() };
  } catch (err) {
    outcome = { ok: false, failure: asWorkflowFailure(err, tracker.current?.step) };
  }
  const start = await startAllInOrder(order, tracker, outcome.ok ? undefined : outcome.failure);
  if (!outcome.ok) throw outcome.failure;
  if (start.failed) throw start.failure;
  return outcome.value;
}
