import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  TimeoutFailure,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { z } from 'zod';
import type { RigsnapActivities } from '../activities/index.js';
import {
  LOCK_RELEASE_SIGNAL,
  PROGRESS_QUERY,
  SEARCH_ATTRIBUTES,
  STEP_LABELS,
  isErrorType,
  parseInput,
  workflowIds,
  type LockReleaseRequest,
  type Operation,
  type Progress,
  type Step,
  type StepRecord,
} from '../domain/index.js';
import type { PreflightResult } from '../activities/index.js';
import { formatCurrentDetails } from './current-details.js';
import { profiles, type ProfileName } from './profiles.js';

export const workspaceIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.workspaceId, SearchAttributeType.KEYWORD);
export const operationKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.operation, SearchAttributeType.KEYWORD);

export const progressQuery = defineQuery<Progress>(PROGRESS_QUERY);
export const lockReleaseSignal = defineSignal<[LockReleaseRequest]>(LOCK_RELEASE_SIGNAL);

/**
 * Activities with a profile and a one-line summary for the UI's event history ("stop ws_demo").
 * Proxies are cheap objects; making one per call is how a call gets its own summary.
 */
export function activities(profile: ProfileName, summary?: string) {
  return proxyActivities<RigsnapActivities>({ ...profiles[profile], ...(summary ? { summary } : {}) });
}

/** Workflow time as ISO text: deterministic, and plain JSON for history. */
export const nowIso = () => new Date().toISOString();

/**
 * Parses a workflow input with the domain schema. Bad input fails the workflow at once with a
 * non-retryable InvalidInput failure naming the fields: never a workflow-task retry loop, never a call.
 */
export function validateInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = parseInput(schema, raw);
  if (!r.ok) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: `invalid input: ${r.message}`,
      nonRetryable: true,
      details: [{ fields: r.fields }],
    });
  }
  return r.value;
}

/**
 * Sets RigboxWorkspaceId and RigboxOperation unless the starter already did, so that workflows
 * started by any SDK or the temporal CLI are found by `RigboxWorkspaceId="ws_demo"` too.
 */
export function tagWorkflow(workspaceId: string | null, operation: Operation): void {
  const sa = workflowInfo().typedSearchAttributes;
  const updates: Parameters<typeof upsertSearchAttributes>[0] = [];
  if (workspaceId && sa.get(workspaceIdKey) !== workspaceId) updates.push({ key: workspaceIdKey, value: workspaceId });
  if (sa.get(operationKey) !== operation) updates.push({ key: operationKey, value: operation });
  if (updates.length) upsertSearchAttributes(updates);
}

/**
 * The `progress` query and the UI's "current details", kept from one list of step records.
 */
export class ProgressTracker {
  readonly steps: StepRecord[] = [];
  state: Progress['state'] = 'running';
  detail: Record<string, unknown> | undefined;
  private lockSequence = 0;

  constructor(
    readonly operation: Operation,
    readonly workspaceId: string | null,
  ) {
    setHandler(progressQuery, () => this.snapshot());
  }

  /** Numbers this run's lock acquisitions: 1, 2, … in the order the workflow makes them. */
  nextLockSequence(): number {
    return ++this.lockSequence;
  }

  get current(): StepRecord | undefined {
    const last = this.steps[this.steps.length - 1];
    return last && last.finishedAt === null ? last : undefined;
  }

  begin(step: Step, note?: string): void {
    this.end();
    this.steps.push({ step, startedAt: nowIso(), finishedAt: null });
    this.render(note);
  }

  end(): void {
    const current = this.current;
    if (current) current.finishedAt = nowIso();
  }

  finish(state: 'completed' | 'failed'): void {
    this.end();
    this.state = state;
    this.render();
  }

  setDetail(detail: Record<string, unknown>): void {
    this.detail = detail;
    this.render();
  }

  snapshot(): Progress {
    return {
      operation: this.operation,
      workspaceId: this.workspaceId,
      state: this.state,
      currentStep: this.current?.step ?? null,
      steps: this.steps.map((s) => ({ ...s })),
      ...(this.detail ? { detail: this.detail } : {}),
    };
  }

  private render(note?: string): void {
    setCurrentDetails(formatCurrentDetails(this.snapshot(), note));
  }
}

/**
 * The frame of a public operation: its search attributes, its progress (query and current details),
 * and one failure shape. The result gets the step records.
 */
export async function runOperation<T extends object>(
  operation: Operation,
  workspaceId: string | null,
  body: (tracker: ProgressTracker) => Promise<T>,
): Promise<T & { steps: StepRecord[] }> {
  tagWorkflow(workspaceId, operation);
  const tracker = new ProgressTracker(operation, workspaceId);
  try {
    const result = await body(tracker);
    tracker.finish('completed');
    return { ...result, steps: tracker.steps };
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, undefined);
  }
}

/**
 * Fails the workflow with a failure whose `type` is the error type from the table (NotFound, Timeout…),
 * so callers read the cause at the top, not three levels down. Cancellation passes through unchanged.
 */
export function asWorkflowFailure(err: unknown, step: Step | undefined): unknown {
  if (isCancellation(err)) return err;
  const where = step ? `${STEP_LABELS[step]}: ` : '';
  let cause: unknown = err;
  if (err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: cause.type && isErrorType(cause.type) ? cause.type : (cause.type ?? 'Error'),
      message: `${where}${cause.message}`,
      nonRetryable: true,
      details: cause.details ?? undefined,
      cause: err as Error,
    });
  }
  if (cause instanceof TimeoutFailure) {
    return ApplicationFailure.create({
      type: 'Timeout',
      message: `${where}the step hit its ${(cause.timeoutType ?? 'activity').toLowerCase().replace(/_/g, '-')} timeout (were workers running?)`,
      nonRetryable: true,
      cause: err as Error,
    });
  }
  return err;
}

/**
 * A lock request id: unique per acquisition (a checkpoint locks once to snapshot and again per
 * rollback), stable across replays because acquisitions happen in the same order. The count lives
 * in the run's tracker, not in module state: with reuseV8Context, module state is shared by every
 * workflow in the worker thread, and would differ between the original run and a replay.
 */
export function nextLockRequestId(tracker: ProgressTracker): string {
  const info = workflowInfo();
  return `${info.workflowId}/${info.runId}/${tracker.nextLockSequence()}`;
}

export interface LockedPreflight {
  workspaceId: string;
  operation: Operation;
  snapshotId?: string;
  snapshotName?: string;
}

/**
 * Runs `body` while holding the workspace's lock, so two rigsnap operations on one workspace never
 * interleave; they run in order of arrival. The lock is released when `body` ends, however it ends
 * (success, failure, cancellation), from a non-cancellable scope. It is never released on a timer:
 * the lock itself frees a holder only once the holder's run has closed.
 */
export async function withWorkspaceLock<T>(
  params: LockedPreflight,
  tracker: ProgressTracker,
  body: (preflight: PreflightResult) => Promise<T>,
): Promise<T> {
  const info = workflowInfo();
  const requestId = nextLockRequestId(tracker);
  let reason = 'failed';
  tracker.begin('preflight');
  try {
    const preflight = await activities('lockWait', `check ${params.workspaceId} and wait for its lock`).preflightAndLock({
      workspaceId: params.workspaceId,
      snapshotId: params.snapshotId,
      snapshotName: params.snapshotName,
      lock: { requestId, workflowId: info.workflowId, runId: info.runId, operation: params.operation },
    });
    tracker.end();
    const result = await body(preflight);
    reason = 'done';
    return result;
  } catch (err) {
    if (isCancellation(err)) reason = 'cancelled';
    throw err;
  } finally {
    await CancellationScope.nonCancellable(async () => {
      try {
        await getExternalWorkflowHandle(workflowIds.lock(params.workspaceId)).signal(lockReleaseSignal, { requestId, reason });
      } catch (err) {
        // No lock workflow: the preflight failed before queueing, so there is nothing to release.
        log.info('no workspace lock to release', { workspaceId: params.workspaceId, error: String(err) });
      }
    });
  }
}

/**
 * The saga around downtime: if `body` fails or is cancelled after the workspace may have been
 * stopped, start it again (when `shouldStart`) in a non-cancellable scope, then fail with the
 * original error. A failed restart is logged and added to the failure message.
 */
export async function withRestartGuarantee<T>(
  workspaceId: string,
  shouldStart: boolean,
  tracker: ProgressTracker,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const failedStep = tracker.current?.step;
    if (!shouldStart) throw asWorkflowFailure(err, failedStep);
    const restartError = await CancellationScope.nonCancellable(async () => {
      tracker.begin('start', 'restarting after a failure');
      try {
        await activities('compensation', `restart ${workspaceId} after a failure`).startWorkspace({ workspaceId });
        tracker.end();
        return undefined;
      } catch (startErr) {
        log.error('could not start the workspace again after a failure', { workspaceId, error: String(startErr) });
        return startErr;
      }
    });
    const original = asWorkflowFailure(err, failedStep);
    if (restartError && original instanceof ApplicationFailure) {
      const why =
        restartError instanceof ActivityFailure
          ? restartError.cause?.message
          : restartError instanceof Error
            ? restartError.message
            : 'unknown error';
      throw ApplicationFailure.create({
        type: original.type ?? 'Error',
        message: `${original.message}; and the workspace could NOT be started again: ${why}`,
        nonRetryable: true,
        cause: original,
      });
    }
    throw original;
  }
}

/** Whether the workspace should run at the end, given how it began and the restart policy. */
export function shouldEndRunning(restart: 'previous' | 'always' | 'never', initialStatus: string): boolean {
  if (restart === 'always') return true;
  if (restart === 'never') return false;
  return initialStatus === 'running' || initialStatus === 'starting';
}
