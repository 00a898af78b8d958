import { isCancellation, log, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_TYPES, scheduledStartTimeKey } from '../contract/index.js';
import { backupName } from '../domain/backup-names.js';
import { MEMO_KEYS } from '../domain/constants.js';
import type { BackupWorkspaceInput } from '../domain/inputs.js';
import type { BackupWorkspaceResult } from '../domain/results.js';
import { isValidTimeZone, isoDate } from '../domain/time.js';
import * as schemas from '../domain/schemas.js';
import { runOperation, checkedInput, withWorkspaceLock } from './common.js';
import { isCancelledAfterChange } from './landed.js';
import { PATCHES, hasPatch } from './patches.js';
import { describeFailure, notifyFailure } from './notify.js';
import { StopNotice, announcesStop } from './notice.js';
import { pruneUnderLock } from './prune-snapshots.js';
import { snapshotUnderLock } from './snapshot-workspace.js';

/**
 * The instant whose date names the backup, and the timezone to read it in. A scheduled run uses the
 * schedule's scheduled time (not the wall clock: a late retry keeps the name); a fleet's child uses
 * the time its fleet gives; a manual run its own start time. All replay the same.
 */
export function backupNameDate(timezoneFallback: string | undefined): { instant: Date; timeZone: string } {
  const info = workflowInfo();
  const memo = info.memo ?? {};
  const scheduled = info.typedSearchAttributes.get(scheduledStartTimeKey);
  const fromMemo = typeof memo[MEMO_KEYS.backupTime] === 'string' ? new Date(memo[MEMO_KEYS.backupTime] as string) : undefined;
  const instant = scheduled ?? (fromMemo && !Number.isNaN(fromMemo.getTime()) ? fromMemo : info.startTime);
  const memoTz = memo[MEMO_KEYS.timezone];
  let timeZone = typeof memoTz === 'string' ? memoTz : (timezoneFallback ?? 'UTC');
  if (!isValidTimeZone(timeZone)) {
    log.warn('unknown timezone in the backup memo; using UTC', { timeZone });
    timeZone = 'UTC';
  }
  return { instant, timeZone };
}

/**
 * What a schedule runs: snapshot `<namePrefix><YYYY-MM-DD>-<HHMM>` (the run's time in the schedule's
 * timezone; see domain/backup-names.ts), then apply the retention policy, both under one hold of the
 * workspace lock. It prunes only after the new backup succeeded. A failure is notified
 * (RIGSNAP_NOTIFY_URL) unless a fleet run will report it.
 */
export async function backupWorkspace(rawInput: BackupWorkspaceInput): Promise<BackupWorkspaceResult> {
  const input = await checkedInput(WORKFLOW_TYPES.backup, schemas.backupWorkspaceInput, rawInput);
  const { instant, timeZone } = backupNameDate(input.retention?.timezone);
  const name = hasPatch(PATCHES.core2026_11) ? backupName(input.namePrefix, instant, timeZone) : `${input.namePrefix}${isoDate(instant, timeZone)}`;
  // Registered by every run (no commands): a snooze or skip sent to a run without a notice is refused by name.
  const notice = new StopNotice(input.workspaceId, 'backup', timeZone);
  try {
    return await runOperation('backup', input.workspaceId, async (tracker) => {
      tracker.setDetail({ name });
      if (announcesStop(input) && hasPatch(PATCHES.notice2026_12)) {
        const skipped = await notice.awaitTurn(input, instant, tracker, name);
        if (skipped) return { snapshot: null, workspaceStatus: 'unchanged', adopted: false, prune: null, skipped };
      }
      // The preflight lists the snapshots already named so (under the lock): a retried create adopts none
      // of them. A backup's name carries its run's time, but two runs started in the same second (two
      // callers, a trigger beside a run) share it, and the second must make its own snapshot, not adopt
      // the first one's.
      return await withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'backup', snapshotName: name }, tracker, async (preflight) => {
        const taken = await snapshotUnderLock({ workspaceId: input.workspaceId, name, restart: 'previous' }, preflight, tracker);
        const prune = input.retention
          ? await pruneUnderLock({ workspaceId: input.workspaceId, namePrefix: input.namePrefix, retention: input.retention, dryRun: false }, tracker)
          : null;
        return { ...taken, prune: prune ? { ...prune, steps: [] } : null };
      });
    });
  } catch (failure) {
    // A cancellation is the operator's own doing, also when the backup had landed (CancelledAfterChange).
    if (!workflowInfo().parent && !isCancellation(failure) && !isCancelledAfterChange(failure)) {
      const { errorType, message } = describeFailure(failure);
      await notifyFailure({
        text: `rigsnap: backup of ${input.workspaceId} failed (${errorType}): ${message}`,
        workspaceId: input.workspaceId,
        errorType,
        message,
      });
    }
    throw failure;
  }
}
