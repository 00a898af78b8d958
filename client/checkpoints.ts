import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WORKFLOW_TYPES, checkpointDetailOf, releaseUpdate, rollbackUpdate } from '../contract/index.js';
import { ReleaseCheckpointInput, type GroupRollbackResult, type RollbackResult } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { RigsnapError, validate } from './errors.js';
import { progressOf } from './inspection.js';
import type { WorkflowOf } from './operations.js';
import type { CheckpointActive, ReleaseResult } from './views.js';

/**
 * A checkpoint session from outside: wait until it is active, roll it back, release it (the
 * checkpointWorkspace updates), with clear errors for an id that is not a checkpoint or has ended.
 */

type CheckpointHandle = WorkflowHandle<WorkflowOf<'checkpoint'>>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until a checkpoint's snapshot is taken and the session is active (ready for rollback),
 * watching its `progress` query. Throws the workflow's typed failure if the snapshot failed.
 */
export async function awaitCheckpointActive(ctx: TemporalContext, workflowId: string, pollMs = 250): Promise<CheckpointActive> {
  const handle = ctx.client.workflow.getHandle<WorkflowOf<'checkpoint'>>(workflowId);
  for (;;) {
    const report = await progressOf(ctx, workflowId);
    const detail = checkpointDetailOf(report.progress);
    if (detail?.snapshotId && detail.state !== 'snapshotting') {
      const { snapshotId, snapshotName, expiresAt } = detail;
      return { workflowId, runId: report.runId, url: report.url, snapshotId, snapshotName, expiresAt };
    }
    if (report.status !== 'RUNNING') {
      // Closed before it became active: surface its failure (or a completed session's result).
      await ctx.call({ workflowId }, () => handle.result());
      throw new RigsnapError({ type: 'Rejected', message: `checkpoint ${workflowId} is ${report.status.toLowerCase()}`, workflowId });
    }
    await sleep(pollMs);
  }
}

/**
 * Rolls a checkpoint back: stop → restore its snapshot → start. Resolves once the workspace runs again. A
 * group checkpoint answers its group restore (GroupRollbackResult: `verdict`, each member's state).
 */
export async function rollbackCheckpoint(ctx: TemporalContext, checkpointWorkflowId: string): Promise<RollbackResult | GroupRollbackResult> {
  const desc = await checkpointRun(ctx, checkpointWorkflowId);
  if (desc.status.name !== 'RUNNING') {
    throw new RigsnapError({
      type: 'Rejected',
      message: `checkpoint ${checkpointWorkflowId} has already ended (${desc.status.name.toLowerCase()})`,
      workflowId: checkpointWorkflowId,
      runId: desc.runId,
    });
  }
  const handle = runOf(ctx, checkpointWorkflowId, desc.runId);
  return ctx.call({ workflowId: checkpointWorkflowId, runId: desc.runId }, () => handle.executeUpdate(rollbackUpdate));
}

/**
 * Ends a checkpoint session; `deleteSnapshot` also deletes the checkpoint's snapshot. Releasing a
 * session that already ended is a harmless no-op (`alreadyReleased`), unless it asks for more than
 * was done (the snapshot deleted when it was kept): that is Rejected, saying how to delete it.
 */
export async function releaseCheckpoint(ctx: TemporalContext, checkpointWorkflowId: string, input: ReleaseCheckpointInput = {}): Promise<ReleaseResult> {
  const v = validate(ReleaseCheckpointInput, input);
  const desc = await checkpointRun(ctx, checkpointWorkflowId);
  const handle = runOf(ctx, checkpointWorkflowId, desc.runId);
  const where = { workflowId: checkpointWorkflowId, runId: desc.runId };
  const status = desc.status.name;
  if (status === 'RUNNING') {
    try {
      const r = await ctx.call(where, () => handle.executeUpdate(releaseUpdate, { args: [v] }));
      return { ...r, alreadyReleased: false, runId: desc.runId };
    } catch (err) {
      // Another release got there first and the session is ending: the same outcome as a later call.
      if (!(err instanceof RigsnapError && err.type === 'Conflict' && /already released/.test(err.message))) throw err;
    }
  } else if (status !== 'COMPLETED') {
    throw new RigsnapError({
      type: 'Rejected',
      message: `checkpoint ${checkpointWorkflowId} ended ${status.toLowerCase()}, not released; there is nothing to release`,
      ...where,
    });
  }
  const ended = await ctx.call(where, () => handle.result());
  if (v.deleteSnapshot && !ended.snapshotDeleted && desc.type === WORKFLOW_TYPES['group-checkpoint']) {
    throw new RigsnapError({ type: 'Rejected', message: `group checkpoint ${checkpointWorkflowId} already ended and kept its set's snapshots`, ...where });
  }
  if (v.deleteSnapshot && !ended.snapshotDeleted) {
    throw new RigsnapError({
      type: 'Rejected',
      message:
        `checkpoint ${checkpointWorkflowId} already ended (${ended.endedBy === 'ttl' ? 'its TTL passed' : 'released'}) and kept its snapshot ${ended.snapshot.id}; ` +
        `delete it with \`rigsnap delete ${ended.workspaceId} ${ended.snapshot.id}\``,
      ...where,
    });
  }
  return { released: true, snapshotDeleted: ended.snapshotDeleted, alreadyReleased: true, runId: desc.runId };
}

function runOf(ctx: TemporalContext, workflowId: string, runId: string): CheckpointHandle {
  return ctx.client.workflow.getHandle<WorkflowOf<'checkpoint'>>(workflowId, runId);
}

/** The latest run of a checkpoint workflow, or a clear error: not found, not a checkpoint. */
async function checkpointRun(ctx: TemporalContext, workflowId: string): Promise<WorkflowExecutionDescription> {
  const desc = await ctx.call({ workflowId }, () => ctx.client.workflow.getHandle(workflowId).describe());
  if (desc.type !== WORKFLOW_TYPES.checkpoint && desc.type !== WORKFLOW_TYPES['group-checkpoint']) {
    throw new RigsnapError({ type: 'Rejected', message: `${workflowId} is a ${desc.type} workflow, not a checkpoint`, workflowId });
  }
  return desc;
}
