/** Task queue every rigsnap worker polls; other services start workflows here. */
export const DEFAULT_TASK_QUEUE = 'rigbox-snapshots';

/** Default Rigbox API base URL (the worker's RIGBOX_API_URL overrides it). */
export const DEFAULT_RIGBOX_API_URL = 'https://api.rigbox.dev/api';

/**
 * Custom search attributes. Both are Keyword so that `RigboxWorkspaceId="ws_demo"` is an exact match
 * in the Temporal UI. Plain strings here (domain/ imports zod only); workflows and the client wrap
 * them with `defineSearchAttributeKey`.
 */
export const SEARCH_ATTRIBUTES = {
  workspaceId: 'RigboxWorkspaceId',
  operation: 'RigboxOperation',
} as const;

/** The values of the RigboxOperation search attribute: one per public workflow type plus the lock. */
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
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Public workflow type names: the contract other services and `temporal workflow start --type` use. */
export const WORKFLOW_TYPES = {
  snapshot: 'snapshotWorkspace',
  restore: 'restoreWorkspace',
  delete: 'deleteSnapshot',
  list: 'listSnapshots',
  prune: 'pruneSnapshots',
  backup: 'backupWorkspace',
  'fleet-backup': 'backupFleet',
  checkpoint: 'checkpointWorkspace',
  lock: 'workspaceLock',
  audit: 'auditBackups',
} as const satisfies Record<Operation, string>;

/** Name of the query every rigsnap operation answers with its progress. */
export const PROGRESS_QUERY = 'progress';

/** Default name prefix of scheduled backups: the docs' cron script names them daily-backup-YYYY-MM-DD. */
export const DEFAULT_BACKUP_PREFIX = 'daily-backup-';

/** Prefix of the safety snapshot a restore with keepCurrent takes. Never a retention candidate by default. */
export const SAFETY_SNAPSHOT_PREFIX = 'pre-restore-';

/**
 * Memo keys a backup reads when set: the schedule's timezone (for the date in the name) and, for
 * children of a fleet run, the instant whose date names the backup.
 */
export const MEMO_KEYS = { timezone: 'rigsnapTimezone', backupTime: 'rigsnapBackupTime' } as const;

/** Built-in search attribute set on workflows started by a schedule: the scheduled (not actual) time. */
export const SCHEDULED_START_TIME_ATTRIBUTE = 'TemporalScheduledStartTime';

/**
 * The recovery point objective the backup audit checks by default: a daily backup plus two hours of
 * slack (a late or retried run). The shipped Prometheus rules carry the same figure, in one recording
 * rule (deploy/prometheus/rigsnap-alerts.yml); a test keeps the two equal.
 */
export const DEFAULT_RPO = '26h';
