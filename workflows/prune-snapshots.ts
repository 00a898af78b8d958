import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import {
  PruneSnapshotsInput,
  selectRetention,
  type PruneSnapshotsResult,
  type RetentionPolicy,
  type RigboxSnapshot,
} from '../domain/index.js';
import { activities, runOperation, validateInput, withWorkspaceLock, type ProgressTracker } from './common.js';
import { recordPruned } from './metrics.js';

/**
 * Lists the workspace's snapshots, selects what the retention policy keeps (domain/retention.ts, the
 * same function as the CLI's dry run) and deletes the rest, oldest first. Every deletion is tried; if
 * any fails the workflow fails naming them, after deleting the others.
 */
export async function pruneUnderLock(
  params: { workspaceId: string; namePrefix: string; retention: RetentionPolicy; dryRun: boolean },
  tracker: ProgressTracker,
): Promise<Omit<PruneSnapshotsResult, 'steps'>> {
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
  recordPruned(selection.deleted.length - failures.length);
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
