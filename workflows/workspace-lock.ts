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
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { lockAcquireSignal, lockGrantedSignal, lockReleaseSignal, lockStateQuery } from '../contract/index.js';
import type { LockParticipants } from '../activities/index.js';
import type { LockHolder, LockReleaseRequest, LockRequest, LockState, WorkspaceLockInput } from '../domain/lock.js';
import { activities, localActivities, nowIso, tagWorkflow } from './common.js';
import { PATCHES, hasPatch } from './patches.js';
import { isWorkspaceGone, startAgainUntilRunning } from './restart.js';

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
type CarriedState = NonNullable<WorkspaceLockInput['state']>;

/**
 * The lock's state (holder, queue, blockers, recently released requests) and its transitions. The
 * signal handlers, the query and the main loop share it; every change is shown in the current details.
 */
class WorkspaceLock {
  holder: LockHolder | null;
  readonly queue: LockRequest[];
  readonly recentlyReleased: string[];
  readonly blockedBy: Blocker[];
  private alert: string | undefined;
  /** What a rebuild found closed without finishing while no lock watched it: repaired before any grant. */
  private readonly abandoned: Array<{ workflowId: string; runId: string; closedAt: string }> = [];

  constructor(
    readonly workspaceId: string,
    state: CarriedState | undefined,
  ) {
    this.holder = state?.holder ?? null;
    this.queue = [...(state?.queue ?? [])];
    this.recentlyReleased = [...(state?.recentlyReleased ?? [])];
    this.blockedBy = [...(state?.blockedBy ?? [])];
  }

  /** What a continued run starts from. */
  carried(): CarriedState {
    return { holder: this.holder, queue: this.queue, recentlyReleased: this.recentlyReleased, blockedBy: this.blockedBy };
  }

  /** The `lockState` query's answer. */
  state(): LockState {
    return { workspaceId: this.workspaceId, holder: this.holder, queue: [...this.queue], blockedBy: [...this.blockedBy] };
  }

  holds(requestId: string): boolean {
    return this.holder?.requestId === requestId;
  }

  /** No holder and nothing to wait for: the next in line may be granted. */
  isFree(): boolean {
    return !this.holder && this.blockedBy.length === 0;
  }

  /** The `acquire` signal: queues a request, once. */
  enqueue(request: LockRequest): void {
    // Retried activities and waiters that ask again send the same request: one place in the queue each.
    if (this.known(request.requestId)) return;
    this.queue.push(request);
    this.render();
  }

  /** The `release` signal: frees the holder, or takes a request that never got its turn out of the queue. */
  release({ requestId, reason }: LockReleaseRequest): void {
    if (this.holder?.requestId === requestId) {
      this.free(requestId, reason ?? 'released');
      return;
    }
    const i = this.queue.findIndex((r) => r.requestId === requestId);
    if (i >= 0) this.queue.splice(i, 1); // left the queue before its turn (cancelled, failed)
    const b = this.blockedBy.findIndex((x) => requestId.startsWith(`${x.workflowId}/${x.runId}/`));
    if (b >= 0) this.blockedBy.splice(b, 1); // a holder a rebuild found has finished
    this.remember(requestId);
    this.render();
  }

  free(requestId: string, why: string): void {
    log.info('lock released', { workspaceId: this.workspaceId, requestId, why });
    this.holder = null;
    this.remember(requestId);
    this.render();
  }

  /** Makes the first in line the holder (the caller then signals it). */
  takeNextInLine(): LockRequest {
    const next = this.queue.shift()!;
    this.holder = { ...next, grantedAt: nowIso() };
    this.render();
    return next;
  }

  /** Asks the workspace's open operations what they hold or wait for. Retried until it works. */
  async rebuild(): Promise<void> {
    const { workspaceId } = this;
    for (;;) {
      try {
        const found = await localActivities('lockRebuild', `find open operations on ${workspaceId}`).findLockParticipants({
          workspaceId,
          known: [...this.queue.map((r) => r.workflowId), ...(this.holder ? [this.holder.workflowId] : [])],
        });
        this.adopt(found);
        log.info('lock rebuilt from open operations', {
          workspaceId,
          holder: this.holder?.workflowId ?? null,
          queue: this.queue.length,
          blockedBy: this.blockedBy.length,
        });
        this.render();
        return;
      } catch (err) {
        log.warn('could not rebuild the lock from the open operations; trying again', { workspaceId, error: String(err) });
        await sleep(REBUILD_RETRY_MS);
      }
    }
  }

  /**
   * Operations that closed without finishing while no lock watched them (the lock was terminated too):
   * start the workspace they left stopped before anyone else is granted it.
   */
  async repairAbandoned(): Promise<void> {
    for (const a of this.abandoned.splice(0))
      await this.repairAfter({ ...a, requestId: `${a.workflowId}/${a.runId}/abandoned`, operation: 'unknown', requestedAt: a.closedAt, grantedAt: a.closedAt });
  }

  /** Signals the operation whose turn it is. False if it cannot be reached (it closed meanwhile). */
  async grant(request: LockRequest): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(request.workflowId, request.runId).signal(lockGrantedSignal, { requestId: request.requestId });
      return true;
    } catch (err) {
      log.info('lock grant not delivered; the requester has closed', { workspaceId: this.workspaceId, requester: request.workflowId, error: String(err) });
      return false;
    }
  }

  /**
   * With a holder or blockers: waits until either changes, or for `holderCheckMs`; then checks that the
   * holder's run is still open (repairing and freeing it if not) and asks the blockers again.
   */
  async watch(holderCheckMs: number): Promise<void> {
    const current = this.holder;
    const blockers = this.blockedBy.length;
    const changed = await condition(() => this.holder?.requestId !== current?.requestId || this.blockedBy.length !== blockers, holderCheckMs);
    if (changed) return;
    if (current && this.holder?.requestId === current.requestId) {
      const open = await this.holderStillOpen(current);
      if (open === false && this.holder?.requestId === current.requestId) {
        if (hasPatch(PATCHES.core2026_11)) await this.repairAfter(current);
        if (this.holder?.requestId === current.requestId) this.free(current.requestId, 'holder closed without releasing');
      }
    }
    if (this.blockedBy.length > 0) await this.recheckBlockers();
  }

  private known(requestId: string): boolean {
    return this.holder?.requestId === requestId || this.queue.some((r) => r.requestId === requestId) || this.recentlyReleased.includes(requestId);
  }

  private remember(requestId: string): void {
    this.recentlyReleased.push(requestId);
    if (this.recentlyReleased.length > REMEMBER_RELEASED) this.recentlyReleased.shift();
  }

  private render(): void {
    const { holder, queue, blockedBy, alert } = this;
    setCurrentDetails(
      [
        holder ? `held by \`${holder.workflowId}\` (${holder.operation}) since ${holder.grantedAt}` : 'free',
        `${queue.length} waiting`,
        ...(blockedBy.length ? [`blocked until ${blockedBy.map((b) => `\`${b.workflowId}\` (${b.why})`).join(', ')} release or close`] : []),
        ...(alert ? [`⚠ ${alert}`] : []),
      ].join('\n\n'),
    );
  }

  /** Takes in what a rebuild found: a holder, the waiting, and blockers (a second holder, those that did not answer). */
  private adopt(found: LockParticipants): void {
    for (const p of found.answered) {
      if (p.holding && !this.recentlyReleased.includes(p.holding.requestId)) {
        if (!this.holder) this.holder = { ...p.holding, grantedAt: p.holding.requestedAt };
        else if (this.holder.requestId !== p.holding.requestId)
          this.blockedBy.push({ workflowId: p.workflowId, runId: p.runId, why: 'also holds the workspace' });
      }
      if (p.waiting && !this.known(p.waiting.requestId)) this.queue.push(p.waiting);
    }
    for (const u of found.unknown)
      this.blockedBy.push({ workflowId: u.workflowId, runId: u.runId, why: `did not say whether it holds the workspace: ${u.why}` });
    this.abandoned.push(...(found.abandoned ?? []));
    this.queue.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  /** A holder that closed without releasing: start the workspace again if it left it stopped meaning not to. */
  private async repairAfter(closed: LockHolder): Promise<void> {
    const { workspaceId } = this;
    const blocker: Blocker = { workflowId: closed.workflowId, runId: closed.runId, why: 'closed without finishing; checking what it left' };
    this.blockedBy.push(blocker);
    this.render();
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
            this.render();
            try {
              await startAgainUntilRunning(workspaceId, (a) => {
                this.alert = a;
                this.render();
              });
            } catch (err) {
              // Settled: a workspace Rigbox says is gone has nothing to start; the lock frees it.
              if (!isWorkspaceGone(err)) throw err;
              log.warn('the workspace a closed holder left stopped no longer exists; nothing to repair', { workspaceId, holder: closed.workflowId });
              this.alert = undefined;
            }
          }
          return;
        } catch (err) {
          log.warn('could not read what a closed holder left; trying again', { workspaceId, holder: closed.workflowId, error: String(err) });
          await sleep(REBUILD_RETRY_MS);
        }
      }
    } finally {
      this.blockedBy.splice(this.blockedBy.indexOf(blocker), 1);
      this.render();
    }
  }

  /**
   * Whether the holder's run is still open; undefined when that cannot be told now (the check failed) or
   * no longer matters (the holder released meanwhile: the loop must not wait for a slow check to grant).
   * Never throws.
   */
  private async holderStillOpen(run: LockHolder): Promise<boolean | undefined> {
    const { workspaceId } = this;
    if (!hasPatch(PATCHES.core2026_11)) {
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
        const released = condition(() => this.holder?.requestId !== run.requestId).then(() => undefined);
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
  private async recheckBlockers(): Promise<void> {
    const { workspaceId } = this;
    for (const b of [...this.blockedBy]) {
      if (b.why.startsWith('closed without finishing')) continue; // a repair in progress owns it
      try {
        const a = await activities('lockCheck', `does ${b.workflowId} hold ${workspaceId}?`).askLockParticipant(b);
        if (!a.running || ('holding' in a && !a.holding)) {
          this.blockedBy.splice(this.blockedBy.indexOf(b), 1);
          if ('waiting' in a && a.waiting && !this.known(a.waiting.requestId)) this.queue.push(a.waiting);
        }
      } catch (err) {
        log.warn('could not ask a blocking operation; trying again later', { workspaceId, workflowId: b.workflowId, error: String(err) });
      }
    }
    this.queue.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    this.render();
  }
}

export async function workspaceLock(input: WorkspaceLockInput): Promise<void> {
  const { workspaceId } = input;
  const holderCheckMs = input.timing?.holderCheckMs ?? HOLDER_CHECK_MS;
  const idleExitMs = () => input.timing?.idleExitMs ?? (hasPatch(PATCHES.core2026_11) ? IDLE_EXIT_MS : LEGACY_IDLE_EXIT_MS);
  const lock = new WorkspaceLock(workspaceId, input.state);
  tagWorkflow(workspaceId, 'lock');

  setHandler(lockAcquireSignal, (request) => lock.enqueue(request));
  setHandler(lockReleaseSignal, (release: LockReleaseRequest) => lock.release(release));
  setHandler(lockStateQuery, () => lock.state());

  if (!input.state && hasPatch(PATCHES.core2026_11)) {
    await lock.rebuild();
    await lock.repairAbandoned();
  }

  for (;;) {
    if (lock.isFree() && lock.queue.length > 0) {
      const next = lock.takeNextInLine();
      if (hasPatch(PATCHES.core2026_11) && !(await lock.grant(next)) && lock.holds(next.requestId)) {
        lock.free(next.requestId, 'requester closed before its turn');
        continue;
      }
    }

    if (lock.isFree()) {
      const idle = idleExitMs();
      if (idle > 0) await condition(() => lock.queue.length > 0, idle);
      if (lock.queue.length === 0) {
        // Idle: end this run. A request that arrives meanwhile makes the server reject this completion
        // and hand the signal to a new workflow task, so nothing is lost.
        return;
      }
    } else {
      await lock.watch(holderCheckMs);
    }

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof workspaceLock>({
        workspaceId,
        state: lock.carried(),
        ...(input.timing ? { timing: input.timing } : {}),
      });
    }
  }
}
