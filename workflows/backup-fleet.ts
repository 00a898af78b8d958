/**
 * backupFleet: a child backupWorkspace per workspace, at most `concurrency` at once, in runs that
 * continue as new. No child holds the fleet back: children are started with parent-close ABANDON, and a
 * run that has started its share hands the children still running over to the next run (by id) instead
 * of waiting for them; the next run counts them as they end (describe, never visibility) and keeps their
 * slots taken meanwhile. What a run carries is bounded whatever the fleet's size: its next chunk of ids
 * (the rest stay in the first run's input, read by reference), counts by error type and a capped sample
 * of failures, and at most `concurrency` handed-over children. Children that run long are shown in the
 * fleet's current details with their step and alert (why they are slow).
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ParentClosePolicy,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import { operationKey, workspaceIdKey } from '../contract/search-attributes.js';
import type { FleetChildStatus } from '../activities/index.js';
import { MEMO_KEYS } from '../domain/constants.js';
import { formatSelector } from '../domain/enrollment.js';
import {
  FLEET_CHECK_MS,
  FLEET_CHILD_SLOW_MS,
  MAX_MATCHED_LISTED,
  boundTally,
  describeSlow,
  freeSlots,
  mustContinueAsNew,
  recordFailure,
  type HandedOverChild,
  type SlowChild,
} from '../domain/fleet.js';
import { fleetChildPriority } from '../domain/priority.js';
import { workflowIds } from '../domain/ids.js';
import type { BackupFleetInput } from '../domain/inputs.js';
import type { BackupFleetResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { formatDuration } from '../domain/time.js';
import { legacyBackupFleet } from './backup-fleet-legacy.js';
import { backupNameDate, backupWorkspace } from './backup-workspace.js';
import { ProgressTracker, activities, checkedInput, tagWorkflow } from './common.js';
import type { BackupFleetWorkflow, FleetSelection, FleetState, ResolvedFleetInput, ValidFleetInput } from './fleet-state.js';
import { isCancelledAfterChange } from './landed.js';
import type { AnnouncedStopInput } from './notice.js';
import { describeFailure, notifyFailure } from './notify.js';
import { PATCHES, hasPatch } from './patches.js';

/** Continue as new well before Temporal's limits (it suggests it at a few thousand events). */
const MAX_HISTORY_EVENTS = 8000;
const DEFAULT_CHILDREN_PER_RUN = 1000;

/** The fleet's notice, window, quiet hours and snooze cap, passed to each child as given (absent: none, as before). */
function announcedStopOf(input: ResolvedFleetInput): AnnouncedStopInput {
  const { notice, window, quietHours, maxSnooze } = input;
  return { ...(notice ? { notice } : {}), ...(window ? { window } : {}), ...(quietHours ? { quietHours } : {}), ...(maxSnooze ? { maxSnooze } : {}) };
}

/** A fleet run's state as the first run starts it: every backup named after the fleet's own (scheduled) time. */
function firstRunState(input: Pick<ValidFleetInput, 'retention'>): FleetState {
  const { instant, timeZone } = backupNameDate(input.retention?.timezone);
  return { offset: 0, succeeded: 0, failed: [], failedCount: 0, runs: 1, backupTime: instant.toISOString(), timeZone };
}

interface OwnChild {
  workspaceId: string;
  startedAt: number;
  /** Resolves once Temporal has started it (then it outlives this run: parent-close ABANDON). */
  started: Promise<unknown>;
}

/**
 * One run of a fleet backup: the children it starts (at most `concurrency` at once, counting those
 * handed over), their tallies in the carried state, the checks on handed-over and slow children, and
 * its progress detail.
 */
class FleetRun {
  private readonly info = workflowInfo();
  readonly s: FleetState;
  readonly total: number;
  private readonly chunkStart: number;
  next: number;
  private readonly own = new Map<string, OwnChild>();
  private readonly settled = new Set<Promise<void>>();
  private readonly handedOver: Map<string, HandedOverChild>;
  private readonly childrenPerRun: number;
  private startedThisRun = 0;
  private checkTimer: Promise<void> | undefined;
  private checkDue = false;
  /** Handed-over children often end soon after the hand-over: checked after 2 s, then less often, up to FLEET_CHECK_MS. */
  private handedCheckMs = 2000;
  private slow: SlowChild[] = [];

  constructor(
    private readonly input: ResolvedFleetInput,
    state: FleetState,
    private readonly tracker: ProgressTracker,
  ) {
    this.s = { ...state, ...boundTally(state) };
    this.chunkStart = state.chunkStart ?? 0;
    this.total = state.total ?? input.workspaceIds.length;
    this.next = state.offset;
    this.childrenPerRun = state.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
    this.handedOver = new Map((state.handedOver ?? []).map((c) => [c.workflowId, c]));
  }

  cancelled(): boolean {
    return CancellationScope.current().consideredCancelled;
  }

  /**
   * Starts children while slots are free, until every workspace has one and every child has ended, or
   * the run must continue as new (it then hands the running ones over), or the fleet is cancelled.
   * Waiting holds no activity slot: on this run's children, and on a timer for the checks of the others.
   */
  async backUpAll(): Promise<'done' | 'continue' | 'cancelled'> {
    for (;;) {
      this.startWhileFree();
      this.report();
      if (this.cancelled()) return 'cancelled';
      if (this.mustContinue()) return 'continue';
      if (this.own.size === 0 && this.handedOver.size === 0) return 'done';
      await Promise.race([...this.settled, this.armCheck()]);
      if (this.checkDue) await this.checkChildren();
    }
  }

  /** Hands the running children over to a new run with the next chunk of ids. */
  async continueAsNew(): Promise<never> {
    // A child whose start is not confirmed would not outlive this run: wait for the starts (seconds).
    await Promise.all([...this.own.values()].map((c) => c.started.catch(() => undefined)));
    const source = this.s.source ?? { workflowId: this.info.workflowId, runId: this.info.runId };
    const workspaceIds = await this.chunkFrom(this.next, source);
    // The running children and the tallies are read together after the last await: a child that ended
    // while the next chunk was read is counted once (in the tallies), not also handed over.
    const handedOver = [...this.handedOver.values(), ...[...this.own].map(([workflowId, c]) => ({ workspaceId: c.workspaceId, workflowId }))];
    log.info('fleet continues as new, handing over its running children', { next: this.next, total: this.total, handedOver: handedOver.length });
    return continueAsNew<BackupFleetWorkflow>(
      { ...this.input, workspaceIds },
      { ...this.s, offset: this.next, chunkStart: this.next, total: this.total, source, handedOver, runs: this.s.runs + 1 },
    );
  }

  summary(): BackupFleetResult {
    const { s } = this;
    return {
      total: this.total,
      succeeded: s.succeeded,
      failed: s.failed,
      failedCount: s.failedCount,
      ...(s.failedCount > 0 ? { failedByType: s.failedByType ?? {} } : {}),
      ...(s.cancelledCount ? { cancelledCount: s.cancelledCount } : {}),
      runs: s.runs,
      ...(s.selection ? { selector: s.selection.selector, matched: s.selection.matched } : {}),
    };
  }

  /**
   * Cancelled: this run's children are cancelled with its scope (each starts its workspace again if it
   * stopped it); handed-over ones are asked by id. Waits until all have ended, then records it.
   */
  async cancelAll(): Promise<CancelledFailure> {
    await CancellationScope.nonCancellable(async () => {
      for (const id of this.handedOver.keys()) {
        await getExternalWorkflowHandle(id)
          .cancel()
          .catch((err: unknown) => log.info('could not cancel a handed-over child (it may have ended)', { workflowId: id, error: String(err) }));
      }
      while (this.own.size > 0 || this.handedOver.size > 0) {
        await Promise.race([...this.settled, sleep(5000)]);
        if (this.handedOver.size > 0) await this.checkChildren();
      }
    });
    const result = this.summary();
    const notStarted = this.total - this.next;
    this.tracker.setDetail({ ...result, notStarted });
    this.tracker.finish('cancelled');
    log.info('fleet backup cancelled', { ...result, failed: undefined, notStarted });
    return new CancelledFailure(
      `fleet backup cancelled: ${result.succeeded} backed up, ${result.failedCount} failed, ${result.cancelledCount ?? 0} cancelled, ${notStarted} not started`,
    );
  }

  /** The last run's end: failed workspaces are notified, and fail the fleet with PartialFailure. */
  async complete(result: BackupFleetResult): Promise<void> {
    const { s } = this;
    this.tracker.finish(s.failedCount > 0 ? 'failed' : 'completed');
    if (s.failedCount === 0) return;
    const first = s.failed[0]!;
    const byType = Object.entries(s.failedByType ?? {})
      .map(([t, n]) => `${n} ${t}`)
      .join(', ');
    await notifyFailure({
      text: `rigsnap: fleet backup ${this.info.workflowId}: ${s.failedCount} of ${this.total} workspaces failed (${byType}; first: ${first.workspaceId}, ${first.errorType})`,
      workspaceId: null,
      errorType: first.errorType,
      message: `${s.failedCount} of ${this.total} backups failed`,
      failures: s.failed,
    });
    throw ApplicationFailure.create({
      type: 'PartialFailure',
      message:
        `${s.failedCount} of ${this.total} workspaces could not be backed up (${byType}): ` +
        s.failed
          .slice(0, 5)
          .map((f) => `${f.workspaceId} ${f.errorType}`)
          .join(', ') +
        (s.failedCount > 5 ? ', …' : '') +
        ` (first: ${first.workspaceId}, ${first.errorType}: ${first.message})`,
      nonRetryable: true,
      details: [result],
    });
  }

  private mustContinue(): boolean {
    const now = workflowInfo();
    const historyLarge = now.continueAsNewSuggested || now.historyLength > MAX_HISTORY_EVENTS;
    return mustContinueAsNew({ startedThisRun: this.startedThisRun, childrenPerRun: this.childrenPerRun, historyLarge, next: this.next, total: this.total });
  }

  private startWhileFree(): void {
    while (freeSlots(this.input.concurrency, this.own.size, this.handedOver.size) > 0 && this.next < this.total && !this.mustContinue() && !this.cancelled()) {
      const workspaceId = this.input.workspaceIds[this.next - this.chunkStart];
      if (workspaceId === undefined) break; // past this run's chunk: the next run reads the next one
      this.next++;
      this.startedThisRun++;
      this.backUp(workspaceId);
    }
  }

  /** `childrenPerRun` ids from `from`: from this run's own input when it has them, else from the first run's. */
  private async chunkFrom(from: number, source: { workflowId: string; runId: string }): Promise<string[]> {
    const end = Math.min(from + this.childrenPerRun, this.total);
    const local = this.input.workspaceIds.slice(from - this.chunkStart, end - this.chunkStart);
    if (local.length === end - from) return local;
    return activities('quickCall', `workspace ids ${from}–${end} of the fleet`).fleetWorkspaceIds({ ...source, offset: from, limit: end - from });
  }

  /** A timer for the next check: soon while handed-over children run, else when the oldest child turns slow. */
  private armCheck(): Promise<void> {
    if (this.checkTimer) return this.checkTimer;
    let delay = this.handedCheckMs;
    this.handedCheckMs = Math.min(this.handedCheckMs * 2, FLEET_CHECK_MS);
    if (this.handedOver.size === 0) {
      const oldest = Math.min(...[...this.own.values()].map((c) => c.startedAt));
      delay = Math.max(FLEET_CHECK_MS, oldest + FLEET_CHILD_SLOW_MS - Date.now());
    }
    this.checkTimer = sleep(delay)
      .then(
        () => {
          this.checkDue = true;
        },
        () => undefined, // cancelled with the fleet
      )
      .finally(() => {
        this.checkTimer = undefined;
      });
    return this.checkTimer;
  }

  /** Asks the handed-over and the slow children how they are: counts those that ended, shows the slow ones. */
  private async checkChildren(): Promise<void> {
    this.checkDue = false;
    const now = Date.now();
    const ids = [...this.handedOver.keys(), ...[...this.own].filter(([, c]) => now - c.startedAt >= FLEET_CHILD_SLOW_MS).map(([id]) => id)];
    if (ids.length === 0) {
      this.slow = [];
      return;
    }
    let statuses: FleetChildStatus[];
    try {
      statuses = await activities('fleetCheck', `how are ${ids.length} children of the fleet?`).fleetChildren({ workflowIds: ids });
    } catch (err) {
      log.warn('could not check the fleet children; trying again later', { error: String(err) });
      return;
    }
    this.slow = [];
    for (const st of statuses) {
      const handed = this.handedOver.get(st.workflowId);
      if (handed && st.state !== 'running') {
        this.handedOver.delete(st.workflowId);
        this.countClosed(handed.workspaceId, st);
        continue;
      }
      const startedAt = handed ? Date.parse(st.startedAt ?? '') : this.own.get(st.workflowId)?.startedAt;
      const age = startedAt !== undefined && !Number.isNaN(startedAt) ? now - startedAt : 0;
      if (st.state === 'running' && age >= FLEET_CHILD_SLOW_MS) {
        const workspaceId = handed?.workspaceId ?? this.own.get(st.workflowId)?.workspaceId ?? st.workflowId;
        this.slow.push({ workspaceId, workflowId: st.workflowId, running: formatDuration(age), step: st.step, ...(st.alert ? { why: st.alert } : {}) });
      }
    }
    this.report();
  }

  private countClosed(workspaceId: string, st: FleetChildStatus): void {
    if (st.state === 'succeeded') this.s.succeeded++;
    else if (st.state === 'cancelled') this.s.cancelledCount = (this.s.cancelledCount ?? 0) + 1;
    else recordFailure(this.s, { workspaceId, errorType: st.errorType ?? 'Error', message: st.message ?? st.state });
  }

  private report(): void {
    const { s } = this;
    this.tracker.setDetail({
      total: this.total,
      done: s.succeeded + s.failedCount + (s.cancelledCount ?? 0),
      running: this.own.size + this.handedOver.size,
      ...(this.handedOver.size ? { fromPreviousRun: this.handedOver.size } : {}),
      succeeded: s.succeeded,
      failed: s.failedCount,
      ...(s.failedCount ? { failedByType: s.failedByType } : {}),
      ...(s.cancelledCount ? { cancelled: s.cancelledCount } : {}),
      run: s.runs,
      ...(this.slow.length ? { slow: describeSlow(this.slow) } : {}),
      ...(s.selection ? selectionDetail(s.selection) : {}),
    });
  }

  /** Runs one workspace's backup as a child that outlives this run (ABANDON), counting how it ended. */
  private backUp(workspaceId: string): void {
    const { s, input, info } = this;
    const workflowId = workflowIds.fleetChild(info.workflowId, workspaceId);
    // Children carry their workspace from their start (not only from their first workflow task), and who asked.
    const requestedBy = workflowInfo().memo?.[MEMO_KEYS.requestedBy];
    const started = startChild(backupWorkspace, {
      workflowId,
      args: [{ workspaceId, namePrefix: input.namePrefix, retention: input.retention, ...announcedStopOf(input) }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      memo: {
        [MEMO_KEYS.backupTime]: s.backupTime,
        [MEMO_KEYS.timezone]: s.timeZone,
        ...(typeof requestedBy === 'string' ? { [MEMO_KEYS.requestedBy]: requestedBy } : {}),
      },
      typedSearchAttributes: [
        { key: workspaceIdKey, value: workspaceId },
        { key: operationKey, value: 'backup' },
      ],
      staticSummary: `backup of ${workspaceId} for fleet run ${info.workflowId}`,
      // Behind on-demand operations and single scheduled backups, and fair between fleets (domain/priority.ts).
      priority: fleetChildPriority(info.priority),
    });
    const settled: Promise<void> = started
      .then((child) => child.result())
      .then(
        () => {
          s.succeeded++;
        },
        (err: unknown) => this.countFailure(workspaceId, err),
      )
      .finally(() => {
        this.own.delete(workflowId);
        this.settled.delete(settled);
      });
    this.own.set(workflowId, { workspaceId, startedAt: Date.now(), started });
    this.settled.add(settled);
  }

  private countFailure(workspaceId: string, err: unknown): void {
    if (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause) || isCancelledAfterChange(err)) {
      this.s.cancelledCount = (this.s.cancelledCount ?? 0) + 1;
      return;
    }
    const { errorType, message } = describeFailure(err);
    recordFailure(this.s, { workspaceId, errorType, message });
  }
}

/**
 * Backs up many workspaces: a child backupWorkspace per workspace, at most `concurrency` at once, all
 * named after the fleet's (scheduled) time. It fails with PartialFailure (details[0]: the summary) when
 * any workspace failed, after all of them ran, so alerts on failed workflows and a schedule's
 * pause-on-failure see it. Cancelled, it cancels its running children (each starts its workspace again
 * if it stopped it), starts no new ones, and ends Cancelled with the summary in its current details.
 */
export type { FleetState } from './fleet-state.js';

export async function backupFleet(rawInput: BackupFleetInput, state?: FleetState): Promise<BackupFleetResult> {
  const valid = await checkedInput(WORKFLOW_TYPES['fleet-backup'], schemas.backupFleetInput, rawInput);
  tagWorkflow(null, 'fleet-backup');
  const tracker = new ProgressTracker('fleet-backup', null);
  // Only a first run can have a selector: a continued run's input lists its workspaces (ResolvedFleetInput).
  const { selector, workspaceIds, ...rest } = valid;
  if (selector) {
    const selected = await selectWorkspaces(selector, tracker);
    const input: ResolvedFleetInput = { ...rest, workspaceIds: selected.workspaceIds };
    const first: FleetState = { ...firstRunState(valid), selection: selected.selection };
    // More than one run's share: the next run's input lists them all, so every later run reads its chunk from it.
    if (selected.workspaceIds.length > DEFAULT_CHILDREN_PER_RUN) return continueAsNew<BackupFleetWorkflow>(input, first);
    return runFleet(input, first, tracker);
  }
  const input: ResolvedFleetInput = { ...rest, workspaceIds: workspaceIds ?? [] };
  if (!hasPatch(PATCHES.terminal2026_12)) return legacyBackupFleet(input, state ?? firstRunState(input), tracker);
  return runFleet(input, state ?? firstRunState(input), tracker);
}

/** The current and selection details of a fleet by selector: what it matched. */
function selectionDetail(sel: FleetSelection): Record<string, unknown> {
  const more = sel.matchedCount - sel.matched.length;
  return { selector: formatSelector(sel.selector), matched: more > 0 ? [...sel.matched, `and ${more} more`] : sel.matched };
}

/**
 * Resolves a fleet's selector as its run starts (enroll-2026-12): an activity lists the candidates by the
 * RigboxLabels search attribute and asks each workspace entity; only what the entities confirm is backed
 * up. A workspace enrolled after a fleet schedule was created is in its next run.
 */
async function selectWorkspaces(selector: Record<string, string>, tracker: ProgressTracker): Promise<{ workspaceIds: string[]; selection: FleetSelection }> {
  // Before this change the schema refused a selector, so a run that replays without the marker had refused it.
  if (!hasPatch(PATCHES.enroll2026_12)) throw ApplicationFailure.create({ type: 'InvalidInput', message: 'selector: not supported', nonRetryable: true });
  const text = formatSelector(selector);
  tracker.setDetail({ selector: text, selecting: true });
  const r = await activities('fleetCheck', `enrolled workspaces matching ${text}`).resolveSelector({ selector });
  const selection: FleetSelection = {
    selector,
    matchedCount: r.workspaceIds.length,
    matched: r.workspaceIds.slice(0, MAX_MATCHED_LISTED),
    notConfirmed: r.notConfirmed.length,
  };
  log.info('fleet selector resolved', { selector: text, matched: r.workspaceIds.length, notConfirmed: r.notConfirmed.length });
  return { workspaceIds: r.workspaceIds, selection };
}

async function runFleet(input: ResolvedFleetInput, state: FleetState, tracker: ProgressTracker): Promise<BackupFleetResult> {
  const run = new FleetRun(input, state, tracker);
  const outcome = await run.backUpAll();
  if (outcome === 'cancelled') throw await run.cancelAll();
  if (outcome === 'continue') return run.continueAsNew();
  const result = run.summary();
  await run.complete(result);
  return result;
}
