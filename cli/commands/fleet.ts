import type { Command } from 'commander';
import { withClient } from '../connect.js';
import type { RigsnapClient } from '../../client/rigsnap-client.js';
import { formatSelector, type Selector } from '../../domain/enrollment.js';
import { EXIT, UsageError, confirm, ioOf, printJsonOr, type Io } from '../io.js';
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
import { SELECTOR_FLAG, SELECTOR_HELP, collectTerms, selectorOf } from './enroll.js';
import { addScheduleOptions, scheduleChanges, scheduleLines, scheduleSettings, type ScheduleCliOptions } from './schedule-shared.js';
import { domain, fleetScheduleId, scheduleOptions } from '../run-deps.js';

/** `rigsnap fleet backup …` (many workspaces in one run, now) and `rigsnap fleet schedule …` (the same, daily). */
export function registerFleet(program: Command, act: Act): void {
  const fleet = program.command('fleet').description('Back up many workspaces in one run, now or on a schedule');
  fleet.exitOverride();
  addBackup(fleet, act);
  const fleetSchedule = fleet.command('schedule').description('Fleet schedules: one backupFleet run over many workspaces, daily');
  fleetSchedule.exitOverride();
  for (const add of [addScheduleCreate, addScheduleUpdate, addScheduleDescribe, addScheduleDelete]) add(fleetSchedule, act);
}

/** Workspaces listed or a selector, exactly one (the schema says so too, naming the field). */
function membersOf(workspaceIds: string[], selector: Selector | undefined): { workspaceIds?: string[]; selector?: Selector } {
  if (selector && workspaceIds.length) throw new UsageError('give workspaces or --selector, not both');
  if (!selector && !workspaceIds.length) throw new UsageError('give the workspaces to back up, or --selector key=value');
  return selector ? { selector } : { workspaceIds };
}

/**
 * A fleet backup by selector that matches nothing now would back up nothing: refused, unless
 * --allow-missing. (A schedule is not refused: workspaces enrolled later join its next run.)
 */
async function requireSomeMatch(rig: RigsnapClient, io: Io, selector: Selector, o: { allowMissing?: boolean }): Promise<void> {
  if (o.allowMissing) return;
  const found = await rig.enrolledWorkspaces(selector);
  if (found.workspaces.length === 0)
    throw new UsageError(
      `no enrolled workspace matches ${formatSelector(selector)} (\`rigsnap workspaces\` lists them). Nothing was started; pass ${ALLOW_MISSING_FLAG} to start anyway.`,
    );
  io.err(
    `selector ${formatSelector(selector)} matches ${found.workspaces.length} enrolled workspace${found.workspaces.length === 1 ? '' : 's'} now; the run resolves it again as it starts`,
  );
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
          .argument('[workspace...]', 'workspace ids (or --selector)')
          .option(SELECTOR_FLAG, SELECTOR_HELP, collectTerms)
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
      'rigsnap fleet backup --selector team=ml --keep-daily 7',
    ],
  ).action(
    act(
      async (
        workspaceIds: string[],
        o: CommonOptions &
          RetentionOptions &
          PriorityCliOptions & {
            concurrency?: number | string;
            prefix?: string;
            allowMissing?: boolean;
            notice?: string;
            maxSnooze?: string;
            selector?: string[];
          },
      ) => {
        const io = ioOf(o);
        const selector = selectorOf(o.selector);
        const input = precheck(domain().BackupFleetInput, {
          ...membersOf(workspaceIds, selector),
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
          ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
          ...(retentionFrom(o, true) ? { retention: retentionFrom(o, true) } : {}),
          ...(o.notice !== undefined ? { notice: o.notice } : {}),
          ...(o.maxSnooze !== undefined ? { maxSnooze: o.maxSnooze } : {}),
        });
        const priority = precheck(domain().PriorityOverrides, priorityFrom(o));
        return runOperation(
          io,
          o,
          async (rig) => {
            if (input.workspaceIds) await requireExistingWorkspaces(rig, io, input.workspaceIds, o, 'Nothing was started');
            else await requireSomeMatch(rig, io, input.selector!, o);
            return rig.startFleetBackup(input, { ...keyOf(o), ...priority });
          },
          // A selector is resolved by the run: its summary lists what matched.
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
        .argument('[workspace...]', 'workspace ids (or --selector)'),
      false,
    )
      .option(SELECTOR_FLAG, `${SELECTOR_HELP}; resolved when each run starts`, collectTerms)
      .option('--concurrency <n>', 'backups at once (default 10)', numberArg)
      .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
    [
      'rigsnap fleet schedule create nightly ws_a ws_b ws_c --at 02:00 --timezone Europe/Berlin --keep-daily 7',
      'rigsnap fleet schedule create ml-nightly --selector team=ml --at 02:00 --keep-daily 7',
    ],
  ).action(
    act(async (name: string, workspaceIds: string[], o: ScheduleCliOptions & { allowMissing?: boolean; selector?: string[] }) => {
      const io = ioOf(o);
      const input = precheck(scheduleOptions().FleetScheduleOptions, {
        name,
        ...membersOf(workspaceIds, selectorOf(o.selector)),
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...scheduleSettings(o),
      });
      return withClient(o, async (rig) => {
        if (input.workspaceIds) await requireExistingWorkspaces(rig, io, input.workspaceIds, o, 'No schedule was created');
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
        .argument('[workspace...]', 'the new list of workspaces (omit to keep it; replaces a selector)'),
      true,
    )
      .option(SELECTOR_FLAG, 'back up the enrolled workspaces matching this instead (replaces the list)', collectTerms)
      .option('--concurrency <n>', 'backups at once', numberArg),
    [
      'rigsnap fleet schedule update nightly ws_a ws_b ws_c ws_d',
      'rigsnap fleet schedule update nightly --concurrency 20',
      'rigsnap fleet schedule update nightly --selector team=ml',
    ],
  ).action(
    act(async (name: string, workspaceIds: string[], o: ScheduleCliOptions & { selector?: string[] }) => {
      const io = ioOf(o);
      const id = fleetScheduleId(name);
      const changes = scheduleChanges(o);
      const selector = selectorOf(o.selector);
      if (selector && workspaceIds.length) throw new UsageError('give workspaces or --selector, not both');
      if (workspaceIds.length) changes.workspaceIds = workspaceIds;
      if (selector) changes.selector = selector;
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
