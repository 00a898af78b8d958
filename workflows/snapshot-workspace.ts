/** The snapshotWorkspace workflow, and the snapshot step under the lock that backups and checkpoints share. */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import type { PreflightResult } from '../activities/index.js';
import type { RestartPolicy, SnapshotWorkspaceInput } from '../domain/inputs.js';
import type { SnapshotWorkspaceResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import * as schemas from '../domain/schemas.js';
import { activities, checkedInput, localActivities, runOperation, withWorkspaceLock, type ProgressTracker } from './common.js';
import { snapshotOfCancelledCopy } from './landed.js';
import { StopNotice, announcesStop } from './notice.js';
import { PATCHES, hasPatch } from './patches.js';
import { whileStopped } from './restart.js';

export interface SnapshotCoreResult {
  snapshot: SnapshotWorkspaceResult['snapshot'];
  workspaceStatus: string;
  adopted: boolean;
}

/**
 * The snapshot an earlier run of this same request (this workflow id) made before it was cancelled, if
 * it is still in Rigbox: a re-run adopts it instead of making a second one (activities/earlier-runs.ts).
 * Asked only when a snapshot of this name exists, so a first run pays nothing.
 */
async function snapshotOfEarlierRun(workspaceId: string, name: string, preflight: PreflightResult): Promise<RigboxSnapshot | null> {
  if (preflight.sameNameSnapshotIds.length === 0 || !hasPatch(PATCHES.truth2026_12)) return null;
  const { workflowId, runId } = workflowInfo();
  return localActivities('earlierRun', `look for the snapshot an earlier run of ${workflowId} made`).findEarlierRunSnapshot({
    workflowId,
    runId,
    workspaceId,
    name,
    existingIds: preflight.sameNameSnapshotIds,
  });
}

/**
 * stop → await stopped → snapshot → start → await running, for a caller that holds the lock.
 * Shared by snapshotWorkspace, backupWorkspace and checkpointWorkspace.
 */
export async function snapshotUnderLock(
  params: { workspaceId: string; name: string; restart: RestartPolicy },
  preflight: PreflightResult,
  tracker: ProgressTracker,
): Promise<SnapshotCoreResult> {
  const { workspaceId, name } = params;
  const earlier = await snapshotOfEarlierRun(workspaceId, name, preflight);
  if (earlier) {
    // The earlier run made it and started the workspace again as its policy said: no downtime now.
    tracker.noteLanded({ kind: 'snapshot', snapshot: earlier });
    return { snapshot: earlier, workspaceStatus: preflight.workspace.status, adopted: true };
  }
  const { changed: created, workspaceStatus } = await whileStopped(workspaceId, preflight, params.restart, tracker, async () => {
    tracker.begin('snapshot');
    try {
      const made = await activities('longCopy', `snapshot ${workspaceId} as "${name}"`).createSnapshot({
        workspaceId,
        name,
        knownIds: preflight.sameNameSnapshotIds,
        notBeforeMs: Date.now(),
      });
      tracker.noteLanded({ kind: 'snapshot', snapshot: made.snapshot });
      return made;
    } catch (err) {
      // Cancelled during the copy: a copy cannot be stopped, and the activity says which snapshot it became.
      const made = snapshotOfCancelledCopy(err);
      if (made) tracker.noteLanded({ kind: 'snapshot', snapshot: made });
      throw err;
    }
  });
  return { snapshot: created.snapshot, workspaceStatus, adopted: created.adopted };
}

/**
 * Takes a named snapshot of a workspace: the docs' stop → snapshot → start, durable. By default the
 * workspace ends as it began (`restart: "previous"`); a failure or a cancellation after the stop
 * starts it again before the workflow fails. With `notice` it first announces the stop and waits it
 * out as a backup does (workflows/notice.ts); a skip then fails it with `Skipped`, nothing stopped.
 */
export async function snapshotWorkspace(rawInput: SnapshotWorkspaceInput): Promise<SnapshotWorkspaceResult> {
  const input = await checkedInput(WORKFLOW_TYPES.snapshot, schemas.snapshotWorkspaceInput, rawInput);
  // Registered by every run (no commands): a snooze or skip sent to a snapshot without a notice is refused by name.
  // Times read in UTC: a snapshot asked for by hand has no schedule, hence no timezone of its own.
  const notice = new StopNotice(input.workspaceId, 'snapshot', 'UTC');
  return runOperation('snapshot', input.workspaceId, async (tracker) => {
    // Only a run given a notice asks patched(): one without issues exactly the commands it always did.
    if (announcesStop(input) && hasPatch(PATCHES.manualNotice2026_12)) {
      tracker.setDetail({ name: input.name });
      const skipped = await notice.awaitTurn(input, new Date(), tracker, input.name);
      if (skipped) {
        throw ApplicationFailure.create({
          type: 'Skipped',
          message: `the snapshot "${input.name}" of ${input.workspaceId} was skipped by ${skipped.by} during its notice (${skipped.reason}); nothing was stopped`,
          nonRetryable: true,
          details: [skipped],
        });
      }
    }
    return withWorkspaceLock({ workspaceId: input.workspaceId, operation: 'snapshot', snapshotName: input.name }, tracker, (preflight) =>
      snapshotUnderLock(input, preflight, tracker),
    );
  });
}
