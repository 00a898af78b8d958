/**
 * Legacy fleet runs (before terminal-2026-12): every child started with parent-close REQUEST_CANCEL and
 * waited for before continuing as new (a stuck child held the fleet), up to 1000 failures carried by
 * name. Histories of runs started by that code replay here; new runs take workflows/backup-fleet.ts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  workflowInfo,
} from '@temporalio/workflow';
import { MEMO_KEYS } from '../domain/constants.js';
import { workflowIds } from '../domain/ids.js';
import type { BackupFleetResult } from '../domain/results.js';
import type { BackupFleetWorkflow, FleetState, ResolvedFleetInput } from './fleet-state.js';
import { backupWorkspace } from './backup-workspace.js';
import type { ProgressTracker } from './common.js';
import { describeFailure, notifyFailure } from './notify.js';
import { PATCHES, hasPatch } from './patches.js';

const MAX_LISTED_FAILURES = 1000;
/** Continue as new well before Temporal's limits (it suggests it at a few thousand events). */
const MAX_HISTORY_EVENTS = 8000;
const DEFAULT_CHILDREN_PER_RUN = 1000;

/**
 * One run of a fleet backup: the children it starts (at most `concurrency` at once, until the run's
 * share is done or its history is large), their tallies in the carried state, and its progress detail.
 */
class FleetRun {
  private readonly info = workflowInfo();
  readonly ids: string[];
  /** Index of the next workspace to start. */
  next: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runStartOffset: number;
  private readonly childrenPerRun: number;

  constructor(
    private readonly input: ResolvedFleetInput,
    readonly s: FleetState,
    private readonly tracker: ProgressTracker,
  ) {
    this.ids = input.workspaceIds;
    this.next = s.offset;
    this.runStartOffset = this.next;
    this.childrenPerRun = s.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
  }

  cancelled(): boolean {
    return CancellationScope.current().consideredCancelled;
  }

  /** Starts children until every workspace of this run has one, then waits for them all to settle. */
  async backUpAll(): Promise<void> {
    const { ids, inFlight } = this;
    this.report();
    while (this.next < ids.length && !this.historyIsLarge() && !this.cancelled()) {
      while (inFlight.size < this.input.concurrency && this.next < ids.length && !this.historyIsLarge() && !this.cancelled()) {
        void this.backUp(ids[this.next++]!);
      }
      this.report();
      await Promise.race(inFlight);
    }
    // Cancelled children settle first: each has started its workspace again before it reports.
    await Promise.all(inFlight);
  }

  summary(): BackupFleetResult {
    const { s } = this;
    return {
      total: this.ids.length,
      succeeded: s.succeeded,
      failed: s.failed,
      failedCount: s.failedCount,
      ...(s.cancelledCount ? { cancelledCount: s.cancelledCount } : {}),
      runs: s.runs,
    };
  }

  /** Records the cancellation (detail, state, log) and returns the failure to end with. */
  cancellation(result: BackupFleetResult): CancelledFailure {
    const { s, ids } = this;
    this.tracker.setDetail({ ...result, notStarted: ids.length - this.next });
    this.tracker.finish('cancelled');
    log.info('fleet backup cancelled', { ...result, failed: undefined, notStarted: ids.length - this.next });
    return new CancelledFailure(
      `fleet backup cancelled: ${s.succeeded} backed up, ${s.failedCount} failed, ${s.cancelledCount ?? 0} cancelled, ${ids.length - this.next} not started`,
    );
  }

  /** The last run's end: failed workspaces are notified, and fail the fleet with PartialFailure. */
  async complete(result: BackupFleetResult): Promise<void> {
    const { s, ids } = this;
    this.tracker.finish(s.failedCount > 0 ? 'failed' : 'completed');
    if (s.failedCount > 0) {
      const first = s.failed[0]!;
      await notifyFailure({
        text: `rigsnap: fleet backup ${this.info.workflowId}: ${s.failedCount} of ${ids.length} workspaces failed (first: ${first.workspaceId}, ${first.errorType})`,
        workspaceId: null,
        errorType: first.errorType,
        message: `${s.failedCount} of ${ids.length} backups failed`,
        failures: s.failed.slice(0, 50),
      });
      if (hasPatch(PATCHES.core2026_11)) {
        throw ApplicationFailure.create({
          type: 'PartialFailure',
          message: `${s.failedCount} of ${ids.length} workspaces could not be backed up (first: ${first.workspaceId}, ${first.errorType}: ${first.message})`,
          nonRetryable: true,
          details: [result],
        });
      }
    }
  }

  private report(): void {
    const { s } = this;
    this.tracker.setDetail({
      total: this.ids.length,
      done: this.next - this.inFlight.size,
      running: this.inFlight.size,
      succeeded: s.succeeded,
      failed: s.failedCount,
      ...(s.cancelledCount ? { cancelled: s.cancelledCount } : {}),
      run: s.runs,
    });
  }

  private historyIsLarge(): boolean {
    const now = workflowInfo();
    return now.continueAsNewSuggested || now.historyLength > MAX_HISTORY_EVENTS || this.next - this.runStartOffset >= this.childrenPerRun;
  }

  /** Runs one workspace's backup as a child, counting how it ended. */
  private backUp(workspaceId: string): Promise<void> {
    const { s, input, info } = this;
    const p = executeChild(backupWorkspace, {
      workflowId: workflowIds.fleetChild(info.workflowId, workspaceId),
      args: [{ workspaceId, namePrefix: input.namePrefix, retention: input.retention }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      memo: { [MEMO_KEYS.backupTime]: s.backupTime, [MEMO_KEYS.timezone]: s.timeZone },
      staticSummary: `backup of ${workspaceId} for fleet run ${info.workflowId}`,
    }).then(
      () => {
        s.succeeded++;
      },
      (err: unknown) => this.countFailure(workspaceId, err),
    );
    const tracked = p.finally(() => {
      this.inFlight.delete(tracked);
      this.report();
    });
    this.inFlight.add(tracked);
    return tracked;
  }

  private countFailure(workspaceId: string, err: unknown): void {
    const { s } = this;
    if (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause)) {
      s.cancelledCount = (s.cancelledCount ?? 0) + 1;
      return;
    }
    s.failedCount++;
    if (s.failed.length < MAX_LISTED_FAILURES) {
      const { errorType, message } = describeFailure(err);
      s.failed.push({ workspaceId, errorType, message: message.slice(0, 300) });
    }
  }
}

/** The legacy run's body, after validation: drains every child before it continues as new. */
export async function legacyBackupFleet(input: ResolvedFleetInput, state: FleetState, tracker: ProgressTracker): Promise<BackupFleetResult> {
  const run = new FleetRun(input, state, tracker);
  await run.backUpAll();
  const result = run.summary();
  if (run.cancelled()) throw run.cancellation(result);
  if (run.next < run.ids.length) {
    await continueAsNew<BackupFleetWorkflow>(input, { ...run.s, offset: run.next, runs: run.s.runs + 1 });
  }
  await run.complete(result);
  return result;
}
