import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type Connection,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import {
  SearchAttributeType,
  WorkflowExecutionAlreadyStartedError,
  defineSearchAttributeKey,
  type SearchAttributePair,
  type UpdateDefinition,
} from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import {
  AuditBackupsInput,
  BackupFleetInput,
  BackupWorkspaceInput,
  CheckpointWorkspaceInput,
  DeleteSnapshotInput,
  LOCK_STATE_QUERY,
  ListSnapshotsInput,
  PROGRESS_QUERY,
  PruneSnapshotsInput,
  ReleaseCheckpointInput,
  RequestKey,
  RestoreWorkspaceInput,
  SEARCH_ATTRIBUTES,
  SnapshotWorkspaceInput,
  WORKFLOW_TYPES,
  WorkspaceId,
  parseDuration,
  requestKey as defaultRequestKey,
  scheduleIds,
  workflowIds,
  type AuditBackupsResult,
  type BackupFleetResult,
  type BackupWorkspaceResult,
  type CheckpointWorkspaceResult,
  type DeleteSnapshotResult,
  type ListSnapshotsResult,
  type LockState,
  type Operation,
  type Progress,
  type PruneSnapshotsResult,
  type RestoreWorkspaceResult,
  type RollbackResult,
  type SnapshotWorkspaceResult,
} from '../domain/index.js';
import type { releaseUpdate, rollbackUpdate } from '../workflows/index.js';
import {
  connectTemporal,
  scheduleUrl,
  temporalSettings,
  workflowUrl,
  type SettingsOverrides,
} from './connection.js';
import { RigsnapError, TemporalConnectionError, validate, validateField } from './errors.js';
import { toRigsnapError } from './sdk-errors.js';
import { RigsnapSchedules } from './schedules.js';
import { AuditScheduleOptions, scheduledAuditInput, type AuditScheduleInfo } from './audit-schedule.js';

export const workspaceIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.workspaceId, SearchAttributeType.KEYWORD);
export const operationKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.operation, SearchAttributeType.KEYWORD);

/** Results of checkpointWorkspace's updates, typed from the workflow's own definitions (types only). */
type UpdateResult<U> = U extends UpdateDefinition<infer R, infer _A, infer _N> ? R : never;
export type ReleaseResult = UpdateResult<typeof releaseUpdate> & {
  /** The session had already ended (an earlier release, or its TTL): nothing was done now. */
  alreadyReleased: boolean;
  /** The checkpoint's run, for its link. */
  runId: string;
};
type RollbackUpdateResult = UpdateResult<typeof rollbackUpdate>;

export interface RigsnapClientOptions extends SettingsOverrides {
  /** Use this Temporal client instead of connecting (the caller owns its connection). */
  client?: Client;
  /** The environment to read TEMPORAL_* and RIGSNAP_* from; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface StartOptions {
  /**
   * Makes the start idempotent: the same request key (for the same business key) finds the same
   * workflow instead of starting a second operation. Default: the current time in base 36 (a retry
   * within the same millisecond, such as a double click, is the same request).
   */
  requestKey?: string;
}

/** A started (or found) operation. */
export interface StartedOperation<R> {
  workflowId: string;
  runId: string;
  /** The run in the Temporal Web UI. */
  url: string;
  workflowType: string;
  /** True when the id had already run to completion: this is that earlier run, nothing new was started. */
  existing: boolean;
  handle: WorkflowHandle;
  /** Waits for the result; a failure throws RigsnapError with the workflow's error type. */
  result(): Promise<R>;
}

/** What a long activity reports in its heartbeat (activities' WaitHeartbeat; any field may be missing). */
export interface HeartbeatDetails {
  phase?: string;
  status?: string;
  polls?: number;
  /** ISO time (epoch milliseconds from earlier workers). */
  waitStartedAt?: string | number;
  actionRequested?: boolean;
  previousStatus?: string;
  queuePosition?: number;
}

export interface PendingActivityView {
  activityType: string;
  attempt: number;
  /** PENDING_ACTIVITY_STATE_* without the prefix: SCHEDULED, STARTED, CANCEL_REQUESTED… */
  state: string;
  heartbeat: HeartbeatDetails | null;
  lastHeartbeatAt: string | null;
  lastFailure: string | null;
}

export interface ProgressReport {
  workflowId: string;
  runId: string;
  url: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED… */
  status: string;
  startedAt: string;
  closedAt: string | null;
  /** The workflow's `progress` query; null when no worker answered. */
  progress: Progress | null;
  /** The pending activity (the newest if several), with its decoded heartbeat details. */
  activity: PendingActivityView | null;
  /** Workflow ids of its running children (a fleet's backups in flight). */
  runningChildren: string[];
}

/** What one workspace's backup in a fleet run made (`fleetBackups`). */
export interface FleetBackupView {
  workspaceId: string;
  workflowId: string;
  /** COMPLETED, FAILED, RUNNING…; NOT_STARTED when the run never got to it. */
  status: string;
  snapshot: { id: string; name: string } | null;
  error: { type: string; message: string } | null;
}

export interface StatusReport extends ProgressReport {
  workflowType: string;
  workspaceId: string | null;
  operation: string | null;
  summary: string | null;
  historyLength: number;
  /** The result when the workflow completed. */
  result?: unknown;
  /** The typed failure when it failed, was cancelled, terminated or timed out. */
  error?: ReturnType<RigsnapError['toJSON']>;
}

/** One rigsnap operation as the workflow list shows it (`recent`). */
export interface RecentRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  operation: string | null;
  workspaceId: string | null;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED… */
  status: string;
  startedAt: string;
  closedAt: string | null;
  url: string;
}

export interface CancelOutcome {
  workflowId: string;
  runId: string;
  url: string;
  /** The run had already ended: nothing was sent. */
  alreadyClosed: boolean;
  /** Its status when the request was made (or how it had ended). */
  status: string;
}

/** An operation waiting for its workspace's lock. */
export interface LockWait {
  workspaceId: string;
  /** The operation that has the workspace now (null in the instant between two holders). */
  holder: { workflowId: string; operation: string; since: string } | null;
  /** Operations that go first: the holder and those queued before this one. */
  ahead: number;
}

export interface CheckpointActive {
  workflowId: string;
  runId: string;
  url: string;
  snapshotId: string;
  snapshotName: string;
  expiresAt: string | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const parseDurationMs = (text: string) => parseDuration(text)!;

function statusName(desc: WorkflowExecutionDescription): string {
  return desc.status.name;
}

/**
 * The typed client of rigsnap for Node services: one method per workflow (start → handle, or execute →
 * result), inputs checked with the domain's zod schemas before anything is sent, failures as
 * RigsnapError with the workflow's error type, progress through the `progress` query, and schedules.
 * Needs only a Temporal connection: the Rigbox token stays with the workers.
 */
export class RigsnapClient {
  readonly schedules: RigsnapSchedules;

  private constructor(
    readonly temporal: Client,
    readonly address: string,
    readonly namespace: string,
    readonly taskQueue: string,
    readonly uiUrl: string,
    private readonly ownedConnection: Connection | null,
  ) {
    this.schedules = new RigsnapSchedules(this);
  }

  /**
   * Connects with the TEMPORAL_* settings (envconfig) unless `options.client` is given. Throws
   * TemporalConnectionError naming the address when the server cannot be reached in time.
   */
  static async connect(options: RigsnapClientOptions = {}): Promise<RigsnapClient> {
    const settings = temporalSettings(options.env ?? process.env, options);
    if (options.client) {
      return new RigsnapClient(options.client, settings.address, options.client.options.namespace, settings.taskQueue, settings.uiUrl, null);
    }
    const { client, connection } = await connectTemporal(settings);
    return new RigsnapClient(client, settings.address, settings.namespace, settings.taskQueue, settings.uiUrl, connection);
  }

  /** Closes the connection if this client opened it. */
  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  workflowUrl(workflowId: string, runId?: string): string {
    return workflowUrl(this.uiUrl, this.namespace, workflowId, runId);
  }

  /** Runs a Temporal call, turning SDK errors into RigsnapError / TemporalConnectionError. */
  async call<T>(ctx: { workflowId?: string; runId?: string; scheduleId?: string }, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toRigsnapError(err, { ...ctx, address: this.address });
    }
  }

  // ---- operations -------------------------------------------------------------------------------

  async startSnapshot(input: SnapshotWorkspaceInput, opts: StartOptions = {}): Promise<StartedOperation<SnapshotWorkspaceResult>> {
    const v = validate(SnapshotWorkspaceInput, input);
    const key = this.requestKey(opts);
    return this.start('snapshot', v, workflowIds.snapshot(v.workspaceId, v.name, key), v.workspaceId, `snapshot ${v.workspaceId} as "${v.name}"`);
  }
  async snapshot(input: SnapshotWorkspaceInput, opts: StartOptions = {}): Promise<SnapshotWorkspaceResult> {
    return (await this.startSnapshot(input, opts)).result();
  }

  async startRestore(input: RestoreWorkspaceInput, opts: StartOptions = {}): Promise<StartedOperation<RestoreWorkspaceResult>> {
    const v = validate(RestoreWorkspaceInput, input);
    const key = this.requestKey(opts);
    return this.start(
      'restore',
      v,
      workflowIds.restore(v.workspaceId, v.snapshotId, key),
      v.workspaceId,
      `restore ${v.workspaceId} to ${v.snapshotId}${v.keepCurrent ? ' (safety snapshot first)' : ''}`,
    );
  }
  async restore(input: RestoreWorkspaceInput, opts: StartOptions = {}): Promise<RestoreWorkspaceResult> {
    return (await this.startRestore(input, opts)).result();
  }

  /** Deleting a snapshot is naturally idempotent: its workflow id has no request key. */
  async startDeleteSnapshot(input: DeleteSnapshotInput): Promise<StartedOperation<DeleteSnapshotResult>> {
    const v = validate(DeleteSnapshotInput, input);
    return this.start('delete', v, workflowIds.delete(v.workspaceId, v.snapshotId), v.workspaceId, `delete ${v.snapshotId} of ${v.workspaceId}`);
  }
  async deleteSnapshot(input: DeleteSnapshotInput): Promise<DeleteSnapshotResult> {
    return (await this.startDeleteSnapshot(input)).result();
  }

  async startListSnapshots(input: ListSnapshotsInput = {}, opts: StartOptions = {}): Promise<StartedOperation<ListSnapshotsResult>> {
    const v = validate(ListSnapshotsInput, input);
    const key = this.requestKey(opts);
    return this.start(
      'list',
      v,
      workflowIds.list(v.workspaceId, key),
      // A read stays out of the workspace's list (RigboxWorkspaceId) in the Temporal UI: see listSnapshots.
      null,
      `list snapshots of ${v.workspaceId ?? 'all workspaces'}`,
    );
  }
  async listSnapshots(input: ListSnapshotsInput = {}, opts: StartOptions = {}): Promise<ListSnapshotsResult> {
    return (await this.startListSnapshots(input, opts)).result();
  }

  async startPrune(input: PruneSnapshotsInput, opts: StartOptions = {}): Promise<StartedOperation<PruneSnapshotsResult>> {
    const v = validate(PruneSnapshotsInput, input);
    const key = this.requestKey(opts);
    return this.start(
      'prune',
      v,
      workflowIds.prune(v.workspaceId, v.namePrefix, key),
      v.workspaceId,
      `${v.dryRun ? 'dry run of ' : ''}prune "${v.namePrefix}*" of ${v.workspaceId}`,
    );
  }
  async prune(input: PruneSnapshotsInput, opts: StartOptions = {}): Promise<PruneSnapshotsResult> {
    return (await this.startPrune(input, opts)).result();
  }

  async startBackup(input: BackupWorkspaceInput, opts: StartOptions = {}): Promise<StartedOperation<BackupWorkspaceResult>> {
    const v = validate(BackupWorkspaceInput, input);
    const key = this.requestKey(opts);
    return this.start('backup', v, workflowIds.backup(v.workspaceId, key), v.workspaceId, `backup of ${v.workspaceId}`);
  }
  async backup(input: BackupWorkspaceInput, opts: StartOptions = {}): Promise<BackupWorkspaceResult> {
    return (await this.startBackup(input, opts)).result();
  }

  async startFleetBackup(input: BackupFleetInput, opts: StartOptions = {}): Promise<StartedOperation<BackupFleetResult>> {
    const v = validate(BackupFleetInput, input);
    const key = this.requestKey(opts);
    return this.start('fleet-backup', v, workflowIds.fleetBackup(key), null, `backup of ${v.workspaceIds.length} workspaces`);
  }
  async fleetBackup(input: BackupFleetInput, opts: StartOptions = {}): Promise<BackupFleetResult> {
    return (await this.startFleetBackup(input, opts)).result();
  }

  /** Starts a checkpoint session; its result arrives only when it is released (or its TTL passes). */
  async startCheckpoint(input: CheckpointWorkspaceInput, opts: StartOptions = {}): Promise<StartedOperation<CheckpointWorkspaceResult>> {
    const v = validate(CheckpointWorkspaceInput, input);
    const key = this.requestKey(opts);
    return this.start(
      'checkpoint',
      v,
      workflowIds.checkpoint(v.workspaceId, v.name, key),
      v.workspaceId,
      `checkpoint "${v.name}" of ${v.workspaceId} (ttl ${v.ttl})`,
    );
  }
  /** Runs a whole checkpoint session: resolves when it is released or expires. */
  async checkpoint(input: CheckpointWorkspaceInput, opts: StartOptions = {}): Promise<CheckpointWorkspaceResult> {
    return (await this.startCheckpoint(input, opts)).result();
  }

  /**
   * Waits until a checkpoint's snapshot is taken and the session is active (ready for rollback),
   * watching its `progress` query. Throws the workflow's typed failure if the snapshot failed.
   */
  async awaitCheckpointActive(workflowId: string, pollMs = 250): Promise<CheckpointActive> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    for (;;) {
      const report = await this.progress(workflowId);
      const detail = report.progress?.detail as
        | { state?: string; snapshotId?: string | null; snapshotName?: string; expiresAt?: string | null }
        | undefined;
      if (detail?.snapshotId && detail.state && detail.state !== 'snapshotting') {
        return {
          workflowId,
          runId: report.runId,
          url: report.url,
          snapshotId: detail.snapshotId,
          snapshotName: detail.snapshotName ?? '',
          expiresAt: detail.expiresAt ?? null,
        };
      }
      if (report.status !== 'RUNNING') {
        // Closed before it became active: surface its failure (or a completed session's result).
        await this.call({ workflowId }, () => handle.result());
        throw new RigsnapError({ type: 'Rejected', message: `checkpoint ${workflowId} is ${report.status.toLowerCase()}`, workflowId });
      }
      await sleep(pollMs);
    }
  }

  /** Rolls a checkpoint back: stop → restore its snapshot → start. Resolves once the workspace runs again. */
  async rollback(checkpointWorkflowId: string): Promise<RollbackResult> {
    const { handle, runId } = await this.openCheckpoint(checkpointWorkflowId);
    return this.call({ workflowId: checkpointWorkflowId, runId }, () =>
      handle.executeUpdate<RollbackUpdateResult, []>('rollback', { args: [] }),
    );
  }

  /**
   * Ends a checkpoint session; `deleteSnapshot` also deletes the checkpoint's snapshot. Releasing a
   * session that already ended is a harmless no-op (`alreadyReleased`), unless it asks for more than
   * was done (the snapshot deleted when it was kept): that is Rejected, saying how to delete it.
   */
  async release(checkpointWorkflowId: string, input: ReleaseCheckpointInput = {}): Promise<ReleaseResult> {
    const v = validate(ReleaseCheckpointInput, input);
    const desc = await this.checkpointRun(checkpointWorkflowId);
    const handle = this.temporal.workflow.getHandle(checkpointWorkflowId, desc.runId);
    const ctx = { workflowId: checkpointWorkflowId, runId: desc.runId };
    if (statusName(desc) === 'RUNNING') {
      try {
        const r = await this.call(ctx, () => handle.executeUpdate<UpdateResult<typeof releaseUpdate>, [ReleaseCheckpointInput]>('release', { args: [v] }));
        return { ...r, alreadyReleased: false, runId: desc.runId };
      } catch (err) {
        // Another release got there first and the session is ending: the same outcome as a later call.
        if (!(err instanceof RigsnapError && err.type === 'Conflict' && /already released/.test(err.message))) throw err;
      }
    } else if (statusName(desc) !== 'COMPLETED') {
      throw new RigsnapError({
        type: 'Rejected',
        message: `checkpoint ${checkpointWorkflowId} ended ${statusName(desc).toLowerCase()}, not released; there is nothing to release`,
        ...ctx,
      });
    }
    const ended = await this.call(ctx, () => handle.result() as Promise<CheckpointWorkspaceResult>);
    if (v.deleteSnapshot && !ended.snapshotDeleted) {
      throw new RigsnapError({
        type: 'Rejected',
        message:
          `checkpoint ${checkpointWorkflowId} already ended (${ended.endedBy === 'ttl' ? 'its TTL passed' : 'released'}) and kept its snapshot ${ended.snapshot.id}; ` +
          `delete it with \`rigsnap delete ${ended.workspaceId} ${ended.snapshot.id}\``,
        ...ctx,
      });
    }
    return { released: true, snapshotDeleted: ended.snapshotDeleted, alreadyReleased: true, runId: desc.runId };
  }

  /** The latest run of a checkpoint workflow, or a clear error: not found, not a checkpoint. */
  private async checkpointRun(workflowId: string): Promise<WorkflowExecutionDescription> {
    const desc = await this.call({ workflowId }, () => this.temporal.workflow.getHandle(workflowId).describe());
    if (desc.type !== WORKFLOW_TYPES.checkpoint) {
      throw new RigsnapError({ type: 'Rejected', message: `${workflowId} is a ${desc.type} workflow, not a checkpoint`, workflowId });
    }
    return desc;
  }

  /** The running checkpoint session with this id, or a clear error: not found, not a checkpoint, already ended. */
  private async openCheckpoint(workflowId: string): Promise<{ handle: WorkflowHandle; runId: string }> {
    const desc = await this.checkpointRun(workflowId);
    if (statusName(desc) !== 'RUNNING') {
      throw new RigsnapError({
        type: 'Rejected',
        message: `checkpoint ${workflowId} has already ended (${statusName(desc).toLowerCase()})`,
        workflowId,
        runId: desc.runId,
      });
    }
    return { handle: this.temporal.workflow.getHandle(workflowId, desc.runId), runId: desc.runId };
  }

  // ---- the backup audit ---------------------------------------------------------------------------

  /**
   * "Is everything backed up?": starts the auditBackups workflow (read through a worker, so no Rigbox
   * token is needed here). Its result has a verdict per protected workspace and `ok: false` when any
   * misses the RPO.
   */
  async startAudit(input: AuditBackupsInput = {}, opts: StartOptions = {}): Promise<StartedOperation<AuditBackupsResult>> {
    const v = validate(AuditBackupsInput, input);
    const key = this.requestKey(opts);
    return this.start('audit', v, workflowIds.audit(key), null, `backup audit (RPO ${v.rpo})`);
  }
  async audit(input: AuditBackupsInput = {}, opts: StartOptions = {}): Promise<AuditBackupsResult> {
    return (await this.startAudit(input, opts)).result();
  }

  /**
   * Creates (or updates) the audit's schedule, `rigsnap-audit`: an auditBackups run every `every` that
   * notifies (RIGSNAP_NOTIFY_URL) when a workspace needs attention, and stays silent otherwise.
   */
  async createAuditSchedule(options: AuditScheduleOptions = {}): Promise<AuditScheduleInfo> {
    const o = validate(AuditScheduleOptions, options);
    const scheduleId = scheduleIds.audit();
    const typedSearchAttributes: SearchAttributePair[] = [{ key: operationKey, value: 'audit' satisfies Operation }];
    const spec = { intervals: [{ every: parseDurationMs(o.every) }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: WORKFLOW_TYPES.audit,
      workflowId: scheduleId,
      taskQueue: this.taskQueue,
      args: [scheduledAuditInput(o)],
      typedSearchAttributes,
      staticSummary: `scheduled backup audit (RPO ${o.rpo}, every ${o.every})`,
    };
    const policies = { overlap: ScheduleOverlapPolicy.SKIP };
    const state = { paused: o.paused, note: `audit every ${o.every}, RPO ${o.rpo}` };
    let created = true;
    await this.call({ scheduleId }, async () => {
      try {
        await this.temporal.schedule.create({ scheduleId, spec, action, policies, typedSearchAttributes, state });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        created = false;
        await this.temporal.schedule.getHandle(scheduleId).update(() => ({ spec, action, policies, typedSearchAttributes, state }));
      }
    });
    const desc = await this.call({ scheduleId }, () => this.temporal.schedule.getHandle(scheduleId).describe());
    return {
      scheduleId,
      url: scheduleUrl(this.uiUrl, this.namespace, scheduleId),
      created,
      every: o.every,
      rpo: o.rpo,
      paused: desc.state.paused,
      nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
    };
  }

  async deleteAuditSchedule(): Promise<void> {
    const scheduleId = scheduleIds.audit();
    await this.call({ scheduleId }, () => this.temporal.schedule.getHandle(scheduleId).delete());
  }

  // ---- the workspace lock -----------------------------------------------------------------------

  /**
   * Who holds a workspace's lock and who waits, from the lock workflow's `lockState` query; null when
   * no lock runs (nobody holds or waits) or no worker answers within `timeoutMs`.
   */
  async lockState(workspaceId: string, timeoutMs = 2000): Promise<LockState | null> {
    const handle = this.temporal.workflow.getHandle(workflowIds.lock(validateField('workspaceId', WorkspaceId, workspaceId)));
    return this.temporal.withDeadline(Date.now() + timeoutMs, () => handle.query<LockState>(LOCK_STATE_QUERY)).catch(() => null);
  }

  /**
   * Where an operation stands in its workspace's lock: who holds it and how many are ahead (the holder
   * counts); null when it neither waits nor holds it.
   */
  async lockWait(workflowId: string, workspaceId: string): Promise<LockWait | null> {
    const state = await this.lockState(workspaceId);
    if (!state) return null;
    const ours = (r: { workflowId: string }) => r.workflowId === workflowId;
    if (state.holder && ours(state.holder)) return null;
    const index = state.queue.findIndex(ours);
    if (index < 0) return null;
    return {
      workspaceId,
      holder: state.holder ? { workflowId: state.holder.workflowId, operation: state.holder.operation, since: state.holder.grantedAt } : null,
      ahead: index + (state.holder ? 1 : 0),
    };
  }

  // ---- workers ----------------------------------------------------------------------------------

  /**
   * The workers polling this client's task queue, from Temporal's task-queue description. The server
   * lists a poller for minutes after it went away, so only those seen within `recentMs` count: a live
   * worker polls again at least every minute (a long poll lasts up to ~70 s).
   */
  async liveWorkers(recentMs = 90_000): Promise<Array<{ identity: string; lastAccessTime: string }>> {
    const TASK_QUEUE_TYPE_WORKFLOW = 1; // temporal.api.enums.v1.TaskQueueType
    const res = await this.call({}, () =>
      this.temporal.workflowService.describeTaskQueue({
        namespace: this.namespace,
        taskQueue: { name: this.taskQueue },
        taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    const now = Date.now();
    return (res.pollers ?? [])
      .map((p) => ({
        identity: p.identity ?? '',
        lastAccessMs: p.lastAccessTime ? Number(p.lastAccessTime.seconds ?? 0) * 1000 + Math.floor(Number(p.lastAccessTime.nanos ?? 0) / 1e6) : 0,
      }))
      .filter((p) => now - p.lastAccessMs <= recentMs)
      .map((p) => ({ identity: p.identity, lastAccessTime: new Date(p.lastAccessMs).toISOString() }));
  }

  // ---- cancellation -----------------------------------------------------------------------------

  /**
   * Asks a running operation to cancel: it stops at its next step and, if it had stopped the workspace,
   * starts it again before it ends (the workflows' guarantee). A run that already ended is left alone
   * (`alreadyClosed`). The workspace lock is internal and refused: cancel the operation holding it.
   */
  async cancel(workflowId: string): Promise<CancelOutcome> {
    const desc = await this.call({ workflowId }, () => this.temporal.workflow.getHandle(workflowId).describe());
    const ref = { workflowId, runId: desc.runId, url: this.workflowUrl(workflowId, desc.runId) };
    if (desc.type === WORKFLOW_TYPES.lock) {
      throw new RigsnapError({
        type: 'Rejected',
        message: `${workflowId} is the workspace lock, which rigsnap runs by itself; cancel the operation that holds or waits for it instead`,
        workflowId,
        advice: 'see who holds it and who waits: `temporal workflow query --name lockState --workflow-id ' + workflowId + '`, or `rigsnap runs <workspace>`',
      });
    }
    if (statusName(desc) !== 'RUNNING') return { ...ref, alreadyClosed: true, status: statusName(desc) };
    await this.call({ workflowId, runId: desc.runId }, () => this.temporal.workflow.getHandle(workflowId, desc.runId).cancel());
    return { ...ref, alreadyClosed: false, status: 'RUNNING' };
  }

  /** Waits until a run has ended, however it ends; resolves with its final status (COMPLETED, CANCELLED…). */
  async awaitClosed(workflowId: string, runId: string): Promise<string> {
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    try {
      await handle.result();
    } catch (err) {
      const e = toRigsnapError(err, { workflowId, runId, address: this.address });
      if (e instanceof TemporalConnectionError) throw e;
    }
    const desc = await this.call({ workflowId, runId }, () => handle.describe());
    return statusName(desc);
  }

  // ---- inspection -------------------------------------------------------------------------------

  /**
   * Recent rigsnap operations on this task queue, newest first, from Temporal's visibility (a run that
   * just started may take a moment to appear). Reads (`list`) and the workspace locks are left out
   * unless `includeReads`.
   */
  async recent(opts: { workspaceId?: string; limit?: number; includeReads?: boolean } = {}): Promise<RecentRun[]> {
    const limit = opts.limit ?? 20;
    const clauses = [`TaskQueue = "${this.taskQueue}"`, `${SEARCH_ATTRIBUTES.operation} IS NOT NULL`, `${SEARCH_ATTRIBUTES.operation} != "lock"`];
    if (!opts.includeReads) clauses.push(`${SEARCH_ATTRIBUTES.operation} != "list"`);
    if (opts.workspaceId !== undefined) clauses.push(`${SEARCH_ATTRIBUTES.workspaceId} = "${validateField('workspaceId', WorkspaceId, opts.workspaceId)}"`);
    const runs: RecentRun[] = [];
    await this.call({}, async () => {
      for await (const w of this.temporal.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(limit, 100) })) {
        runs.push({
          workflowId: w.workflowId,
          runId: w.runId,
          workflowType: w.type,
          operation: w.typedSearchAttributes.get(operationKey) ?? null,
          workspaceId: w.typedSearchAttributes.get(workspaceIdKey) ?? null,
          status: w.status.name,
          startedAt: w.startTime.toISOString(),
          closedAt: w.closeTime?.toISOString() ?? null,
          url: this.workflowUrl(w.workflowId, w.runId),
        });
        if (runs.length >= limit) break;
      }
    });
    return runs;
  }

  /** A handle to the result of any rigsnap workflow, with typed errors. */
  async result<R>(workflowId: string, runId?: string): Promise<R> {
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    return this.call({ workflowId, runId }, () => handle.result() as Promise<R>);
  }

  /**
   * The `progress` query of a workflow plus its pending activity's heartbeat (phase, status, polls,
   * queue position). The query is answered by a worker; without one in `queryTimeoutMs`, progress is null.
   */
  async progress(workflowId: string, runId?: string, queryTimeoutMs = 3000): Promise<ProgressReport> {
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    const desc = await this.call({ workflowId, runId }, () => handle.describe());
    const progress = await this.temporal
      .withDeadline(Date.now() + queryTimeoutMs, () => handle.query<Progress>(PROGRESS_QUERY))
      .catch(() => null);
    return {
      workflowId,
      runId: desc.runId,
      url: this.workflowUrl(workflowId, desc.runId),
      status: statusName(desc),
      startedAt: desc.startTime.toISOString(),
      closedAt: desc.closeTime?.toISOString() ?? null,
      progress,
      activity: await this.pendingActivity(desc),
      runningChildren: (desc.raw.pendingChildren ?? []).map((c) => c.workflowId ?? '').filter(Boolean),
    };
  }

  /**
   * The backups a fleet run made, workspace by workspace (the first `limit`): the snapshot of each
   * that succeeded, the typed error of each that failed. Each child's id is derived from the fleet's,
   * so this needs no visibility query.
   */
  async fleetBackups(fleetWorkflowId: string, workspaceIds: string[], limit = 50): Promise<FleetBackupView[]> {
    const ids = workspaceIds.slice(0, limit);
    const views: FleetBackupView[] = [];
    const one = async (workspaceId: string): Promise<FleetBackupView> => {
      const workflowId = workflowIds.fleetChild(fleetWorkflowId, workspaceId);
      const handle = this.temporal.workflow.getHandle(workflowId);
      const base = { workspaceId, workflowId, snapshot: null, error: null };
      let status: string;
      try {
        status = statusName(await handle.describe());
      } catch {
        return { ...base, status: 'NOT_STARTED' };
      }
      if (status === 'RUNNING') return { ...base, status };
      try {
        const r = (await handle.result()) as BackupWorkspaceResult;
        return { ...base, status, snapshot: { id: r.snapshot.id, name: r.snapshot.name } };
      } catch (err) {
        const e = toRigsnapError(err, { workflowId, address: this.address });
        return { ...base, status, error: { type: e instanceof RigsnapError ? e.type : 'Unreachable', message: e.message } };
      }
    };
    // A few at a time: a fleet can be thousands of workspaces, the server is shared.
    for (let i = 0; i < ids.length; i += 8) views.push(...(await Promise.all(ids.slice(i, i + 8).map(one))));
    return views;
  }

  /** Everything about one workflow: status, progress, and its result or typed failure once closed. */
  async status(workflowId: string, runId?: string): Promise<StatusReport> {
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    const desc = await this.call({ workflowId, runId }, () => handle.describe());
    const report = await this.progress(workflowId, desc.runId);
    const sa = desc.typedSearchAttributes;
    const out: StatusReport = {
      ...report,
      workflowType: desc.type,
      workspaceId: sa.get(workspaceIdKey) ?? null,
      operation: sa.get(operationKey) ?? null,
      summary: (await desc.staticSummary().catch(() => undefined)) ?? null,
      historyLength: desc.historyLength,
    };
    if (report.status !== 'RUNNING') {
      const closed = this.temporal.workflow.getHandle(workflowId, desc.runId);
      try {
        out.result = await closed.result();
      } catch (err) {
        const e = toRigsnapError(err, { workflowId, runId: desc.runId, address: this.address });
        if (e instanceof TemporalConnectionError) throw e;
        out.error = e.toJSON();
      }
    }
    return out;
  }

  private async pendingActivity(desc: WorkflowExecutionDescription): Promise<PendingActivityView | null> {
    const pending = [...(desc.raw.pendingActivities ?? [])];
    if (pending.length === 0) return null;
    const seconds = (t: { seconds?: unknown } | null | undefined) => Number(t?.seconds ?? 0);
    pending.sort((a, b) => seconds(b.lastStartedTime ?? b.scheduledTime) - seconds(a.lastStartedTime ?? a.scheduledTime));
    const a = pending[0]!;
    let heartbeat: HeartbeatDetails | null = null;
    if (a.heartbeatDetails?.payloads?.length) {
      try {
        const [first] = await decodeArrayFromPayloads(this.temporal.options.loadedDataConverter, a.heartbeatDetails.payloads);
        if (first && typeof first === 'object') heartbeat = first;
      } catch {
        heartbeat = null; // details in a format this client cannot decode: show the rest
      }
    }
    const ts = (t: { seconds?: unknown; nanos?: unknown } | null | undefined) =>
      t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6)).toISOString() : null;
    const STATES = ['UNSPECIFIED', 'SCHEDULED', 'STARTED', 'CANCEL_REQUESTED', 'PAUSED', 'PAUSE_REQUESTED'];
    return {
      activityType: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      state: STATES[Number(a.state ?? 0)] ?? String(a.state),
      heartbeat,
      lastHeartbeatAt: ts(a.lastHeartbeatTime),
      lastFailure: a.lastFailure?.message ?? null,
    };
  }

  // ---- internals --------------------------------------------------------------------------------

  private requestKey(opts: StartOptions): string {
    if (opts.requestKey === undefined) return defaultRequestKey(Date.now());
    return validateField('requestKey', RequestKey, opts.requestKey);
  }

  /**
   * Starts the workflow under its business id. A running workflow with the id is joined
   * (USE_EXISTING); one that already completed is returned as it is (the server refuses a duplicate
   * of a completed run); one that failed may run again, which is what a retry after a failure wants.
   */
  private async start<R>(
    operation: Operation,
    input: unknown,
    workflowId: string,
    workspaceId: string | null,
    summary: string,
  ): Promise<StartedOperation<R>> {
    const workflowType = WORKFLOW_TYPES[operation];
    const typedSearchAttributes: SearchAttributePair[] = [{ key: operationKey, value: operation }];
    if (workspaceId) typedSearchAttributes.push({ key: workspaceIdKey, value: workspaceId });
    let handle: WorkflowHandle;
    let runId: string;
    let existing = false;
    try {
      const started = await this.temporal.workflow.start(workflowType, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        typedSearchAttributes,
        staticSummary: summary,
      });
      handle = started;
      runId = started.firstExecutionRunId;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw toRigsnapError(err, { workflowId, address: this.address });
      handle = this.temporal.workflow.getHandle(workflowId);
      const desc = await this.call({ workflowId }, () => handle.describe());
      if (desc.type !== workflowType) {
        throw new RigsnapError({
          type: 'Rejected',
          message: `workflow id ${workflowId} belongs to a ${desc.type} workflow, not ${workflowType}`,
          workflowId,
        });
      }
      runId = desc.runId;
      existing = true;
    }
    const resultHandle = handle;
    return {
      workflowId,
      runId,
      url: this.workflowUrl(workflowId, runId),
      workflowType,
      existing,
      handle,
      result: () => this.call({ workflowId, runId }, () => resultHandle.result() as Promise<R>).catch((err: unknown) => {
        // A fleet with failed workspaces fails (so alerts see it) with its summary as details: callers get
        // the summary, as from a fleet that completed, and read failedCount.
        if (workflowType === WORKFLOW_TYPES['fleet-backup'] && err instanceof RigsnapError && err.type === 'PartialFailure' && err.details[0]) {
          return err.details[0] as R;
        }
        throw err;
      }),
    };
  }
}

/** Validates a workspace id the way every workflow does (for callers building ids themselves). */
export function parseWorkspaceId(raw: unknown): string {
  return validateField('workspaceId', WorkspaceId, raw);
}
