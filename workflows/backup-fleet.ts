import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { MEMO_KEYS } from '../domain/constants.js';
import { workflowIds } from '../domain/ids.js';
import type { BackupFleetInput } from '../domain/inputs.js';
import type { BackupFleetResult, FleetFailure } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { backupNameDate, backupWorkspace } from './backup-workspace.js';
import { ProgressTracker, tagWorkflow, validateInput } from './common.js';
import { describeFailure, notifyFailure } from './notify.js';
import { PATCHES } from './patches.js';

/** Carried across continue-as-new. */
export interface FleetState {
  offset: number;
  succeeded: number;
  failed: FleetFailure[];
  failedCount: number;
  /** Children cancelled with the fleet (absent in state carried by runs from before it existed). */
  cancelledCount?: number;
  runs: number;
  /** The instant whose date names every backup of this fleet run, fixed at the first run. */
  backupTime: string;
  timeZone: string;
  /** Children per run before continuing as new (default 1000): bounds every run's history. */
  childrenPerRun?: number;
}

const MAX_LISTED_FAILURES = 1000;
/** Continue as new well before Temporal's limits (it suggests it at a few thousand events). */
const MAX_HISTORY_EVENTS = 8000;
const DEFAULT_CHILDREN_PER_RUN = 1000;

/**
 * Backs up many workspaces: a child backupWorkspace per workspace, at most `concurrency` at once.
 * The children share one backup date (the fleet's scheduled time). The run continues as new before its
 * history grows large, carrying the tallies, so 10,000 workspaces never make one huge history.
 *
 * It fails with PartialFailure (details[0]: the summary) when any workspace failed, after all of them
 * ran, so alerts on failed workflows and a schedule's pause-on-failure see it. Cancelled, it cancels
 * the running children (each starts its workspace again if it stopped it), starts no new ones, does not
 * continue as new, and ends Cancelled with the summary in its current details.
 */
export async function backupFleet(rawInput: BackupFleetInput, state?: FleetState): Promise<BackupFleetResult> {
  const input = validateInput(schemas.backupFleetInput(), rawInput);
  tagWorkflow(null, 'fleet-backup');
  const tracker = new ProgressTracker('fleet-backup', null);
  const info = workflowInfo();
  const named = state ?? (() => {
    const { instant, timeZone } = backupNameDate(input.retention?.timezone);
    return { backupTime: instant.toISOString(), timeZone };
  })();
  const s: FleetState = state ?? { offset: 0, succeeded: 0, failed: [], failedCount: 0, runs: 1, ...named };
  const ids = input.workspaceIds;
  let next = s.offset;
  const inFlight = new Set<Promise<void>>();

  const report = () =>
    tracker.setDetail({
      total: ids.length,
      done: next - inFlight.size,
      running: inFlight.size,
      succeeded: s.succeeded,
      failed: s.failedCount,
      ...(s.cancelledCount ? { cancelled: s.cancelledCount } : {}),
      run: s.runs,
    });

  const backUp = (workspaceId: string): Promise<void> => {
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
      (err: unknown) => {
        if (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause)) {
          s.cancelledCount = (s.cancelledCount ?? 0) + 1;
          return;
        }
        s.failedCount++;
        if (s.failed.length < MAX_LISTED_FAILURES) {
          const { errorType, message } = describeFailure(err);
          s.failed.push({ workspaceId, errorType, message: message.slice(0, 300) });
        }
      },
    );
    const tracked = p.finally(() => {
      inFlight.delete(tracked);
      report();
    });
    inFlight.add(tracked);
    return tracked;
  };

  const runStartOffset = next;
  const childrenPerRun = s.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
  const historyIsLarge = () => {
    const now = workflowInfo();
    return now.continueAsNewSuggested || now.historyLength > MAX_HISTORY_EVENTS || next - runStartOffset >= childrenPerRun;
  };

  const cancelled = () => CancellationScope.current().consideredCancelled;
  report();
  while (next < ids.length && !historyIsLarge() && !cancelled()) {
    while (inFlight.size < input.concurrency && next < ids.length && !historyIsLarge() && !cancelled()) {
      void backUp(ids[next++]!);
    }
    report();
    await Promise.race(inFlight);
  }
  // Cancelled children settle first: each has started its workspace again before it reports.
  await Promise.all(inFlight);

  const result: BackupFleetResult = {
    total: ids.length,
    succeeded: s.succeeded,
    failed: s.failed,
    failedCount: s.failedCount,
    ...(s.cancelledCount ? { cancelledCount: s.cancelledCount } : {}),
    runs: s.runs,
  };
  if (cancelled()) {
    tracker.setDetail({ ...result, notStarted: ids.length - next });
    tracker.finish('cancelled');
    log.info('fleet backup cancelled', { ...result, failed: undefined, notStarted: ids.length - next });
    throw new CancelledFailure(
      `fleet backup cancelled: ${s.succeeded} backed up, ${s.failedCount} failed, ${s.cancelledCount ?? 0} cancelled, ${ids.length - next} not started`,
    );
  }

  if (next < ids.length) {
    await continueAsNew<typeof backupFleet>(input, { ...s, offset: next, runs: s.runs + 1 });
  }

  tracker.finish(s.failedCount > 0 ? 'failed' : 'completed');
  if (s.failedCount > 0) {
    const first = s.failed[0]!;
    await notifyFailure({
      text: `rigsnap: fleet backup ${info.workflowId}: ${s.failedCount} of ${ids.length} workspaces failed (first: ${first.workspaceId}, ${first.errorType})`,
      workspaceId: null,
      errorType: first.errorType,
      message: `${s.failedCount} of ${ids.length} backups failed`,
      failures: s.failed.slice(0, 50),
    });
    if (patched(PATCHES.core2026_11)) {
      throw ApplicationFailure.create({
        type: 'PartialFailure',
        message: `${s.failedCount} of ${ids.length} workspaces could not be backed up (first: ${first.workspaceId}, ${first.errorType}: ${first.message})`,
        nonRetryable: true,
        details: [result],
      });
    }
  }
  return result;
}
