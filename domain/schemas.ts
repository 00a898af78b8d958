/**
 * The zod schemas of the contract (Rigbox ids and shapes, workflow inputs), each built by a memoized
 * factory: a schema is constructed the first time it is asked for, once per module instance.
 *
 * Why factories: the workflow sandbox re-runs every module of the bundle for each workflow it creates
 * (each workflow gets its own module state), and constructing zod schemas is by far the largest part of
 * that (measured: ~11 ms per workflow for all of them, ~3 ms for one). A workflow asks for its own input
 * schema only; the lock asks for none. Node code (client, CLI, activities, schema generation) uses the
 * eager constants of inputs.ts, ids.ts and rigbox.ts, built from these same factories.
 */
import { z } from 'zod';
import { DEFAULT_BACKUP_PREFIX, DEFAULT_GROUP_BACKUP_PREFIX, DEFAULT_RPO, NEVER_EXPIRE } from './constants.js';
import { REQUEST_KEY_PATTERN, SNAPSHOT_ID_PATTERN, SNAPSHOT_NAME_PATTERN, WORKSPACE_ID_PATTERN } from './ids.js';
import { GROUP_NAME_PATTERN, MAX_GROUP_MEMBERS, MAX_KEPT_GROUP_SETS, MIN_GROUP_MEMBERS, refuseStartOrder } from './groups.js';
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, MAX_LABELS } from './enrollment.js';
import { QUIET_HOURS_PATTERN, parseQuietHours } from './notice.js';
import { isValidTimeZone, parseDuration } from './time.js';
import { refuseTargets } from './group-restore.js';
import { MAX_FAIRNESS_KEY_BYTES, MAX_FAIRNESS_WEIGHT, MAX_PRIORITY_KEY, MIN_FAIRNESS_WEIGHT, MIN_PRIORITY_KEY } from './priority.js';

/** A factory that builds its value on first call and returns the same one after. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

// ---- Rigbox ids and shapes ----------------------------------------------------------------------

export const workspaceId = once(() =>
  z
    .string({ error: 'must be a string like "ws_demo"' })
    .regex(WORKSPACE_ID_PATTERN, { error: 'must be "ws_" followed by 1-64 letters, digits, "_" or "-" (e.g. "ws_demo")' }),
);

export const snapshotId = once(() =>
  z
    .string({ error: 'must be a string like "snap_abc123"' })
    .regex(SNAPSHOT_ID_PATTERN, { error: 'must be "snap_" followed by 1-64 letters, digits, "_" or "-" (e.g. "snap_abc123")' }),
);

export const snapshotName = once(() =>
  z
    .string({ error: 'must be a string like "before-migration"' })
    .regex(SNAPSHOT_NAME_PATTERN, { error: 'must be 1-128 characters: letters, digits and . _ : + @ - (starting with a letter or digit)' }),
);

/**
 * Rigbox API shapes as the docs give them. Tolerant to extra fields (they are dropped, so history holds
 * only what rigsnap uses), strict on the fields rigsnap relies on.
 */
export const rigboxSnapshot = once(() =>
  z.object({
    id: snapshotId(),
    workspace_id: workspaceId(),
    name: z.string(),
    size_bytes: z.number().int().nonnegative(),
    created_at: z.iso.datetime({ offset: true }),
  }),
);

export const rigboxWorkspace = once(() =>
  z.object({
    id: workspaceId(),
    status: z.string().min(1),
    name: z.string().optional(),
  }),
);

// ---- workflow inputs ----------------------------------------------------------------------------
// The public contract. Objects are strict, so a misspelt field (`keepcurrent`) is refused by name
// instead of silently ignored. Fields are only ever added, and only as optional, so old histories
// replay against new code.

export const restartPolicy = once(() => z.enum(['previous', 'always', 'never'], { error: 'must be "previous", "always" or "never"' }));

export const snapshotWorkspaceInput = once(() =>
  z.strictObject({
    workspaceId: workspaceId(),
    name: snapshotName(),
    restart: restartPolicy().default('previous'),
    /** A `stop.notice` this long before the stop (snooze and skip as for a backup); absent or "0s": none. */
    notice: notice().optional(),
  }),
);

export const restoreWorkspaceInput = once(() =>
  z.strictObject({
    workspaceId: workspaceId(),
    snapshotId: snapshotId(),
    keepCurrent: z.boolean({ error: 'must be true or false' }).default(false),
    restart: restartPolicy().default('previous'),
  }),
);

export const deleteSnapshotInput = once(() =>
  z
    .strictObject({
      workspaceId: workspaceId(),
      snapshotId: snapshotId(),
      /** Delete even if held; the override is recorded with `reason`. */
      force: z.boolean({ error: 'must be true or false' }).optional(),
      reason: z.string().trim().min(1, { error: 'must say why' }).max(500, { error: 'must be at most 500 characters' }).optional(),
    })
    .refine((v) => !v.force || !!v.reason, { error: 'a forced delete needs a reason', path: ['reason'] }),
);

export const listSnapshotsInput = once(() => z.strictObject({ workspaceId: workspaceId().optional() }));

const count = (what: string) =>
  z
    .number({ error: `must be a whole number of ${what} from 1 to 10000` })
    .int({ error: `must be a whole number of ${what} from 1 to 10000` })
    .min(1, { error: `must be a whole number of ${what} from 1 to 10000` })
    .max(10_000, { error: `must be a whole number of ${what} from 1 to 10000` });

const MAX_EXPIRY_MS = 3650 * 86_400_000;
/** How long a checkpoint or safety snapshot outlives its end (domain/expiry.ts): a duration, or "never". */
const expiryAge = () =>
  z.string({ error: 'must be a duration such as "7d" or "12h", or "never"' }).refine(
    (t) => {
      if (t === NEVER_EXPIRE) return true;
      const ms = parseDuration(t);
      return ms !== undefined && ms <= MAX_EXPIRY_MS;
    },
    { error: 'must be a duration from "0s" to "3650d" such as "7d" or "12h", or "never"' },
  );

export const retentionPolicy = once(() =>
  z
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
      timezone: z.string().refine(isValidTimeZone, { error: 'must be an IANA timezone such as "UTC" or "Europe/Berlin"' }).optional(),
      /** Checkpoint snapshots expire this long after their session ended (domain/expiry.ts; default 7d). */
      expireCheckpointsAfter: expiryAge().optional(),
      /** Restore safety snapshots expire this long after they were taken (default 14d). */
      expireSafetyAfter: expiryAge().optional(),
    })
    .refine(
      (p) =>
        p.keepLast !== undefined || p.keepDaily !== undefined || p.keepWeekly !== undefined || p.keepMonthly !== undefined || p.keepWithinDays !== undefined,
      {
        error: 'must set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepWithinDays (an empty policy would keep only the newest)',
      },
    ),
);

/** Name prefixes select retention candidates; an empty prefix would make every snapshot one, so it is refused. */
export const namePrefix = once(() =>
  z.string({ error: 'must be a non-empty string such as "daily-backup-"' }).regex(/^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,99}$/, {
    error: 'must be 1-100 characters: letters, digits and . _ : + @ - (an empty prefix is refused)',
  }),
);

export const pruneSnapshotsInput = once(() =>
  z.strictObject({
    workspaceId: workspaceId(),
    namePrefix: namePrefix(),
    retention: retentionPolicy(),
    dryRun: z.boolean({ error: 'must be true or false' }).default(false),
  }),
);

// ---- a stop announced in advance (domain/notice.ts): all optional, absent = today's behaviour ----

const durationIn = (minMs: number, maxMs: number, range: string) =>
  z.string({ error: `must be a duration such as "10m" (units s, m, h) ${range}` }).refine(
    (t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= minMs && ms <= maxMs;
    },
    { error: `must be a duration such as "10m" or "1h30m" (units s, m, h) ${range}` },
  );

/** How long before the stop a `stop.notice` is sent; "0s" (the default) sends none. */
export const notice = once(() => durationIn(0, 24 * 3_600_000, 'from "0s" to "24h"'));
/** How long after its scheduled time a backup may still begin its stop. */
export const stopWindow = once(() => durationIn(60_000, 30 * 86_400_000, 'from "1m" to "30d"'));
/** Cap on the total of a run's snoozes (default 4h). */
export const maxSnooze = once(() => durationIn(0, 7 * 86_400_000, 'from "0s" to "7d"'));
/** No stop begins inside these, in the schedule's timezone: "22:00-06:00" (may cross midnight). */
export const quietHours = once(() =>
  z
    .array(
      z.string({ error: 'must be a range such as "22:00-06:00"' }).refine((t) => QUIET_HOURS_PATTERN.test(t) && parseQuietHours(t) !== undefined, {
        error: 'must be a range of 24-hour times such as "22:00-06:00" (HH:MM-HH:MM, start and end differ)',
      }),
      { error: 'must be a list of ranges such as ["22:00-06:00"]' },
    )
    .max(12, { error: 'must list at most 12 ranges' }),
);

/** The optional fields of an announced stop, shared by the backup, the fleet and the snapshot. */
const announcedStop = () => ({
  notice: notice().optional(),
  window: stopWindow().optional(),
  quietHours: quietHours().optional(),
  maxSnooze: maxSnooze().optional(),
});

export const backupWorkspaceInput = once(() =>
  z.strictObject({
    workspaceId: workspaceId(),
    namePrefix: namePrefix().default(DEFAULT_BACKUP_PREFIX),
    retention: retentionPolicy().optional(),
    ...announcedStop(),
  }),
);

export const MAX_FLEET_SIZE = 10_000;

/**
 * A selector of enrolled workspaces by label (domain/enrollment.ts): every `key: value` must match. An
 * object (not `team=ml` text) so that other services pass it as JSON.
 */
export const selector = once(() =>
  z
    .record(
      z.string().regex(LABEL_KEY_PATTERN, { error: 'label keys are 1-63 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit' }),
      z
        .string({ error: 'label values are text' })
        .regex(LABEL_VALUE_PATTERN, { error: 'label values are 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit' }),
      { error: 'must be an object of label key → value, e.g. {"team": "ml"}' },
    )
    .refine((s) => Object.keys(s).length >= 1 && Object.keys(s).length <= MAX_LABELS, { error: `must name 1 to ${MAX_LABELS} labels` }),
);

/**
 * `workspaceIds` or `selector`: added as a loosening (both optional, one required by the refinement), so
 * that every input accepted before (it always had `workspaceIds`, and never `selector`) is still accepted
 * and validates to the same output: no input revision is needed.
 */
export const backupFleetInput = once(() =>
  z
    .strictObject({
      workspaceIds: z
        .array(workspaceId(), { error: 'must be an array of workspace ids' })
        .min(1, { error: 'must list at least one workspace' })
        .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` })
        .refine((ids) => new Set(ids).size === ids.length, { error: 'must not list a workspace twice' })
        .optional(),
      /** Enrolled workspaces by label, resolved when the fleet starts (then a workspace enrolled since is in). */
      selector: selector().optional(),
      concurrency: z
        .number({ error: 'must be a whole number from 1 to 200' })
        .int({ error: 'must be a whole number from 1 to 200' })
        .min(1, { error: 'must be a whole number from 1 to 200' })
        .max(200, { error: 'must be a whole number from 1 to 200' })
        .default(10),
      namePrefix: namePrefix().default(DEFAULT_BACKUP_PREFIX),
      retention: retentionPolicy().optional(),
      ...announcedStop(),
    })
    .refine((i) => (i.workspaceIds === undefined) !== (i.selector === undefined), {
      error: 'must give either workspaceIds or a selector (not both)',
      path: ['workspaceIds'],
    }),
);

export const groupName = once(() =>
  z
    .string({ error: 'must be a string like "shop"' })
    .regex(GROUP_NAME_PATTERN, { error: 'must be 1-63 lowercase letters, digits and inner dashes (like "shop" or "demo-stack")' }),
);

/**
 * A group snapshot (docs/design-groups.md, item 2): a group by name (its entity gives the members and the
 * start order) or the workspaces themselves (started again in the order given).
 */
export const snapshotGroupInput = once(() =>
  z
    .strictObject({
      group: groupName().optional(),
      workspaceIds: z
        .array(workspaceId(), { error: 'must be an array of workspace ids' })
        .min(MIN_GROUP_MEMBERS, { error: `must list at least ${MIN_GROUP_MEMBERS} workspaces` })
        .max(MAX_GROUP_MEMBERS, { error: `must list at most ${MAX_GROUP_MEMBERS} workspaces` })
        .refine((ids) => new Set(ids).size === ids.length, { error: 'must not list a workspace twice' })
        .optional(),
      name: snapshotName(),
      restart: restartPolicy().default('previous'),
    })
    .refine((i) => (i.group === undefined) !== (i.workspaceIds === undefined), {
      error: 'must give either group or workspaceIds (not both)',
      path: ['group'],
    }),
);

/**
 * A group schedule's run (issue 23, item 4): one set of the group named `<namePrefix><YYYY-MM-DD-HHMM>`
 * (the schedule's nominal time), then the retention of its sets (domain/group-retention.ts). Only the
 * keep-* rules: the expiry of checkpoint and safety snapshots is a single workspace's prune's.
 */
export const backupGroupInput = once(() =>
  z.strictObject({
    group: groupName(),
    namePrefix: namePrefix().default(DEFAULT_GROUP_BACKUP_PREFIX),
    retention: retentionPolicy()
      .refine((r) => r.expireCheckpointsAfter === undefined && r.expireSafetyAfter === undefined, {
        error: 'a group schedule keeps sets: expireCheckpointsAfter and expireSafetyAfter belong to a workspace schedule',
      })
      // The group entity records its newest MAX_RECORDED_SETS sets (retired ones included): what it keeps must fit.
      .refine((r) => (r.keepLast ?? 0) + (r.keepDaily ?? 0) + (r.keepWeekly ?? 0) + (r.keepMonthly ?? 0) <= MAX_KEPT_GROUP_SETS, {
        error: `a group schedule keeps at most ${MAX_KEPT_GROUP_SETS} sets (keepLast + keepDaily + keepWeekly + keepMonthly)`,
      })
      .optional(),
  }),
);

const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 30 * 86_400_000;

export const ttl = once(() =>
  z.string({ error: 'must be a duration such as "30m", "2h" or "7d"' }).refine(
    (t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= MIN_TTL_MS && ms <= MAX_TTL_MS;
    },
    { error: 'must be a duration from "1s" to "30d", such as "30m", "2h" or "7d"' },
  ),
);

export const checkpointWorkspaceInput = once(() =>
  z.strictObject({
    workspaceId: workspaceId(),
    name: snapshotName(),
    ttl: ttl().default('24h'),
  }),
);

/** A group checkpoint: a set of the group now (snapshotGroup), then `rollback` (the group restore of that set) and `release`. */
export const checkpointGroupInput = once(() =>
  z.strictObject({
    group: groupName(),
    name: snapshotName(),
    ttl: ttl().default('24h'),
  }),
);

// ---- group restore (domain/group-restore.ts) ----

/**
 * A group restore: the set `set` recorded for `group` (an incomplete one only with `allowIncomplete`), or
 * explicit `targets` (each workspace once, each with a snapshot of its own) started in `startOrder`.
 */
export const restoreGroupInput = once(() =>
  z
    .strictObject({
      group: groupName().optional(),
      set: snapshotName().optional(),
      allowIncomplete: z.boolean({ error: 'must be true or false' }).default(false),
      targets: z
        .array(z.strictObject({ workspaceId: workspaceId(), snapshotId: snapshotId() }), { error: 'must be an array of {workspaceId, snapshotId}' })
        .min(1, { error: 'must list at least one workspace' })
        .max(MAX_GROUP_MEMBERS, { error: `must list at most ${MAX_GROUP_MEMBERS} workspaces` })
        .optional(),
      startOrder: z.array(workspaceId(), { error: 'must be an array of workspace ids' }).optional(),
    })
    .superRefine((v, ctx) => {
      const issue = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
      if (v.targets && (v.group !== undefined || v.set !== undefined)) return issue('give either targets or a group and a set, not both', 'targets');
      if (!v.targets && (v.group === undefined || v.set === undefined))
        return issue('give a group and a set, or targets', v.group === undefined ? 'group' : 'set');
      if (v.startOrder && !v.targets) return issue("a group restore starts its members in the group's start order; startOrder goes with targets", 'startOrder');
      const why = v.targets ? refuseTargets(v.targets) : null;
      if (why) return issue(why, 'targets');
      const order =
        v.targets && v.startOrder
          ? refuseStartOrder(
              v.targets.map((t) => t.workspaceId),
              v.startOrder,
            )
          : null;
      if (order) issue(order, 'startOrder');
    }),
);

export const releaseCheckpointInput = once(() =>
  z.strictObject({ deleteSnapshot: z.boolean({ error: 'must be true or false' }).default(false) }).default({ deleteSnapshot: false }),
);

// ---- the backup audit (domain/audit.ts evaluates it) ----

const MIN_RPO_MS = 60_000;
const MAX_RPO_MS = 366 * 86_400_000;

export const rpo = once(() =>
  z.string({ error: 'must be a duration such as "26h" or "7d"' }).refine(
    (t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= MIN_RPO_MS && ms <= MAX_RPO_MS;
    },
    { error: 'must be a duration from "1m" to "366d", such as "26h" or "7d"' },
  ),
);

export const auditBackupsInput = once(() =>
  z.strictObject({
    /** A protected workspace whose newest backup is older than this misses its recovery point objective. */
    rpo: rpo().default(DEFAULT_RPO),
    /** Counts only snapshots named so as backups; default: each schedule's own prefix (daily-backup- for the ids below). */
    namePrefix: namePrefix().optional(),
    /** Workspaces to audit besides those of the backup and fleet schedules (Rigbox has no list of workspaces). */
    workspaceIds: z
      .array(workspaceId(), { error: 'must be an array of workspace ids' })
      .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` })
      .default([]),
    /** Send one notification (RIGSNAP_NOTIFY_URL) listing the offenders; nothing when all is well. */
    notify: z.boolean({ error: 'must be true or false' }).default(false),
  }),
);

// ---- knowing every workspace (domain/inventory.ts) ----

const MAX_AGE_MS = 3660 * 86_400_000;

/** How far back a report looks, or how old an orphan must be: "24h", "30d" (0 allowed for orphans: any age). */
export const age = once(() =>
  z.string({ error: 'must be a duration such as "24h" or "30d"' }).refine(
    (t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= 0 && ms <= MAX_AGE_MS;
    },
    { error: 'must be a duration from "0s" to "3660d", such as "24h" or "30d"' },
  ),
);

export const inventoryWorkspacesInput = once(() =>
  z.strictObject({
    /** Ask Rigbox (GET /workspaces/{id}) whether each workspace still exists: finds orphans; one call per workspace. */
    checkExistence: z.boolean({ error: 'must be true or false' }).default(true),
    /** Count the backup runs that closed within this period (the report's failures and skips). */
    since: age().default('24h'),
    /** Workspaces to include besides those Rigbox reveals and the schedules name. */
    workspaceIds: z
      .array(workspaceId(), { error: 'must be an array of workspace ids' })
      .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` })
      .default([]),
  }),
);

export const reportBackupsInput = once(() =>
  z.strictObject({
    /** The period whose backup runs are counted. */
    since: age().default('24h'),
    rpo: rpo().default(DEFAULT_RPO),
    /** Post the report to RIGSNAP_NOTIFY_URL (what the report's schedule does). */
    notify: z.boolean({ error: 'must be true or false' }).default(false),
  }),
);

export const checkWorkspacesInput = once(() =>
  z.strictObject({
    workspaceIds: z
      .array(workspaceId(), { error: 'must be an array of workspace ids' })
      .min(1, { error: 'must list at least one workspace' })
      .max(MAX_FLEET_SIZE, { error: `must list at most ${MAX_FLEET_SIZE} workspaces` }),
  }),
);

export const pruneOrphansInput = once(() =>
  z.strictObject({
    /** Only orphans at least this old are deleted. */
    olderThan: age().default('30d'),
    dryRun: z.boolean({ error: 'must be true or false' }).default(false),
    /** Only these snapshots (those a dry run showed), each still checked to be an orphan. */
    snapshotIds: z.array(snapshotId(), { error: 'must be an array of snapshot ids' }).max(100_000, { error: 'must list at most 100000 snapshots' }).optional(),
  }),
);

/** Optional caller-chosen key that makes a start idempotent across retries of the caller. */
/** A caller's priority overrides (domain/priority.ts): a priority key, a fairness key (`team`) and its weight. */
export const priorityOverrides = once(() =>
  z.strictObject({
    priority: z
      .number({ error: `must be a whole number from ${MIN_PRIORITY_KEY} (first) to ${MAX_PRIORITY_KEY} (last)` })
      .int({ error: `must be a whole number from ${MIN_PRIORITY_KEY} (first) to ${MAX_PRIORITY_KEY} (last)` })
      .min(MIN_PRIORITY_KEY, { error: `must be a whole number from ${MIN_PRIORITY_KEY} (first) to ${MAX_PRIORITY_KEY} (last)` })
      .max(MAX_PRIORITY_KEY, { error: `must be a whole number from ${MIN_PRIORITY_KEY} (first) to ${MAX_PRIORITY_KEY} (last)` })
      .optional(),
    team: z
      .string({ error: 'must be a fairness key such as "team-data"' })
      .min(1, { error: 'must be a fairness key such as "team-data"' })
      .refine((t) => new TextEncoder().encode(t).length <= MAX_FAIRNESS_KEY_BYTES, { error: `must be at most ${MAX_FAIRNESS_KEY_BYTES} bytes` })
      .optional(),
    weight: z
      .number({ error: `must be a number from ${MIN_FAIRNESS_WEIGHT} to ${MAX_FAIRNESS_WEIGHT}` })
      .min(MIN_FAIRNESS_WEIGHT, { error: `must be a number from ${MIN_FAIRNESS_WEIGHT} to ${MAX_FAIRNESS_WEIGHT}` })
      .max(MAX_FAIRNESS_WEIGHT, { error: `must be a number from ${MIN_FAIRNESS_WEIGHT} to ${MAX_FAIRNESS_WEIGHT}` })
      .optional(),
  }),
);

export const requestKey = once(() => z.string().regex(REQUEST_KEY_PATTERN, { error: 'must be 1-40 letters, digits, "_" or "-"' }));

// ---- parsing ------------------------------------------------------------------------------------

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
