/**
 * Applying a retention policy: selection in domain/retention.ts (the same function as the CLI's dry run),
 * deletion in bounded rounds.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import {
  MAX_LISTED_SNAPSHOTS,
  PruneSnapshotsInput,
  newestFirst,
  selectRetention,
  type KeptSnapshot,
  type PruneSnapshotsResult,
  type RetentionPolicy,
  type RigboxSnapshot,
} from '../domain/index.js';
import type { PruneFailure } from '../activities/index.js';
import { activities, runOperation, validateInput, withWorkspaceLock, type ProgressTracker } from './common.js';
import { PATCHES } from './patches.js';

/** Deletions per round: a prune of 10,000 is 20 rounds (about 120 history events). */
const DELETIONS_PER_ROUND = 500;

type PruneParams = { workspaceId: string; namePrefix: string; retention: RetentionPolicy; dryRun: boolean };

/**
 * Lists the workspace's snapshots, selects what the retention policy keeps and deletes the rest, oldest
 * first: a round (one activity) lists, selects and deletes up to DELETIONS_PER_ROUND, and rounds repeat
 * until nothing selected is left. Every deletion is tried; if any is refused for good, the workflow
 * fails naming them, after deleting the others.
 */
export async function pruneUnderLock(params: PruneParams, tracker: ProgressTracker): Promise<Omit<PruneSnapshotsResult, 'steps'>> {
  if (!patched(PATCHES.core2026_11)) return pruneUnderLockLegacy(params, tracker);
  const { workspaceId, namePrefix, retention, dryRun } = params;
  tracker.begin(dryRun ? 'list' : 'prune');
  const deleted: RigboxSnapshot[] = [];
  let deletedCount = 0;
  const failures: PruneFailure[] = [];
  let kept: KeptSnapshot[] = [];
  let keptCount = 0;
  let ignored = 0;
  for (let round = 1; ; round++) {
    const r = await activities('pruneRound', dryRun ? `select snapshots of ${workspaceId} to prune` : `prune ${workspaceId}, round ${round}`).pruneRound({
      workspaceId,
      namePrefix,
      retention,
      dryRun,
      maxDeletions: DELETIONS_PER_ROUND,
      skipIds: failures.map((f) => f.snapshotId),
    });
    ({ kept, keptCount, ignored } = r);
    deleted.push(...r.deleted.slice(0, MAX_LISTED_SNAPSHOTS - deleted.length));
    deletedCount += r.deletedCount;
    failures.push(...r.failures);
    if (!dryRun) tracker.setDetail({ round, deleted: deletedCount, remaining: r.remaining, failed: failures.length });
    // Done when nothing is left, or when a round could delete nothing at all (another would fare no better).
    if (dryRun || r.remaining === 0 || r.deletedCount === 0) {
      tracker.end();
      if (failures.length > 0 || r.remaining > 0) {
        const first = failures[0];
        throw ApplicationFailure.create({
          type: first?.type ?? 'Error',
          message:
            `deleted ${deletedCount} of ${deletedCount + failures.length + r.remaining} snapshots; could not delete ` +
            failures
              .slice(0, 20)
              .map((f) => `${f.snapshotId} (${f.type}: ${f.message})`)
              .join(', ') +
            (failures.length > 20 ? ` and ${failures.length - 20} more` : '') +
            (r.remaining > 0 ? `; ${r.remaining} not tried, as a whole round could delete none` : ''),
          nonRetryable: true,
        });
      }
      return {
        workspaceId,
        namePrefix,
        dryRun,
        kept,
        deleted: deleted.sort(newestFirst),
        ignored,
        keptCount,
        deletedCount,
      };
    }
  }
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
  const input = validateInput(PruneSnapshotsInput, rawInput);
  return runOperation('prune', input.workspaceId, (tracker) =>
    // A dry run changes nothing, so it does not queue behind other operations.
    input.dryRun
      ? pruneUnderLock(input, tracker)
      : withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'prune' }, tracker, () => pruneUnderLock(input, tracker)),
  );
}
