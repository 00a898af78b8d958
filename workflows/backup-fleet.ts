import {
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  BackupFleetInput,
  MEMO_KEYS,
  workflowIds,
  type BackupFleetResult,
  type FleetFailure,
} from '../domain/index.js';
import { backupNameDate, backupWorkspace } from './backup-workspace.js';
import { ProgressTracker, tagWorkflow, validateInput } from './common.js';
import { describeFailure, notifyFailure } from './notify.js';

/** Carried across continue-as-new. */
export interface FleetState {
  offset: number;
  succeeded: number;
  failed: FleetFailure[];
  failedCount: number;
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
 */
export async function backupFleet(rawInput: BackupFleetInput, state?: FleetState): Promise<BackupFleetResult> {
  const input = validateInput(BackupFleetInput, rawInput);
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

  report();
  while (next < ids.length && !historyIsLarge()) {
    while (inFlight.size < input.concurrency && next < ids.length && !historyIsLarge()) {
      void backUp(ids[next++]!);
    }
    report();
    await Promise.race(inFlight);
  }
  await Promise.all(inFlight);

  if (next < ids.length) {
    await continueAsNew<typeof backupFleet>(input, { ...s, offset: next, runs: s.runs + 1 });
  }

  const result: BackupFleetResult = {
    total: ids.length,
    succeeded: s.succeeded,
    failed: s.failed,
    failedCount: s.failedCount,
    runs: s.runs,
  };
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
  }
  return result;
}
