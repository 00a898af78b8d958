import { Option, type Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr, table } from '../io.js';
import { addCommon, examples, numberArg, precheck, type Act, type CommonOptions } from '../options.js';
import { ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP, requireExistingWorkspaces } from '../workspace-check.js';
import { registerAuditSchedule } from './schedule-audit.js';
import { registerReportSchedule } from './schedule-report.js';
import {
  SCHEDULE_ARG as scheduleArg,
  SCHEDULE_ARG_HELP as scheduleArgHelp,
  addScheduleOptions,
  scheduleChanges,
  scheduleLines,
  scheduleSettings,
  type ScheduleCliOptions,
} from './schedule-shared.js';
import { fmtTime, invalidInput, resolveScheduleId, scheduleOptions } from '../run-deps.js';
import { OVERLAP_POLICIES } from '../../domain/constants.js';

/**
 * `rigsnap schedule …`: the daily backup schedule of a workspace (Temporal Schedules): create, list,
 * describe, pause/unpause, trigger, backfill, update, delete; and the backup audit's schedule.
 */
export function registerSchedule(program: Command, act: Act): void {
  const schedule = program.command('schedule').description('Daily backup schedules (Temporal Schedules), one per workspace');
  schedule.exitOverride();
  for (const add of [
    addCreate,
    addList,
    addDescribe,
    addPauseUnpause,
    addTrigger,
    addBackfill,
    addUpdate,
    addDelete,
    registerAuditSchedule,
    registerReportSchedule,
  ])
    add(schedule, act);
}

/** `schedule create <workspace>` or `schedule create --group <group>`: refuses an existing schedule (update changes one). */
function addCreate(schedule: Command, act: Act): void {
  examples(
    addScheduleOptions(
      addCommon(
        schedule
          .command('create')
          .description(
            'Create the daily backup schedule of a workspace (runs backupWorkspace: snapshot <prefix>YYYY-MM-DD-HHMM, then retention), or with --group of a group (runs backupGroup: one set of every member, named group-backup-YYYY-MM-DD-HHMM by default; retention counts sets). An existing schedule is left as it is: change it with `rigsnap schedule update`.',
          ),
      )
        .argument('[workspace]', 'workspace id (or --group)')
        .option('--group <group>', 'back up this group as one set (schedule id rigsnap-group-backup-<group>)')
        .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
      false,
    ),
    [
      'rigsnap schedule create ws_demo',
      'rigsnap schedule create ws_demo --at 03:00 --timezone Europe/Berlin --keep-last 7',
      'rigsnap schedule create ws_demo --keep-daily 7 --keep-weekly 4 --jitter 5m --pause-on-failure --note "owner: data team"',
      'rigsnap schedule create --group shop --at 02:00 --timezone Europe/Berlin --keep-last 7',
    ],
  ).action(
    act(async (workspaceId: string | undefined, o: ScheduleCliOptions & { allowMissing?: boolean; group?: string }) => {
      const io = ioOf(o);
      if ((workspaceId === undefined) === (o.group === undefined))
        throw invalidInput('give a workspace or --group <group> (one of them)', ['workspace', 'group']);
      if (o.group !== undefined) {
        const input = precheck(scheduleOptions().GroupScheduleOptions, { group: o.group, ...scheduleSettings(o) });
        return withClient(o, async (rig) => {
          const s = await rig.schedules.createGroup(input);
          printJsonOr(io, s, () => [`${io.c.green('✓')} created group schedule`, ...scheduleLines(io, s)]);
          return EXIT.ok;
        });
      }
      const input = precheck(scheduleOptions().BackupScheduleOptions, { workspaceId, ...scheduleSettings(o) });
      return withClient(o, async (rig) => {
        await requireExistingWorkspaces(rig, io, [input.workspaceId], o, 'No schedule was created');
        const s = await rig.schedules.create(input);
        printJsonOr(io, s, () => [`${io.c.green('✓')} created schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule list`: every rigsnap schedule with its state and next run. */
function addList(schedule: Command, act: Act): void {
  examples(addCommon(schedule.command('list').description("List rigsnap's schedules")), ['rigsnap schedule list', 'rigsnap schedule list --json']).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const items = await rig.schedules.list();
        printJsonOr(io, items, () =>
          items.length === 0
            ? ['no rigsnap schedules (create one with `rigsnap schedule create <workspace>`)']
            : table(
                ['SCHEDULE', 'BACKS UP', 'STATE', 'NEXT RUN', 'LAST RUN', 'NOTE'],
                items.map((s) => [
                  s.scheduleId,
                  s.workspaceId ?? (s.group ? `group ${s.group} (one set)` : `fleet ${s.fleetName ?? ''}`),
                  s.paused ? io.c.yellow('paused') : 'active',
                  fmtTime(s.nextRun, s.timezone ?? 'UTC'),
                  fmtTime(s.lastRun?.scheduledAt, s.timezone ?? 'UTC'),
                  s.note ?? '',
                ]),
                io.c,
              ),
        );
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule describe <schedule>`: settings, next runs, recent runs. */
function addDescribe(schedule: Command, act: Act): void {
  examples(
    addCommon(schedule.command('describe').description('Show a schedule: settings, next runs, recent runs and their results')).argument(
      scheduleArg,
      scheduleArgHelp,
    ),
    ['rigsnap schedule describe ws_demo', 'rigsnap schedule describe rigsnap-fleet-nightly --json', 'rigsnap schedule describe rigsnap-group-backup-shop'],
  ).action(
    act(async (target: string, o: CommonOptions) => {
      const io = ioOf(o);
      resolveScheduleId(target);
      return withClient(o, async (rig) => {
        const s = await rig.schedules.describe(target);
        printJsonOr(io, s, () => scheduleLines(io, s));
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule pause|unpause <schedule> [--note]`. */
function addPauseUnpause(schedule: Command, act: Act): void {
  for (const verb of ['pause', 'unpause'] as const) {
    examples(
      addCommon(schedule.command(verb).description(verb === 'pause' ? 'Pause a schedule (no backups until unpaused)' : 'Resume a paused schedule'))
        .argument(scheduleArg, scheduleArgHelp)
        .option('--note <text>', 'why (shown with the schedule)'),
      [`rigsnap schedule ${verb} ws_demo${verb === 'pause' ? ' --note "migration until Friday"' : ''}`],
    ).action(
      act(async (target: string, o: CommonOptions & { note?: string }) => {
        const io = ioOf(o);
        const scheduleId = resolveScheduleId(target);
        return withClient(o, async (rig) => {
          await rig.schedules[verb](target, o.note);
          printJsonOr(io, { scheduleId, paused: verb === 'pause', note: o.note ?? null }, () => [`${io.c.green('✓')} ${verb}d ${scheduleId}`]);
          return EXIT.ok;
        });
      }),
    );
  }
}

/** `schedule trigger <schedule>`: the schedule's backup now. */
function addTrigger(schedule: Command, act: Act): void {
  examples(
    addCommon(schedule.command('trigger').description("Run a schedule's backup now"))
      .argument(scheduleArg, scheduleArgHelp)
      .addOption(
        new Option('--overlap <policy>', 'what to do if a backup of this schedule is still running (default: the schedule policy, SKIP)').choices([
          ...OVERLAP_POLICIES,
        ]),
      ),
    ['rigsnap schedule trigger ws_demo', 'rigsnap schedule trigger rigsnap-group-backup-shop'],
  ).action(
    act(async (target: string, o: CommonOptions & { overlap?: (typeof OVERLAP_POLICIES)[number] }) => {
      const io = ioOf(o);
      resolveScheduleId(target);
      return withClient(o, async (rig) => {
        const t = await rig.schedules.trigger(target, o.overlap ? { overlap: o.overlap } : {});
        printJsonOr(io, t, () =>
          t.run
            ? [`${io.c.green('✓')} triggered ${t.scheduleId}: ${t.run.workflowId}`, `  ${io.c.dim(t.run.url)}`]
            : t.skipped
              ? [`${io.c.yellow('!')} ${t.scheduleId}: skipped, a backup of this schedule is still running (--overlap ALLOW_ALL to run anyway)`]
              : [`${io.c.green('✓')} triggered ${t.scheduleId}; see \`rigsnap schedule describe ${target}\``],
        );
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule backfill <schedule> --start --end`: every run a past range would have had. */
function addBackfill(schedule: Command, act: Act): void {
  examples(
    addCommon(schedule.command('backfill').description('Run a schedule for every time it would have fired in a past range (e.g. after an outage)'))
      .argument(scheduleArg, scheduleArgHelp)
      .requiredOption('--start <time>', 'start of the range, ISO 8601 (e.g. 2026-04-01T00:00:00Z)')
      .requiredOption('--end <time>', 'end of the range, ISO 8601')
      .addOption(new Option('--overlap <policy>', 'how runs of the range overlap (default BUFFER_ALL: one after another)').choices([...OVERLAP_POLICIES])),
    ['rigsnap schedule backfill ws_demo --start 2026-04-01T00:00:00Z --end 2026-04-04T00:00:00Z'],
  ).action(
    act(async (target: string, o: CommonOptions & { start: string; end: string; overlap?: (typeof OVERLAP_POLICIES)[number] }) => {
      const io = ioOf(o);
      const scheduleId = resolveScheduleId(target);
      for (const [field, v] of [
        ['start', o.start],
        ['end', o.end],
      ] as const) {
        if (Number.isNaN(Date.parse(v))) throw invalidInput(`${field}: must be a date and time such as "2026-04-01T00:00:00Z"`, [field]);
      }
      if (Date.parse(o.end) <= Date.parse(o.start)) throw invalidInput('end: must be after start', ['end']);
      return withClient(o, async (rig) => {
        await rig.schedules.backfill(target, { start: o.start, end: o.end, ...(o.overlap ? { overlap: o.overlap } : {}) });
        printJsonOr(io, { scheduleId, start: o.start, end: o.end, overlap: o.overlap ?? 'BUFFER_ALL' }, () => [
          `${io.c.green('✓')} backfill of ${scheduleId} from ${fmtTime(o.start)} to ${fmtTime(o.end)} requested; see \`rigsnap schedule describe ${target}\``,
        ]);
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule update <schedule> [options]`: changes only what is given. */
function addUpdate(schedule: Command, act: Act): void {
  examples(
    addScheduleOptions(
      addCommon(
        schedule.command('update').description('Change some settings of a schedule; the others stay. Any --keep-* option replaces the retention policy.'),
      ).argument(scheduleArg, scheduleArgHelp),
      true,
    ).option('--concurrency <n>', 'fleet schedules: backups at once', numberArg),
    [
      'rigsnap schedule update ws_demo --at 02:30',
      'rigsnap schedule update ws_demo --keep-last 14 --note "two weeks"',
      'rigsnap schedule update ws_demo --no-retention',
    ],
  ).action(
    act(async (target: string, o: ScheduleCliOptions) => {
      const io = ioOf(o);
      resolveScheduleId(target);
      return withClient(o, async (rig) => {
        const s = await rig.schedules.update(target, scheduleChanges(o));
        printJsonOr(io, s, () => [`${io.c.green('✓')} updated schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );
}

/** `schedule delete <schedule>`: after asking; the backups it made stay. */
function addDelete(schedule: Command, act: Act): void {
  examples(
    addCommon(schedule.command('delete').description('Delete a schedule (asks first). Backups it made stay.'), { yes: true }).argument(
      scheduleArg,
      scheduleArgHelp,
    ),
    ['rigsnap schedule delete ws_demo --yes'],
  ).action(
    act(async (target: string, o: CommonOptions) => {
      const io = ioOf(o);
      const scheduleId = resolveScheduleId(target);
      await confirm(o, io, {
        action: `delete schedule ${scheduleId}`,
        warning: 'The backups it made stay',
        declined: `schedule ${scheduleId} was not deleted`,
      });
      return withClient(o, async (rig) => {
        await rig.schedules.delete(target);
        printJsonOr(io, { scheduleId, deleted: true }, () => [`${io.c.green('✓')} deleted schedule ${scheduleId}`]);
        return EXIT.ok;
      });
    }),
  );
}
