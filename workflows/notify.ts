import { ApplicationFailure, CancellationScope, log, workflowInfo } from '@temporalio/workflow';
import type { NotifyInput } from '../activities/index.js';
import { activities } from './common.js';

/**
 * Sends a failure notification if the worker has RIGSNAP_NOTIFY_URL (the activity no-ops otherwise).
 * Runs even when the workflow was cancelled, and a failing webhook is logged, never rethrown: a
 * notification must not turn a result into a different failure.
 */
export async function notifyFailure(input: Omit<NotifyInput, 'workflowId' | 'runId' | 'workflowType'>): Promise<void> {
  const info = workflowInfo();
  await CancellationScope.nonCancellable(async () => {
    try {
      await activities('notification', 'send failure notification').notify({
        ...input,
        workflowId: info.workflowId,
        runId: info.runId,
        workflowType: info.workflowType,
      });
    } catch (err) {
      log.warn('failure notification could not be delivered', { error: String(err) });
    }
  });
}

/** Error type and message of a workflow failure, for notifications and fleet summaries. */
export function describeFailure(err: unknown): { errorType: string; message: string } {
  let cur: unknown = err;
  // The outermost ApplicationFailure carries the type and the step it failed in.
  let found: ApplicationFailure | undefined;
  while (cur instanceof Error && !found) {
    if (cur instanceof ApplicationFailure) found = cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  if (found) return { errorType: found.type ?? 'Error', message: found.message };
  const e = err as Error;
  return { errorType: e?.name ?? 'Error', message: (e?.message ?? String(err)).slice(0, 500) };
}
