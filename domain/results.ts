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
  /** The size_bytes of everything deleted (in a dry run: that would be), all of it, not only the listed; absent in older results. */
  deletedBytes: z.number().int().optional(),
  /**
   * Checkpoint and restore safety snapshots past their retention (domain/expiry.ts): what was deleted (in
   * a dry run: would be), listed up to MAX_LISTED_SNAPSHOTS, and what waits. Absent from runs before retention-2026-12.
   */
  expired: z
    .object({
      count: z.number().int(),
      bytes: z.number().int(),
      snapshots: z.array(RigboxSnapshot),
      waitingCount: z.number().int(),
      nextDueAt: z.string().nullable(),
    })
    .optional(),
  steps: z.array(StepRecord),
});
export type PruneSnapshotsResult = z.infer<typeof PruneSnapshotsResult>;

/** Who skipped a run and why (`window`: its stop could not begin within the window). */
export const BackupSkip = z.object({ kind: z.enum(['window', 'manual']), reason: z.string(), by: z.string(), at: z.string() });

export const BackupWorkspaceResult = z.object({
  /** null when the run was skipped (see `skipped`): nothing was stopped, nothing was taken. */
  snapshot: RigboxSnapshot.nullable(),
  workspaceStatus: z.string(),
  adopted: z.boolean(),
  /** null when no retention policy was given. */
  prune: PruneSnapshotsResult.nullable(),
  /** Present when a person (snooze past the window, skip) or the window skipped this run: it ended skipped, not failed. */
  skipped: BackupSkip.optional(),
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
  /** The first failures, up to 50 (up to 1000 from runs before terminal-2026-12); failedCount and failedByType count them all. */
  failed: z.array(FleetFailure),
  failedCount: z.number().int(),
  /** Failed workspaces by error type (WorkspaceGone, Timeout…); absent when none failed, and from older runs. */
  failedByType: z.record(z.string(), z.number().int()).optional(),
  /** Workspaces whose backup was cancelled with the fleet (absent when none was). */
  cancelledCount: z.number().int().optional(),
  /** How many runs (continue-as-new) the fleet took. */
  runs: z.number().int(),
  /** A fleet by selector: the selector, and the workspaces it matched when the fleet started (the first 100; `total` counts them all). */
  selector: z.record(z.string(), z.string()).optional(),
  matched: z.array(z.string()).optional(),
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
  /** A run that ended skipped: who and why (from the run's memo). */
  skipped: z.object({ reason: z.string(), by: z.string() }).optional(),
  /** Who asked for the run: the identity in its memo (absent for a run a schedule started without one). */
  requestedBy: z.string().optional(),
});
export type BackupRun = z.infer<typeof BackupRun>;

const MissingHeldSnapshot = z.object({
  snapshotId: z.string(),
  name: z.string().nullable(),
  guardedBy: z.array(
    z.object({ kind: z.enum(['manual', 'checkpoint', 'safety', 'baseline']), reason: z.string(), by: z.string(), since: z.string().nullable() }),
  ),
  /** When an audit last found it in Rigbox; null if none did. */
  lastSeen: z.string().nullable(),
  heldSince: z.string().nullable(),
});

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
  /** Held or baseline snapshots gone from Rigbox that rigsnap did not delete (verdict tampered). */
  missingHeld: z.array(MissingHeldSnapshot).optional(),
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
    /** Absent in results from before the pending verdict. */
    pending: z.number().int().optional(),
    /** Absent in results from before tamper detection. */
    tampered: z.number().int().optional(),
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
  /** Snapshots of workspaces that no longer exist (Rigbox answers 404): never restorable. Absent when not checked. */
  orphans: z.object({ workspaceIds: z.array(z.string()), count: z.number().int(), bytes: z.number().int() }).optional(),
  /** The workspaces whose holds and baseline were checked against Rigbox (absent when not checked). */
  heldChecked: z.array(z.string()).optional(),
  /** Whether a notification listing the offenders was sent. */
  notified: z.boolean(),
});
export type AuditBackupsResult = z.infer<typeof AuditBackupsResult>;

// ---- knowing every workspace (domain/inventory.ts) ----

const KindTotals = z.object({ count: z.number().int(), bytes: z.number().int() });
const UsageByKind = z.object({ backup: KindTotals, checkpoint: KindTotals, held: KindTotals, safety: KindTotals, manual: KindTotals });

/** Backup runs of a workspace that closed within the period. */
const RunsInPeriod = z.object({
  completed: z.number().int(),
  /** Failed or timed out. */
  failed: z.number().int(),
  /** Ended without a backup and without failing: cancelled or terminated. */
  skipped: z.number().int(),
});

const ExpiringTotals = z.object({
  count: z.number().int(),
  bytes: z.number().int(),
  firstDueAt: z.string().nullable(),
  lastDueAt: z.string().nullable(),
  dueNowCount: z.number().int(),
  dueNowBytes: z.number().int(),
});
const ExpiringByKind = z.object({ checkpoint: ExpiringTotals, safety: ExpiringTotals });

export const InventoriedWorkspace = z.object({
  workspaceId: z.string(),
  /** What GET /workspaces/{id} said: false on a 404 (its snapshots are orphans); null when not asked. */
  exists: z.boolean().nullable(),
  /** The rigsnap backup and fleet schedules that back it up (empty: not protected). */
  schedules: z.array(z.string()),
  paused: z.boolean(),
  namePrefixes: z.array(z.string()),
  /** When its earliest schedule was created; null without one. */
  firstScheduledAt: z.string().nullable(),
  snapshotCount: z.number().int(),
  snapshotBytes: z.number().int(),
  byKind: UsageByKind,
  /** Checkpoint and safety snapshots that will expire (domain/expiry.ts), by kind; absent in inventories from before retention-2026-12. */
  expiring: ExpiringByKind.optional(),
  newestSnapshot: RigboxSnapshot.nullable(),
  newestBackup: RigboxSnapshot.nullable(),
  lastRun: BackupRun.nullable(),
  runs: RunsInPeriod,
  /** Storage in 30 days: retention slots × the recent size trend (domain/inventory.ts forecastStorage). */
  forecast: z.object({
    bytesNow: z.number().int(),
    bytesAtHorizon: z.number().int(),
    backupSlots: z.number().int(),
    trendBytesPerDay: z.number(),
    cadenceHours: z.number(),
  }),
});
export type InventoriedWorkspace = z.infer<typeof InventoriedWorkspace>;

export const InventoryWorkspacesResult = z.object({
  takenAt: z.string(),
  /** Backup runs counted in `runs` closed after this. */
  since: z.string(),
  existenceChecked: z.boolean(),
  /** Every workspace Rigbox reveals (by its snapshots), every scheduled one and those asked for, by id. */
  workspaces: z.array(InventoriedWorkspace),
  /** Snapshots of workspaces that no longer exist (404): at most MAX_LISTED_SNAPSHOTS, oldest first. */
  orphans: z.object({ workspaceIds: z.array(z.string()), count: z.number().int(), bytes: z.number().int(), snapshots: z.array(RigboxSnapshot) }),
  /** Sums over every snapshot in Rigbox: `bytes` equals the sum of their size_bytes. */
  totals: z.object({
    count: z.number().int(),
    bytes: z.number().int(),
    byKind: UsageByKind,
    expiring: ExpiringByKind.optional(),
    forecastBytes: z.number().int(),
  }),
});
export type InventoryWorkspacesResult = z.infer<typeof InventoryWorkspacesResult>;

export const PruneOrphansResult = z.object({
  dryRun: z.boolean(),
  olderThan: z.string(),
  /** The orphans selected (deleted, or in a dry run to be deleted), oldest first; at most MAX_LISTED_SNAPSHOTS. */
  selected: z.array(RigboxSnapshot),
  selectedCount: z.number().int(),
  selectedBytes: z.number().int(),
  deletedCount: z.number().int(),
  /** Orphans younger than olderThan, left alone. */
  tooRecent: z.number().int(),
  /** Orphans under a hold, left alone (none until holds exist). */
  held: z.number().int(),
  /** Snapshots whose workspace exists again, or that Rigbox refused to delete: by id, with why. */
  failed: z.array(z.object({ snapshotId: z.string(), message: z.string() })),
});
export type PruneOrphansResult = z.infer<typeof PruneOrphansResult>;

const ReportRow = z.object({
  workspaceId: z.string(),
  protected: z.boolean(),
  status: z.enum(['missing', 'stale', 'failed', 'pending', 'ok', 'unprotected']),
  schedules: z.array(z.string()),
  lastBackupAt: z.string().nullable(),
  lastBackupName: z.string().nullable(),
  ageSeconds: z.number().nullable(),
  withinRpo: z.boolean(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  holds: z.number().int(),
});

/** The compliance report (domain/inventory-views.ts backupReport builds it). */
export const ReportBackupsResult = z.object({
  generatedAt: z.string(),
  since: z.string(),
  rpo: z.string(),
  rpoSeconds: z.number(),
  ok: z.boolean(),
  workspaces: z.array(ReportRow),
  totals: z.object({
    workspaces: z.number().int(),
    protected: z.number().int(),
    unprotected: z.number().int(),
    withinRpo: z.number().int(),
    missesRpo: z.number().int(),
    pending: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
    holds: z.number().int(),
  }),
  /** Whether the report was posted to RIGSNAP_NOTIFY_URL. */
  notified: z.boolean(),
});
export type ReportBackupsResult = z.infer<typeof ReportBackupsResult>;

/** Whether workspaces exist, and for those that do not the nearest ids rigsnap knows (a typo's fix). */
export const CheckWorkspacesResult = z.object({
  workspaces: z.array(z.object({ workspaceId: z.string(), exists: z.boolean(), suggestions: z.array(z.string()) })),
  /** How many workspace ids the suggestions were drawn from (Rigbox's snapshots and rigsnap's schedules). */
  knownCount: z.number().int(),
});
export type CheckWorkspacesResult = z.infer<typeof CheckWorkspacesResult>;

/** One member of a group snapshot: what became of it, and the status it was left in. */
export const GroupSnapshotMember = z.object({
  workspaceId: z.string(),
  outcome: z.enum(['snapshotted', 'failed', 'not-snapshotted']),
  snapshotId: z.string().nullable(),
  errorType: z.string().optional(),
  message: z.string().optional(),
  /** "running", "stopped" (left stopped by its restart policy, or abandoned), or "gone" (deleted in Rigbox meanwhile). */
  workspaceStatus: z.string(),
});
export type GroupSnapshotMember = z.infer<typeof GroupSnapshotMember>;

/**
 * A group snapshot's result, and (with `complete: false`) details[0] of its PartialFailure: the set, each
 * member's outcome in member order, and whether the group entity recorded it.
 */
export const SnapshotGroupResult = z.object({
  /** The group by name, or null when the workspaces were listed. */
  group: z.string().nullable(),
  name: z.string(),
  complete: z.boolean(),
  members: z.array(GroupSnapshotMember),
  startOrder: z.array(z.string()),
  /** Whether the group entity recorded the set (`rigsnap group snapshots` lists it); `recordedWhy` says why not. */
  recorded: z.boolean(),
  recordedWhy: z.string().optional(),
  steps: z.array(StepRecord),
});
export type SnapshotGroupResult = z.infer<typeof SnapshotGroupResult>;

/** One member of a group restore (domain/group-restore.ts MemberReport). */
export const GroupRestoreMember = z.object({
  workspaceId: z.string(),
  snapshotId: z.string(),
  /** restored; rolled-back-to-safety (a restore failed or was cancelled, and this one is back on its safety snapshot); unchanged; rollback-failed (needs a hand: the error says what, safetySnapshotId is its disk from before). */
  outcome: z.enum(['restored', 'rolled-back-to-safety', 'unchanged', 'rollback-failed']),
  safetySnapshotId: z.string().nullable(),
  error: z.string().optional(),
});

/** A group restore that restored every member. A restore undone ends RolledBack, a mixed end PartialFailure, each with this shape as details[0]. */
export const RestoreGroupResult = z.object({
  group: z.string().nullable(),
  set: z.string().nullable(),
  /** restored (every member), undone (none: each unchanged or back on its safety snapshot), mixed (not all or nothing). */
  verdict: z.enum(['restored', 'undone', 'mixed']),
  members: z.array(GroupRestoreMember),
  /** The order the members were started in. */
  startOrder: z.array(z.string()),
  steps: z.array(StepRecord),
});
export type RestoreGroupResult = z.infer<typeof RestoreGroupResult>;

/** A group checkpoint session's end: its set (each member's snapshot), how it ended, how often it was rolled back. */
export const CheckpointGroupResult = z.object({
  group: z.string(),
  name: z.string(),
  members: z.array(z.object({ workspaceId: z.string(), snapshotId: z.string() })),
  startOrder: z.array(z.string()),
  endedBy: z.enum(['release', 'ttl']),
  rollbacks: z.number().int(),
  /** Whether a release with deleteSnapshot deleted every member's snapshot of the set. */
  snapshotDeleted: z.boolean(),
});
export type CheckpointGroupResult = z.infer<typeof CheckpointGroupResult>;

/** A group checkpoint's `rollback`: the group restore of its set (every member restored), and the count. */
export const GroupRollbackResult = RestoreGroupResult.omit({ steps: true }).extend({ rollbacks: z.number().int() });
export type GroupRollbackResult = z.infer<typeof GroupRollbackResult>;

/** One set a group schedule's retention kept, or deleted (every member's snapshot). */
export const GroupRetentionSet = z.object({
  name: z.string(),
  at: z.string(),
  complete: z.boolean(),
  snapshotIds: z.array(z.string()),
  /** Kept: why (`last`, `daily`, `hold: …`, …). */
  reasons: z.array(z.string()).optional(),
  /** Deleted: snapshots left in place because they were held meanwhile (the set is retired anyway). */
  survivors: z.array(z.string()).optional(),
});

/**
 * A group schedule's run: the set it took (null when this slot's set was taken by an earlier run of the
 * same slot: `duplicateOf` names that snapshotGroup), and its retention (null without a policy, or when the
 * set was not taken by this run).
 */
export const BackupGroupResult = z.object({
  group: z.string(),
  name: z.string(),
  set: SnapshotGroupResult.omit({ steps: true }).nullable(),
  duplicateOf: z.string().optional(),
  retention: z
    .object({
      kept: z.array(GroupRetentionSet),
      deleted: z.array(GroupRetentionSet),
      /** Sets the record has that are not this schedule's (taken by hand, another prefix) or already retired. */
      ignored: z.number().int(),
    })
    .nullable(),
  steps: z.array(StepRecord),
});
export type BackupGroupResult = z.infer<typeof BackupGroupResult>;

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
  /** Set once an operator abandoned the run (`rigsnap abandon`): who, when, why. */
  abandoned: z.object({ by: z.string(), at: z.string(), reason: z.string() }).optional(),
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
  inventoryWorkspaces: InventoryWorkspacesResult,
  pruneOrphans: PruneOrphansResult,
  reportBackups: ReportBackupsResult,
  checkWorkspaces: CheckWorkspacesResult,
  snapshotGroup: SnapshotGroupResult,
  restoreGroup: RestoreGroupResult,
  checkpointGroup: CheckpointGroupResult,
  backupGroup: BackupGroupResult,
} as const;
