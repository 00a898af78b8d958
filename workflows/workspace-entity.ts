/**
 * The workspace entity (id `rigsnap-workspace-<workspaceId>`): one long-lived workflow per workspace
 * that holds its lock and, next, its holds, baseline, labels, notices and groups. A thin shell over the
 * pure rules in domain/workspace-entity.ts: handlers turn messages into events, the loop performs the
 * effects (grant by signal, repair, notify, check the old lock).
 *
 * - Idle (nobody holds or waits, nothing owed) it waits on a condition with no timer: no events, no
 *   actions, until the next message. It never exits by itself; it continues as new when idle and
 *   suggested or after MAX_OPERATIONS_PER_RUN acquisitions, carrying its small versioned state.
 * - While someone holds the workspace it describes the holder's run every `holderCheckMs` (strongly
 *   consistent; an activity, not a local one: a local activity that keeps failing would hold back the
 *   workflow task, and with it every acquire and query, until it gives up): a holder found closed without releasing is freed, and the workspace it left stopped is
 *   started again before the next grant. Never a list, never a timeout on the holder.
 * - Terminated, it is recovered by the next caller from its closed run's state (activities/workspace-entity.ts).
 */
import {
  ApplicationFailure,
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
import {
  lockGrantedSignal,
  lockReleaseSignal,
  lockStateQuery,
  operationAbandonedSignal,
  workspaceAcquireUpdate,
  workspaceStateQuery,
} from '../contract/index.js';
import type { EnrollmentEvent } from '../domain/enrollment.js';
import { holdsView, type HoldsAnswer, type HoldsEvent } from '../domain/holds.js';
import { workflowIds } from '../domain/ids.js';
import {
  WORKSPACE_GONE,
  asLockState,
  describeEntity,
  migrateEntityState,
  refuseAcquire,
  standing,
  step,
  type AcquireAnswer,
  type EntityEffect,
  type EntityEvent,
  type EntityRequest,
  type EntityState,
  type RepairOwed,
  type WorkspaceEntityInput,
} from '../domain/workspace-entity.js';
import { activities, nowIso, tagWorkflow } from './common.js';
import { setHoldsHandlers } from './entity-holds.js';
import { publishLabels, setLabelsHandlers } from './entity-labels.js';
import { notifyFailure } from './notify.js';
import { Abandonment } from './abandon.js';
import { startAgainUntilRunning } from './restart.js';

/** How often the entity describes its holder's run while someone holds the workspace. */
const HOLDER_CHECK_MS = 60_000;
/** How often it describes the old lock workflow while that still runs (only during an upgrade). */
const LEGACY_CHECK_MS = 30_000;
/** Pause before reading a closed holder's history again after a failure. */
const RETRY_MS = 30_000;
/**
 * Continue as new (when idle) after this many acquisitions or this many events: an idle entity is evicted
 * from the worker's cache and replayed on its next message, so its history is kept short (a daily backup
 * adds about 30 events: under 1,000 means a replay of at most a month of backups).
 */
const MAX_OPERATIONS_PER_RUN = 50;
const IDLE_HISTORY_EVENTS = 1000;
/** Continue as new even while busy past this: the whole state is carried, so nothing waits for idle. */
const MAX_HISTORY_EVENTS = 10_000;

/** Whether a failure (or any failure in its cause chain) has this type. */
function hasFailureType(err: unknown, type: string): boolean {
  for (let cur: unknown = err; cur instanceof Error; cur = (cur as { cause?: unknown }).cause) {
    if (cur instanceof ApplicationFailure && cur.type === type) return true;
  }
  return false;
}

class WorkspaceEntity {
  state: EntityState;
  /** Bumped by every event: the loop's wait ends when it changes. */
  version = 0;
  operations = 0;
  private alert: string | undefined;
  private readonly pending: EntityEffect[] = [];

  constructor(input: WorkspaceEntityInput) {
    this.state = migrateEntityState(input.workspaceId, input.state);
    this.apply({ type: 'resumed', at: nowIso() });
  }

  get workspaceId(): string {
    return this.state.workspaceId;
  }

  apply(event: EntityEvent): AcquireAnswer | undefined {
    const isNew = event.type === 'acquire' && !standing(this.state, event.request.requestId);
    const r = step(this.state, event);
    this.state = r.state;
    this.pending.push(...r.effects);
    if (isNew && r.answer?.status !== 'denied') this.operations++;
    this.version++;
    this.render();
    return r.answer;
  }

  /**
   * An acquire. A request granted at once gets the active holds in the answer (the prune's keep reasons,
   * without a query). A requester that says it takes the grant from the answer (`grantInAnswer`, see
   * workflows/common.ts ASK_GRANT_IN_ANSWER) learns it from this answer alone (no grant signal: one billed
   * action less per operation); granted later from the queue, it still gets the signal. Decided by the
   * request (in the Update's input, so in history), not by a patch: the entity is Auto-Upgrade, and a
   * marker the previous release does not know would stop it after a rollback.
   */
  acquire(request: EntityRequest): AcquireAnswer {
    const grantInAnswer = request.grantInAnswer === true;
    const answer = this.apply({ type: 'acquire', request, at: nowIso(), ...(grantInAnswer ? { grantInAnswer } : {}) })!;
    // The holds go with any grant in the answer: an answer is no command, so an older build replays it.
    if (answer.status !== 'holding') return answer;
    return { ...answer, holds: holdsView(this.workspaceId, this.state.holds, this.state.baseline, nowIso()).holds };
  }

  /** A holds event (domain/holds.ts): changes only the holds and baseline sections, and answers. */
  applyHolds(event: HoldsEvent): HoldsAnswer | undefined {
    const r = step(this.state, event);
    this.state = r.state;
    this.version++;
    return r.holdsAnswer;
  }

  /** An enrollment event (domain/enrollment.ts): changes only the labels section. */
  applyEnrollment(event: EnrollmentEvent): void {
    this.state = step(this.state, event).state;
    this.version++;
    this.render();
  }

  /** The update's validator: a retry of a known request passes, a bad or stale one is refused. */
  validate(request: EntityRequest): void {
    if (standing(this.state, request?.requestId)) return;
    const why = refuseAcquire(this.state, request);
    if (why) throw new Error(why);
  }

  hasWork(): boolean {
    return this.pending.length > 0;
  }

  /** Something to watch with a timer: a holder, a blocker, or the old lock while someone waits. */
  busy(): boolean {
    const l = this.state.lock;
    return !!l.holder || l.blockers.length > 0 || (l.legacyLock === 'open' && l.queue.length > 0);
  }

  idle(): boolean {
    const l = this.state.lock;
    return !this.busy() && !this.hasWork() && l.queue.length === 0 && l.repairs.length === 0;
  }

  async performEffects(): Promise<void> {
    for (let e = this.pending.shift(); e; e = this.pending.shift()) await this.perform(e);
  }

  /**
   * Waits for a change or `checkMs` (not at all when `now`: a recovered run checks the holder it was
   * handed at once); then describes the holder, the blockers, the old lock.
   */
  async watch(checkMs: number, legacyCheckMs: number, now = false): Promise<void> {
    const before = this.watched();
    const l = this.state.lock;
    const wait = l.holder || l.blockers.length ? checkMs : legacyCheckMs;
    // Newcomers joining the queue do not restart the timer: only what is watched changing does.
    if (!now && (await condition(() => this.watched() !== before || this.hasWork(), wait))) return;
    for (const run of [...(l.holder ? [l.holder] : []), ...l.blockers]) {
      const open = await this.unlessChanged(() => this.runOpen(run.workflowId, run.runId));
      if (open === false) this.apply({ type: 'holder-closed', workflowId: run.workflowId, runId: run.runId, at: nowIso() });
    }
    if (this.state.lock.legacyLock === 'open') await this.checkLegacyLock();
  }

  /** What the watch is about: the holder, the blockers, the old lock. */
  private watched(): string {
    const l = this.state.lock;
    return `${l.holder?.requestId ?? ''}|${l.blockers.map((b) => b.runId).join(',')}|${l.legacyLock}`;
  }

  /**
   * A check that gives way to any change (a release arrives): a slow or failing describe must not hold
   * up the next grant. Undefined when it gave way.
   */
  private async unlessChanged<T>(check: () => Promise<T>): Promise<T | undefined> {
    const before = this.watched();
    const scope = new CancellationScope();
    try {
      return await scope.run(() => {
        const checked = check();
        const changed = condition(() => this.watched() !== before).then(() => undefined);
        // The loser is cancelled with the scope below; its rejection is expected.
        checked.catch(() => undefined);
        changed.catch(() => undefined);
        return Promise.race([checked, changed]);
      });
    } catch (err) {
      log.warn('could not check a run; trying again at the next check', { workspaceId: this.workspaceId, error: String(err) });
      return undefined;
    } finally {
      scope.cancel();
    }
  }

  render(): void {
    setCurrentDetails(describeEntity(this.state, this.alert));
  }

  private async perform(e: EntityEffect): Promise<void> {
    const { workspaceId } = this;
    switch (e.type) {
      case 'grant':
        try {
          await getExternalWorkflowHandle(e.request.workflowId, e.request.runId).signal(lockGrantedSignal, { requestId: e.request.requestId });
        } catch (err) {
          log.info('grant not delivered; the requester has closed', { workspaceId, requester: e.request.workflowId, error: String(err) });
          this.apply({ type: 'requester-gone', requestId: e.request.requestId, at: nowIso() });
        }
        return;
      case 'restart':
        return this.repair(e.repair);
      case 'notify':
        return notifyFailure({ text: `rigsnap: ${e.text}`, workspaceId, errorType: WORKSPACE_GONE, message: e.text });
      case 'deny':
        log.info('acquire denied', { workspaceId, requestId: e.requestId, reason: e.reason });
        return;
      case 'check-legacy-lock':
        return this.checkLegacyLock();
    }
  }

  /** Whether a run is open; undefined when that cannot be told now (tried again at the next check). */
  private async runOpen(workflowId: string, runId: string): Promise<boolean | undefined> {
    try {
      return (await activities('lockCheck', `is ${workflowId} still running?`).describeWorkflowRun({ workflowId, runId })).running;
    } catch (err) {
      log.warn('could not describe a run; trying again at the next check', { workspaceId: this.workspaceId, workflowId, error: String(err) });
      return undefined;
    }
  }

  private async checkLegacyLock(): Promise<void> {
    const { workspaceId } = this;
    if (this.state.lock.legacyLock === 'closed') return;
    try {
      const open = await activities('lockCheck', `is ${workflowIds.lock(workspaceId)} still running?`).legacyLockOpen({ workspaceId });
      this.apply({ type: 'legacy-lock', open, at: nowIso() });
    } catch (err) {
      // Still unknown: nothing is granted; the next check (a timer while someone waits) asks again.
      log.warn('could not describe the old lock workflow; trying again', { workspaceId, error: String(err) });
      this.apply({ type: 'legacy-lock', open: true, at: nowIso() });
    }
  }

  /** A closed holder's repair: start the workspace again if it left it stopped meaning not to; then settle. */
  private async repair(r: RepairOwed): Promise<void> {
    if (!this.state.lock.repairs.some((x) => x.requestId === r.requestId && x.phase === 'owed')) return; // abandoned meanwhile
    this.apply({ type: 'repair-started', requestId: r.requestId, at: nowIso() });
    const outcome = await this.restartIfOwed(r);
    this.alert = undefined;
    this.apply({ type: 'repair-settled', requestId: r.requestId, outcome, at: nowIso() });
  }

  /**
   * Ends when the closed holder's history is read and, if owed, the workspace runs again or Rigbox says it
   * is gone. Meanwhile the current details say why, and nothing is granted (that is the point).
   */
  private async restartIfOwed(r: RepairOwed): Promise<'restarted' | 'not-owed' | 'workspace-gone' | 'abandoned'> {
    const { workspaceId } = this;
    for (;;) {
      try {
        const left = await activities('lockCheck', `what did ${r.workflowId} leave?`).inspectClosedHolder({
          workflowId: r.workflowId,
          runId: r.runId,
          workspaceId,
        });
        log.warn('workspace holder closed without releasing', { workspaceId, holder: r.workflowId, restartOwed: left.restartOwed, why: left.why });
        if (!left.restartOwed) return 'not-owed';
        // The operator's way out of this loop: `rigsnap abandon rigsnap-workspace-<id> --reason …` (the
        // `abandon` update on the entity), which leaves the workspace stopped and settles the repair.
        const abandonment = new Abandonment(() => this.render());
        await startAgainUntilRunning(
          workspaceId,
          (alert) => {
            this.alert = alert;
            this.render();
          },
          abandonment,
        );
        return 'restarted';
      } catch (err) {
        if (hasFailureType(err, WORKSPACE_GONE)) return 'workspace-gone';
        if (hasFailureType(err, 'Abandoned')) return 'abandoned';
        log.warn('repair after a closed holder failed; trying again', { workspaceId, holder: r.workflowId, error: String(err) });
        await sleep(RETRY_MS);
      }
    }
  }
}

export async function workspaceEntity(input: WorkspaceEntityInput): Promise<void> {
  const entity = new WorkspaceEntity(input);
  const holderCheckMs = input.timing?.holderCheckMs ?? HOLDER_CHECK_MS;
  const legacyCheckMs = input.timing?.legacyCheckMs ?? LEGACY_CHECK_MS;
  const maxOperations = input.timing?.maxOperationsPerRun ?? MAX_OPERATIONS_PER_RUN;
  tagWorkflow(input.workspaceId, 'workspace');
  if (input.recoveredFrom) log.warn('workspace entity recovered from a closed run', { workspaceId: input.workspaceId, recoveredFrom: input.recoveredFrom });

  setHandler(workspaceAcquireUpdate, (request) => entity.acquire(request), {
    validator: (request: EntityRequest) => entity.validate(request),
  });
  setHandler(lockReleaseSignal, ({ requestId, reason }) => void entity.apply({ type: 'release', requestId, ...(reason ? { reason } : {}), at: nowIso() }));
  setHandler(operationAbandonedSignal, ({ workflowId }) => void entity.apply({ type: 'abandon-honoured', workflowId, at: nowIso() }));
  setHandler(workspaceStateQuery, () => entity.state);
  setHandler(lockStateQuery, () => asLockState(entity.state));
  setHoldsHandlers(entity);
  setLabelsHandlers(entity);
  publishLabels(entity.state);

  // Ends only by continue-as-new (or an operator's terminate, which the next caller recovers from).
  let checkNow = !!input.recoveredFrom;
  for (;;) {
    await entity.performEffects();
    const info = workflowInfo();
    const due =
      (entity.idle() && (info.continueAsNewSuggested || entity.operations >= maxOperations || info.historyLength > IDLE_HISTORY_EVENTS)) ||
      info.historyLength > MAX_HISTORY_EVENTS;
    if (due && !entity.hasWork()) {
      await condition(allHandlersFinished);
      if (!entity.hasWork())
        await continueAsNew<typeof workspaceEntity>({ workspaceId: input.workspaceId, state: entity.state, ...(input.timing ? { timing: input.timing } : {}) });
    }
    if (entity.busy()) await entity.watch(holderCheckMs, legacyCheckMs, checkNow);
    else await condition(() => entity.hasWork() || entity.busy()); // idle: no timer, no events
    checkNow = false;
  }
}
