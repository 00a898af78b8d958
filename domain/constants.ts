/** Task queue every rigsnap worker polls; other services start workflows here. */
export const DEFAULT_TASK_QUEUE = 'rigbox-snapshots';

/** Default Rigbox API base URL (the worker's RIGBOX_API_URL overrides it). */
export const DEFAULT_RIGBOX_API_URL = 'https://api.rigbox.dev/api';

/**
 * The values of the RigboxOperation search attribute: one per public workflow type plus the internal
 * ones, the old lock and the workspace and group entities (INTERNAL_OPERATIONS: what the UI's saved view hides).
 */
export const OPERATIONS = [
  'snapshot',
  'restore',
  'delete',
  'list',
  'prune',
  'backup',
  'fleet-backup',
  'checkpoint',
  'lock',
  'audit',
  'workspace',
  'inventory',
  'prune-orphans',
  'report',
  'check',
  'group',
  'group-snapshot',
  'group-restore',
  'group-checkpoint',
  'group-backup',
] as const;
export const INTERNAL_OPERATIONS = ['lock', 'workspace', 'group'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Default name prefix of scheduled backups: the docs' cron script names them daily-backup-YYYY-MM-DD. */
export const DEFAULT_BACKUP_PREFIX = 'daily-backup-';

/**
 * Default name prefix of a group schedule's sets: apart from single backups, so that a workspace
 * schedule's prune (prefix daily-backup-) never selects a member's snapshot of a set.
 */
export const DEFAULT_GROUP_BACKUP_PREFIX = 'group-backup-';

/** Prefix of the safety snapshot a restore with keepCurrent takes. Never a retention candidate by default. */
export const SAFETY_SNAPSHOT_PREFIX = 'pre-restore-';

/** How long a checkpoint's snapshot is kept after its session ended, unless the retention says otherwise (domain/expiry.ts). */
export const DEFAULT_EXPIRE_CHECKPOINTS_AFTER = '7d';
/** How long a restore's safety snapshot is kept after it was taken (its automatic hold lasts 24 h of these). */
export const DEFAULT_EXPIRE_SAFETY_AFTER = '14d';
/** The value of either setting that keeps those snapshots for ever (the behaviour before retention-2026-12). */
export const NEVER_EXPIRE = 'never';

/**
 * Memo keys a backup reads when set: the schedule's timezone (for the date in the name) and, for
 * children of a fleet run, the instant whose date names the backup. A run that ended skipped writes
 * `skipped` ({kind, reason, by}), which the audit reads from visibility.
 */
export const MEMO_KEYS = {
  timezone: 'rigsnapTimezone',
  backupTime: 'rigsnapBackupTime',
  requestedBy: 'rigsnapRequestedBy',
  skipped: 'rigsnapSkipped',
} as const;

/**
 * The recovery point objective the backup audit checks by default: a daily backup plus two hours of
 * slack (a late or retried run). The shipped Prometheus rules carry the same figure, in one recording
 * rule (deploy/prometheus/rigsnap-alerts.yml); a test keeps the two equal.
 */
export const DEFAULT_RPO = '26h';

/** Temporal's schedule overlap policies, as `rigsnap schedule` names them (here, without zod: the CLI lists them in its help). */
export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;
