import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair, type WorkflowResultType } from '@temporalio/common';
import type { z } from 'zod';
import { WORKFLOW_TYPES, operationKey, workspaceIdKey } from '../contract/index.js';
import {
  AuditBackupsInput,
  BackupFleetInput,
  BackupWorkspaceInput,
  MEMO_KEYS,
  CheckpointWorkspaceInput,
  DeleteSnapshotInput,
  InventoryWorkspacesInput,
  ListSnapshotsInput,
  PruneOrphansInput,
  ReportBackupsInput,
  CheckWorkspacesInput,
  RestoreGroupInput,
  CheckpointGroupInput,
  PruneSnapshotsInput,
  PriorityOverrides,
  RequestKey,
  RestoreWorkspaceInput,
  SnapshotWorkspaceInput,
  SnapshotGroupInput,
  priorityFor,
  requestKey as defaultRequestKey,
  workflowIds,
  type PrioritySettings,
} from '../domain/index.js';
import type * as workflows from '../workflows/index.js';
import type { TemporalContext } from './context.js';
import { formatSelector } from '../domain/enrollment.js';
import { RigsnapError, validate, validateField } from './errors.js';
import type { StartOptions, StartedOperation } from './views.js';

/**
 * Every operation a caller starts, as one table: its input schema (checked before anything is sent),
 * its business workflow id, the workspace it changes (the RigboxWorkspaceId search attribute; reads
 * and fleets carry none) and its one-line summary in the Temporal UI. `startOperation` starts any of
 * them the same way; RigsnapClient's named methods are thin wrappers over it.
 */

const INPUTS = {
  snapshot: SnapshotWorkspaceInput,
  restore: RestoreWorkspaceInput,
  delete: DeleteSnapshotInput,
  list: ListSnapshotsInput,
  prune: PruneSnapshotsInput,
  backup: BackupWorkspaceInput,
  'fleet-backup': BackupFleetInput,
  checkpoint: CheckpointWorkspaceInput,
  audit: AuditBackupsInput,
  inventory: InventoryWorkspacesInput,
  'prune-orphans': PruneOrphansInput,
  report: ReportBackupsInput,
  check: CheckWorkspacesInput,
  'group-snapshot': SnapshotGroupInput,
  'group-restore': RestoreGroupInput,
  'group-checkpoint': CheckpointGroupInput,
} as const;

/** The operations callers start (the lock is rigsnap's own). */
export type PublicOperation = keyof typeof INPUTS;

/**
 * The workflow function an operation runs, found by its public type name among the exports of the
 * workflow bundle: this fails to compile if a name in the contract is not a workflow of the bundle.
 */
export type WorkflowOf<Op extends PublicOperation> = (typeof workflows)[(typeof WORKFLOW_TYPES)[Op]];
export type OperationInput<Op extends PublicOperation> = z.input<(typeof INPUTS)[Op]>;
export type OperationResult<Op extends PublicOperation> = WorkflowResultType<WorkflowOf<Op>>;

interface OperationSpec<S extends z.ZodType> {
  schema: S;
  /** The business key. `key` is the request key; operations that are naturally idempotent ignore it. */
  workflowId(input: z.output<S>, key: string): string;
  /** The workspace it changes, for RigboxWorkspaceId; null for reads and fleets. */
  workspaceId(input: z.output<S>): string | null;
  summary(input: z.output<S>): string;
}

/** An operation's start, decided from its checked input before anything is sent. */
interface PlannedStart {
  /** The input as the schema parsed it (defaults filled in): what goes into history. */
  input: unknown;
  workflowId: string;
  workspaceId: string | null;
  summary: string;
}

/** Checks the input with the operation's schema (InvalidInput, nothing sent) and plans the start. */
function plan<S extends z.ZodType>(spec: OperationSpec<S>, raw: unknown, key: string): PlannedStart {
  const v = validate(spec.schema, raw);
  return { input: v, workflowId: spec.workflowId(v, key), workspaceId: spec.workspaceId(v), summary: spec.summary(v) };
}

const OPERATIONS: { [Op in PublicOperation]: OperationSpec<(typeof INPUTS)[Op]> } = {
  snapshot: {
    schema: INPUTS.snapshot,
    workflowId: (v, key) => workflowIds.snapshot(v.workspaceId, v.name, key),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `snapshot ${v.workspaceId} as "${v.name}"`,
  },
  restore: {
    schema: INPUTS.restore,
    workflowId: (v, key) => workflowIds.restore(v.workspaceId, v.snapshotId, key),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `restore ${v.workspaceId} to ${v.snapshotId}${v.keepCurrent ? ' (safety snapshot first)' : ''}`,
  },
  delete: {
    schema: INPUTS.delete,
    // Deleting a snapshot is naturally idempotent: its workflow id has no request key.
    workflowId: (v) => workflowIds.delete(v.workspaceId, v.snapshotId),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `delete ${v.snapshotId} of ${v.workspaceId}`,
  },
  list: {
    schema: INPUTS.list,
    workflowId: (v, key) => workflowIds.list(v.workspaceId, key),
    // A read stays out of the workspace's list (RigboxWorkspaceId) in the Temporal UI: see listSnapshots.
    workspaceId: () => null,
    summary: (v) => `list snapshots of ${v.workspaceId ?? 'all workspaces'}`,
  },
  prune: {
    schema: INPUTS.prune,
    workflowId: (v, key) => workflowIds.prune(v.workspaceId, v.namePrefix, key),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `${v.dryRun ? 'dry run of ' : ''}prune "${v.namePrefix}*" of ${v.workspaceId}`,
  },
  backup: {
    schema: INPUTS.backup,
    workflowId: (v, key) => workflowIds.backup(v.workspaceId, key),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `backup of ${v.workspaceId}`,
  },
  'fleet-backup': {
    schema: INPUTS['fleet-backup'],
    workflowId: (_v, key) => workflowIds.fleetBackup(key),
    workspaceId: () => null,
    summary: (v) =>
      v.selector ? `backup of the enrolled workspaces matching ${formatSelector(v.selector)}` : `backup of ${v.workspaceIds?.length ?? 0} workspaces`,
  },
  checkpoint: {
    schema: INPUTS.checkpoint,
    workflowId: (v, key) => workflowIds.checkpoint(v.workspaceId, v.name, key),
    workspaceId: (v) => v.workspaceId,
    summary: (v) => `checkpoint "${v.name}" of ${v.workspaceId} (ttl ${v.ttl})`,
  },
  audit: {
    schema: INPUTS.audit,
    workflowId: (_v, key) => workflowIds.audit(key),
    workspaceId: () => null,
    summary: (v) => `backup audit (RPO ${v.rpo})`,
  },
  inventory: {
    schema: INPUTS.inventory,
    workflowId: (_v, key) => workflowIds.inventory(key),
    workspaceId: () => null,
    summary: (v) => `inventory of every workspace${v.checkExistence ? ' (existence checked)' : ''}, runs of the last ${v.since}`,
  },
  'prune-orphans': {
    schema: INPUTS['prune-orphans'],
    workflowId: (v, key) => workflowIds.pruneOrphans(key, v.dryRun),
    workspaceId: () => null,
    summary: (v) =>
      `${v.dryRun ? 'dry run of ' : ''}prune orphan snapshots older than ${v.olderThan}${v.snapshotIds ? ` (${v.snapshotIds.length} listed)` : ''}`,
  },
  report: {
    schema: INPUTS.report,
    workflowId: (_v, key) => workflowIds.report(key),
    workspaceId: () => null,
    summary: (v) => `backup report of the last ${v.since} (RPO ${v.rpo})${v.notify ? ', posted to the webhook' : ''}`,
  },
  check: {
    schema: INPUTS.check,
    workflowId: (_v, key) => workflowIds.check(key),
    workspaceId: () => null,
    summary: (v) => `check that ${v.workspaceIds.length === 1 ? v.workspaceIds[0] : `${v.workspaceIds.length} workspaces`} exist`,
  },
  'group-snapshot': {
    schema: INPUTS['group-snapshot'],
    workflowId: (v, key) => workflowIds.groupSnapshot(v.group, v.workspaceIds?.length ?? 0, v.name, key),
    // Several workspaces: none in RigboxWorkspaceId; each member's entity lists it as holder meanwhile.
    workspaceId: () => null,
    summary: (v) => `group snapshot "${v.name}" of ${v.group ? `group ${v.group}` : v.workspaceIds!.join(', ')}`,
  },
  'group-restore': {
    schema: INPUTS['group-restore'],
    workflowId: (v, key) => workflowIds.groupRestore(v.group, v.set, key),
    // A group changes several workspaces: each member's lock and entity show it, no single RigboxWorkspaceId does.
    workspaceId: () => null,
    summary: (v) =>
      v.targets
        ? `restore ${v.targets.length} workspaces together (all or nothing): ${v.targets.map((t) => t.workspaceId).join(', ')}`
        : `restore group ${v.group} to its set "${v.set}" (all or nothing${v.allowIncomplete ? ', incomplete allowed' : ''})`,
  },
  'group-checkpoint': {
    schema: INPUTS['group-checkpoint'],
    workflowId: (v, key) => workflowIds.groupCheckpoint(v.group, v.name, key),
    workspaceId: () => null,
    summary: (v) => `checkpoint "${v.name}" of group ${v.group} (ttl ${v.ttl})`,
  },
};

export { fleetSummaryOf, groupSnapshotOf } from './errors.js';

/**
 * The task-queue priority of a start: a fleet (a batch) at the fleet level with its workflow id as its
 * fairness key unless a team is named; everything else on demand, ahead of scheduled work.
 */
export function startPriority(operation: PublicOperation, workflowId: string, opts: StartOptions): PrioritySettings {
  const overrides = validate(PriorityOverrides, { priority: opts.priority, team: opts.team, weight: opts.weight });
  return operation === 'fleet-backup' ? priorityFor('fleet', overrides, workflowId) : priorityFor('on-demand', overrides);
}

function requestKeyOf(opts: StartOptions): string {
  if (opts.requestKey === undefined) return defaultRequestKey(Date.now());
  return validateField('requestKey', RequestKey, opts.requestKey);
}

/**
 * Starts an operation under its business id. A running workflow with the id is joined (USE_EXISTING);
 * one that already completed is returned as it is (the server refuses a duplicate of a completed run);
 * one that failed may run again, which is what a retry after a failure wants.
 */
export async function startOperation<Op extends PublicOperation>(
  ctx: TemporalContext,
  operation: Op,
  input: OperationInput<Op>,
  opts: StartOptions = {},
): Promise<StartedOperation<OperationResult<Op>>> {
  const planned = plan(OPERATIONS[operation], input, requestKeyOf(opts));
  const { workflowId, workspaceId } = planned;
  const priority = startPriority(operation, workflowId, opts);
  const workflowType = WORKFLOW_TYPES[operation];
  const typedSearchAttributes: SearchAttributePair[] = [{ key: operationKey, value: operation }];
  if (workspaceId) typedSearchAttributes.push({ key: workspaceIdKey, value: workspaceId });
  let handle: WorkflowHandle<WorkflowOf<Op>>;
  let runId: string;
  let existing = false;
  try {
    const started = await ctx.client.workflow.start(workflowType, {
      taskQueue: ctx.taskQueue,
      workflowId,
      args: [planned.input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      typedSearchAttributes,
      // What it does and who asked, as the Temporal UI's list and header show it.
      staticSummary: ctx.client.options.identity ? `${planned.summary}, asked by ${ctx.client.options.identity}` : planned.summary,
      // Who asked, for the workspace entity's state and current details (the client's identity).
      memo: { [MEMO_KEYS.requestedBy]: ctx.client.options.identity },
      priority,
    });
    runId = started.firstExecutionRunId;
    // The same run chain as `started`, typed with the operation's workflow: its result() is typed.
    handle = ctx.client.workflow.getHandle<WorkflowOf<Op>>(workflowId, undefined, { firstExecutionRunId: runId });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw ctx.error(err, { workflowId });
    handle = ctx.client.workflow.getHandle<WorkflowOf<Op>>(workflowId);
    const desc = await ctx.call({ workflowId }, () => handle.describe());
    if (desc.type !== workflowType) {
      throw new RigsnapError({ type: 'Rejected', message: `workflow id ${workflowId} belongs to a ${desc.type} workflow, not ${workflowType}`, workflowId });
    }
    runId = desc.runId;
    existing = true;
  }
  const resultHandle = handle;
  return {
    workflowId,
    runId,
    url: ctx.workflowUrl(workflowId, runId),
    workflowType,
    existing,
    handle,
    result: () => ctx.call({ workflowId, runId }, () => resultHandle.result()),
  };
}
