/** RigsnapClient: the library other services use to start, watch, cancel and query rigsnap's workflows by their contract types. */
import type { Client } from '@temporalio/client';
import type {
  AbandonRequest,
  AuditBackupsInput,
  BackupFleetInput,
  BackupWorkspaceInput,
  CheckpointWorkspaceInput,
  DeleteSnapshotInput,
  InventoryWorkspacesInput,
  ListSnapshotsInput,
  PruneOrphansInput,
  ReportBackupsInput,
  CheckWorkspacesInput,
  RestoreGroupInput,
  CheckpointGroupInput,
  LockState,
  PruneSnapshotsInput,
  ReleaseCheckpointInput,
  RestoreWorkspaceInput,
  RollbackResult,
  GroupRollbackResult,
  SnapshotWorkspaceInput,
  SnapshotGroupInput,
} from '../domain/index.js';
import { WorkspaceId } from '../domain/index.js';
import { abandonRun, type AbandonOutcome } from './abandon.js';
import { createAuditSchedule, deleteAuditSchedule } from './audit-schedule-api.js';
import type { AuditScheduleInfo, AuditScheduleOptions } from './audit-schedule.js';
import { awaitCheckpointActive, releaseCheckpoint, rollbackCheckpoint } from './checkpoints.js';
import { TemporalContext, type TemporalContextOptions } from './context.js';
import { validateField } from './errors.js';
import { awaitClosed, cancelRun, fleetBackupsOf, liveWorkersOf, progressOf, recentRuns, statusOf } from './inspection.js';
import { lockStateOf, lockWaitOf } from './lock-view.js';
import { invalidInput } from './errors.js';
import { holdSnapshot, holdsOf, setBaseline, unholdSnapshot, workspacesWithEntities, type HoldOptions } from './holds.js';
import type { BaselineAnswer, Hold, HoldsView, UnholdAnswer } from '../domain/holds.js';
import type { EnrollmentView, Selector } from '../domain/enrollment.js';
import { enroll, enrolledWorkspaces, enrollmentOf, unenroll, type EnrolledWorkspaces, type EnrollOptions } from './enrollment.js';
import type { GroupSet, GroupView } from '../domain/groups.js';
import {
  createGroup,
  deleteGroup,
  listGroupSets,
  listGroups,
  showGroup,
  updateGroup,
  type CreateGroupOptions,
  type GroupList,
  type UpdateGroupOptions,
} from './groups.js';
import { fleetSummaryOf, startOperation, type OperationInput, type OperationResult, type PublicOperation } from './operations.js';
import { createReportSchedule, deleteReportSchedule } from './report-schedule-api.js';
import type { ReportScheduleInfo, ReportScheduleOptions } from './report-schedule.js';
import { changePendingStop, type PendingStopChange } from './notices.js';
import { RigsnapSchedules } from './schedules.js';
import type {
  CancelOutcome,
  CheckpointActive,
  FleetBackupView,
  LockWait,
  ProgressReport,
  RecentRun,
  ReleaseResult,
  StartOptions,
  StartedOperation,
  StatusReport,
} from './views.js';

export { operationKey, workspaceIdKey } from '../contract/index.js';
export type * from './views.js';

export type RigsnapClientOptions = TemporalContextOptions;

/**
 * The typed client of rigsnap for Node services: one method per workflow (start → handle, or execute →
 * result), inputs checked with the domain's zod schemas before anything is sent, failures as
 * RigsnapError with the workflow's error type, progress through the `progress` query, and schedules.
 * Needs only a Temporal connection: the Rigbox token stays with the workers. The work is done by
 * functions of one Temporal context (operations.ts, inspection.ts, checkpoints.ts, schedules.ts…);
 * this class names them.
 */
export class RigsnapClient {
  readonly schedules: RigsnapSchedules;

  private constructor(readonly context: TemporalContext) {
    this.schedules = new RigsnapSchedules(context);
  }

  /**
   * Connects with the TEMPORAL_* settings (envconfig) unless `options.client` is given. Throws
   * TemporalConnectionError naming the address when the server cannot be reached in time.
   */
  static async connect(options: RigsnapClientOptions = {}): Promise<RigsnapClient> {
    return new RigsnapClient(await TemporalContext.connect(options));
  }

  get temporal(): Client {
    return this.context.client;
  }
  get address(): string {
    return this.context.address;
  }
  get namespace(): string {
    return this.context.namespace;
  }
  get taskQueue(): string {
    return this.context.taskQueue;
  }
  get uiUrl(): string {
    return this.context.uiUrl;
  }

  /** Closes the connection if this client opened it. */
  async close(): Promise<void> {
    await this.context.close();
  }

  workflowUrl(workflowId: string, runId?: string): string {
    return this.context.workflowUrl(workflowId, runId);
  }

  /** Runs a Temporal call, turning SDK errors into RigsnapError / TemporalConnectionError. */
  async call<T>(where: { workflowId?: string; runId?: string; scheduleId?: string }, fn: () => Promise<T>): Promise<T> {
    return this.context.call(where, fn);
  }

  // ---- operations: start → handle, or run → result ------------------------------------------------

  /** Starts any operation of the table (client/operations.ts). */
  private start<Op extends PublicOperation>(operation: Op, input: OperationInput<Op>, opts: StartOptions = {}): Promise<StartedOperation<OperationResult<Op>>> {
    return startOperation(this.context, operation, input, opts);
  }
  /** Runs any operation to its result. */
  private async execute<Op extends PublicOperation>(operation: Op, input: OperationInput<Op>, opts: StartOptions = {}): Promise<OperationResult<Op>> {
    return (await this.start(operation, input, opts)).result();
  }

  /** With `notice` ("5m"), a `stop.notice` first and a wait that snooze and skip act on; a skip fails it with type `Skipped`. */
  startSnapshot = (input: SnapshotWorkspaceInput, opts?: StartOptions) => this.start('snapshot', input, opts);
  snapshot = (input: SnapshotWorkspaceInput, opts?: StartOptions) => this.execute('snapshot', input, opts);
  /** One snapshot of every member of a group, all taken while all are stopped (a failed member: PartialFailure, all started again). */
  startSnapshotGroup = (input: SnapshotGroupInput, opts?: StartOptions) => this.start('group-snapshot', input, opts);
  snapshotGroup = (input: SnapshotGroupInput, opts?: StartOptions) => this.execute('group-snapshot', input, opts);
  /** A restore takes a safety snapshot (held 24 h) first unless `keepCurrent: false`: the client's default is the safe one. */
  startRestore = (input: RestoreWorkspaceInput, opts?: StartOptions) => this.start('restore', { keepCurrent: true, ...input }, opts);
  restore = (input: RestoreWorkspaceInput, opts?: StartOptions) => this.execute('restore', { keepCurrent: true, ...input }, opts);
  /**
   * A snapshot id, or the id of the one snapshot of the workspace with this name. Not unique or not
   * found: InvalidInput naming the candidates.
   */
  async resolveSnapshot(workspaceId: string, idOrName: string): Promise<string> {
    if (idOrName.startsWith('snap_')) return idOrName;
    const { snapshots } = await this.listSnapshots({ workspaceId });
    const named = snapshots.filter((s) => s.name === idOrName);
    if (named.length === 1) return named[0]!.id;
    if (named.length === 0)
      throw invalidInput(`snapshot: ${workspaceId} has no snapshot named "${idOrName}" (see \`rigsnap list ${workspaceId}\`)`, ['snapshotId']);
    throw invalidInput(
      `snapshot: ${named.length} snapshots of ${workspaceId} are named "${idOrName}"; name one by id: ${named.map((s) => `${s.id} (${s.created_at})`).join(', ')}`,
      ['snapshotId'],
    );
  }
  /** Deleting a snapshot is naturally idempotent: its workflow id has no request key. */
  startDeleteSnapshot = (input: DeleteSnapshotInput) => this.start('delete', input);
  deleteSnapshot = (input: DeleteSnapshotInput) => this.execute('delete', input);
  startListSnapshots = (input: ListSnapshotsInput = {}, opts?: StartOptions) => this.start('list', input, opts);
  listSnapshots = (input: ListSnapshotsInput = {}, opts?: StartOptions) => this.execute('list', input, opts);
  startPrune = (input: PruneSnapshotsInput, opts?: StartOptions) => this.start('prune', input, opts);
  prune = (input: PruneSnapshotsInput, opts?: StartOptions) => this.execute('prune', input, opts);
  startBackup = (input: BackupWorkspaceInput, opts?: StartOptions) => this.start('backup', input, opts);
  backup = (input: BackupWorkspaceInput, opts?: StartOptions) => this.execute('backup', input, opts);
  /** Starts a checkpoint session; its result arrives only when it is released (or its TTL passes). */
  startCheckpoint = (input: CheckpointWorkspaceInput, opts?: StartOptions) => this.start('checkpoint', input, opts);
  /** Runs a whole checkpoint session: resolves when it is released or expires. */
  checkpoint = (input: CheckpointWorkspaceInput, opts?: StartOptions) => this.execute('checkpoint', input, opts);
  /**
   * "Is everything backed up?": the auditBackups workflow (read through a worker, so no Rigbox token is
   * needed here). Its result has a verdict per protected workspace and `ok: false` when any misses the RPO.
   */
  startAudit = (input: AuditBackupsInput = {}, opts?: StartOptions) => this.start('audit', input, opts);
  audit = (input: AuditBackupsInput = {}, opts?: StartOptions) => this.execute('audit', input, opts);
  /**
   * Every workspace rigsnap can know of (Rigbox reveals workspaces only through their snapshots): per
   * workspace its snapshots by kind, existence, protection, runs and 30-day forecast; and the orphans.
   */
  startInventory = (input: InventoryWorkspacesInput = {}, opts?: StartOptions) => this.start('inventory', input, opts);
  inventory = (input: InventoryWorkspacesInput = {}, opts?: StartOptions) => this.execute('inventory', input, opts);
  /** Deletes the snapshots of workspaces that no longer exist (`dryRun` first: it lists them). */
  startPruneOrphans = (input: PruneOrphansInput = {}, opts?: StartOptions) => this.start('prune-orphans', input, opts);
  pruneOrphans = (input: PruneOrphansInput = {}, opts?: StartOptions) => this.execute('prune-orphans', input, opts);
  /** The compliance report (`ok: false` when a protected workspace misses the RPO); `notify` also posts it to the webhook. */
  startReport = (input: ReportBackupsInput = {}, opts?: StartOptions) => this.start('report', input, opts);
  report = (input: ReportBackupsInput = {}, opts?: StartOptions) => this.execute('report', input, opts);
  /** Whether workspaces exist in Rigbox, with the nearest known ids for those that do not (a typo's fix). */
  checkWorkspaces = (input: CheckWorkspacesInput, opts?: StartOptions) => this.execute('check', input, opts);
  /**
   * Restores a group to one set, all or nothing: `{group, set, allowIncomplete?}` or `{targets, startOrder?}`.
   * Each member gets a safety snapshot first (held 24 h). A member's failure puts every member back and
   * fails with `RolledBack`; a member even that could not put back fails with `PartialFailure`; both carry
   * each member's state (`groupRestoreOf(err)`).
   */
  startRestoreGroup = (input: RestoreGroupInput, opts?: StartOptions) => this.start('group-restore', input, opts);
  restoreGroup = (input: RestoreGroupInput, opts?: StartOptions) => this.execute('group-restore', input, opts);
  /** A checkpoint of a group: a set now, then `rollback(id)` (the group restore of it, all or nothing) and `release(id)`, as for a workspace. */
  startCheckpointGroup = (input: CheckpointGroupInput, opts?: StartOptions) => this.start('group-checkpoint', input, opts);

  /**
   * A fleet with failed workspaces fails (so alerts see it) with its summary as details: callers get the
   * summary, as from a fleet that completed, and read failedCount.
   */
  async startFleetBackup(input: BackupFleetInput, opts: StartOptions = {}): Promise<StartedOperation<OperationResult<'fleet-backup'>>> {
    const started = await this.start('fleet-backup', input, opts);
    return {
      ...started,
      result: () =>
        started.result().catch((err: unknown) => {
          const summary = fleetSummaryOf(err);
          if (summary) return summary;
          throw err;
        }),
    };
  }
  async fleetBackup(input: BackupFleetInput, opts: StartOptions = {}): Promise<OperationResult<'fleet-backup'>> {
    return (await this.startFleetBackup(input, opts)).result();
  }

  // ---- checkpoint sessions ----------------------------------------------------------------------

  /** Waits until a checkpoint's snapshot is taken and the session is active (ready for rollback). */
  awaitCheckpointActive(workflowId: string, pollMs?: number): Promise<CheckpointActive> {
    return awaitCheckpointActive(this.context, workflowId, pollMs);
  }
  /** Rolls a checkpoint back: stop → restore its snapshot → start. Resolves once the workspace runs again (a group checkpoint: all of them, all or nothing). */
  rollback(checkpointWorkflowId: string): Promise<RollbackResult | GroupRollbackResult> {
    return rollbackCheckpoint(this.context, checkpointWorkflowId);
  }
  /** Ends a checkpoint session (releasing one that ended is a no-op; see checkpoints.ts). */
  release(checkpointWorkflowId: string, input: ReleaseCheckpointInput = {}): Promise<ReleaseResult> {
    return releaseCheckpoint(this.context, checkpointWorkflowId, input);
  }

  // ---- a stop announced in advance (issue 21) ---------------------------------------------------------

  /**
   * Moves the stop of the workspace's pending backup, or snapshot started with `notice` (the one waiting
   * out its notice), later by `for` ("1h"). Refused (RigsnapError, type Rejected) when none waits out a notice, or past the
   * run's snooze cap; a snooze past the backup's window skips the run (the answer says so).
   */
  snooze(workspaceId: string, o: { for: string; by?: string }): Promise<PendingStopChange> {
    return changePendingStop(this.context, workspaceId, { kind: 'snooze', ...o });
  }
  /**
   * Skips the workspace's pending backup or snapshot: nothing stopped; a backup ends as skipped, a
   * snapshot fails with type `Skipped` (its caller did not get the snapshot). Refused when none waits out a notice.
   */
  skip(workspaceId: string, o: { reason?: string; by?: string } = {}): Promise<PendingStopChange> {
    return changePendingStop(this.context, workspaceId, { kind: 'skip', ...o });
  }

  // ---- enrollment and labels (client/enrollment.ts) -----------------------------------------------

  /** Enrolls a workspace (again: sets `labels`, removes `remove`, keeps the others); fleets by selector pick it from their next run. */
  enroll(workspaceId: string, options?: EnrollOptions): Promise<EnrollmentView> {
    return enroll(this.context, workspaceId, options);
  }
  /** Unenrolls a workspace: no selector selects it any more, and its labels are forgotten. */
  unenroll(workspaceId: string, by?: string): Promise<EnrollmentView> {
    return unenroll(this.context, workspaceId, by);
  }
  /** A workspace's enrollment and labels, from its entity. */
  enrollment(workspaceId: string): Promise<EnrollmentView> {
    return enrollmentOf(this.context, workspaceId);
  }
  /** The enrolled workspaces matching `selector` (every term; empty: all), found by visibility and confirmed by each entity. */
  enrolledWorkspaces(selector?: Selector): Promise<EnrolledWorkspaces> {
    return enrolledWorkspaces(this.context, selector);
  }

  // ---- groups of workspaces (client/groups.ts) ------------------------------------------------------

  /** Creates a group of 2 to 50 workspaces (the same create again answers the same); refused when it exists with other members. */
  createGroup(name: string, members: string[], options?: CreateGroupOptions): Promise<GroupView> {
    return createGroup(this.context, name, members, options);
  }
  /** Changes a group's members, its start order, or both; NotFound when there is no such group. */
  updateGroup(name: string, options: UpdateGroupOptions): Promise<GroupView> {
    return updateGroup(this.context, name, options);
  }
  /** A group as its entity says (`exists: false` when there is none). */
  group(name: string): Promise<GroupView> {
    return showGroup(this.context, name);
  }
  /** Every group, found by visibility and confirmed by each group entity. */
  groups(): Promise<GroupList> {
    return listGroups(this.context);
  }
  /** The group snapshots recorded in the group entity, newest first (incomplete ones marked `complete: false`); NotFound when there is no such group. */
  groupSnapshots(name: string): Promise<GroupSet[]> {
    return listGroupSets(this.context, name);
  }
  /** Deletes a group (its workspaces and snapshots are untouched); NotFound when there is none. */
  deleteGroup(name: string, by?: string): Promise<GroupView> {
    return deleteGroup(this.context, name, by);
  }

  // ---- holds and the baseline (client/holds.ts) ----------------------------------------------------

  /** Holds a snapshot: every prune keeps it and `deleteSnapshot` refuses it (type `Held`) until unheld or `until`. */
  hold(workspaceId: string, snapshotId: string, options: HoldOptions): Promise<Hold> {
    return holdSnapshot(this.context, workspaceId, snapshotId, options);
  }
  /** Ends a snapshot's manual hold; the answer names the holds that remain. */
  unhold(workspaceId: string, snapshotId: string, by?: string, owner?: string): Promise<UnholdAnswer> {
    return unholdSnapshot(this.context, workspaceId, snapshotId, by, owner);
  }
  /** A workspace's active holds, the overrides of forced deletes, and its baseline. */
  holds(workspaceId: string): Promise<HoldsView> {
    return holdsOf(this.context, workspaceId);
  }
  /** The workspaces that have holds state (found by visibility, for listing). */
  workspacesWithHolds(): Promise<string[]> {
    return workspacesWithEntities(this.context);
  }
  /** Makes a snapshot the workspace's team baseline, and holds it. */
  setBaseline(workspaceId: string, snapshotId: string, by?: string): Promise<BaselineAnswer> {
    return setBaseline(this.context, workspaceId, snapshotId, by);
  }

  /**
   * Restores the workspace's baseline into it, with a safety snapshot first (held 24 h). Rigbox restores
   * only into the workspace a snapshot belongs to: the baseline resets this workspace, no other.
   */
  async startReset(workspaceId: string, opts?: StartOptions): Promise<StartedOperation<OperationResult<'restore'>>> {
    const { baseline } = await this.holds(workspaceId);
    if (!baseline.snapshotId)
      throw invalidInput(`workspace: ${workspaceId} has no baseline; set one with \`rigsnap baseline set ${workspaceId} <snapshot>\``, ['workspaceId']);
    return this.startRestore({ workspaceId, snapshotId: baseline.snapshotId, keepCurrent: true }, opts);
  }
  async reset(workspaceId: string, opts?: StartOptions): Promise<OperationResult<'restore'>> {
    return (await this.startReset(workspaceId, opts)).result();
  }

  // ---- the backup audit's schedule -----------------------------------------------------------------

  /** Creates (or updates) `rigsnap-audit`: the audit every `every`, notifying only when something needs attention. */
  createAuditSchedule(options: AuditScheduleOptions = {}): Promise<AuditScheduleInfo> {
    return createAuditSchedule(this.context, options);
  }
  deleteAuditSchedule(): Promise<void> {
    return deleteAuditSchedule(this.context);
  }

  /** Creates (or updates) `rigsnap-report`: the compliance report every `every`, posted to the webhook, kept as each run's result. */
  createReportSchedule(options: ReportScheduleOptions = {}): Promise<ReportScheduleInfo> {
    return createReportSchedule(this.context, options);
  }
  deleteReportSchedule(): Promise<void> {
    return deleteReportSchedule(this.context);
  }

  // ---- inspection -------------------------------------------------------------------------------

  /** Who holds a workspace's lock and who waits; null when no lock runs or no worker answers in time. */
  lockState(workspaceId: string, timeoutMs?: number): Promise<LockState | null> {
    return lockStateOf(this.context, workspaceId, timeoutMs);
  }
  /** Where an operation stands in its workspace's lock; null when it neither waits nor holds it. */
  lockWait(workflowId: string, workspaceId: string): Promise<LockWait | null> {
    return lockWaitOf(this.context, workflowId, workspaceId);
  }
  /** The workers polling this client's task queue (seen within `recentMs`). */
  liveWorkers(recentMs?: number): Promise<Array<{ identity: string; lastAccessTime: string }>> {
    return liveWorkersOf(this.context, recentMs);
  }
  /**
   * Ends an operation that keeps trying to start its workspace again, leaving the workspace as it is
   * (stopped); answered once the run has stopped trying. Refused (Conflict) unless the run is in that loop.
   */
  abandon(workflowId: string, request: AbandonRequest): Promise<AbandonOutcome> {
    return abandonRun(this.context, workflowId, request);
  }

  /** Asks a running operation to cancel; a workspace it stopped is started again before it ends. */
  cancel(workflowId: string): Promise<CancelOutcome> {
    return cancelRun(this.context, workflowId);
  }
  /** Waits until a run has ended, however it ends; resolves with its final status. */
  awaitClosed(workflowId: string, runId: string): Promise<string> {
    return awaitClosed(this.context, workflowId, runId);
  }
  /** Recent rigsnap operations on this task queue, newest first. */
  recent(opts: { workspaceId?: string; limit?: number; includeReads?: boolean } = {}): Promise<RecentRun[]> {
    return recentRuns(this.context, opts);
  }
  /** The result of any rigsnap workflow, with typed errors (`R`: what the caller knows it returns). */
  async result<R = unknown>(workflowId: string, runId?: string): Promise<R> {
    const handle = this.context.client.workflow.getHandle<() => Promise<R>>(workflowId, runId);
    return this.context.call({ workflowId, runId }, () => handle.result());
  }
  /** The `progress` query plus the pending activity's heartbeat; progress is null without a worker. */
  progress(workflowId: string, runId?: string, queryTimeoutMs?: number): Promise<ProgressReport> {
    return progressOf(this.context, workflowId, runId, queryTimeoutMs);
  }
  /** The backups a fleet run made, workspace by workspace (the first `limit`). */
  fleetBackups(fleetWorkflowId: string, workspaceIds: string[], limit?: number): Promise<FleetBackupView[]> {
    return fleetBackupsOf(this.context, fleetWorkflowId, workspaceIds, limit);
  }
  /** Everything about one workflow: status, progress, and its result or typed failure once closed. */
  status(workflowId: string, runId?: string): Promise<StatusReport> {
    return statusOf(this.context, workflowId, runId);
  }
}

/** Validates a workspace id the way every workflow does (for callers building ids themselves). */
export function parseWorkspaceId(raw: unknown): string {
  return validateField('workspaceId', WorkspaceId, raw);
}
