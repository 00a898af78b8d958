import { WORKFLOW_TYPES, deletesSettledSignal } from '../contract/index.js';
import { ApplicationFailure, CancellationScope, getExternalWorkflowHandle, log, workflowInfo } from '@temporalio/workflow';
import { workflowIds } from '../domain/ids.js';
import { MEMO_KEYS } from '../domain/constants.js';
import { heldMessage, type HoldOverride } from '../domain/holds.js';
import type { DeleteSnapshotInput } from '../domain/inputs.js';
import type { DeleteSnapshotResult } from '../domain/results.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import * as schemas from '../domain/schemas.js';
import { activities, runOperation, checkedInput, withWorkspaceLock } from './common.js';
import { PATCHES, hasPatch, takesActions2026_12 } from './patches.js';

/** Who asked for this operation (the client's identity in the memo), for the entity's records. */
export function requestedBy(): string {
  const by = workflowInfo().memo?.[MEMO_KEYS.requestedBy];
  return typeof by === 'string' && by ? by : workflowInfo().workflowId;
}

/**
 * Asks the workspace entity whether these snapshots may be deleted (held ones are refused unless forced),
 * runs `del` on the allowed ones, and reports what went. Called under the workspace lock, so the entity
 * decides between a hold and this delete: whichever it takes first.
 */
export async function deleteAuthorised<T>(
  workspaceId: string,
  snapshotIds: string[],
  opts: { force?: boolean; reason?: string; key: string },
  del: (
    allowed: string[],
    refused: Array<{ snapshotId: string; holds: HoldOverride['overridden'] }>,
    overrides: HoldOverride[],
  ) => Promise<{ result: T; deleted: string[] }>,
): Promise<T> {
  const info = workflowInfo();
  const auth = await activities(
    'quickCall',
    `may ${snapshotIds.length === 1 ? snapshotIds[0] : `${snapshotIds.length} snapshots`} of ${workspaceId} be deleted?`,
  ).authoriseDeletes({
    workspaceId,
    request: { snapshotIds, workflowId: info.workflowId, by: requestedBy(), ...(opts.force ? { force: true, reason: opts.reason } : {}) },
    updateId: `${info.workflowId}/${info.runId}/authorise-${opts.key}`,
  });
  let deleted: string[] = [];
  try {
    const r = await del(auth.allowed, auth.refused, auth.overrides);
    deleted = r.deleted;
    return r.result;
  } finally {
    if (auth.allowed.length) await CancellationScope.nonCancellable(() => reportDeletes(workspaceId, info.workflowId, deleted));
  }
}

/**
 * Tells the entity which authorised deletions went. From actions-2026-12 on by the workflow's own signal
 * (one billed action; the activity that signalled cost two); the activity stays for an entity that is
 * closed (terminated), as it recovers it first.
 */
async function reportDeletes(workspaceId: string, workflowId: string, deleted: string[]): Promise<void> {
  if (takesActions2026_12()) {
    try {
      await getExternalWorkflowHandle(workflowIds.workspace(workspaceId)).signal(deletesSettledSignal, { workflowId, deleted });
      return;
    } catch (err) {
      log.info('the workspace entity is closed; recovering it to report the deletions', { workspaceId, error: String(err) });
    }
  }
  await activities('quickCall', `report deletions to the entity of ${workspaceId}`).settleDeletes({ workspaceId, workflowId, deleted });
}

/** Deletes a snapshot of a workspace, after checking it is this workspace's and not held. Serialized with the workspace's other operations. */
export async function deleteSnapshot(rawInput: DeleteSnapshotInput): Promise<DeleteSnapshotResult> {
  const input = await checkedInput(WORKFLOW_TYPES.delete, schemas.deleteSnapshotInput, rawInput);
  const { workspaceId, snapshotId } = input;
  return runOperation('delete', workspaceId, (tracker) =>
    withWorkspaceLock({ workspaceId, operation: 'delete', snapshotId }, tracker, async (preflight) => {
      const snapshot = preflight.snapshot as RigboxSnapshot;
      const deleteOne = async () => {
        tracker.begin('delete');
        await activities('quickCall', `delete ${snapshotId} of ${workspaceId}`).deleteSnapshot({ workspaceId, snapshotId });
        tracker.end();
      };
      if (!hasPatch(PATCHES.holds2026_12)) {
        await deleteOne();
        return { workspaceId, snapshotId, snapshot };
      }
      return deleteAuthorised(workspaceId, [snapshotId], { force: input.force, reason: input.reason, key: 'delete' }, async (allowed, refused, overrides) => {
        if (!allowed.length)
          throw ApplicationFailure.create({
            type: 'Held',
            message: heldMessage(workspaceId, snapshotId, refused[0]!.holds),
            nonRetryable: true,
            details: [{ holds: refused[0]!.holds }],
          });
        await deleteOne();
        return { result: { workspaceId, snapshotId, snapshot, ...(overrides[0] ? { override: overrides[0] } : {}) }, deleted: [snapshotId] };
      });
    }),
  );
}
