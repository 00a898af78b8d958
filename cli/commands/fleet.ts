import type { Command } from 'commander';
import { BackupFleetInput, PriorityOverrides } from '../../domain/index.js';
import { FleetScheduleOptions, fleetScheduleId } from '../../client/schedule-options.js';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP, requireExistingWorkspaces } from '../workspace-check.js';
import { runOperation } from '../operation.js';
import {
  addCommon,
  addPriorityOptions,
  addRetentionOptions,
  examples,
  keyOf,
  numberArg,
  precheck,
  priorityFrom,
  retentionFrom,
  type Act,
  type CommonOptions,
  type PriorityCliOptions,
  type RetentionOptions,
} from '../options.js';
import { fleetOutput } from '../outputs.js';
import { addScheduleOptions, scheduleChanges, scheduleLines, scheduleSettings, type ScheduleCliOptions } from './schedule-shared.js';

/** `rigsnap fleet backup …` (many workspaces in one run, now) and `rigsnap fleet schedule …` (the same, daily). */
export function registerFleet(program: Command, act: Act): void {
  const fleet = program.command('fleet').description('Back up many workspaces in one run, now or on a schedule');
  fleet.exitOverride();
  addBackup(fleet, act);
  const fleetSchedule = fleet.command('schedule').description('Fleet schedules: one backupFleet run over many workspaces, daily');
  fleetSchedule.exitOverride();
  for (const add of [addScheduleCreate, addScheduleUpdate, addScheduleDescribe, addScheduleDelete]) add(fleetSchedule, act);
}

/** `fleet backup <workspace...>`: a child backupWorkspace each, bounded concurrency; the backups it made are listed after. */
function addBackup(fleet: Command, act: Act): void {
  examples(
    addRetentionOptions(
      addPriorityOptions(
        addCommon(fleet.command('backup').description('Back up many workspaces now (a child backupWorkspace each, bounded concurrency)'), {
          wait: true,
          requestKey: true,
        })
          .argument('<workspace...>', 'workspace ids')
          .option('--concurrency <n>', 'backups at once (default 10)', numberArg)
          .option('--prefix <prefix>', 'name prefix of the backups (default daily-backup-)')
          .option(
            '--notice <duration>',
            'post a stop.notice (RIGSNAP_NOTIFY_URL) this long before each workspace is stopped, e.g. 10m; people can snooze or skip (default 0s: none)',
          )
          .option('--max-snooze <duration>', 'cap on the total of the snoozes of each backup (default 4h)')
          .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
        '4',
      ),
      'timezone of the date and time in the names and of the retention buckets (default UTC)',
    ),
    [
      'rigsnap fleet backup ws_a ws_b ws_c --concurrency 2 --keep-last 7',
      'rigsnap fleet backup ws_a ws_b --team data --weight 3',
      'rigsnap fleet backup ws_a ws_b ws_c --notice 10m',
    ],
  ).action(
    act(
      async (
        workspaceIds: string[],
        o: CommonOptions &
          RetentionOptions &
          PriorityCliOptions & { concurrency?: number | string; prefix?: string; allowMissing?: boolean; notice?: string; maxSnooze?: string },
      ) => {
        const io = ioOf(o);
        const input = precheck(BackupFleetInput, {
          workspaceIds,
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
          ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
          ...(retentionFrom(o, true) ? { retention: retentionFrom(o, true) } : {}),
          ...(o.notice !== undefined ? { notice: o.notice } : {}),
          ...(o.maxSnooze !== undefined ? { maxSnooze: o.maxSnooze } : {}),
        });
        const priority = precheck(PriorityOverrides, priorityFrom(o));
        return runOperation(
          io,
          o,
          async (rig) => {
            await requireExistingWorkspaces(rig, io, input.workspaceIds, o, 'Nothing was started');
            return rig.startFleetBackup(input, { ...keyOf(o), ...priority });
          },
          fleetOutput(io, input.workspaceIds),
        );
      },
    ),
  );
}

/** `fleet schedule create <name> <workspace...>`. */
function addScheduleCreate(fleetSchedule: Command, act: Act): void {
  examples(
    addScheduleOptions(
      addCommon(
        fleetSchedule.command('create').description('Create the schedule of a named fleet (an existing one is left as it is: `rigsnap fleet schedule update`)'),
      )
        .argument('<name>', 'fleet name, e.g. nightly (schedule id rigsnap-fleet-<name>)')
        .argument('<workspace...>', 'workspace ids'),
      false,
    )
      .option('--concurrency <n>', 'backups at once (default 10)', numberArg)
      .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
    ['rigsnap fleet schedule create nightly ws_a ws_b ws_c --at 02:00 --timezone Europe/Berlin --keep-daily 7'],
  ).action(
    act(async (name: string, workspaceIds: string[], o: ScheduleCliOptions & { allowMissing?: boolean }) => {
      const io = ioOf(o);
      const input = precheck(FleetScheduleOptions, {
        name,
        workspaceIds,
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...scheduleSettings(o),
      });
      return withClient(o, async (rig) => {
        await requireExistingWorkspaces(rig, io, input.workspaceIds, o, 'No schedule was created');
        const s = await rig.schedules.createFleet(input);
        printJsonOr(io, s, () => [`${io.c.green('✓')} created fleet schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );
}

/** `fleet schedule update <name> [workspace...]`: changes only what is given. */
function addScheduleUpdate(fleetSchedule: Command, act: Act): void {
  examples(
    addScheduleOptions(
      addCommon(fleetSchedule.command('update').description('Change some settings of a fleet schedule (workspaces too); the others stay'))
        .argument('<name>', 'fleet name')
        .argument('[workspace...]', 'the new list of workspaces (omit to keep it)'),
      true,
    ).option('--concurrency <n>', 'backups at once', numberArg),
    ['rigsnap fleet schedule update nightly ws_a ws_b ws_c ws_d', 'rigsnap fleet schedule update nightly --concurrency 20'],
  ).action(
    act(async (name: string, workspaceIds: string[], o: ScheduleCliOptions) => {
      const io = ioOf(o);
      const id = fleetScheduleId(name);
      const changes = scheduleChanges(o);
      if (workspaceIds.length) changes.workspaceIds = workspaceIds;
      return withClient(o, async (rig) => {
        const s = await rig.schedules.update(id, changes);
        printJsonOr(io, s, () => [`${io.c.green('✓')} updated fleet schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );
}

/** `fleet schedule describe <name>`. */
function addScheduleDescribe(fleetSchedule: Command, act: Act): void {
  examples(addCommon(fleetSchedule.command('describe').description('Show a fleet schedule')).argument('<name>', 'fleet name'), [
    'rigsnap fleet schedule describe nightly',
  ]).action(
    act(async (name: string, o: CommonOptions) => {
      const io = ioOf(o);
      const id = fleetScheduleId(name);
      return withClient(o, async (rig) => {
        const s = await rig.schedules.describe(id);
        printJsonOr(io, s, () => scheduleLines(io, s));
        return EXIT.ok;
      });
    }),
  );
}

/** `fleet schedule delete <name>`: after asking; the backups it made stay. */
function addScheduleDelete(fleetSchedule: Command, act: Act): void {
  examples(addCommon(fleetSchedule.command('delete').description('Delete a fleet schedule (asks first)'), { yes: true }).argument('<name>', 'fleet name'), [
    'rigsnap fleet schedule delete nightly --yes',
  ]).action(
    act(async (name: string, o: CommonOptions) => {
      const io = ioOf(o);
      const id = fleetScheduleId(name);
      await confirm(o, io, { action: `delete fleet schedule ${id}`, warning: 'The backups it made stay', declined: `schedule ${id} was not deleted` });
      return withClient(o, async (rig) => {
        await rig.schedules.delete(id);
        printJsonOr(io, { scheduleId: id, deleted: true }, () => [`${io.c.green('✓')} deleted schedule ${id}`]);
        return EXIT.ok;
      });
    }),
  );
}
