/**
 * The zod-free constants of the results (step names and labels, retention reasons, checkpoint states,
 * audit verdicts, list caps): workflows import them from here, never results.ts, whose schemas they
 * would otherwise construct for every workflow (see ./schemas.ts).
 */

export const STEPS = [
  'resolve-group',
  'record-set',
  'notice',
  'preflight',
  'wait-for-lock',
  'stop',
  'safety-snapshot',
  'snapshot',
  'restore',
  'rollback',
  'start',
  'delete',
  'list',
  'prune',
  'notify',
] as const;
export type Step = (typeof STEPS)[number];

/** What a user reads in the progress line for each step. */
export const STEP_LABELS: Record<Step, string> = {
  'resolve-group': "reading the group's members and start order",
  'record-set': 'recording the set of snapshots in the group',
  notice: 'waiting out the stop notice',
  preflight: 'checking workspace',
  'wait-for-lock': 'waiting for other operations on this workspace',
  stop: 'stopping workspace and waiting for it to stop',
  'safety-snapshot': 'taking safety snapshot of current state',
  snapshot: 'taking snapshot',
  restore: 'restoring snapshot',
  rollback: 'putting members back on their safety snapshots (undoing a group restore)',
  start: 'starting workspace and waiting for it to run',
  delete: 'deleting snapshot',
  list: 'listing snapshots',
  prune: 'applying retention',
  notify: 'sending failure notification',
};

export const RETENTION_REASONS = ['newest', 'last', 'daily', 'weekly', 'monthly', 'within'] as const;
export type RetentionReason = (typeof RETENTION_REASONS)[number];

/**
 * A prune result lists at most this many kept and deleted snapshots (the counts have them all), so a
 * prune of thousands stays far below Temporal's payload limits.
 */
export const MAX_LISTED_SNAPSHOTS = 500;

export const CHECKPOINT_STATES = ['snapshotting', 'active', 'rolling-back', 'released', 'expired'] as const;
export type CheckpointStateName = (typeof CHECKPOINT_STATES)[number];

export const RUN_STATUSES = ['completed', 'failed', 'timed-out', 'terminated', 'cancelled', 'continued-as-new'] as const;

/** Worst first: a held snapshot deleted outside rigsnap outranks every backup verdict. */
export const VERDICTS = ['tampered', 'missing', 'stale', 'failed', 'pending', 'ok'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What each verdict means, for people (CLI, notification, docs). */
export const VERDICT_LABELS: Record<Verdict, string> = {
  tampered: 'a held or baseline snapshot is gone from Rigbox, not deleted by rigsnap',
  missing: 'no backup at all',
  stale: 'newest backup older than the RPO',
  failed: 'last backup run failed (a backup within the RPO exists)',
  pending: 'no backup yet, but its schedule is younger than the RPO (its first run may not have come)',
  ok: 'backed up within the RPO',
};
