import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { validate } from './run-deps.js';
import { DEFAULT_EXPIRE_CHECKPOINTS_AFTER, DEFAULT_EXPIRE_SAFETY_AFTER } from '../domain/constants.js';

/**
 * What every command shares in how it is declared and parsed: the common options (--json, --no-wait,
 * --yes, --request-key, the Temporal connection), numbers and lists as arguments, the retention
 * options, examples in help, error messages that name the option, and the action wrapper that turns a
 * handler's return value into the exit code.
 */

export interface CommonOptions {
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  wait?: boolean;
  yes?: boolean;
  requestKey?: string;
}

/** Numbers stay numbers; anything else is passed on as text so the schema names the option in its message. */
export const numberArg = (v: string): number | string => (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
/**
 * `--priority`, `--team` and `--weight` (domain/priority.ts): for fleets and schedules, which run behind
 * on-demand operations and share dispatch with other teams by weight.
 */
export function addPriorityOptions(cmd: Command, defaultLevel: string): Command {
  return cmd
    .option(
      '--priority <1-5>',
      `Temporal task-queue priority of its runs, 1 first … 5 last (default ${defaultLevel}; on-demand operations run at 1)`,
      numberArg,
    )
    .option('--team <key>', "fairness key: teams at the same priority share workers by weight (default: the schedule's or fleet's id)")
    .option('--weight <w>', "this key's share of dispatch against other keys (default 1; e.g. 3 gets three times a 1's share)", numberArg);
}

export interface PriorityCliOptions {
  priority?: number | string;
  team?: string;
  weight?: number | string;
}

/** The priority options given, as the client takes them (checked there). */
export function priorityFrom(o: PriorityCliOptions): { priority?: number; team?: string; weight?: number } {
  return {
    ...(o.priority !== undefined ? { priority: o.priority as number } : {}),
    ...(o.team !== undefined ? { team: o.team } : {}),
    ...(o.weight !== undefined ? { weight: o.weight as number } : {}),
  };
}

export const listArg = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Domain field → the option or argument that sets it, for error messages. */
const FIELD_FLAGS: Record<string, string> = {
  workspaceId: '<workspace>',
  workspaceIds: '<workspace…>',
  snapshotId: '<snapshot>',
  name: '--name',
  restart: '--restart',
  keepCurrent: '--keep-current',
  namePrefix: '--prefix',
  retention: '--keep-last/--keep-daily/--keep-weekly/--keep-monthly/--keep-within-days',
  'retention.keepLast': '--keep-last',
  'retention.keepDaily': '--keep-daily',
  'retention.keepWeekly': '--keep-weekly',
  'retention.keepMonthly': '--keep-monthly',
  'retention.keepWithinDays': '--keep-within-days',
  'retention.timezone': '--timezone',
  'retention.expireCheckpointsAfter': '--expire-checkpoints-after',
  'retention.expireSafetyAfter': '--expire-safety-after',
  concurrency: '--concurrency',
  ttl: '--ttl',
  at: '--at',
  timezone: '--timezone',
  jitter: '--jitter',
  catchupWindow: '--catchup-window',
  note: '--note',
  requestKey: '--request-key',
  overlap: '--overlap',
  rpo: '--rpo',
  every: '--every',
  start: '--start',
  end: '--end',
  schedule: '<schedule>',
  since: '--since',
  olderThan: '--older-than',
  for: '--for',
  reason: '--reason',
  notice: '--notice',
  window: '--window',
  quietHours: '--quiet-hours',
  maxSnooze: '--max-snooze',
};

/** "retention.keepLast: must be…" → "retention.keepLast (--keep-last): must be…". */
export function withFlagNames(message: string): string {
  return message.replace(/(^|; |invalid input: )([A-Za-z][\w.]*(?:\.\d+)?)(?=: )/g, (all, pre: string, field: string) => {
    const flag = FIELD_FLAGS[field] ?? FIELD_FLAGS[field.replace(/\.\d+$/, '')];
    return flag ? `${pre}${field} (${flag})` : all;
  });
}

export interface RetentionOptions {
  keepLast?: number | string;
  keepDaily?: number | string;
  keepWeekly?: number | string;
  keepMonthly?: number | string;
  keepWithinDays?: number | string;
  timezone?: string;
  expireCheckpointsAfter?: string;
  expireSafetyAfter?: string;
}

export function retentionFrom(o: RetentionOptions, withTimezone: boolean): Record<string, unknown> | undefined {
  const r: Record<string, unknown> = {};
  if (o.keepLast !== undefined) r.keepLast = o.keepLast;
  if (o.keepDaily !== undefined) r.keepDaily = o.keepDaily;
  if (o.keepWeekly !== undefined) r.keepWeekly = o.keepWeekly;
  if (o.keepMonthly !== undefined) r.keepMonthly = o.keepMonthly;
  if (o.keepWithinDays !== undefined) r.keepWithinDays = o.keepWithinDays;
  // Without a keep rule these still make a policy, which the schema then refuses naming the keep options: never silently dropped.
  if (o.expireCheckpointsAfter !== undefined) r.expireCheckpointsAfter = o.expireCheckpointsAfter;
  if (o.expireSafetyAfter !== undefined) r.expireSafetyAfter = o.expireSafetyAfter;
  if (Object.keys(r).length === 0) return undefined;
  if (withTimezone && o.timezone !== undefined) r.timezone = o.timezone;
  return r;
}

export function addRetentionOptions(cmd: Command, timezoneHelp: string | null): Command {
  cmd
    .option('--keep-last <n>', 'keep the n newest backups', numberArg)
    .option('--keep-daily <n>', 'keep the newest backup of each of the last n days that have one', numberArg)
    .option('--keep-weekly <n>', 'keep the newest backup of each of the last n ISO weeks', numberArg)
    .option('--keep-monthly <n>', 'keep the newest backup of each of the last n months', numberArg)
    .option('--keep-within-days <d>', 'keep every backup within d days of the newest', numberArg)
    .option(
      '--expire-checkpoints-after <duration>',
      `delete a checkpoint's snapshot this long after its session ended (release or TTL); "never" keeps them (default ${DEFAULT_EXPIRE_CHECKPOINTS_AFTER})`,
    )
    .option(
      '--expire-safety-after <duration>',
      `delete a restore's safety snapshot (pre-restore-…) this long after it was taken; "never" keeps them (default ${DEFAULT_EXPIRE_SAFETY_AFTER})`,
    );
  if (timezoneHelp) cmd.option('--timezone <tz>', timezoneHelp);
  return cmd;
}

const COMMON_GROUP = 'Common options:';
type CommonConfig = { wait?: boolean; yes?: boolean; requestKey?: boolean };
const commonConfigs = new Map<Command, CommonConfig>();

/** Marks a command for the common options; they are added last (see addCommonOptions) so help lists them after the command's own. */
export function addCommon(cmd: Command, o: CommonConfig = {}): Command {
  commonConfigs.set(cmd, o);
  return cmd;
}

export function addCommonOptions(): void {
  for (const [cmd, o] of commonConfigs) {
    const add = (flags: string, description: string) => cmd.addOption(new Option(flags, description).helpGroup(COMMON_GROUP));
    add('--json', 'print machine-readable JSON only (no colours, no progress)');
    if (o.wait) add('--no-wait', 'print the workflow id and return without waiting for the result');
    if (o.requestKey) add('--request-key <key>', 'idempotency key: the same key again never starts a second operation');
    if (o.yes) add('-y, --yes', 'do not ask for confirmation (needed when there is no terminal)');
    add('--address <host:port>', 'Temporal address (default: $TEMPORAL_ADDRESS, the temporal.toml profile, or localhost:7233)');
    add('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")');
    add('--task-queue <name>', 'task queue of the rigsnap workers (default: $RIGSNAP_TASK_QUEUE or "rigbox-snapshots")');
  }
  commonConfigs.clear();
}

export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/** Checks the input with the workflow's own schema before connecting: invalid input never reaches Temporal. */
export function precheck<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  return validate(schema, input);
}

export function keyOf(o: CommonOptions): { requestKey?: string } {
  return o.requestKey !== undefined ? { requestKey: o.requestKey } : {};
}

/** A command's action: records the exit code its handler returns; errors are printed by main(). */
export type Action = (...args: unknown[]) => Promise<void>;
/** Wraps a handler (which returns its exit code) as a commander action; every command file gets one. */
export type Act = (fn: (...args: never[]) => Promise<number>) => Action;

/** The action wrapper of one program: each handler's exit code goes to `setExit`. */
export function actionsFor(setExit: (code: number) => void): Act {
  return (fn) =>
    async (...args: unknown[]) => {
      setExit(await (fn as (...a: unknown[]) => Promise<number>)(...args));
    };
}

/**
 * Commander checks required options before unknown ones, so `--nme foo` said "required option
 * '--name' not specified". Required options are checked here instead, in a preAction hook, which
 * commander runs after its unknown-option check: a typo is named as the typo. `mandatory` stays
 * readable for help and docs through `requiredOptionsOf`.
 */
const requiredOptions = new WeakMap<Command, Option[]>();

export function requiredOptionsOf(cmd: Command): readonly Option[] {
  return requiredOptions.get(cmd) ?? [];
}

export function reportUnknownOptionsFirst(program: Command): void {
  const visit = (cmd: Command) => {
    const required = cmd.options.filter((o) => o.mandatory);
    for (const o of required) o.mandatory = false;
    if (required.length) requiredOptions.set(cmd, required);
    cmd.commands.forEach(visit);
  };
  visit(program);
  program.hook('preAction', (_program, action) => {
    for (const o of requiredOptionsOf(action)) {
      if (action.getOptionValue(o.attributeName()) === undefined) {
        action.error(`error: required option '${o.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
      }
    }
  });
}
