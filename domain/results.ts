/**
 * Results of the public workflows. Plain JSON (ISO strings, no Dates) because they go into history.
 * Eager zod schemas for Node code (schema generation, client checks); workflows import only the types
 * from here, and the constants from ./labels.ts.
 */
import { z } from 'zod';
import { ERROR_TYPES } from './errors.js';
import { RUN_STATUSES, STEPS, VERDICTS } from './labels.js';
import { RigboxSnapshot } from './rigbox.js';

export * from './labels.js';

export const StepRecord = z.object({
  step: z.enum(STEPS),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type StepRecord = z.infer<typeof StepRecord>;

export const SnapshotWorkspaceResult = z.object({
  snapshot: RigboxSnapshot,
  /** Status the workspace was left in: "running" or "stopped". */
  workspaceStatus: z.string(),
  /** True when a lost response was recovered by adopting the snapshot Rigbox had already made. */
  adopted: z.boolean(),
  steps: z.array(StepRecord),
});
export type SnapshotWorkspaceResult = z.infer<typeof SnapshotWorkspaceResult>;

export const RestoreWorkspaceResult = z.object({
  restored: RigboxSnapshot,
  safetySnapshot: RigboxSnapshot.nullable(),
  workspaceStatus: z.string(),
  steps: z.array(StepRecord),
});
export type RestoreWorkspaceResult = z.infer<typeof RestoreWorkspaceResult>;

export const DeleteSnapshotResult = z.object({
  workspaceId: z.string(),
  snapshotId: z.string(),
  /** The snapshot as it was before deletion. */
  snapshot: RigboxSnapshot,
  /** A forced delete of a held snapshot: the holds it overrode, when, why and by whom. */
  override: z
    .object({ snapshotId: z.string(), at: z.string(), reason: z.string(), by: z.string(), workflowId: z.string(), overridden: z.array(z.any()) })
    .optional(),
  steps: z.array(StepRecord),
});
export type DeleteSnapshotResult = z.infer<typeof DeleteSnapshotResult>;

export const ListSnapshotsResult = z.object({
  workspaceId: z.string().nullable(),
  snapshots: z.array(RigboxSnapshot),
  count: z.number().int(),
  totalSizeBytes: z.number().int(),
});
export type ListSnapshotsResult = z.infer<typeof ListSnapshotsResult>;

export const KeptSnapshot = z.object({
  snapshot: RigboxSnapshot,
  reasons: z.array(z.string()),
});
export type KeptSnapshot = z.infer<typeof KeptSnapshot>;

export const PruneSnapshotsResult = z.object({
  workspaceId: z.string(),
  namePrefix: z.string(),
  dryRun: z.boolean(),
  /** What the policy keeps, newest first; at most MAX_LISTED_SNAPSHOTS entries (keptCount has them all). */
  kept: z.array(KeptSnapshot),
  /** What was deleted (or, in a dry run, would be), newest first; at most MAX_LISTED_SNAPSHOTS entries. */
  deleted: z.array(RigboxSnapshot),
  /** Snapshots of the workspace that were never candidates (other names, safety snapshots). */
  ignored: z.number().int(),
  /** How many are kept and deleted in all; absent in results from before the lists were capped. */
  keptCount: z.number().int().optional(),
  deletedCount: z.number().int().optional(),
  steps: z.array(StepRecord),
});
export type PruneSnapshotsResult = z.infer<typeof PruneSnapshotsResult>;

export const BackupWorkspaceResult = z.object({
  snapshot: RigboxSnapshot,
  workspaceStatus: z.string(),
  adopted: z.boolean(),
  /** null when no retention policy was given. */
  prune: PruneSnapshotsResult.nullable(),
  steps: z.array(StepRecord),
});
export type BackupWorkspaceResult = z.infer<typeof BackupWorkspaceResult>;

export const FleetFailure = z.object({
  workspaceId: z.string(),
  errorType: z.union([z.enum(ERROR_TYPES as [string, ...string[]]), z.string()]),
  message: z.string(),
});
export type FleetFailure = z.infer<typeof FleetFailure>;

export const BackupFleetResult = z.object({
  total: z.number().int(),
  succeeded: z.number().int(),
  /** The failures, up to the first 1000 (failedCount has them all). */
  failed: z.array(FleetFailure),
  failedCount: z.number().int(),
  /** Workspaces whose backup was cancelled with the fleet (absent when none was). */
  cancelledCount: z.number().int().optional(),
  /** How many runs (continue-as-new) the fleet took. */
  runs: z.number().int(),
});
export type BackupFleetResult = z.infer<typeof BackupFleetResult>;

export const CheckpointWorkspaceResult = z.object({
  workspaceId: z.string(),
  snapshot: RigboxSnapshot,
  endedBy: z.enum(['release', 'ttl']),
  rollbacks: z.number().int(),
  snapshotDeleted: z.boolean(),
});
export type CheckpointWorkspaceResult = z.infer<typeof CheckpointWorkspaceResult>;

export const RollbackResult = z.object({
  snapshot: RigboxSnapshot,
  workspaceStatus: z.string(),
  rollbacks: z.number().int(),
});
export type RollbackResult = z.infer<typeof RollbackResult>;

// ---- the backup audit (domain/audit.ts evaluates it) ----

/** How a backup run ended, from Temporal's visibility (lower case of its execution status). */
export const BackupRun = z.object({
  workflowId: z.string(),
  status: z.enum(RUN_STATUSES),
  closedAt: z.string(),
});
export type BackupRun = z.infer<typeof BackupRun>;

const AuditedWorkspace = z.object({
  workspaceId: z.string(),
  verdict: z.enum(VERDICTS),
  schedules: z.array(z.string()),
  paused: z.boolean(),
  namePrefixes: z.array(z.string()),
  newestBackup: RigboxSnapshot.nullable(),
  /** Age of the newest backup at the audit, in seconds; null without one. */
  ageSeconds: z.number().nullable(),
  /** Whether the last backup run failed (failed or timed out); null when no run was seen. */
  lastRunFailed: z.boolean().nullable(),
  lastRun: BackupRun.nullable(),
  snapshotCount: z.number().int(),
  snapshotBytes: z.number().int(),
});
export type AuditedWorkspace = z.infer<typeof AuditedWorkspace>;

export const AuditBackupsResult = z.object({
  auditedAt: z.string(),
  rpo: z.string(),
  rpoSeconds: z.number(),
  /** False when any protected workspace misses the RPO (verdict missing or stale): the CLI exits 1. */
  ok: z.boolean(),
  counts: z.object({
    ok: z.number().int(),
    failed: z.number().int(),
    stale: z.number().int(),
    missing: z.number().int(),
    unprotected: z.number().int(),
  }),
  /** Protected workspaces, worst first. */
  workspaces: z.array(AuditedWorkspace),
  /** Workspaces with snapshots in Rigbox but no schedule, by id. */
  unprotected: z.array(
    z.object({
      workspaceId: z.string(),
      snapshotCount: z.number().int(),
      snapshotBytes: z.number().int(),
      newestSnapshot: RigboxSnapshot.nullable(),
    }),
  ),
  /** Whether a notification listing the offenders was sent. */
  notified: z.boolean(),
});
export type AuditBackupsResult = z.infer<typeof AuditBackupsResult>;

/** What the `progress` query returns, for every operation. */
export const Progress = z.object({
  operation: z.string(),
  workspaceId: z.string().nullable(),
  state: z.enum(['running', 'completed', 'failed', 'cancelled']),
  currentStep: z.enum(STEPS).nullable(),
  steps: z.array(StepRecord),
  /** Free-form state of long-running workflows (checkpoint, fleet). */
  detail: z.record(z.string(), z.unknown()).optional(),
  /** What the user must know while it lasts, e.g. why starting the workspace again keeps failing. */
  alert: z.string().optional(),
});
export type Progress = z.infer<typeof Progress>;

export const RESULT_SCHEMAS = {
  snapshotWorkspace: SnapshotWorkspaceResult,
  restoreWorkspace: RestoreWorkspaceResult,
  deleteSnapshot: DeleteSnapshotResult,
  listSnapshots: ListSnapshotsResult,
  pruneSnapshots: PruneSnapshotsResult,
  backupWorkspace: BackupWorkspaceResult,
  backupFleet: BackupFleetResult,
  checkpointWorkspace: CheckpointWorkspaceResult,
  auditBackups: AuditBackupsResult,
} as const;
