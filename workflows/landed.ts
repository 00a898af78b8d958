/**
 * Cancellation that tells the truth (issue 18.2): a run cancelled after a change of it landed in Rigbox
 * ends with CancelledAfterChange carrying what landed (domain/landed.ts), not with plain Cancelled.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, isCancellation } from '@temporalio/workflow';
import { cancelledAfterChangeMessage, hasLanded, type ChangesLanded } from '../domain/landed.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import { PATCHES, hasPatch } from './patches.js';

/**
 * What an activity cancelled mid-change says it finished meanwhile (activities/failures.ts
 * throwIfCancelled: a copy that became a snapshot, a restore that completed, deletions), or undefined.
 */
export function finishedWhileCancelled(err: unknown): Record<string, unknown> | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof CancelledFailure)) return undefined;
  const details: unknown = cause.details?.[0];
  return details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined;
}

/** The snapshot a create cancelled during its copy made anyway, if it says so. */
export function snapshotOfCancelledCopy(err: unknown): RigboxSnapshot | undefined {
  const snapshot = finishedWhileCancelled(err)?.snapshot as RigboxSnapshot | undefined;
  return snapshot && typeof snapshot.id === 'string' ? snapshot : undefined;
}

/**
 * The failure a cancelled run ends with: CancelledAfterChange (non-retryable, details[0] the record)
 * when anything landed, the cancellation unchanged otherwise. Runs whose history predates the patch end
 * Cancelled as they did: the failure is a different command than the cancellation they recorded.
 */
export function truthfulCancellation(err: unknown, landed: ChangesLanded | null): unknown {
  if (!isCancellation(err) || !hasLanded(landed) || !hasPatch(PATCHES.truth2026_12)) return err;
  return ApplicationFailure.create({
    type: 'CancelledAfterChange',
    message: cancelledAfterChangeMessage(landed),
    nonRetryable: true,
    details: [landed],
  });
}

/** Whether a failure is a CancelledAfterChange (a cancellation to its caller, not a failure to alert on). */
export function isCancelledAfterChange(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof ApplicationFailure && e.type === 'CancelledAfterChange') return true;
  }
  return false;
}
