import { z } from 'zod';
import { DEFAULT_BACKUP_PREFIX, DEFAULT_RPO } from './constants.js';
import { REQUEST_KEY_PATTERN, SnapshotId, SnapshotName, WorkspaceId } from './ids.js';
import { isValidTimeZone, parseDuration } from './time.js';

/**
 * Workflow inputs: the public contract. Objects are strict, so a misspelt field (`keepcurrent`) is
 * refused by name instead of silently ignored. Fields are only ever added, and only as optional, so
 * old histories replay against new code.
 */

export const RestartPolicy = z.enum(['previous', 'always', 'never'], {
  error: 'must be "previous", "always" or "never"',
});
export type RestartPolicy = z.infer<typeof RestartPolicy>;

export const SnapshotWorkspaceInput = z.strictObject({
  workspaceId: WorkspaceId,
  name: SnapshotName,
  restart: RestartPolicy.default('previous'),
});

export const RestoreWorkspaceInput = z.strictObject({
  workspaceId: WorkspaceId,
  snapshotId: SnapshotId,
  keepCurrent: z.boolean({ error: 'must be true or false' }).default(false),
  restart: RestartPolicy.default('previous'),
});

export const DeleteSnapshotInput = z.strictObject({
  workspaceId: WorkspaceId,
  snapshotId: SnapshotId,
});

export const ListSnapshotsInput = z.strictObject({
  workspaceId: WorkspaceId.optional(),
});

const count = (what: string) =>
  z
    .number({ error: `must be a whole number of ${what} from 1 to 10000` })
    .int({ error: `must be a whole number of ${what} from 1 to 10000` })
    .min(1, { error: `must be a whole number of ${what} from 1 to 10000` })
    .max(10_000, { error: `must be a whole number of ${what} from 1 to 10000` });

export const RetentionPolicy = z
  .strictObject({
    keepLast: count('snapshots').optional(),
    keepDaily: count('days').optional(),
    keepWeekly: count('weeks').optional(),
    keepMonthly: count('months').optional(),
    keepWithinDays: z
      .number({ error: 'must be a number of days greater than 0' })
      .positive({ error: 'must be a number of days greater than 0' })
      .max(36_500, { error: 'must be at most 36500 days' })
      .optional(),
    timezone: z
      .string()
      .refine(isValidTimeZone, { error: 'must be an IANA timezone such as "UTC" or "Europe/Berlin"' })
      .optional(),
  })
  .refine(
    (p) =>
      p.keepLast !== undefined ||
      p.keepDaily !== undefined ||
      p.keepWeekly !== undefined ||
      p.keepMonthly !== undefined ||
      p.keepWithinDays !== undefined,
    {
      error:
        'must set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepWithinDays (an empty policy would keep only the newest)',
    },
  );
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

/** Name prefixes select retention candidates; an empty prefix would make every snapshot one, so it is refused. */
export const NamePrefix = z
  .string({ error: 'must be a non-empty string such as "daily-backup-"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,99}$/, {
    error: 'must be 1-100 characters: letters, digits and . _ : + @ - (an empty prefix is refused)',
  });

export const PruneSnapshotsInput = z.strictObject({
  workspaceId: WorkspaceId,
  namePrefix: NamePrefix,
  retention: RetentionPolicy,
  dryRun: z.boolean({ error: 'must be true or false' }).default(false),
});

export const BackupWorkspaceInput = z.strictObject({
  workspaceId: WorkspaceId,
  namePrefix: NamePrefix.default(DEFAULT_BACKUP_PREFIX),
  retention: RetentionPolicy.optional(),
});

export const MAX_FLEET_SIZE = 10_000;
export const BackupFleetInput = z.strictObject({
  workspaceIds: z
    .array(WorkspaceId, { error: 'must be an array of workspace ids' })
    .min(1, { error: 'must list at least one workspace' })
    .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` })
    .refine((ids) => new Set(ids).size === ids.length, { error: 'must not list a workspace twice' }),
  concurrency: z
    .number({ error: 'must be a whole number from 1 to 200' })
    .int({ error: 'must be a whole number from 1 to 200' })
    .min(1, { error: 'must be a whole number from 1 to 200' })
    .max(200, { error: 'must be a whole number from 1 to 200' })
    .default(10),
  namePrefix: NamePrefix.default(DEFAULT_BACKUP_PREFIX),
  retention: RetentionPolicy.optional(),
});

const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 30 * 86_400_000;
export const Ttl = z.string({ error: 'must be a duration such as "30m", "2h" or "7d"' }).refine(
  (t) => {
    const ms = parseDuration(t);
    return ms !== undefined && ms >= MIN_TTL_MS && ms <= MAX_TTL_MS;
  },
  { error: 'must be a duration from "1s" to "30d", such as "30m", "2h" or "7d"' },
);

export const CheckpointWorkspaceInput = z.strictObject({
  workspaceId: WorkspaceId,
  name: SnapshotName,
  ttl: Ttl.default('24h'),
});

export const ReleaseCheckpointInput = z
  .strictObject({ deleteSnapshot: z.boolean({ error: 'must be true or false' }).default(false) })
  .default({ deleteSnapshot: false });

// ---- the backup audit (domain/audit.ts evaluates it) ----

const MIN_RPO_MS = 60_000;
const MAX_RPO_MS = 366 * 86_400_000;

export const Rpo = z.string({ error: 'must be a duration such as "26h" or "7d"' }).refine(
  (t) => {
    const ms = parseDuration(t);
    return ms !== undefined && ms >= MIN_RPO_MS && ms <= MAX_RPO_MS;
  },
  { error: 'must be a duration from "1m" to "366d", such as "26h" or "7d"' },
);

export const AuditBackupsInput = z.strictObject({
  /** A protected workspace whose newest backup is older than this misses its recovery point objective. */
  rpo: Rpo.default(DEFAULT_RPO),
  /** Counts only snapshots named so as backups; default: each schedule's own prefix (daily-backup- for the ids below). */
  namePrefix: NamePrefix.optional(),
  /** Workspaces to audit besides those of the backup and fleet schedules (Rigbox has no list of workspaces). */
  workspaceIds: z
    .array(WorkspaceId, { error: 'must be an array of workspace ids' })
    .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` })
    .default([]),
  /** Send one notification (RIGSNAP_NOTIFY_URL) listing the offenders; nothing when all is well. */
  notify: z.boolean({ error: 'must be true or false' }).default(false),
});

/** Optional caller-chosen key that makes a start idempotent across retries of the caller. */
export const RequestKey = z.string().regex(REQUEST_KEY_PATTERN, {
  error: 'must be 1-40 letters, digits, "_" or "-"',
});

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

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; message: string; fields: string[] };

/**
 * safeParse with a message that names every offending field: "workspaceId: must be …; retention: …".
 * Used by workflows (to fail with InvalidInput), by the client (before sending) and by the CLI.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): ParseOutcome<z.output<S>> {
  // reportInput keeps `issue.input` (zod 4 strips it otherwise), so a wrong type ("yes" for a boolean)
  // is told apart from a missing field instead of both reading "is required".
  const r = schema.safeParse(raw === undefined ? {} : raw, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  const fields: string[] = [];
  const parts = r.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.map(String).join('.') : 'input';
    if (issue.code === 'unrecognized_keys') {
      // Name each unknown key by its full path (retention.keepdaily), not the object that holds it.
      const keys = issue.keys.map((k) => (issue.path.length ? `${field}.${k}` : k));
      fields.push(...keys);
      return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''} (check the spelling)`;
    }
    fields.push(field);
    if (issue.code === 'invalid_type' && issue.input === undefined) return `${field}: is required`;
    return `${field}: ${issue.message}`;
  });
  return { ok: false, message: parts.join('; '), fields };
}
