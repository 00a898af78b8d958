import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  LOCK_ACQUIRE_SIGNAL,
  LOCK_STATE_QUERY,
  type LockHolder,
  type LockReleaseRequest,
  type LockRequest,
  type LockState,
  type WorkspaceLockInput,
} from '../domain/index.js';
import { activities, lockReleaseSignal, nowIso, tagWorkflow } from './common.js';

export const lockAcquireSignal = defineSignal<[LockRequest]>(LOCK_ACQUIRE_SIGNAL);
export const lockStateQuery = defineQuery<LockState>(LOCK_STATE_QUERY);

/** With no holder and nobody waiting for this long, the lock ends; the next request starts it again. */
const IDLE_EXIT = '10m';
/** How often the lock checks that its holder's run is still open (a terminated holder cannot release). */
const HOLDER_CHECK_EVERY = '1m';
const MAX_HISTORY_EVENTS = 2000;
const REMEMBER_RELEASED = 200;

/**
 * One per workspace (id `rigsnap-lock-<workspaceId>`): serializes rigsnap operations on it, in order of
 * arrival. Operations queue with the `acquire` signal (through signal-with-start) and see their turn
 * in the `lockState` query; they leave with `release`. The holder is freed only by its release or once
 * its run has closed (terminated, timed out): never because a timer ran out while it may still work.
 */
export async function workspaceLock(input: WorkspaceLockInput): Promise<void> {
  const { workspaceId } = input;
  let holder: LockHolder | null = input.state?.holder ?? null;
  const queue: LockRequest[] = [...(input.state?.queue ?? [])];
  const recentlyReleased: string[] = [...(input.state?.recentlyReleased ?? [])];
  tagWorkflow(workspaceId, 'lock');

  const remember = (requestId: string) => {
    recentlyReleased.push(requestId);
    if (recentlyReleased.length > REMEMBER_RELEASED) recentlyReleased.shift();
  };
  const render = () =>
    setCurrentDetails(
      holder
        ? `held by \`${holder.workflowId}\` (${holder.operation}) since ${holder.grantedAt}; ${queue.length} waiting`
        : `free; ${queue.length} waiting`,
    );

  setHandler(lockAcquireSignal, (request) => {
    // Retried activities send the same request again: one place in the queue each.
    if (holder?.requestId === request.requestId) return;
    if (queue.some((r) => r.requestId === request.requestId)) return;
    if (recentlyReleased.includes(request.requestId)) return;
    queue.push(request);
    render();
  });

  setHandler(lockReleaseSignal, ({ requestId, reason }: LockReleaseRequest) => {
    if (holder?.requestId === requestId) {
      log.info('lock released', { workspaceId, holder: holder.workflowId, reason });
      holder = null;
    } else {
      const i = queue.findIndex((r) => r.requestId === requestId);
      if (i >= 0) queue.splice(i, 1); // left the queue before its turn (cancelled, failed)
    }
    remember(requestId);
    render();
  });

  setHandler(lockStateQuery, () => ({ workspaceId, holder, queue: [...queue] }));

  for (;;) {
    if (!holder && queue.length > 0) {
      const next = queue.shift()!;
      holder = { ...next, grantedAt: nowIso() };
      render();
    }

    if (!holder) {
      await condition(() => queue.length > 0, IDLE_EXIT);
      if (queue.length === 0) {
        // Idle: end this run. A request that arrives meanwhile makes the server reject this completion
        // and hand the signal to a new workflow task, so nothing is lost.
        return;
      }
    } else {
      const current = holder;
      const released = await condition(() => holder?.requestId !== current.requestId, HOLDER_CHECK_EVERY);
      if (!released) {
        const run = await activities('lockCheck', `is ${current.workflowId} still running?`).describeWorkflowRun({
          workflowId: current.workflowId,
          runId: current.runId,
        });
        if (!run.running && holder?.requestId === current.requestId) {
          log.warn('lock holder closed without releasing; freeing the lock', {
            workspaceId,
            holder: current.workflowId,
            status: run.status,
          });
          holder = null;
          remember(current.requestId);
          render();
        }
      }
    }

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof workspaceLock>({ workspaceId, state: { holder, queue, recentlyReleased } });
    }
  }
}
