/**
 * Holding the workspace locks of several workspaces at once, for the group operations (issue 23,
 * docs/design-groups.md). The locks are taken one at a time in the one global `lockOrder`
 * (domain/groups.ts), each through its workspace entity exactly as a single operation takes one
 * (workflows/common.ts acquireFromEntity), so no group waits in a cycle with another group or a single
 * operation. They are all released from one non-cancellable `finally`, however the body ends.
 *
 * While it runs, the `lockParticipation` query answers every member's part (ProgressTracker.memberLocks),
 * so a lock or entity that rebuilds or repairs sees each lock the group holds or waits for.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { Operation } from '../domain/constants.js';
import { lockOrder } from '../domain/groups.js';
import type { LockRequest } from '../domain/lock.js';
import { acquireFromEntity, newLockRequest, releaseToEntity, thenRelease, type MemberLockSlot, type ProgressTracker } from './common.js';
import { recordLockWait } from './metrics.js';

export interface HeldWorkspaceLocks {
  /** The workspaces whose locks are held, in the order they were taken (lockOrder). */
  workspaceIds: string[];
  /** How long taking all of them took, in ms (waiting for other operations included). */
  lockWaitMs: number;
}

export interface WorkspaceLocksOptions {
  /** The operation the lock requests name (shown by `rigsnap lock` and the entities). */
  operation: Operation;
}

/**
 * Runs `body` while holding the lock of every workspace in `workspaceIds` (each once, in lockOrder,
 * whatever order they are given in). Each lock is asked for only once the previous one is granted: along
 * any chain of waits the ids increase, hence no deadlock. The wait is one `wait-for-lock` step whose note
 * counts the locks held. Every request made (granted or still queued) is released when `body` ends or the
 * wait is cancelled, in reverse order, from a non-cancellable scope, never on a timer.
 */
export async function withWorkspaceLocks<T>(
  workspaceIds: readonly string[],
  opts: WorkspaceLocksOptions,
  tracker: ProgressTracker,
  body: (held: HeldWorkspaceLocks) => Promise<T>,
): Promise<T> {
  const order = lockOrder(workspaceIds);
  const slots: MemberLockSlot[] = order.map((workspaceId) => ({ workspaceId, holding: null, waiting: null }));
  tracker.memberLocks = slots;
  const requests: Array<{ slot: MemberLockSlot; request: LockRequest }> = [];
  const started = Date.now();
  return thenRelease(
    async () => {
      tracker.begin('wait-for-lock', `taking ${order.length} locks in order: ${order.join(', ')}`);
      for (const [i, slot] of slots.entries()) {
        if (i > 0) tracker.note(`${i} of ${order.length} locks held; asking for ${slot.workspaceId}`);
        const request = newLockRequest(tracker, opts.operation, true);
        requests.push({ slot, request });
        await acquireFromEntity(slot.workspaceId, request, tracker, slot, false);
      }
      tracker.end();
      const lockWaitMs = Date.now() - started;
      if (requests[0]) recordLockWait(lockWaitMs, requests[0].request.requestId);
      return body({ workspaceIds: order, lockWaitMs });
    },
    (reason) => releaseAll(requests, reason),
  );
}

/** Releases every request made, last taken first, all in one go: each release is a signal (or a recovery). */
async function releaseAll(requests: ReadonlyArray<{ slot: MemberLockSlot; request: LockRequest }>, reason: string): Promise<void> {
  await CancellationScope.nonCancellable(() =>
    Promise.all([...requests].reverse().map(({ slot, request }) => releaseToEntity(slot.workspaceId, request, slot, reason))),
  );
}
