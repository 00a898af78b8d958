/**
 * The per-workspace lock (id `rigsnap-lock-<workspaceId>`): one rigsnap operation at a time touches a
 * workspace, in order of arrival.
 *
 * The invariant, and how it holds on every path:
 * - An operation holds the workspace only between the lock's grant and its own release. It queues with
 *   the `acquire` signal (signal-with-start, from an activity), waits for the `lockGranted` signal in
 *   workflow code, and releases with `release` when it ends, however it ends.
 * - The lock frees a holder only by its release or once the holder's run has closed (terminated, timed
 *   out): never because a timer ran out while it may still work. A holder that closed without finishing
 *   and had stopped the workspace meaning to start it again is repaired first: the lock starts the
 *   workspace before granting anyone else.
 * - The loop never throws: a failing check is logged and tried again later.
 * - A run that starts without carried state (the first, or after a termination or a failure) grants
 *   nothing until it has rebuilt its holder and queue from the workspace's open operations (visibility,
 *   then each one's `lockParticipation` query); an operation it cannot ask blocks it until it answers or
 *   closes. Waiting operations ask again now and then, so a terminated lock is replaced and rebuilt.
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { lockAcquireSignal, lockGrantedSignal, lockReleaseSignal, lockStateQuery } from '../contract/index.js';
import type { LockHolder, LockReleaseRequest, LockRequest, LockState, WorkspaceLockInput } from '../domain/lock.js';
import { activities, localActivities, nowIso, tagWorkflow } from './common.js';
import { PATCHES } from './patches.js';
import { startAgainUntilRunning } from './restart.js';

/**
 * With no holder and nobody waiting for this long, the lock ends; the next request starts it again (and
 * rebuilds). At once by default: an idle lock kept open costs a cached workflow, a timer and a replay
 * when it fires, for every workspace of a fleet, while a new run costs one visibility query.
 */
const IDLE_EXIT_MS = 0;
/** What runs from before the change waited (their histories replay with it). */
const LEGACY_IDLE_EXIT_MS = 10 * 60_000;
/** How often the lock checks that its holder's run is still open (a terminated holder cannot release). */
const HOLDER_CHECK_MS = 60_000;
/** Pause before trying a failed rebuild again. */
const REBUILD_RETRY_MS = 30_000;
const MAX_HISTORY_EVENTS = 2000;
const REMEMBER_RELEASED = 200;

type Blocker = NonNullable<LockState['blockedBy']>[number];

export async function workspaceLock(input: WorkspaceLockInput): Promise<void> {
  const { workspaceId } = input;
  const holderCheckMs = input.timing?.holderCheckMs ?? HOLDER_CHECK_MS;
  const idleExitMs = () => input.timing?.idleExitMs ?? (patched(PATCHES.core2026_11) ? IDLE_EXIT_MS : LEGACY_IDLE_EXIT_MS);
  let holder: LockHolder | null = input.state?.holder ?? null;
  const queue: LockRequest[] = [...(input.state?.queue ?? [])];
  const recentlyReleased: string[] = [...(input.state?.recentlyReleased ?? [])];
  const blockedBy: Blocker[] = [...(input.state?.blockedBy ?? [])];
  let alert: string | undefined;
  const abandoned: Array<{ workflowId: string; runId: string; closedAt: string }> = [];
  tagWorkflow(workspaceId, 'lock');

  const known = (requestId: string) =>
    holder?.requestId === requestId || queue.some((r) => r.requestId === requestId) || recentlyReleased.includes(requestId);
  const remember = (requestId: string) => {
    recentlyReleased.push(requestId);
    if (recentlyReleased.length > REMEMBER_RELEASED) recentlyReleased.shift();
  };
  const render = () =>
    setCurrentDetails(
      [
        holder ? `held by \`${holder.workflowId}\` (${holder.operation}) since ${holder.grantedAt}` : 'free',
        `${queue.length} waiting`,
        ...(blockedBy.length ? [`blocked until ${blockedBy.map((b) => `\`${b.workflowId}\` (${b.why})`).join(', ')} release or close`] : []),
        ...(alert ? [`⚠ ${alert}`] : []),
      ].join('\n\n'),
    );
  const free = (requestId: string, why: string) => {
    log.info('lock released', { workspaceId, requestId, why });
    holder = null;
    remember(requestId);
    render();
  };

  setHandler(lockAcquireSignal, (request) => {
    // Retried activities and waiters that ask again send the same request: one place in the queue each.
    if (known(request.requestId)) return;
    queue.push(request);
    render();
  });

  setHandler(lockReleaseSignal, ({ requestId, reason }: LockReleaseRequest) => {
    if (holder?.requestId === requestId) {
      free(requestId, reason ?? 'released');
      return;
    }
    const i = queue.findIndex((r) => r.requestId === requestId);
    if (i >= 0) queue.splice(i, 1); // left the queue before its turn (cancelled, failed)
    const b = blockedBy.findIndex((x) => requestId.startsWith(`${x.workflowId}/${x.runId}/`));
    if (b >= 0) blockedBy.splice(b, 1); // a holder a rebuild found has finished
    remember(requestId);
    render();
  });

  setHandler(lockStateQuery, () => ({ workspaceId, holder, queue: [...queue], blockedBy: [...blockedBy] }));

  /** Asks the workspace's open operations what they hold or wait for. Retried until it works. */
  async function rebuild(): Promise<void> {
    for (;;) {
      try {
        const found = await localActivities('lockRebuild', `find open operations on ${workspaceId}`).findLockParticipants({
          workspaceId,
          known: [...queue.map((r) => r.workflowId), ...(holder ? [holder.workflowId] : [])],
        });
        for (const p of found.answered) {
          if (p.holding && !recentlyReleased.includes(p.holding.requestId)) {
            if (!holder) holder = { ...p.holding, grantedAt: p.holding.requestedAt };
            else if (holder.requestId !== p.holding.requestId) blockedBy.push({ workflowId: p.workflowId, runId: p.runId, why: 'also holds the workspace' });
          }
          if (p.waiting && !known(p.waiting.requestId)) queue.push(p.waiting);
        }
        for (const u of found.unknown) blockedBy.push({ workflowId: u.workflowId, runId: u.runId, why: `did not say whether it holds the workspace: ${u.why}` });
        abandoned.push(...(found.abandoned ?? []));
        queue.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
        log.info('lock rebuilt from open operations', { workspaceId, holder: holder?.workflowId ?? null, queue: queue.length, blockedBy: blockedBy.length });
        render();
        return;
      } catch (err) {
        log.warn('could not rebuild the lock from the open operations; trying again', { workspaceId, error: String(err) });
        await sleep(REBUILD_RETRY_MS);
      }
    }
  }

  /** Signals the operation whose turn it is. False if it cannot be reached (it closed meanwhile). */
  async function grant(request: LockRequest): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(request.workflowId, request.runId).signal(lockGrantedSignal, { requestId: request.requestId });
      return true;
    } catch (err) {
      log.info('lock grant not delivered; the requester has closed', { workspaceId, requester: request.workflowId, error: String(err) });
      return false;
    }
  }

  /** A holder that closed without releasing: start the workspace again if it left it stopped meaning not to. */
  async function repairAfter(closed: LockHolder): Promise<void> {
    const blocker: Blocker = { workflowId: closed.workflowId, runId: closed.runId, why: 'closed without finishing; checking what it left' };
    blockedBy.push(blocker);
    render();
    try {
      for (;;) {
        try {
          const left = await activities('lockCheck', `what did ${closed.workflowId} leave?`).inspectClosedHolder({
            workflowId: closed.workflowId,
            runId: closed.runId,
            workspaceId,
          });
          log.warn('lock holder closed without releasing', { workspaceId, holder: closed.workflowId, restartOwed: left.restartOwed, why: left.why });
          if (left.restartOwed) {
            blocker.why = 'closed without finishing; starting the workspace it stopped';
            render();
            await startAgainUntilRunning(workspaceId, (a) => {
              alert = a;
              render();
            });
          }
          return;
        } catch (err) {
          log.warn('could not read what a closed holder left; trying again', { workspaceId, holder: closed.workflowId, error: String(err) });
          await sleep(REBUILD_RETRY_MS);
        }
      }
    } finally {
      blockedBy.splice(blockedBy.indexOf(blocker), 1);
      render();
    }
  }

  /**
   * Whether the holder's run is still open; undefined when that cannot be told now (the check failed) or
   * no longer matters (the holder released meanwhile: the loop must not wait for a slow check to grant).
   * Never throws.
   */
  async function holderStillOpen(run: LockHolder): Promise<boolean | undefined> {
    if (!patched(PATCHES.core2026_11)) {
      // Histories from before: the loop waited for the check, however long it took.
      try {
        return (await activities('lockCheck', `is ${run.workflowId} still running?`).describeWorkflowRun({ workflowId: run.workflowId, runId: run.runId }))
          .running;
      } catch (err) {
        log.warn('could not check a lock holder; trying again later', { workspaceId, holder: run.workflowId, error: String(err) });
        return undefined;
      }
    }
    const scope = new CancellationScope();
    try {
      return await scope.run(() => {
        const check = activities('lockCheck', `is ${run.workflowId} still running?`)
          .describeWorkflowRun({ workflowId: run.workflowId, runId: run.runId })
          .then((r) => r.running);
        const released = condition(() => holder?.requestId !== run.requestId).then(() => undefined);
        // The loser is cancelled with the scope below; its rejection is expected.
        check.catch(() => undefined);
        released.catch(() => undefined);
        return Promise.race([check, released]);
      });
    } catch (err) {
      log.warn('could not check a lock holder; trying again later', { workspaceId, holder: run.workflowId, error: String(err) });
      return undefined;
    } finally {
      scope.cancel();
    }
  }

  /** Blockers from a rebuild: drop those that closed or say they hold nothing, queue those that wait. */
  async function recheckBlockers(): Promise<void> {
    for (const b of [...blockedBy]) {
      if (b.why.startsWith('closed without finishing')) continue; // a repair in progress owns it
      try {
        const a = await activities('lockCheck', `does ${b.workflowId} hold ${workspaceId}?`).askLockParticipant(b);
        if (!a.running || ('holding' in a && !a.holding)) {
          blockedBy.splice(blockedBy.indexOf(b), 1);
          if ('waiting' in a && a.waiting && !known(a.waiting.requestId)) queue.push(a.waiting);
        }
      } catch (err) {
        log.warn('could not ask a blocking operation; trying again later', { workspaceId, workflowId: b.workflowId, error: String(err) });
      }
    }
    queue.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    render();
  }

  if (!input.state && patched(PATCHES.core2026_11)) {
    await rebuild();
    // Operations that closed without finishing while no lock watched them (the lock was terminated too):
    // start the workspace they left stopped before anyone else is granted it.
    for (const a of abandoned.splice(0)) await repairAfter({ ...a, requestId: `${a.workflowId}/${a.runId}/abandoned`, operation: 'unknown', requestedAt: a.closedAt, grantedAt: a.closedAt });
  }

  for (;;) {
    if (!holder && blockedBy.length === 0 && queue.length > 0) {
      const next = queue.shift()!;
      holder = { ...next, grantedAt: nowIso() };
      render();
      if (patched(PATCHES.core2026_11) && !(await grant(next)) && holder?.requestId === next.requestId) {
        free(next.requestId, 'requester closed before its turn');
        continue;
      }
    }

    if (!holder && blockedBy.length === 0) {
      const idle = idleExitMs();
      if (idle > 0) await condition(() => queue.length > 0, idle);
      if (queue.length === 0) {
        // Idle: end this run. A request that arrives meanwhile makes the server reject this completion
        // and hand the signal to a new workflow task, so nothing is lost.
        return;
      }
    } else {
      const current = holder;
      const blockers = blockedBy.length;
      const changed = await condition(() => holder?.requestId !== current?.requestId || blockedBy.length !== blockers, holderCheckMs);
      if (!changed) {
        if (current && holder?.requestId === current.requestId) {
          const open = await holderStillOpen(current);
          if (open === false && holder?.requestId === current.requestId) {
            if (patched(PATCHES.core2026_11)) await repairAfter(current);
            if (holder?.requestId === current.requestId) free(current.requestId, 'holder closed without releasing');
          }
        }
        if (blockedBy.length > 0) await recheckBlockers();
      }
    }

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof workspaceLock>({
        workspaceId,
        state: { holder, queue, recentlyReleased, blockedBy },
        ...(input.timing ? { timing: input.timing } : {}),
      });
    }
  }
}
