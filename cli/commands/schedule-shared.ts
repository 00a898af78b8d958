import type { Command } from 'commander';
import { formatSelector } from '../../domain/enrollment.js';
import type { RetentionPolicy as RetentionPolicyView } from '../../domain/index.js';
import type { ScheduleUpdate } from '../../client/schedule-options.js';
import type { ScheduleInfo } from '../../client/views.js';
import { table, type Io } from '../io.js';
import {
  addPriorityOptions,
  addRetentionOptions,
  listArg,
  priorityFrom,
  retentionFrom,
  type CommonOptions,
  type PriorityCliOptions,
  type RetentionOptions,
} from '../options.js';
import { fmtTime } from '../run-deps.js';
import { BACKUP_NAME_SUFFIX } from '../../domain/backup-names.js';

/** What the workspace and fleet schedule commands share: their options, and how a schedule reads. */

export const SCHEDULE_ARG = '<schedule>';
export const SCHEDULE_ARG_HELP = 'a workspace id (ws_demo) or a schedule id (rigsnap-backup-ws_demo, rigsnap-fleet-nightly, rigsnap-group-backup-shop)';

function describeRetention(r: RetentionPolicyView | null | undefined): string {
  if (!r) return 'none';
  const parts: string[] = [];
  if (r.keepLast !== undefined) parts.push(`last ${r.keepLast}`);
  if (r.keepDaily !== undefined) parts.push(`${r.keepDaily} daily`);
  if (r.keepWeekly !== undefined) parts.push(`${r.keepWeekly} weekly`);
  if (r.keepMonthly !== undefined) parts.push(`${r.keepMonthly} monthly`);
  if (r.keepWithinDays !== undefined) parts.push(`all within ${r.keepWithinDays} days`);
  const expire = [
    r.expireCheckpointsAfter !== undefined ? `checkpoints ${r.expireCheckpointsAfter} after they ended` : '',
    r.expireSafetyAfter !== undefined ? `safety snapshots ${r.expireSafetyAfter} after the restore` : '',
  ].filter(Boolean);
  return `keep ${parts.join(', ')}${r.timezone ? ` (${r.timezone})` : ''}${expire.length ? `; expire ${expire.join(', ')}` : ''}`;
}

function runsLine(s: ScheduleInfo): string {
  if (s.kind === 'group') return `backupGroup of group ${s.group}: one set of every member (snapshotGroup), then retention of its sets`;
  if (s.kind === 'fleet')
    return `backupFleet of ${s.selector ? `the enrolled workspaces matching ${formatSelector(s.selector)} (resolved at each run)` : `${s.workspaceIds?.length ?? 0} workspaces`} (concurrency ${s.concurrency ?? '-'})`;
  return `backupWorkspace of ${s.workspaceId}`;
}

export function scheduleLines(io: Io, s: ScheduleInfo): string[] {
  // Times in the schedule's own timezone: a 03:00 Europe/Berlin backup reads 03:00, not 02:00Z.
  const inZone = (t: string) => fmtTime(t, s.timezone, { zone: false });
  const lines = [
    `${io.c.bold(s.scheduleId)}${s.paused ? io.c.yellow(' (paused)') : ''}`,
    `  runs        ${runsLine(s)}`,
    `  when        every day at ${s.at.join(', ')} ${s.timezone}${s.jitter ? ` (jitter up to ${s.jitter})` : ''}`,
    `  names       ${s.namePrefix}${BACKUP_NAME_SUFFIX} (the scheduled time in ${s.timezone})`,
    `  retention   ${describeRetention(s.retention)}${s.kind === 'group' && s.retention ? ' sets of the group (complete ones; a set with a held snapshot stays whole)' : ''}`,
    `  policies    overlap ${s.overlap}, catch-up window ${s.catchupWindow}${s.pauseOnFailure ? ', pause on failure' : ''}`,
    `  priority    ${s.priority.priorityKey} (1 first … 5 last), fairness key ${s.priority.fairnessKey ?? '-'} weight ${s.priority.fairnessWeight}`,
  ];
  lines.push(`  notice      ${describeStopNotice(s.stopNotice)}`);
  if (s.note) lines.push(`  note        ${s.note}`);
  lines.push(`  next runs   ${s.nextRuns.length ? `${s.nextRuns.slice(0, 3).map(inZone).join(', ')} (${s.timezone})` : '-'}`);
  lines.push(`  actions     ${s.actionsTaken} taken, ${s.skippedOverlap} skipped (overlap), ${s.missedCatchupWindow} missed (catch-up window)`);
  lines.push(`  link        ${io.c.dim(s.url)}`);
  if (s.recentRuns.length) {
    lines.push(
      '',
      ...table(
        [`SCHEDULED (${s.timezone})`, 'STATUS', 'WORKFLOW'],
        s.recentRuns.map((r) => [inZone(r.scheduledAt), r.status ?? '-', r.workflowId]),
        io.c,
      ),
    );
  }
  return lines;
}

/** "10m before each stop; stops begin within 1h of the scheduled time, not in quiet hours 22:00-06:00; snoozes up to 4h". */
export function describeStopNotice(n: ScheduleInfo['stopNotice']): string {
  if (!n) return 'none (stops begin at once; --notice 10m announces them)';
  const parts = [n.notice ? `${n.notice} before each stop (snooze up to ${n.maxSnooze}, or skip)` : 'no notice'];
  if (n.window) parts.push(`stops begin within ${n.window} of the scheduled time`);
  if (n.quietHours.length) parts.push(`never in quiet hours ${n.quietHours.join(', ')}`);
  return parts.join('; ');
}

export interface ScheduleCliOptions extends CommonOptions, RetentionOptions, PriorityCliOptions {
  at?: string[];
  prefix?: string;
  jitter?: string;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  note?: string;
  paused?: boolean;
  concurrency?: number | string;
  retention?: boolean;
  notice?: string;
  window?: string;
  quietHours?: string[] | false;
  maxSnooze?: string;
}

const collect = (v: string, prev: string[] | false | undefined): string[] => [...(Array.isArray(prev) ? prev : []), ...listArg(v)];

export function addScheduleOptions(cmd: Command, forUpdate: boolean): Command {
  cmd
    .option('--at <HH:MM>', `time(s) of day to back up, comma-separated${forUpdate ? '' : ' (default 03:00)'}`, listArg)
    .option('--timezone <tz>', `IANA timezone of --at, of the date and time in backup names and of the retention buckets${forUpdate ? '' : ' (default UTC)'}`)
    .option('--prefix <prefix>', `name prefix of the backups${forUpdate ? '' : ' (default daily-backup-)'}`);
  addRetentionOptions(cmd, null);
  cmd
    .option('--jitter <duration>', 'random delay up to this long (e.g. 5m), so many schedules do not fire at once')
    .option('--catchup-window <duration>', `a run missed while Temporal was down still happens if at most this late${forUpdate ? '' : ' (default 1h)'}`)
    .option('--note <text>', 'a note shown with the schedule')
    .option(
      '--notice <duration>',
      `post a stop.notice (RIGSNAP_NOTIFY_URL) this long before each stop, e.g. 10m (recommended); people can snooze or skip${forUpdate ? '; 0s: none' : ' (default 0s: none)'}`,
    )
    .option(
      '--window <duration>',
      'a stop may begin at most this long after the scheduled time, its expected downtime included; else the run is skipped (default: the catch-up window)',
    )
    .option('--quiet-hours <HH:MM-HH:MM>', 'no stop begins in these hours, in --timezone (may cross midnight; repeatable)', collect)
    .option('--max-snooze <duration>', 'cap on the total of one run’s snoozes (default 4h)');
  if (forUpdate) cmd.option('--no-quiet-hours', 'remove the quiet hours');
  addPriorityOptions(cmd, forUpdate ? 'unchanged' : '3 for a workspace, 4 for a fleet');
  if (forUpdate) {
    cmd
      .option('--pause-on-failure', 'pause the schedule when a backup fails')
      .option('--no-pause-on-failure', 'keep running after a failed backup')
      .option('--no-retention', 'remove the retention policy (keep every backup)');
  } else {
    cmd.option('--pause-on-failure', 'pause the schedule when a backup fails').option('--paused', 'create it paused');
  }
  return cmd;
}

export function scheduleSettings(o: ScheduleCliOptions): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (o.at !== undefined) s.at = o.at.length === 1 ? o.at[0] : o.at;
  if (o.timezone !== undefined) s.timezone = o.timezone;
  if (o.prefix !== undefined) s.namePrefix = o.prefix;
  const retention = retentionFrom(o, false);
  if (retention) s.retention = retention;
  if (o.jitter !== undefined) s.jitter = o.jitter;
  if (o.catchupWindow !== undefined) s.catchupWindow = o.catchupWindow;
  if (o.pauseOnFailure !== undefined) s.pauseOnFailure = o.pauseOnFailure;
  if (o.note !== undefined) s.note = o.note;
  if (o.paused !== undefined) s.paused = o.paused;
  Object.assign(s, priorityFrom(o));
  if (o.notice !== undefined) s.notice = o.notice;
  if (o.window !== undefined) s.window = o.window;
  if (Array.isArray(o.quietHours)) s.quietHours = o.quietHours;
  if (o.maxSnooze !== undefined) s.maxSnooze = o.maxSnooze;
  return s;
}

export function scheduleChanges(o: ScheduleCliOptions): ScheduleUpdate {
  const changes = scheduleSettings(o) as ScheduleUpdate;
  if (o.retention === false) changes.retention = null;
  if (o.quietHours === false) changes.quietHours = null;
  if (o.concurrency !== undefined) changes.concurrency = o.concurrency as number;
  return changes;
}
