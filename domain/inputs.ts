/**
 * Workflow inputs: the public contract, as eager zod schemas for Node code (client, CLI, schema
 * generation). They are built by the factories of ./schemas.ts, which workflows call instead (one
 * schema per workflow; see there why).
 */
import type { z } from 'zod';
import * as s from './schemas.js';

export { MAX_FLEET_SIZE, parseInput, type ParseOutcome } from './schemas.js';

/** Rigbox ids and snapshot names (patterns in ./ids.ts). */
export const WorkspaceId = s.workspaceId();
export const SnapshotId = s.snapshotId();
export const SnapshotName = s.snapshotName();

export const RestartPolicy = s.restartPolicy();
export type RestartPolicy = z.infer<typeof RestartPolicy>;

export const SnapshotWorkspaceInput = s.snapshotWorkspaceInput();
export const RestoreWorkspaceInput = s.restoreWorkspaceInput();
export const DeleteSnapshotInput = s.deleteSnapshotInput();
export const ListSnapshotsInput = s.listSnapshotsInput();
export const RetentionPolicy = s.retentionPolicy();
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;
/** Name prefixes select retention candidates; an empty prefix would make every snapshot one, so it is refused. */
export const NamePrefix = s.namePrefix();
export const PruneSnapshotsInput = s.pruneSnapshotsInput();
export const BackupWorkspaceInput = s.backupWorkspaceInput();
export const BackupFleetInput = s.backupFleetInput();
export const Ttl = s.ttl();
export const CheckpointWorkspaceInput = s.checkpointWorkspaceInput();
export const ReleaseCheckpointInput = s.releaseCheckpointInput();
export const Rpo = s.rpo();
export const AuditBackupsInput = s.auditBackupsInput();
export const InventoryWorkspacesInput = s.inventoryWorkspacesInput();
export const PruneOrphansInput = s.pruneOrphansInput();
export const ReportBackupsInput = s.reportBackupsInput();
export const CheckWorkspacesInput = s.checkWorkspacesInput();
export const SnapshotGroupInput = s.snapshotGroupInput();
export const RestoreGroupInput = s.restoreGroupInput();
export const CheckpointGroupInput = s.checkpointGroupInput();
export const BackupGroupInput = s.backupGroupInput();
/** Optional caller-chosen key that makes a start idempotent across retries of the caller. */
export const RequestKey = s.requestKey();
/** `--priority`, `--team`, `--weight` of schedules and fleets (domain/priority.ts). */
export const PriorityOverrides = s.priorityOverrides();

export const INPUT_SCHEMAS = {
  snapshotWorkspace: SnapshotWorkspaceInput,
  restoreWorkspace: RestoreWorkspaceInput,
  deleteSnapshot: DeleteSnapshotInput,
  listSnapshots: ListSnapshotsInput,
  pruneSnapshots: PruneSnapshotsInput,
  backupWorkspace: BackupWorkspaceInput,
  backupFleet: BackupFleetInput,
  checkpointWorkspace: CheckpointWorkspaceInput,
  auditBackups: AuditBackupsInput,
  inventoryWorkspaces: InventoryWorkspacesInput,
  pruneOrphans: PruneOrphansInput,
  reportBackups: ReportBackupsInput,
  checkWorkspaces: CheckWorkspacesInput,
  snapshotGroup: SnapshotGroupInput,
  restoreGroup: RestoreGroupInput,
  checkpointGroup: CheckpointGroupInput,
  backupGroup: BackupGroupInput,
} as const;

export type SnapshotWorkspaceInput = z.input<typeof SnapshotWorkspaceInput>;
export type RestoreWorkspaceInput = z.input<typeof RestoreWorkspaceInput>;
export type DeleteSnapshotInput = z.input<typeof DeleteSnapshotInput>;
export type ListSnapshotsInput = z.input<typeof ListSnapshotsInput>;
export type PruneSnapshotsInput = z.input<typeof PruneSnapshotsInput>;
export type BackupWorkspaceInput = z.input<typeof BackupWorkspaceInput>;
export type BackupFleetInput = z.input<typeof BackupFleetInput>;
export type CheckpointWorkspaceInput = z.input<typeof CheckpointWorkspaceInput>;
export type ReleaseCheckpointInput = z.input<typeof ReleaseCheckpointInput>;
export type AuditBackupsInput = z.input<typeof AuditBackupsInput>;
export type InventoryWorkspacesInput = z.input<typeof InventoryWorkspacesInput>;
export type PruneOrphansInput = z.input<typeof PruneOrphansInput>;
export type ReportBackupsInput = z.input<typeof ReportBackupsInput>;
export type CheckWorkspacesInput = z.input<typeof CheckWorkspacesInput>;
export type SnapshotGroupInput = z.input<typeof SnapshotGroupInput>;
export type RestoreGroupInput = z.input<typeof RestoreGroupInput>;
export type CheckpointGroupInput = z.input<typeof CheckpointGroupInput>;
export type BackupGroupInput = z.input<typeof BackupGroupInput>;
