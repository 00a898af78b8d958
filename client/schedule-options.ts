import { z } from 'zod';
import {
  BackupFleetInput,
  BackupGroupInput,
  BackupWorkspaceInput,
  DEFAULT_BACKUP_PREFIX,
  DEFAULT_GROUP_BACKUP_PREFIX,
  NamePrefix,
  PriorityOverrides,
  RetentionPolicy,
  WorkspaceId,
  isValidTimeZone,
  parseDuration,
  scheduleIds,
} from '../domain/index.js';
import { RigsnapError, validateField } from './errors.js';
import type { OVERLAP_POLICIES } from '../domain/constants.js';

/**
 * The settings of rigsnap's backup schedules and how they are named: pure (zod and domain/ only), so
 * the CLI checks them before it loads the Temporal client.
 */

export const BACKUP_PREFIX = scheduleIds.backup('');
export const FLEET_PREFIX = 'rigsnap-fleet-';
export const GROUP_BACKUP_PREFIX = scheduleIds.group('');

// ---- options ------------------------------------------------------------------------------------

const TimeOfDay = z
  .string({ error: 'must be a time of day such as "03:00" (24-hour HH:MM)' })
  .regex(/^([01]?\d|2[0-3]):[0-5]\d$/, { error: 'must be a time of day such as "03:00" (24-hour HH:MM)' });

const Timezone = z
  .string({ error: 'must be an IANA timezone such as "UTC" or "Europe/Berlin"' })
  .refine(isValidTimeZone, { error: 'must be an IANA timezone such as "UTC" or "Europe/Berlin"' });

const durationBetween = (minMs: number, maxMs: number, example: string) =>
  z.string({ error: `must be a duration such as "${example}"` }).refine(
    (t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= minMs && ms <= maxMs;
    },
    { error: `must be a duration such as "${example}" (units ms, s, m, h, d) from ${fmtMs(minMs)} to ${fmtMs(maxMs)}` },
  );

export const Note = z.string({ error: 'must be text' }).max(1000, { error: 'must be at most 1000 characters' });

/**
 * A stop announced in advance (issue 21), carried in the schedule's action input: a notice before the
 * stop (recommended 10m; absent or 0s: none), the window after the scheduled time in which a stop may
 * begin (default: the catch-up window, when a notice or quiet hours are set), quiet hours in the
 * schedule's timezone, and the cap on snoozes. The checks are the workflow input's own.
 */
const announcedStopShape = {
  notice: BackupWorkspaceInput.shape.notice,
  window: BackupWorkspaceInput.shape.window,
  quietHours: BackupWorkspaceInput.shape.quietHours,
  maxSnooze: BackupWorkspaceInput.shape.maxSnooze,
};

/** What every backup schedule shares, for one workspace or a fleet. */
const commonShape = {
  /** Times of day the backup runs, in `timezone`: "03:00" or several. */
  at: z.union([TimeOfDay, z.array(TimeOfDay).min(1, { error: 'must list at least one time' }).max(24)]).default('03:00'),
  timezone: Timezone.default('UTC'),
  /** Snapshot names are `<namePrefix><YYYY-MM-DD>`; retention only ever touches names with this prefix. */
  namePrefix: NamePrefix.default(DEFAULT_BACKUP_PREFIX),
  /** Applied after each successful backup; its timezone defaults to the schedule's. */
  retention: RetentionPolicy.optional(),
  /** A random delay up to this long, so many schedules at 03:00 do not hit Rigbox at once. */
  jitter: durationBetween(0, 12 * 3_600_000, '5m').optional(),
  /** A run missed while the server was down still happens if it is at most this late. */
  catchupWindow: durationBetween(10_000, 30 * 86_400_000, '1h').default('1h'),
  pauseOnFailure: z.boolean({ error: 'must be true or false' }).default(false),
  note: Note.optional(),
  paused: z.boolean({ error: 'must be true or false' }).default(false),
  /**
   * Temporal task-queue priority (domain/priority.ts): the level (default 3 for a workspace's backup, 4
   * for a fleet), the fairness key (`team`, default the schedule id) and its weight (default 1).
   */
  ...PriorityOverrides.shape,
  ...announcedStopShape,
};

export const BackupScheduleOptions = z.strictObject({ workspaceId: WorkspaceId, ...commonShape });
export type BackupScheduleOptions = z.input<typeof BackupScheduleOptions>;

export const FleetName = z
  .string({ error: 'must be a name such as "nightly"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, { error: 'must be 1-40 letters, digits, "_" or "-" (e.g. "nightly")' });

/** A fleet schedule backs up listed workspaces, or the enrolled workspaces its selector matches at each run. */
export const FleetScheduleOptions = z
  .strictObject({
    name: FleetName,
    workspaceIds: BackupFleetInput.shape.workspaceIds,
    selector: BackupFleetInput.shape.selector,
    concurrency: BackupFleetInput.shape.concurrency,
    ...commonShape,
  })
  .refine((o) => (o.workspaceIds === undefined) !== (o.selector === undefined), {
    error: 'must give either workspaces or a selector (not both)',
    path: ['workspaceIds'],
  });
export type FleetScheduleOptions = z.input<typeof FleetScheduleOptions>;

/**
 * A group schedule (issue 23, item 4) backs a group up as one set (backupGroup) and keeps sets. It does
 * not announce its stops (the notice options are a single workspace's), and its retention has no expiry
 * of checkpoint or safety snapshots (those are each workspace's prune's): the workflow input's checks.
 */
export const GroupScheduleOptions = z
  .strictObject({
    group: BackupGroupInput.shape.group,
    ...commonShape,
    namePrefix: NamePrefix.default(DEFAULT_GROUP_BACKUP_PREFIX),
    retention: BackupGroupInput.shape.retention,
  })
  .refine((o) => o.notice === undefined && o.window === undefined && o.quietHours === undefined && o.maxSnooze === undefined, {
    error: 'a group schedule does not announce its stops yet: leave out notice, window, quietHours and maxSnooze',
    path: ['notice'],
  });
export type GroupScheduleOptions = z.input<typeof GroupScheduleOptions>;

/** Changes to a schedule: only what is given changes; `null` removes an optional setting. */
export interface ScheduleUpdate {
  at?: string | string[];
  timezone?: string;
  namePrefix?: string;
  retention?: z.input<typeof RetentionPolicy> | null;
  jitter?: string | null;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  note?: string | null;
  paused?: boolean;
  /** Task-queue priority, fairness key and weight; `null` returns to the default. */
  priority?: number | null;
  team?: string | null;
  weight?: number | null;
  /** A stop announced in advance; `null` removes it ("0s" notice: none). */
  notice?: string | null;
  window?: string | null;
  quietHours?: string[] | null;
  maxSnooze?: string | null;
  /** Fleet schedules only: the workspaces, or a selector (setting one removes the other). */
  workspaceIds?: string[];
  selector?: Record<string, string>;
  concurrency?: number;
}

export { OVERLAP_POLICIES } from '../domain/constants.js';
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export interface BackfillOptions {
  start: Date | string;
  end: Date | string;
  /** Default BUFFER_ALL: each missed run happens, one after another. */
  overlap?: OverlapPolicy;
}

// ---- helpers ------------------------------------------------------------------------------------

export function fmtMs(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  if (ms === 0) return '0s';
  for (const [u, n] of units) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

export const pad2 = (n: number) => String(n).padStart(2, '0');

/** A workspace id (ws_…) names its schedule; a schedule id (rigsnap-backup-…, rigsnap-fleet-…, rigsnap-group-backup-…) is taken as is. */
export function resolveScheduleId(target: string): string {
  if (target.startsWith(BACKUP_PREFIX) || target.startsWith(FLEET_PREFIX) || target.startsWith(GROUP_BACKUP_PREFIX)) return target;
  if (target.startsWith('ws_')) return scheduleIds.backup(validateField('workspaceId', WorkspaceId, target));
  throw new RigsnapError({
    type: 'InvalidInput',
    message: `invalid input: schedule: must be a workspace id (ws_…) or a schedule id (${BACKUP_PREFIX}…, ${FLEET_PREFIX}…, ${GROUP_BACKUP_PREFIX}…), got ${JSON.stringify(target)}`,
    fields: ['schedule'],
  });
}

/** The schedule id of a group's backups. */
export function groupScheduleId(group: string): string {
  return scheduleIds.group(validateField('group', BackupGroupInput.shape.group, group));
}

/** The schedule id of a named fleet. */
export function fleetScheduleId(name: string): string {
  return scheduleIds.fleet(validateField('name', FleetName, name));
}
