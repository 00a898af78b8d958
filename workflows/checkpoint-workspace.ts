/**
 * The docs' pre-demo checkpoint and experiment branching as one workflow: snapshot the workspace, then
 * wait for `rollback` (repeatable) or `release` updates, or the TTL.
 */
import { ApplicationFailure, CancellationScope, allHandlersFinished, condition, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import { WORKFLOW_TYPES, releaseUpdate, rollbackUpdate, type CheckpointProgressDetail } from '../contract/index.js';
import type { MissingSnapshotDetail } from '../domain/errors.js';
import type { CheckpointWorkspaceInput, ReleaseCheckpointInput } from '../domain/inputs.js';
import type { CheckpointStateName } from '../domain/labels.js';
import type { CheckpointWorkspaceResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import { parseDuration } from '../domain/time.js';
import * as schemas from '../domain/schemas.js';
import { ProgressTracker, activities, asWorkflowFailure, nowIso, tagWorkflow, checkedInput, withWorkspaceLock } from './common.js';
import { truthfulCancellation } from './landed.js';
import { requestedBy } from './delete-snapshot.js';
import { describeFailure } from './notify.js';
import { PATCHES, hasPatch } from './patches.js';
import { restoreUnderLock } from './restore-workspace.js';
import { snapshotUnderLock } from './snapshot-workspace.js';

/** An update refused by its validator: typed, so callers can tell a conflict from bad input. */
const rejected = (type: 'Conflict' | 'InvalidInput' | 'SnapshotGone', message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

/** How a session ended, for the callers of `release` still waiting for it. */
export type Ending = { kind: 'released' | 'expired' } | { kind: 'failed'; errorType: string; message: string } | { kind: 'cancelled' };

/**
 * The state of one checkpoint session and its transitions. The update handlers and the main flow share
 * it; every transition goes through a method, so the rules (one rollback at a time, none before the
 * snapshot, release once) live in one place.
 */
export class CheckpointSession<S extends { id: string } = RigboxSnapshot> {
  state: CheckpointStateName = 'snapshotting';
  /** What a rollback restores: the workspace's snapshot, or a group checkpoint's set (workflows/group-checkpoint.ts). */
  snapshot: S | null = null;
  rollbacks = 0;
  /** The first release asked for (later ones wait for the same end). */
  release: { deleteSnapshot: boolean } | null = null;
  snapshotDeleted = false;
  expiresAt: string | null = null;
  ending: Ending | null = null;
  /** When a rollback found the snapshot gone from Rigbox (deleted outside rigsnap); null while none has. */
  snapshotGoneAt: string | null = null;

  constructor(
    private readonly tracker: ProgressTracker,
    private readonly name: string,
  ) {}

  show(): void {
    this.tracker.setDetail({
      state: this.state,
      snapshotId: this.snapshot?.id ?? null,
      snapshotName: this.name,
      rollbacks: this.rollbacks,
      expiresAt: this.expiresAt,
      ...(this.snapshotGoneAt ? { snapshotGoneAt: this.snapshotGoneAt } : {}),
    } satisfies CheckpointProgressDetail);
  }

  /** The snapshot is gone for good (ids are never reused): every later rollback is refused with this. */
  markGone(at: string): void {
    this.snapshotGoneAt ??= at;
    this.show();
  }

  goneMessage(): string {
    const id = this.snapshot?.id ?? '?';
    return (
      `the checkpoint's snapshot ${id} ("${this.name}") is gone from Rigbox: it was deleted outside rigsnap (found ${this.snapshotGoneAt ?? 'now'}). ` +
      `Nothing was stopped; there is nothing to roll back to. Release the checkpoint (\`rigsnap release ${workflowInfo().workflowId}\`) and take a new one`
    );
  }

  activate(snapshot: S, expiresAt: string): void {
    this.snapshot = snapshot;
    this.expiresAt = expiresAt;
    this.state = 'active';
    this.show();
  }

  /** Why a rollback cannot start now, or null when it can. */
  rollbackRefusal(): string | null {
    if (this.ending || this.state === 'released' || this.state === 'expired') return 'the checkpoint session has ended';
    if (this.state === 'snapshotting') return 'the checkpoint snapshot is still being taken; try again when it is active';
    if (this.state === 'rolling-back') return 'a rollback is already running';
    if (this.release) return 'the checkpoint is being released';
    return null;
  }

  beginRollback(): void {
    this.state = 'rolling-back';
    this.show();
  }

  endRollback(succeeded: boolean): void {
    if (succeeded) this.rollbacks++;
    if (this.state === 'rolling-back') this.state = 'active';
    this.show();
  }

  requestRelease(input: { deleteSnapshot: boolean }): void {
    this.release ??= input;
  }

  end(ending: Ending): void {
    this.ending = ending;
    if (ending.kind === 'released' || ending.kind === 'expired') this.state = ending.kind;
    this.show();
  }
}

/** The input once validated (defaults applied). */
type ValidCheckpointInput = z.output<ReturnType<typeof schemas.checkpointWorkspaceInput>>;

/** The `rollback` update: restores the checkpoint under the workspace lock and answers once the workspace runs again. */
async function rollBack(workspaceId: string, session: CheckpointSession, tracker: ProgressTracker) {
  session.beginRollback();
  let succeeded = false;
  try {
    const snapshotId = session.snapshot!.id;
    const restored = await withWorkspaceLock({ workspaceId, operation: 'checkpoint', snapshotId }, tracker, (preflight) =>
      restoreUnderLock({ workspaceId, snapshotId, keepCurrent: false, restart: 'always' }, preflight, tracker),
    );
    succeeded = true;
    return { snapshot: restored.restored, workspaceStatus: restored.workspaceStatus, rollbacks: session.rollbacks + 1 };
  } catch (err) {
    // Checked by the preflight under the lock, before anything is stopped: the snapshot vanished.
    if (snapshotVanished(err, session.snapshot!.id) && hasPatch(PATCHES.tamper2026_12)) {
      tracker.end();
      session.markGone(nowIso());
      throw ApplicationFailure.create({ type: 'SnapshotGone', message: session.goneMessage(), nonRetryable: true });
    }
    throw truthfulCancellation(asWorkflowFailure(err, undefined), tracker.landed);
  } finally {
    session.endRollback(succeeded);
  }
}

/** Whether a failure is the preflight's NotFound for this snapshot (its details name it), not for the workspace. */
function snapshotVanished(err: unknown, snapshotId: string): boolean {
  for (let cur: unknown = err; cur instanceof Error; cur = (cur as { cause?: unknown }).cause) {
    if (cur instanceof ApplicationFailure && cur.type === 'NotFound') {
      return (cur.details?.[0] as Partial<MissingSnapshotDetail> | undefined)?.missingSnapshotId === snapshotId;
    }
  }
  return false;
}

/** The `release` update: asks the session to end and answers how it ended. */
async function release(session: CheckpointSession<{ id: string }>, raw?: ReleaseCheckpointInput) {
  const parsed = schemas.parseInput(schemas.releaseCheckpointInput(), raw);
  session.requestRelease(parsed.ok ? parsed.value : { deleteSnapshot: false });
  // A second release (a retry, a double click) waits for the same end: releasing is idempotent.
  // Not cancellable: a cancellation of the workflow ends the session, and this answers how it ended.
  await CancellationScope.nonCancellable(() => condition(() => session.ending !== null));
  const ending = session.ending!;
  if (ending.kind === 'failed') {
    throw ApplicationFailure.create({
      type: ending.errorType,
      message: `the checkpoint session failed before it could be released: ${ending.message}`,
      nonRetryable: true,
    });
  }
  // Released, expired or cancelled: the session is over either way; say whether the snapshot went.
  return { released: true as const, snapshotDeleted: session.snapshotDeleted };
}

/** Deletes the checkpoint's snapshot under the workspace lock (a release that asked for it). */
async function deleteCheckpoint(workspaceId: string, snapshot: RigboxSnapshot, session: CheckpointSession, tracker: ProgressTracker): Promise<void> {
  // With holds: the preflight does not require the snapshot (a snapshot already gone is deleted: success).
  const holdsOn = hasPatch(PATCHES.holds2026_12);
  try {
    await withWorkspaceLock({ workspaceId, operation: 'checkpoint', ...(holdsOn ? {} : { snapshotId: snapshot.id }) }, tracker, async () => {
      tracker.begin('delete');
      await activities('quickCall', `delete checkpoint ${snapshot.id}`).deleteSnapshot({ workspaceId, snapshotId: snapshot.id });
      tracker.end();
    });
    session.snapshotDeleted = true;
  } catch (err) {
    throw asWorkflowFailure(err, 'delete');
  }
}

/**
 * While the checkpoint is open its snapshot is held (until the TTL: an expired session needs no release of
 * it). A group checkpoint holds each member's (`perMember`: one Update id per member).
 */
export async function holdCheckpoint(workspaceId: string, snapshot: Pick<RigboxSnapshot, 'id'>, name: string, until: string, perMember = false): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  await activities('quickCall', `hold checkpoint ${snapshot.id} of ${workspaceId}`).holdAutomatically({
    workspaceId,
    request: {
      snapshotId: snapshot.id,
      reason: `checkpoint "${name}" is open (${workflowId})`,
      by: requestedBy(),
      until,
      kind: 'checkpoint',
      owner: workflowId,
    },
    updateId: `${workflowId}/${runId}/hold${perMember ? `/${workspaceId}` : ''}`,
  });
}

export async function unholdCheckpoint(workspaceId: string, snapshot: Pick<RigboxSnapshot, 'id'>, perMember = false): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  await activities('quickCall', `release the hold of checkpoint ${snapshot.id}`).unholdAutomatically({
    workspaceId,
    request: { snapshotId: snapshot.id, by: requestedBy(), kind: 'checkpoint', owner: workflowId },
    updateId: `${workflowId}/${runId}/unhold${perMember ? `/${workspaceId}` : ''}`,
  });
}

/** The session from the snapshot to its end by release or TTL, once every update has its answer. */
async function runSession(
  input: ValidCheckpointInput,
  ttlMs: number,
  session: CheckpointSession,
  tracker: ProgressTracker,
): Promise<CheckpointWorkspaceResult> {
  const { workspaceId } = input;
  const taken = await withWorkspaceLock({ workspaceId, operation: 'checkpoint', snapshotName: input.name }, tracker, (preflight) =>
    snapshotUnderLock({ workspaceId, name: input.name, restart: 'previous' }, preflight, tracker),
  );
  session.activate(taken.snapshot, new Date(Date.now() + ttlMs).toISOString());
  const holdsOn = hasPatch(PATCHES.holds2026_12);
  if (holdsOn) await holdCheckpoint(workspaceId, taken.snapshot, input.name, session.expiresAt!);
  const releasedByUser = await condition(() => session.release !== null, ttlMs);
  // A rollback in flight finishes first: the workspace must not be left half-restored.
  await condition(() => session.state !== 'rolling-back');

  const snapshot = taken.snapshot;
  // Released: the hold ends now. Expired: it ended with the TTL by itself (its `until`).
  if (holdsOn && releasedByUser) await unholdCheckpoint(workspaceId, snapshot);
  if (session.release?.deleteSnapshot) await deleteCheckpoint(workspaceId, snapshot, session, tracker);
  session.end({ kind: releasedByUser ? 'released' : 'expired' });
  tracker.finish('completed');
  // Let the release update answer before the workflow completes.
  await condition(allHandlersFinished);
  return { workspaceId, snapshot, endedBy: releasedByUser ? 'release' : 'ttl', rollbacks: session.rollbacks, snapshotDeleted: session.snapshotDeleted };
}

/** Ends a session that failed or was cancelled; returns the failure to end the workflow with. */
export async function endFailedSession(err: unknown, session: CheckpointSession<{ id: string }>, tracker: ProgressTracker): Promise<unknown> {
  const cancelled = isCancellation(err);
  const failure = asWorkflowFailure(err, undefined);
  session.end(cancelled ? { kind: 'cancelled' } : { kind: 'failed', ...describeFailure(failure) });
  tracker.finish(cancelled ? 'cancelled' : 'failed');
  // Nothing closes under a handler still at work (a rollback restarting the workspace), and every
  // accepted update gets its answer first.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  // Cancelled after the checkpoint's snapshot or a rollback's restore landed (a rollback in flight has
  // settled by now): say so, with what landed.
  return truthfulCancellation(failure, tracker.landed);
}

/**
 * The session's `rollback` and `release` Updates, with the validators that keep a refused one out of
 * history. Shared by the workspace and the group checkpoint, which differ only in what a rollback restores.
 */
export function setSessionHandlers(session: CheckpointSession<{ id: string }>, rollBack: () => Promise<unknown>): void {
  setHandler(rollbackUpdate, rollBack as () => Promise<never>, {
    validator: () => {
      if (session.snapshotGoneAt && !session.ending) throw rejected('SnapshotGone', session.goneMessage());
      const refusal = session.rollbackRefusal();
      if (refusal) throw rejected('Conflict', refusal);
    },
  });

  setHandler(releaseUpdate, (raw?: ReleaseCheckpointInput) => release(session, raw), {
    validator: (raw?: ReleaseCheckpointInput) => {
      const parsed = schemas.parseInput(schemas.releaseCheckpointInput(), raw);
      if (!parsed.ok) throw rejected('InvalidInput', `invalid release input: ${parsed.message}`);
    },
  });
}

/**
 * `rollback` (an update; repeatable) stops the workspace, restores the checkpoint and starts it,
 * answering once it runs again. `release` (an update; `{deleteSnapshot: true}` to also delete the
 * checkpoint) ends the session; so does the TTL (keeping the snapshot). The lock is held only while a
 * step runs, so scheduled backups go on during the session. Whatever ends the session (release, TTL, a
 * failure, a cancellation), a rollback in flight finishes first and every accepted update is answered.
 */
export async function checkpointWorkspace(rawInput: CheckpointWorkspaceInput): Promise<CheckpointWorkspaceResult> {
  const input = await checkedInput(WORKFLOW_TYPES.checkpoint, schemas.checkpointWorkspaceInput, rawInput);
  const { workspaceId } = input;
  tagWorkflow(workspaceId, 'checkpoint');
  const tracker = new ProgressTracker('checkpoint', workspaceId);
  const ttlMs = parseDuration(input.ttl)!;
  const session = new CheckpointSession(tracker, input.name);

  setSessionHandlers(session, () => rollBack(workspaceId, session, tracker));

  try {
    return await runSession(input, ttlMs, session, tracker);
  } catch (err) {
    throw await endFailedSession(err, session, tracker);
  }
}
