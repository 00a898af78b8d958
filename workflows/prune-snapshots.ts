/**
 * Applying a retention policy: selection in domain/retention.ts (the same function as the CLI's dry run),
 * deletion in bounded rounds.
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import type { PruneSnapshotsInput, RetentionPolicy } from '../domain/inputs.js';
import { MAX_LISTED_SNAPSHOTS } from '../domain/labels.js';
import { newestFirst } from '../domain/order.js';
import type { PruneSnapshotsResult } from '../domain/results.js';
import { selectRetention } from '../domain/retention.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import * as schemas from '../domain/schemas.js';
import type { PruneFailure } from '../activities/index.js';
import { activities, localActivities, runOperation, checkedInput, withWorkspaceLock, type ProgressTracker } from './common.js';
import { finishedWhileCancelled } from './landed.js';
import { keepReason, type Hold } from '../domain/holds.js';
import { deleteAuthorised } from './delete-snapshot.js';
import { recordPruned } from './metrics.js';
import { PATCHES, hasPatch } from './patches.js';

/** Deletions per round: a prune of 10,000 is 20 rounds (about 150 history events). */
const DELETIONS_PER_ROUND = 500;

type PruneParams = { workspaceId: string; namePrefix: string; retention: RetentionPolicy; dryRun: boolean };

/**
 * Lists the workspace's snapshots, selects what the retention policy keeps and deletes the rest, oldest
 * first, in rounds: a selection (a local activity) picks the next DELETIONS_PER_ROUND, an activity
 * deletes exactly those, and the rounds repeat while more are selected. Every deletion is tried; if any
 * is refused for good, the workflow fails naming them, after deleting the others.
 */
export async function pruneUnderLock(params: PruneParams, tracker: ProgressTracker): Promise<Omit<PruneSnapshotsResult, 'steps'>> {
  if (!hasPatch(PATCHES.core2026_11)) return pruneUnderLockLegacy(params, tracker);
  tracker.begin(params.dryRun ? 'list' : 'prune');
  const holdsOn = hasPatch(PATCHES.holds2026_12);
  const held = holdsOn ? await heldKeepReasons(params.workspaceId, tracker.lock.holdsAtGrant) : undefined;
  const result = await pruneBackups(params, held, tracker);
  // Expiry deletes only with the entity's authorisation, so it needs holds.
  if (!held || !hasPatch(PATCHES.retention2026_12)) return result;
  // Only a snapshot that is not a backup (`ignored` by the backups' retention) can be a checkpoint or a
  // safety snapshot: with none, nothing can expire, and the selection (an activity) is not paid for.
  if (result.ignored === 0) return { ...result, expired: { count: 0, bytes: 0, snapshots: [], waitingCount: 0, nextDueAt: null } };
  return { ...result, expired: await expireUnderLock(params, held, tracker) };
}

/** The backups' retention, in rounds (see pruneUnderLock). */
async function pruneBackups(
  params: PruneParams,
  held: Record<string, string[]> | undefined,
  tracker: ProgressTracker,
): Promise<Omit<PruneSnapshotsResult, 'steps'>> {
  const { workspaceId, namePrefix, retention, dryRun } = params;
  const deleted: RigboxSnapshot[] = [];
  let deletedCount = 0;
  let deletedBytes = 0;
  const failures: PruneFailure[] = [];
  for (let round = 1; ; round++) {
    const sel = await localActivities('pruneSelect', `select what to prune of ${workspaceId}`).selectPrune({
      workspaceId,
      namePrefix,
      retention,
      maxDeletions: DELETIONS_PER_ROUND,
      skipIds: failures.map((f) => f.snapshotId),
      ...(held ? { held } : {}),
      listDeletable: dryRun,
    });
    const result = (deletedNow: RigboxSnapshot[], count: number, bytes: number | undefined) => ({
      workspaceId,
      namePrefix,
      dryRun,
      kept: sel.kept,
      deleted: deletedNow.sort(newestFirst).slice(0, MAX_LISTED_SNAPSHOTS),
      ignored: sel.ignored,
      keptCount: sel.keptCount,
      deletedCount: count,
      ...(bytes !== undefined ? { deletedBytes: bytes } : {}),
    });
    if (dryRun) {
      tracker.end();
      return result(sel.deletable, sel.deletableCount, sel.deletableBytes);
    }
    if (sel.batch.length === 0) return finish(result(deleted, deletedCount, deletedBytes), failures, 0, tracker);
    const r = await deleteRound(workspaceId, sel.batch, round, held, tracker);
    recordPruned(r.deletedIds.length, `round ${round}`);
    const failed = new Map(r.failures.map((f) => [f.snapshotId, f]));
    const gone = new Set(r.deletedIds);
    for (const s of sel.batch) {
      const f = failed.get(s.id);
      if (f) failures.push({ ...f, name: s.name });
      else if (gone.has(s.id) || !held) {
        deletedCount++;
        deletedBytes += s.size_bytes;
        if (deleted.length < MAX_LISTED_SNAPSHOTS) deleted.push(s);
      }
    }
    // A snapshot held since the selection was refused: select again, and it is kept with its hold's reason.
    if (r.refused > 0) continue;
    const remaining = sel.deletableCount - sel.batch.length;
    tracker.setDetail({ round, deleted: deletedCount, remaining, failed: failures.length });
    // Everything selected was in this batch: what the selection keeps is what is left. And a round that
    // could delete nothing at all ends the prune (another would fare no better).
    if (remaining === 0 || r.deletedIds.length === 0) return finish(result(deleted, deletedCount, deletedBytes), failures, remaining, tracker);
  }
}

/**
 * Checkpoint snapshots whose session ended, and restore safety snapshots, past their retention
 * (`expireCheckpointsAfter`, `expireSafetyAfter`; domain/expiry.ts): one selection, then one authorised
 * round of deletions (a held snapshot is refused by the entity and stays). What is left over (more than a
 * round, a refusal) waits for the next prune: nothing here fails the prune or the backup that runs it.
 */
async function expireUnderLock(
  params: PruneParams,
  held: Record<string, string[]>,
  tracker: ProgressTracker,
): Promise<NonNullable<PruneSnapshotsResult['expired']>> {
  const { workspaceId, namePrefix, retention, dryRun } = params;
  tracker.begin(dryRun ? 'list' : 'prune', 'checkpoint and safety snapshots past their retention');
  const sel = await activities('inventory', `select the expired checkpoint and safety snapshots of ${workspaceId}`).selectExpiring({
    workspaceId,
    namePrefix,
    retention,
    heldIds: Object.keys(held),
    maxDeletions: DELETIONS_PER_ROUND,
  });
  const summary = (snapshots: RigboxSnapshot[], count: number, bytes: number) => ({
    count,
    bytes,
    snapshots: snapshots.slice(0, MAX_LISTED_SNAPSHOTS),
    waitingCount: sel.waitingCount,
    nextDueAt: sel.nextDueAt,
  });
  if (dryRun || sel.batch.length === 0) {
    tracker.end();
    return summary(sel.batch, sel.expiredCount, sel.expiredBytes);
  }
  const r = await deleteRound(workspaceId, sel.batch, 'expire', held, tracker);
  const gone = new Set(r.deletedIds);
  const deleted = sel.batch.filter((s) => gone.has(s.id));
  recordPruned(deleted.length, 'expired');
  tracker.end();
  return summary(
    deleted,
    deleted.length,
    deleted.reduce((sum, s) => sum + s.size_bytes, 0),
  );
}

/**
 * Every active hold of the workspace as prune keep reasons (`hold: <reason>`): those the entity sent with
 * the grant of this hold of the lock (actions-2026-12; recorded in the acquire's result, so a replay takes
 * the same branch), else from the entity's query. Holds placed since the grant are refused at deletion.
 */
async function heldKeepReasons(workspaceId: string, atGrant: Hold[] | undefined): Promise<Record<string, string[]>> {
  const holds = atGrant ?? (await activities('quickCall', `read the holds of ${workspaceId}`).readHolds({ workspaceId }))?.holds ?? [];
  const held: Record<string, string[]> = {};
  for (const h of holds) (held[h.snapshotId] ??= []).push(keepReason(h));
  return held;
}

/**
 * Deletes one round's batch. With holds (`held` given) the entity authorises the batch first: a
 * snapshot held since the selection is refused, not deleted, and added to `held`.
 */
async function deleteRound(
  workspaceId: string,
  batch: RigboxSnapshot[],
  round: number | string,
  held: Record<string, string[]> | undefined,
  tracker: ProgressTracker,
) {
  const del = async (snapshotIds: string[]) => {
    const r = await activities('pruneDelete', `delete ${snapshotIds.length} snapshots of ${workspaceId} (round ${round})`)
      .deleteSnapshots({ workspaceId, snapshotIds })
      .catch((err: unknown) => {
        // Cancelled mid-round: the deletions in flight finished, and the activity names them.
        const gone = finishedWhileCancelled(err)?.deletedIds;
        if (Array.isArray(gone)) tracker.noteLanded({ kind: 'deleted', snapshotIds: gone as string[] });
        throw err;
      });
    tracker.noteLanded({ kind: 'deleted', snapshotIds: r.deletedIds });
    return r;
  };
  const ids = batch.map((s) => s.id);
  if (!held) return { ...(await del(ids)), refused: 0 };
  return deleteAuthorised(workspaceId, ids, { key: `round-${round}` }, async (allowed, refused) => {
    for (const x of refused) held[x.snapshotId] = x.holds.map(keepReason);
    const r = allowed.length ? await del(allowed) : { deletedIds: [], failures: [] };
    return { result: { ...r, refused: refused.length }, deleted: r.deletedIds };
  });
}

function finish<R>(result: R, failures: PruneFailure[], notTried: number, tracker: ProgressTracker): R {
  tracker.end();
  if (failures.length === 0) return result;
  const first = failures[0]!;
  const deletedCount = (result as { deletedCount: number }).deletedCount;
  throw ApplicationFailure.create({
    type: first.type,
    message:
      `deleted ${deletedCount} of ${deletedCount + failures.length + notTried} snapshots; could not delete ` +
      failures
        .slice(0, 20)
        .map((f) => `${f.snapshotId} "${f.name}" (${f.type}: ${f.message})`)
        .join(', ') +
      (failures.length > 20 ? ` and ${failures.length - 20} more` : '') +
      (notTried > 0 ? `; ${notTried} not tried, as a whole round could delete none` : ''),
    nonRetryable: true,
  });
}

/** Legacy: one activity per deletion (history grew with the prune). Old histories replay here. */
async function pruneUnderLockLegacy(params: PruneParams, tracker: ProgressTracker): Promise<Omit<PruneSnapshotsResult, 'steps'>> {
  const { workspaceId, namePrefix, retention, dryRun } = params;
  tracker.begin('list');
  const snapshots = await activities('quickCall', `list snapshots of ${workspaceId}`).listSnapshots({ workspaceId });
  const selection = selectRetention(snapshots, workspaceId, namePrefix, retention);
  const result = { workspaceId, namePrefix, dryRun, kept: selection.kept, deleted: selection.deleted, ignored: selection.ignored };
  if (dryRun || selection.deleted.length === 0) {
    tracker.end();
    return result;
  }
  tracker.begin('prune');
  const failures: Array<{ snapshot: RigboxSnapshot; type: string; message: string }> = [];
  for (const snapshot of [...selection.deleted].reverse()) {
    try {
      await activities('quickCall', `delete ${snapshot.name} (${snapshot.id}) of ${workspaceId}`).deleteSnapshot({
        workspaceId,
        snapshotId: snapshot.id,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : 'Error';
      failures.push({ snapshot, type, message: cause instanceof Error ? cause.message : String(cause) });
    }
  }
  tracker.end();
  recordPruned(selection.deleted.length - failures.length, 'all');
  if (failures.length > 0) {
    const first = failures[0]!;
    throw ApplicationFailure.create({
      type: first.type,
      message:
        `deleted ${selection.deleted.length - failures.length} of ${selection.deleted.length} snapshots; could not delete ` +
        failures.map((f) => `${f.snapshot.id} (${f.type}: ${f.message})`).join(', '),
      nonRetryable: true,
    });
  }
  return result;
}

/** Applies a retention policy to one workspace's snapshots whose names start with `namePrefix`. */
export async function pruneSnapshots(rawInput: PruneSnapshotsInput): Promise<PruneSnapshotsResult> {
  const input = await checkedInput(WORKFLOW_TYPES.prune, schemas.pruneSnapshotsInput, rawInput);
  return runOperation('prune', input.workspaceId, (tracker) =>
    // A dry run changes nothing, so it does not queue behind other operations.
    input.dryRun
      ? pruneUnderLock(input, tracker)
      : withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'prune' }, tracker, () => pruneUnderLock(input, tracker)),
  );
}
