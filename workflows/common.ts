import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { RigsnapActivities } from '../activities/index.js';
import { lockGrantedSignal, lockParticipationQuery, lockReleaseSignal, operationKey, progressQuery, workspaceIdKey } from '../contract/index.js';
import { MEMO_KEYS, type Operation } from '../domain/constants.js';
import { isErrorType } from '../domain/errors.js';
import { isInteractive } from '../domain/priority.js';
import { workflowIds } from '../domain/ids.js';
import { STEP_LABELS, type Step } from '../domain/labels.js';
import { recordLanded, type ChangesLanded, type LandedChange } from '../domain/landed.js';
import type { LockGrant, LockRequest } from '../domain/lock.js';
import type { Hold } from '../domain/holds.js';
import type { Progress, StepRecord } from '../domain/results.js';
import { parseInput } from '../domain/schemas.js';
import type { PreflightResult } from '../activities/index.js';
import { INPUT_REVISIONS, type InputWorkflowType } from '../domain/input-revisions.js';
import { Abandonment } from './abandon.js';
import { formatCurrentDetails } from './current-details.js';
import { truthfulCancellation } from './landed.js';
import { recordLockWait } from './metrics.js';
import { PATCHES, hasPatch, takesActions2026_12 } from './patches.js';
import { localProfiles, profileFor, type LocalProfileName, type ProfileName } from './profiles.js';

/**
 * Activities with a profile and a one-line summary for the UI's event history ("stop ws_demo").
 * Proxies are cheap objects; making one per call is how a call gets its own summary.
 *
 * A cancelled activity is waited for until it has settled (WAIT_CANCELLATION_COMPLETED): compensation
 * must never run while a stop, a copy or a restore is still in flight, or the stop would land after the
 * restart. Histories from before this replay with the SDK's default (TRY_CANCEL).
 */
export function activities(profile: ProfileName, summary?: string) {
  const cancellationType = hasPatch(PATCHES.core2026_11) ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL;
  const options = profileFor(profile, isInteractive(workflowInfo().priority?.priorityKey));
  return proxyActivities<RigsnapActivities>({ ...options, cancellationType, ...(summary ? { summary } : {}) });
}

/** Local activities (workflows/profiles.ts localProfiles): waited for when cancelled, like the others. */
export function localActivities(profile: LocalProfileName, summary?: string) {
  return proxyLocalActivities<RigsnapActivities>({
    ...localProfiles[profile],
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    ...(summary ? { summary } : {}),
  });
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
 * The workflow's input, validated at its edge: a fast, non-retryable InvalidInput naming the fields, before
 * any call to Rigbox, whoever started the run (the CLI, another service by type name, the temporal CLI).
 * The schema runs again on every replay, so a schema change that tightens or changes a default goes
 * through an input revision guarded by patched() (domain/input-revisions.ts): a run replays with the
 * schema it started with.
 */
export async function checkedInput<S extends z.ZodType>(workflowType: InputWorkflowType, schema: () => S, raw: unknown): Promise<z.output<S>> {
  // truth-2026-12 first recorded the check as a local activity's result. A replay hands that result to
  // the workflow before it knows the patch markers of the run's next workflow task (when a query or a
  // slow check split them), so patched() answered false there: a nondeterminism error on a new worker.
  // The check runs in the workflow again; the marker stays, as its other changes (CancelledAfterChange)
  // still key on it. Nothing recorded with the local activity was released.
  hasPatch(PATCHES.truth2026_12);
  let current: z.ZodType = schema();
  for (const r of INPUT_REVISIONS[workflowType] ?? []) if (patched(r.patchId)) current = r.schema();
  // A revision's schema is a later form of the same input: its output is the workflow's input type.
  return Promise.resolve(validateInput(current, raw) as z.output<S>);
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
  /** Something the user must know while it lasts (a restart that keeps failing); shown above the steps. */
  alert: string | undefined;
  /** This run's part in the workspace lock: answered to a lock that rebuilds its queue, and its grants. */
  readonly lock: LockSlot & { granted: Set<string> } = {
    holding: null,
    waiting: null,
    granted: new Set(),
  };
  /**
   * A run that holds several workspaces' locks at once (workflows/workspace-locks.ts): its part in each,
   * answered by `lockParticipation` with the rest, so whoever asks sees every lock it holds or waits for.
   */
  memberLocks: MemberLockSlot[] = [];
  private lockSequence = 0;
  /** The `abandon` update: the way out of an endless restart (workflows/abandon.ts, restart.ts). */
  readonly abandonment = new Abandonment(() => this.render());
  /** What this run changed in Rigbox so far: a cancellation then says so (workflows/landed.ts). */
  landed: ChangesLanded | null = null;

  constructor(
    readonly operation: Operation,
    readonly workspaceId: string | null,
  ) {
    setHandler(progressQuery, () => this.snapshot());
    setHandler(lockParticipationQuery, () => ({
      workspaceId: this.workspaceId,
      holding: this.lock.holding,
      waiting: this.lock.waiting,
      ...(this.memberLocks.length ? { members: this.memberLocks.map((m) => ({ ...m })) } : {}),
    }));
    setHandler(lockGrantedSignal, ({ requestId }: LockGrant) => {
      this.lock.granted.add(requestId);
    });
  }

  /** Numbers this run's lock acquisitions: 1, 2, … in the order the workflow makes them. */
  nextLockSequence(): number {
    return ++this.lockSequence;
  }

  /** Records a change that landed in Rigbox (a snapshot made, a disk restored, deletions). */
  noteLanded(change: LandedChange): void {
    this.landed = recordLanded(this.landed, this.workspaceId ?? '', change);
  }

  get current(): StepRecord | undefined {
    const last = this.steps[this.steps.length - 1];
    return last && last.finishedAt === null ? last : undefined;
  }

  /**
   * Begins a step. In a cancelled scope it throws the cancellation instead: an activity that finished
   * while its cancellation was on the way must not be followed by a step that will never run.
   */
  begin(step: Step, note?: string): void {
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure(`cancelled before ${STEP_LABELS[step]}`);
    this.end();
    this.steps.push({ step, startedAt: nowIso(), finishedAt: null });
    this.render(note);
  }

  end(): void {
    const current = this.current;
    if (current) current.finishedAt = nowIso();
  }

  finish(state: 'completed' | 'failed' | 'cancelled'): void {
    this.end();
    this.state = state;
    this.render();
  }

  setDetail(detail: Record<string, unknown>): void {
    this.detail = detail;
    this.render();
  }

  /** Says where the current step stands (a group's locks: how many are held) in the current details. */
  note(text: string): void {
    this.render(text);
  }

  setAlert(alert: string | undefined): void {
    this.alert = alert;
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
      ...(this.alert ? { alert: this.alert } : {}),
      ...(this.abandonment.record ? { abandoned: { ...this.abandonment.record } } : {}),
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
    tracker.finish(isCancellation(err) ? 'cancelled' : 'failed');
    throw truthfulCancellation(asWorkflowFailure(err, undefined), tracker.landed);
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

/** One workspace's part of a run in its lock: the request it holds the lock with, or waits with. */
export interface LockSlot {
  holding: LockRequest | null;
  waiting: LockRequest | null;
  /** The workspace's active holds the entity sent with the grant (actions-2026-12), for a prune under it. */
  holdsAtGrant?: Hold[];
}
export type MemberLockSlot = LockSlot & { workspaceId: string };

/**
 * A new lock request of this run (with who asked, from the memo, when it goes to the workspace entity).
 * No commands: the id counts in the tracker and the time is workflow time.
 */
export function newLockRequest(
  tracker: ProgressTracker,
  operation: Operation,
  viaEntity: boolean,
): LockRequest & { requestedBy?: string; grantInAnswer?: boolean } {
  const info = workflowInfo();
  const requestedBy = info.memo?.[MEMO_KEYS.requestedBy];
  return {
    requestId: nextLockRequestId(tracker),
    workflowId: info.workflowId,
    runId: info.runId,
    operation,
    requestedAt: nowIso(),
    ...(viaEntity && typeof requestedBy === 'string' ? { requestedBy } : {}),
    ...(viaEntity && ASK_GRANT_IN_ANSWER && takesActions2026_12() ? { grantInAnswer: true } : {}),
  };
}

/**
 * Grant in the answer (issue 24.5: one grant signal less per operation) goes out in two releases, for
 * rollback safety. This release's workspace entity understands `grantInAnswer`; its operations do not ask
 * for it yet. An entity that skipped a grant signal could not replay on the previous release, which
 * always sends one: a rollback to it would stop the entity (the rolling-upgrade cluster test's rollback
 * showed exactly that). The next release sets this: a rollback from it lands on this release, which
 * replays such an entity.
 */
const ASK_GRANT_IN_ANSWER = false;

export interface LockedPreflight {
  workspaceId: string;
  operation: Operation;
  snapshotId?: string;
  snapshotName?: string;
}

/** A waiting operation asks the lock again after this long, then twice as long, up to RESEND_MAX_MS. */
const RESEND_FIRST_MS = 60_000;
const RESEND_MAX_MS = 30 * 60_000;

/**
 * Runs `body` while holding the workspace's lock, so two rigsnap operations on one workspace never
 * interleave; they run in order of arrival. The operation queues (an activity signals the lock), then
 * waits for the lock's grant signal in workflow code, holding no activity slot; only then does it check
 * the workspace, so what the checks return is current. The lock is released when `body` ends, however
 * it ends (success, failure, cancellation), from a non-cancellable scope, and never on a timer.
 */
export async function withWorkspaceLock<T>(params: LockedPreflight, tracker: ProgressTracker, body: (preflight: PreflightResult) => Promise<T>): Promise<T> {
  if (!hasPatch(PATCHES.core2026_11)) return withWorkspaceLockLegacy(params, tracker, body);
  // Operations that queued on the old lock before the entity existed finish on it (their histories replay).
  const viaEntity = hasPatch(PATCHES.entity2026_12);
  const request = newLockRequest(tracker, params.operation, viaEntity);
  const release = (reason: string) =>
    viaEntity ? releaseToEntity(params.workspaceId, request, tracker.lock, reason) : releaseWorkspaceLock(params.workspaceId, request, tracker, reason);
  return thenRelease(async () => {
    const lockWaitMs = viaEntity
      ? await acquireFromEntity(params.workspaceId, request, tracker, tracker.lock, true)
      : await acquireWorkspaceLock(params.workspaceId, request, tracker);
    recordLockWait(lockWaitMs, request.requestId);
    tracker.begin('preflight');
    const checked = await localActivities('preflight', `check ${params.workspaceId}`).preflight({
      workspaceId: params.workspaceId,
      snapshotId: params.snapshotId,
      snapshotName: params.snapshotName,
    });
    tracker.end();
    return body({ ...checked, lockWaitMs });
  }, release);
}

/**
 * Runs `body`, then `release` with why it ended ("done", "failed", "cancelled"), however it ended: the
 * frame of every lock holder (one workspace or several, workflows/workspace-locks.ts). `release` runs its
 * own non-cancellable scope.
 */
export async function thenRelease<T>(body: () => Promise<T>, release: (reason: string) => Promise<void>): Promise<T> {
  let reason = 'failed';
  try {
    const result = await body();
    reason = 'done';
    return result;
  } catch (err) {
    if (isCancellation(err)) reason = 'cancelled';
    throw err;
  } finally {
    await release(reason);
  }
}

/**
 * Queues on the workspace entity (Update-with-Start, answered at once with where the request stands) and
 * waits for the grant signal in workflow code. A waiter asks again now and then with the same request
 * id: harmless to a live entity (one place per request), and it recovers an entity an operator
 * terminated. An answer of `holding` is a grant (the signal may have gone to a run that was terminated).
 * `slot` is this run's part in that workspace's lock (the tracker answers it to `lockParticipation`);
 * `ownStep`: the wait is a step of its own (a group's locks share one step).
 */
export async function acquireFromEntity(
  workspaceId: string,
  request: LockRequest,
  tracker: ProgressTracker,
  slot: LockSlot,
  ownStep: boolean,
): Promise<number> {
  const started = Date.now();
  if (ownStep) tracker.begin('wait-for-lock');
  slot.waiting = request;
  let asked = 0;
  const ask = async () => {
    asked++;
    const answer = await activities('entityCall', `queue on ${workflowIds.workspace(workspaceId)}`).acquireWorkspace({ workspaceId, request, ask: asked });
    if (answer.status === 'holding') tracker.lock.granted.add(request.requestId);
    // The holds at the grant, if the entity sent them (actions-2026-12): a prune under this hold reads them.
    slot.holdsAtGrant = answer.status === 'holding' ? answer.holds : undefined;
    if (answer.status === 'denied')
      throw ApplicationFailure.create({
        type: 'Conflict',
        message: `the workspace entity of ${workspaceId} refused the request: ${answer.reason}`,
        nonRetryable: true,
      });
  };
  await ask();
  let resendMs = RESEND_FIRST_MS;
  while (!(await condition(() => tracker.lock.granted.has(request.requestId), resendMs))) {
    await ask();
    resendMs = Math.min(resendMs * 2, RESEND_MAX_MS);
  }
  slot.waiting = null;
  slot.holding = request;
  if (ownStep) tracker.end();
  return Date.now() - started;
}

/** The release, from a non-cancellable scope: by signal, or (the entity was terminated) by recovering it first. */
export async function releaseToEntity(workspaceId: string, request: LockRequest, slot: LockSlot, reason: string): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    slot.holding = null;
    slot.waiting = null;
    const release = { requestId: request.requestId, reason };
    try {
      await getExternalWorkflowHandle(workflowIds.workspace(workspaceId)).signal(lockReleaseSignal, release);
    } catch (err) {
      log.info('the workspace entity is closed; recovering it to release', { workspaceId, error: String(err) });
      try {
        await activities('entityCall', `release ${workflowIds.workspace(workspaceId)}`).releaseWorkspace({ workspaceId, release });
      } catch (recoverErr) {
        // The recovered run still counts this run as its holder: it frees it once it sees this run closed.
        log.warn('could not release to the workspace entity; it frees this run once it sees it closed', { workspaceId, error: String(recoverErr) });
      }
    }
  });
}

/** Queues on the lock and waits for the grant. Resolves with how long that took. */
async function acquireWorkspaceLock(workspaceId: string, request: LockRequest, tracker: ProgressTracker): Promise<number> {
  const started = Date.now();
  tracker.begin('wait-for-lock');
  tracker.lock.waiting = request;
  const send = () => localActivities('lockSignal', `queue on the lock of ${workspaceId}`).requestLock({ workspaceId, request });
  await send();
  let resendMs = RESEND_FIRST_MS;
  while (!(await condition(() => tracker.lock.granted.has(request.requestId), resendMs))) {
    // Still no grant: the lock may have been terminated (or failed) since we queued. Asking again is
    // harmless to a live lock (one place per request id) and starts a new one otherwise, which rebuilds
    // its queue from the open operations, this one included.
    await send();
    resendMs = Math.min(resendMs * 2, RESEND_MAX_MS);
  }
  tracker.lock.waiting = null;
  tracker.lock.holding = request;
  tracker.end();
  return Date.now() - started;
}

async function releaseWorkspaceLock(workspaceId: string, request: LockRequest, tracker: ProgressTracker, reason: string): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    // Done with the workspace: a lock that rebuilds meanwhile must not count this run as its holder.
    tracker.lock.holding = null;
    tracker.lock.waiting = null;
    const release = { requestId: request.requestId, reason };
    try {
      await getExternalWorkflowHandle(workflowIds.lock(workspaceId)).signal(lockReleaseSignal, release);
    } catch (err) {
      // No lock runs (an operator terminated it). Operations may be waiting on the old run: a new run,
      // started with this release, rebuilds the queue from the open operations and serves them now.
      log.info('the workspace lock no longer runs; starting a new one to serve any waiters', { workspaceId, error: String(err) });
      try {
        await localActivities('lockSignal', `release the lock of ${workspaceId}`).releaseLock({ workspaceId, release });
      } catch (startErr) {
        log.warn('could not start a new workspace lock; waiters will start one when they ask again', { workspaceId, error: String(startErr) });
      }
    }
  });
}

/**
 * Legacy: operations started before the lock granted by signal checked, waited in the queue and checked
 * again inside one activity (preflightAndLock). Their histories replay here.
 */
async function withWorkspaceLockLegacy<T>(params: LockedPreflight, tracker: ProgressTracker, body: (preflight: PreflightResult) => Promise<T>): Promise<T> {
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
    recordLockWait(preflight.lockWaitMs, requestId);
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
        log.info('no workspace lock to release', { workspaceId: params.workspaceId, error: String(err) });
      }
    });
  }
}

/** Whether the workspace should run at the end, given how it began and the restart policy. */
export function shouldEndRunning(restart: 'previous' | 'always' | 'never', initialStatus: string): boolean {
  if (restart === 'always') return true;
  if (restart === 'never') return false;
  return initialStatus === 'running' || initialStatus === 'starting';
}
