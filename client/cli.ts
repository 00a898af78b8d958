#!/usr/bin/env node
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import type { z } from 'zod';
import { WORKFLOW_TYPES } from '../contract/index.js';
import {
  AuditBackupsInput,
  BACKUP_NAME_SUFFIX,
  BackupFleetInput,
  CheckpointWorkspaceInput,
  DeleteSnapshotInput,
  ListSnapshotsInput,
  PruneSnapshotsInput,
  RestoreWorkspaceInput,
  STEP_LABELS,
  SnapshotWorkspaceInput,
  formatDuration,
  parseDuration,
  type AuditBackupsResult,
  type BackupFleetResult,
  type BackupWorkspaceResult,
  type CheckpointWorkspaceResult,
  type DeleteSnapshotResult,
  type ListSnapshotsResult,
  type Progress,
  type PruneSnapshotsResult,
  type RestoreWorkspaceResult,
  type RetentionPolicy as RetentionPolicyView,
  type RigboxSnapshot,
  type SnapshotWorkspaceResult,
} from '../domain/index.js';
import { ClientConfigError, RigsnapError, TemporalConnectionError, invalidInput, validate } from './errors.js';
import { fmtBytes, fmtTime } from './format.js';
import { describeDetail, describeLockWait, finishedStepLines, renderProgress } from './progress-renderer.js';
import type { LockWait, ProgressReport, RigsnapClient, StartedOperation, StatusReport } from './rigsnap-client.js';
import {
  BackupScheduleOptions,
  FleetScheduleOptions,
  OVERLAP_POLICIES,
  fleetScheduleId,
  resolveScheduleId,
  type ScheduleUpdate,
} from './schedule-options.js';
import type { ScheduleInfo } from './schedules.js';
import { AuditScheduleOptions } from './audit-schedule.js';

/**
 * `rigsnap`: trigger, watch and manage rigsnap operations from a terminal. Exit codes: 0 success,
 * 1 the operation failed, 2 bad usage or invalid input (nothing was started), 3 Temporal unreachable.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** Bad usage found by the CLI itself (a refused confirmation, a malformed option): exit 2, nothing started. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Io {
  json: boolean;
  /** stdout is a terminal: colours, spinners, live progress. */
  tty: boolean;
  c: ReturnType<typeof pc.createColors>;
  out(line?: string): void;
  err(line: string): void;
}

function makeIo(json: boolean): Io {
  const tty = Boolean(process.stdout.isTTY) && !json && !process.env.NO_COLOR;
  return {
    json,
    tty,
    c: pc.createColors(tty),
    out: (line = '') => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

interface CommonOptions {
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  wait?: boolean;
  yes?: boolean;
  requestKey?: string;
}

// ---- option parsing -----------------------------------------------------------------------------

/** Numbers stay numbers; anything else is passed on as text so the schema names the option in its message. */
const numberArg = (v: string): number | string => (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const listArg = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

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
};

/** "retention.keepLast: must be…" → "retention.keepLast (--keep-last): must be…". */
export function withFlagNames(message: string): string {
  return message.replace(/(^|; |invalid input: )([A-Za-z][\w.]*(?:\.\d+)?)(?=: )/g, (all, pre: string, field: string) => {
    const flag = FIELD_FLAGS[field] ?? FIELD_FLAGS[field.replace(/\.\d+$/, '')];
    return flag ? `${pre}${field} (${flag})` : all;
  });
}

interface RetentionOptions {
  keepLast?: number | string;
  keepDaily?: number | string;
  keepWeekly?: number | string;
  keepMonthly?: number | string;
  keepWithinDays?: number | string;
  timezone?: string;
}

function retentionFrom(o: RetentionOptions, withTimezone: boolean): Record<string, unknown> | undefined {
  const r: Record<string, unknown> = {};
  if (o.keepLast !== undefined) r.keepLast = o.keepLast;
  if (o.keepDaily !== undefined) r.keepDaily = o.keepDaily;
  if (o.keepWeekly !== undefined) r.keepWeekly = o.keepWeekly;
  if (o.keepMonthly !== undefined) r.keepMonthly = o.keepMonthly;
  if (o.keepWithinDays !== undefined) r.keepWithinDays = o.keepWithinDays;
  if (Object.keys(r).length === 0) return undefined;
  if (withTimezone && o.timezone !== undefined) r.timezone = o.timezone;
  return r;
}

function addRetentionOptions(cmd: Command, timezoneHelp: string | null): Command {
  cmd
    .option('--keep-last <n>', 'keep the n newest backups', numberArg)
    .option('--keep-daily <n>', 'keep the newest backup of each of the last n days that have one', numberArg)
    .option('--keep-weekly <n>', 'keep the newest backup of each of the last n ISO weeks', numberArg)
    .option('--keep-monthly <n>', 'keep the newest backup of each of the last n months', numberArg)
    .option('--keep-within-days <d>', 'keep every backup within d days of the newest', numberArg);
  if (timezoneHelp) cmd.option('--timezone <tz>', timezoneHelp);
  return cmd;
}

const COMMON_GROUP = 'Common options:';
type CommonConfig = { wait?: boolean; yes?: boolean; requestKey?: boolean };
const commonConfigs = new Map<Command, CommonConfig>();

/** Marks a command for the common options; they are added last (see addCommonOptions) so help lists them after the command's own. */
function addCommon(cmd: Command, o: CommonConfig = {}): Command {
  commonConfigs.set(cmd, o);
  return cmd;
}

function addCommonOptions(): void {
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

function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

// ---- formatting ---------------------------------------------------------------------------------


const ANSI = new RegExp(String.raw`\u001b\[[0-9;?]*[A-Za-z]`, 'g');
const visible = (s: string) => s.replace(ANSI, '');

export function table(headers: string[], rows: string[][], c: Io['c']): string[] {
  const widths = headers.map((h, i) => Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell).length)))
      .join('  ')
      .trimEnd();
  return [c.bold(line(headers)), ...rows.map(line)];
}

function describeRetention(r: RetentionPolicyView | null | undefined): string {
  if (!r) return 'none';
  const parts: string[] = [];
  if (r.keepLast !== undefined) parts.push(`last ${r.keepLast}`);
  if (r.keepDaily !== undefined) parts.push(`${r.keepDaily} daily`);
  if (r.keepWeekly !== undefined) parts.push(`${r.keepWeekly} weekly`);
  if (r.keepMonthly !== undefined) parts.push(`${r.keepMonthly} monthly`);
  if (r.keepWithinDays !== undefined) parts.push(`all within ${r.keepWithinDays} days`);
  return `keep ${parts.join(', ')}${r.timezone ? ` (${r.timezone})` : ''}`;
}

const snap = (s: RigboxSnapshot) => `${s.id} "${s.name}"`;

// ---- the Temporal side --------------------------------------------------------------------------

async function connect(o: CommonOptions): Promise<RigsnapClient> {
  const timeout = process.env.RIGSNAP_CONNECT_TIMEOUT ? parseDuration(process.env.RIGSNAP_CONNECT_TIMEOUT) : undefined;
  // Loaded only now: @temporalio/client takes most of the start-up time, and --help or a rejected input never need it.
  const { RigsnapClient } = await import('./rigsnap-client.js');
  return RigsnapClient.connect({
    ...(o.address ? { address: o.address } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.taskQueue ? { taskQueue: o.taskQueue } : {}),
    connectTimeoutMs: timeout ?? 3000,
  });
}

async function withClient<T>(o: CommonOptions, fn: (rig: RigsnapClient) => Promise<T>): Promise<T> {
  const rig = await connect(o);
  try {
    return await fn(rig);
  } finally {
    await rig.close().catch(() => undefined);
  }
}

/** Checks the input with the workflow's own schema before connecting: invalid input never reaches Temporal. */
function precheck<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  return validate(schema, input);
}

interface Confirmation {
  /** What would be done: "restore ws_demo to snap_abc". */
  action: string;
  /** What it costs, said in the question only: "its current state is replaced…". */
  warning?: string;
  /** What a "no" leaves as it was: "ws_demo is unchanged". */
  declined: string;
}

/**
 * Asks before a destructive command. With --yes it goes ahead; without a terminal to ask on it refuses
 * (exit 2), so a script never deletes by accident. A "no" says what stays as it was.
 */
async function confirm(o: CommonOptions, io: Io, c: Confirmation): Promise<void> {
  if (o.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`refusing to ${c.action} without confirmation: there is no terminal to ask on. Pass --yes to confirm.`);
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${io.c.yellow('?')} ${c.action}?${c.warning ? ` ${c.warning}.` : ''} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new Declined(`nothing done: ${c.declined}`);
  } finally {
    rl.close();
  }
}

/** A "no" to a confirmation: nothing was started; exit 2 like any refusal, without an error tone. */
class Declined extends UsageError {}

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';

/**
 * Waits for `done` while showing progress: on a terminal a live block (steps with elapsed time, the
 * activity's heartbeat) redrawn in place; in a log, each step once when it finishes; with --json nothing.
 */
/** Allows 1 s of clock skew between this machine and the workers (workflow time stamps the steps). */
function stepsSince(report: ProgressReport, sinceMs: number | undefined): ProgressReport {
  if (sinceMs === undefined || !report.progress) return report;
  const steps = report.progress.steps.filter((s) => Date.parse(s.startedAt) >= sinceMs - 1000);
  return { ...report, progress: { ...report.progress, steps } };
}

/** What a watch saw, readable after it ends however it ends. */
interface Seen {
  /** The last progress report. */
  last: ProgressReport | null;
  /** Without a terminal: the progress whose finished steps are already printed. */
  printed: Progress | null;
  /** It waited for its workspace's lock at some point. */
  lockWaited?: boolean;
}

/**
 * How long an operation may go without any worker answering before the CLI asks Temporal whether a
 * worker polls the task queue at all (a worker answers the first progress query within milliseconds).
 */
const NO_WORKER_CHECK_AFTER_MS = 3000;
const NO_WORKER_RECHECK_MS = 5000;

function noWorkerNotice(rig: RigsnapClient): string {
  return (
    `no rigsnap worker is polling task queue "${rig.taskQueue}" (namespace ${rig.namespace} at ${rig.address}): the operation is queued ` +
    'and starts when one does. Start one with `npm start` in the rigsnap checkout (the local stack), or `RIGBOX_TOKEN=… npm run worker` ' +
    'against your Temporal. Ctrl-C stops watching; the operation stays queued.'
  );
}

async function watch<T>(
  rig: RigsnapClient,
  io: Io,
  workflowId: string,
  done: Promise<T>,
  seen: Seen = { last: null, printed: null },
  /** Show only steps that began after this (a rollback within a long checkpoint session). */
  sinceMs?: number,
): Promise<T> {
  let settled = false;
  const settledPromise = done.finally(() => {
    settled = true;
  });
  if (io.json) return settledPromise;

  let printedLines = 0;
  let frame = 0;
  const cols = () => Math.max(20, (process.stdout.columns || 120) - 1);
  const fit = (line: string) => (visible(line).length > cols() ? `${visible(line).slice(0, cols() - 1)}…` : line);
  const draw = () => {
    if (!io.tty) return;
    const lines = renderProgress(
      {
        progress: seen.last?.progress ?? null,
        activity: seen.last?.activity ?? null,
        now: Date.now(),
        startedAt: seen.last?.startedAt ?? null,
        running: seen.last?.progress?.operation === 'fleet-backup' ? seen.last.runningChildren.map((id) => id.replace(`${workflowId}-`, '')) : null,
        lock,
        lockWaited: Boolean(seen.lockWaited),
        notice,
      },
      { color: true, spinnerFrame: frame++ },
    ).map(fit);
    const clear = printedLines > 0 ? `\r\u001b[${printedLines}A\u001b[J` : '';
    process.stdout.write(`${clear}${lines.join('\n')}\n`);
    printedLines = lines.length;
  };
  const clearBlock = () => {
    if (io.tty && printedLines > 0) process.stdout.write(`\r\u001b[${printedLines}A\u001b[J`);
    printedLines = 0;
  };
  const onSigint = () => {
    clearBlock();
    if (io.tty) process.stdout.write(SHOW_CURSOR);
    io.err(`\nstopped watching; the operation goes on in Temporal. Follow it with: rigsnap status ${workflowId}`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  if (io.tty) process.stdout.write(HIDE_CURSOR);

  const watchStart = Date.now();
  let lastWorkerCheck = 0;
  let notice: string | null = null;
  let lock: LockWait | null = null;
  let lockText = '';
  const checkWorkers = async () => {
    if (Date.now() - watchStart < NO_WORKER_CHECK_AFTER_MS || Date.now() - lastWorkerCheck < NO_WORKER_RECHECK_MS) return;
    lastWorkerCheck = Date.now();
    const live = await rig.liveWorkers().catch(() => null);
    if (live === null) return;
    if (live.length === 0 && !notice) {
      notice = noWorkerNotice(rig);
      if (!io.tty) io.err(`rigsnap: ${notice}`);
    } else if (live.length > 0) {
      workerCame();
    }
  };
  const workerCame = () => {
    if (!notice) return;
    notice = null;
    if (!io.tty) io.err(`rigsnap: a worker polls task queue "${rig.taskQueue}" now; the operation goes on`);
  };
  const poll = async () => {
    while (!settled) {
      try {
        const report = stepsSince(await rig.progress(workflowId, undefined, 2000), sinceMs);
        if (settled) break;
        seen.last = report;
        if (report.progress) workerCame();
        else await checkWorkers();
        const step = report.progress?.currentStep;
        const ws = report.progress?.workspaceId;
        lock = ws && (step === 'preflight' || step === 'wait-for-lock') ? await rig.lockWait(workflowId, ws).catch(() => null) : null;
        if (lock) seen.lockWaited = true;
        if (!io.tty) {
          for (const line of finishedStepLines(seen.printed, report.progress, { lockWaited: seen.lockWaited })) io.out(line);
          seen.printed = report.progress ?? seen.printed;
          const text = lock ? describeLockWait(lock) : '';
          if (text && text !== lockText) io.out(`  … ${STEP_LABELS['wait-for-lock']}: ${text}`);
          lockText = text;
        }
      } catch {
        // A missed poll is not worth a message; the result decides.
      }
      await Promise.race([settledPromise.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
  };
  const animate = io.tty ? setInterval(draw, 100) : undefined;
  const poller = poll();
  try {
    return await settledPromise;
  } finally {
    if (animate) clearInterval(animate);
    await poller;
    clearBlock();
    if (io.tty) process.stdout.write(SHOW_CURSOR);
    process.removeListener('SIGINT', onSigint);
  }
}

/**
 * The steps as they ended (from a result's steps, or the last progress), above the result line: all of
 * them on a terminal (the live block is gone), in a log only those not printed yet.
 */
function finalSteps(io: Io, steps: Progress['steps'] | undefined, failed: boolean, seen: Seen): void {
  if (io.json || !steps?.length) return;
  const final: Progress = { operation: '', workspaceId: null, state: failed ? 'failed' : 'completed', currentStep: null, steps };
  if (!io.tty) {
    for (const line of finishedStepLines(seen.printed, final, { lockWaited: seen.lockWaited })) io.out(line);
    return;
  }
  for (const line of renderProgress({ progress: final, now: Date.now(), lockWaited: seen.lockWaited }, { color: true }).slice(1)) io.out(line);
}

interface OperationOutput<R> {
  /** One line about the result. */
  line(r: R): string;
  /** More lines (tables) in plain output. */
  more?(r: R): string[];
  /** Exit code for a result (a fleet run with failures is 1). */
  exitCode?(r: R): number;
  /** What else to fetch and show once it ended (a fleet's backups): lines, and keys for --json. */
  extra?(rig: RigsnapClient, workflowId: string, r: R): Promise<{ lines: string[]; json: Record<string, unknown> }>;
  /** A failure that still carries a result (a fleet's PartialFailure: its summary in details[0]). */
  resultOfFailure?(err: RigsnapError): R | null;
}

/** Starts an operation, prints its link, waits with progress (unless --no-wait), prints the result. */
async function runOperation<R extends object>(
  io: Io,
  o: CommonOptions,
  start: (rig: RigsnapClient) => Promise<StartedOperation<R>>,
  output: OperationOutput<R>,
): Promise<number> {
  return withClient(o, async (rig) => {
    const started = await start(rig);
    const ref = { workflowId: started.workflowId, runId: started.runId, url: started.url, workflowType: started.workflowType };
    if (o.wait === false) {
      if (io.json) io.out(JSON.stringify({ ...ref, status: 'started', existing: started.existing }));
      else {
        io.out(started.workflowId);
        io.out(`  ${io.c.dim(started.url)}`);
      }
      if (!started.existing && (await rig.liveWorkers().catch(() => null))?.length === 0) io.err(`rigsnap: ${noWorkerNotice(rig)}`);
      return EXIT.ok;
    }
    if (!io.json) {
      io.out(`${io.c.cyan('→')} ${started.existing ? 'already ran: ' : ''}${started.workflowId}`);
      io.out(`  ${io.c.dim(started.url)}`);
    }
    const t0 = Date.now();
    const seen: Seen = { last: null, printed: null };
    let value: R;
    let status = 'completed';
    try {
      value = await watch(rig, io, started.workflowId, started.result(), seen);
    } catch (err) {
      const carried = err instanceof RigsnapError ? output.resultOfFailure?.(err) : null;
      if (!carried) {
        if (err instanceof RigsnapError && !io.json) {
          const report = await rig.progress(started.workflowId, undefined, 1500).catch(() => null);
          finalSteps(io, report?.progress?.steps, true, seen);
        }
        throw err;
      }
      value = carried;
      status = 'failed';
    }
    const code = status === 'failed' ? EXIT.failed : (output.exitCode?.(value) ?? EXIT.ok);
    const extra = await output.extra?.(rig, started.workflowId, value).catch(() => null);
    if (io.json) {
      io.out(JSON.stringify({ ...ref, status, result: value, ...(extra?.json ?? {}) }));
      return code;
    }
    finalSteps(io, (value as { steps?: Progress['steps'] }).steps, false, seen);
    const mark = code === EXIT.ok ? io.c.green('✓') : io.c.red('✗');
    io.out(`${mark} ${output.line(value)} ${io.c.dim(`(${formatDuration(Date.now() - t0)})`)}`);
    for (const l of output.more?.(value) ?? []) io.out(l);
    for (const l of extra?.lines ?? []) io.out(l);
    return code;
  });
}

// ---- commands -----------------------------------------------------------------------------------

function snapshotOutput(): OperationOutput<SnapshotWorkspaceResult> {
  return {
    line: (r) =>
      `snapshot "${r.snapshot.name}" of ${r.snapshot.workspace_id} is ${r.snapshot.id} (${fmtBytes(r.snapshot.size_bytes)}); workspace ${r.workspaceStatus}${r.adopted ? ' (recovered after a lost response)' : ''}`,
  };
}

function restoreOutput(): OperationOutput<RestoreWorkspaceResult> {
  return {
    line: (r) =>
      `${r.restored.workspace_id} restored to ${snap(r.restored)}${r.safetySnapshot ? `; safety snapshot ${snap(r.safetySnapshot)}` : ''}; workspace ${r.workspaceStatus}`,
  };
}

function deleteOutput(): OperationOutput<DeleteSnapshotResult> {
  return { line: (r) => `deleted ${snap(r.snapshot)} of ${r.workspaceId}` };
}

function listOutput(io: Io): OperationOutput<ListSnapshotsResult> {
  return {
    line: (r) => `${r.count} snapshot${r.count === 1 ? '' : 's'}${r.workspaceId ? ` of ${r.workspaceId}` : ''}, ${fmtBytes(r.totalSizeBytes)} in all`,
    more: (r) =>
      r.count === 0
        ? []
        : table(
            ['ID', 'NAME', ...(r.workspaceId ? [] : ['WORKSPACE']), 'SIZE', 'CREATED'],
            r.snapshots.map((s) => [s.id, s.name, ...(r.workspaceId ? [] : [s.workspace_id]), fmtBytes(s.size_bytes), fmtTime(s.created_at)]),
            io.c,
          ),
  };
}

function pruneOutput(io: Io): OperationOutput<PruneSnapshotsResult> {
  return {
    line: (r) =>
      `${r.dryRun ? 'dry run: would keep' : 'kept'} ${r.kept.length}, ${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} of the "${r.namePrefix}*" snapshots of ${r.workspaceId}` +
      (r.ignored ? ` (${r.ignored} other snapshot${r.ignored === 1 ? '' : 's'} not touched)` : ''),
    more: (r) => {
      const rows = [
        ...r.kept.map((k) => [io.c.green('keep'), k.snapshot.id, k.snapshot.name, fmtTime(k.snapshot.created_at), k.reasons.join(', ')]),
        ...r.deleted.map((s) => [io.c.red(r.dryRun ? 'would delete' : 'deleted'), s.id, s.name, fmtTime(s.created_at), '']),
      ];
      return rows.length ? table(['ACTION', 'ID', 'NAME', 'CREATED', 'KEPT BECAUSE'], rows, io.c) : [];
    },
  };
}

/** How many of a fleet's backups the CLI looks up and lists after the run. */
const FLEET_BACKUPS_LISTED = 50;

function fleetOutput(io: Io, workspaceIds?: string[]): OperationOutput<BackupFleetResult> {
  return {
    line: (r) => `fleet backup: ${r.succeeded} of ${r.total} succeeded${r.failedCount ? `, ${r.failedCount} failed` : ''}${r.runs > 1 ? ` (${r.runs} runs)` : ''}`,
    // With the workspaces known (the run was started here), the backups table below says it all.
    more: (r) => (workspaceIds || !r.failed.length ? [] : table(['WORKSPACE', 'ERROR', 'MESSAGE'], r.failed.map((f) => [f.workspaceId, f.errorType, f.message]), io.c)),
    exitCode: (r) => (r.failedCount > 0 ? EXIT.failed : EXIT.ok),
    resultOfFailure: (err) => {
      const summary = err.type === 'PartialFailure' ? (err.details[0] as BackupFleetResult | undefined) : undefined;
      return summary && typeof summary.total === 'number' ? summary : null;
    },
    ...(workspaceIds
      ? {
          extra: async (rig: RigsnapClient, workflowId: string) => {
            const backups = await rig.fleetBackups(workflowId, workspaceIds, FLEET_BACKUPS_LISTED);
            const rows = backups.map((b) =>
              b.snapshot
                ? [b.workspaceId, io.c.green('backed up'), b.snapshot.id, b.snapshot.name]
                : [b.workspaceId, io.c.red(b.status.toLowerCase()), b.error ? `${b.error.type}: ${b.error.message}` : '', ''],
            );
            const lines = rows.length ? table(['WORKSPACE', 'RESULT', 'SNAPSHOT', 'NAME'], rows, io.c) : [];
            if (workspaceIds.length > backups.length) {
              lines.push(`… and ${workspaceIds.length - backups.length} more: \`rigsnap status ${workflowId}-<workspace>\` shows each`);
            }
            return { lines, json: { backups } };
          },
        }
      : {}),
  };
}

function scheduleLines(io: Io, s: ScheduleInfo): string[] {
  // Times in the schedule's own timezone: a 03:00 Europe/Berlin backup reads 03:00, not 02:00Z.
  const inZone = (t: string) => fmtTime(t, s.timezone, { zone: false });
  const lines = [
    `${io.c.bold(s.scheduleId)}${s.paused ? io.c.yellow(' (paused)') : ''}`,
    `  runs        ${s.kind === 'fleet' ? `backupFleet of ${s.workspaceIds?.length ?? 0} workspaces (concurrency ${s.concurrency ?? '-'})` : `backupWorkspace of ${s.workspaceId}`}`,
    `  when        every day at ${s.at.join(', ')} ${s.timezone}${s.jitter ? ` (jitter up to ${s.jitter})` : ''}`,
    `  names       ${s.namePrefix}${BACKUP_NAME_SUFFIX} (the scheduled time in ${s.timezone})`,
    `  retention   ${describeRetention(s.retention)}`,
    `  policies    overlap ${s.overlap}, catch-up window ${s.catchupWindow}${s.pauseOnFailure ? ', pause on failure' : ''}`,
  ];
  if (s.note) lines.push(`  note        ${s.note}`);
  lines.push(`  next runs   ${s.nextRuns.length ? `${s.nextRuns.slice(0, 3).map(inZone).join(', ')} (${s.timezone})` : '-'}`);
  lines.push(`  actions     ${s.actionsTaken} taken, ${s.skippedOverlap} skipped (overlap), ${s.missedCatchupWindow} missed (catch-up window)`);
  lines.push(`  link        ${io.c.dim(s.url)}`);
  if (s.recentRuns.length) {
    lines.push(
      '',
      ...table([`SCHEDULED (${s.timezone})`, 'STATUS', 'WORKFLOW'], s.recentRuns.map((r) => [inZone(r.scheduledAt), r.status ?? '-', r.workflowId]), io.c),
    );
  }
  return lines;
}

function printJsonOr(io: Io, json: unknown, lines: () => string[]): void {
  if (io.json) io.out(JSON.stringify(json));
  else for (const l of lines()) io.out(l);
}

interface ScheduleCliOptions extends CommonOptions, RetentionOptions {
  at?: string[];
  prefix?: string;
  jitter?: string;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  note?: string;
  paused?: boolean;
  concurrency?: number | string;
  retention?: boolean;
}

function addScheduleOptions(cmd: Command, forUpdate: boolean): Command {
  cmd
    .option('--at <HH:MM>', `time(s) of day to back up, comma-separated${forUpdate ? '' : ' (default 03:00)'}`, listArg)
    .option('--timezone <tz>', `IANA timezone of --at, of the date and time in backup names and of the retention buckets${forUpdate ? '' : ' (default UTC)'}`)
    .option('--prefix <prefix>', `name prefix of the backups${forUpdate ? '' : ' (default daily-backup-)'}`);
  addRetentionOptions(cmd, null);
  cmd
    .option('--jitter <duration>', 'random delay up to this long (e.g. 5m), so many schedules do not fire at once')
    .option('--catchup-window <duration>', `a run missed while Temporal was down still happens if at most this late${forUpdate ? '' : ' (default 1h)'}`)
    .option('--note <text>', 'a note shown with the schedule');
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

function scheduleSettings(o: ScheduleCliOptions): Record<string, unknown> {
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
  return s;
}

function scheduleChanges(o: ScheduleCliOptions): ScheduleUpdate {
  const changes = scheduleSettings(o) as ScheduleUpdate;
  if (o.retention === false) changes.retention = null;
  if (o.concurrency !== undefined) changes.concurrency = o.concurrency as number;
  return changes;
}

/** A command's action: records the exit code its handler returns; errors are printed by main(). */
type Action = (...args: unknown[]) => Promise<void>;

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command()
    .name('rigsnap')
    .description(
      'Durable snapshots of Rigbox workspaces on Temporal: snapshot, restore, retention, scheduled backups and checkpoints.\n' +
        'Talks to Temporal only (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles); the Rigbox token stays with the workers.',
    )
    .version(readVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const act =
    (fn: (...args: never[]) => Promise<number>): Action =>
    async (...args: unknown[]) => {
      setExit(await (fn as (...a: unknown[]) => Promise<number>)(...args));
    };
  const ioOf = (o: CommonOptions) => makeIo(Boolean(o.json));

  // snapshot
  examples(
    addCommon(program.command('snapshot').description('Take a named snapshot: stop → snapshot → start, ending as the workspace began'), {
      wait: true,
      requestKey: true,
    })
      .argument('<workspace>', 'workspace id, e.g. ws_demo')
      .requiredOption('--name <name>', 'snapshot name, e.g. before-migration')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous')),
    ['rigsnap snapshot ws_demo --name before-migration', 'rigsnap snapshot ws_demo --name nightly --restart never --json', 'rigsnap snapshot ws_demo --name pre-deploy --no-wait'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { name: string; restart: string }) => {
      const io = ioOf(o);
      const input = precheck(SnapshotWorkspaceInput, { workspaceId, name: o.name, restart: o.restart });
      return runOperation(io, o, (rig) => rig.startSnapshot(input, keyOf(o)), snapshotOutput());
    }),
  );

  // restore
  examples(
    addCommon(program.command('restore').description('Restore a snapshot into its workspace: stop → restore → start (asks first)'), {
      wait: true,
      yes: true,
      requestKey: true,
    })
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id, e.g. snap_abc123 (see `rigsnap list <workspace>`)')
      .option('--keep-current', 'take a safety snapshot (pre-restore-…) of the current state first')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous')),
    ['rigsnap restore ws_demo snap_abc123 --keep-current', 'rigsnap restore ws_demo snap_abc123 --yes --json'],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { keepCurrent?: boolean; restart: string }) => {
      const io = ioOf(o);
      const input = precheck(RestoreWorkspaceInput, { workspaceId, snapshotId, keepCurrent: Boolean(o.keepCurrent), restart: o.restart });
      await confirm(o, io, {
        action: `restore ${workspaceId} to ${snapshotId}`,
        ...(input.keepCurrent ? {} : { warning: `Its current state is replaced (--keep-current saves it first)` }),
        declined: `${workspaceId} was not restored and is unchanged`,
      });
      return runOperation(io, o, (rig) => rig.startRestore(input, keyOf(o)), restoreOutput());
    }),
  );

  // delete
  examples(
    addCommon(program.command('delete').description('Delete a snapshot (asks first)'), { wait: true, yes: true })
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id'),
    ['rigsnap delete ws_demo snap_abc123', 'rigsnap delete ws_demo snap_abc123 --yes'],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions) => {
      const io = ioOf(o);
      const input = precheck(DeleteSnapshotInput, { workspaceId, snapshotId });
      await confirm(o, io, { action: `delete snapshot ${snapshotId} of ${workspaceId}`, declined: `snapshot ${snapshotId} was not deleted` });
      return runOperation(io, o, (rig) => rig.startDeleteSnapshot(input), deleteOutput());
    }),
  );

  // list
  examples(
    addCommon(program.command('list').description('List snapshots of a workspace, or of all workspaces (read through a worker)'), {})
      .argument('[workspace]', 'workspace id; all workspaces if omitted'),
    ['rigsnap list ws_demo', 'rigsnap list --json'],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions) => {
      const io = ioOf(o);
      const input = precheck(ListSnapshotsInput, workspaceId ? { workspaceId } : {});
      return runOperation(io, o, (rig) => rig.startListSnapshots(input), listOutput(io));
    }),
  );

  // prune
  examples(
    addRetentionOptions(
      addCommon(
        program
          .command('prune')
          .description(
            'Apply a retention policy to the snapshots whose names start with --prefix (restic-style rules, ORed; the newest is always kept). Asks first unless --dry-run.',
          ),
        { wait: true, yes: true, requestKey: true },
      )
        .argument('<workspace>', 'workspace id')
        .requiredOption('--prefix <prefix>', 'only snapshots whose name starts with this are candidates, e.g. daily-backup-')
        .option('--dry-run', 'only show what would be kept (and why) and what would be deleted'),
      'timezone of the daily/weekly/monthly buckets (default UTC)',
    ),
    [
      'rigsnap prune ws_demo --prefix daily-backup- --keep-last 7 --dry-run',
      'rigsnap prune ws_demo --prefix daily-backup- --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --timezone Europe/Berlin --yes',
    ],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & RetentionOptions & { prefix: string; dryRun?: boolean }) => {
      const io = ioOf(o);
      const input = precheck(PruneSnapshotsInput, {
        workspaceId,
        namePrefix: o.prefix,
        retention: retentionFrom(o, true) ?? {},
        dryRun: Boolean(o.dryRun),
      });
      if (!input.dryRun) {
        await confirm(o, io, {
          action: `delete the "${input.namePrefix}*" snapshots of ${workspaceId} that the policy does not keep`,
          warning: 'See them first with --dry-run',
          declined: `no snapshot of ${workspaceId} was deleted`,
        });
      }
      return runOperation(io, o, (rig) => rig.startPrune(input, keyOf(o)), pruneOutput(io));
    }),
  );

  // schedule …
  const schedule = program.command('schedule').description('Daily backup schedules (Temporal Schedules), one per workspace');
  schedule.exitOverride();
  const scheduleArg = '<schedule>';
  const scheduleArgHelp = 'a workspace id (ws_demo) or a schedule id (rigsnap-backup-ws_demo, rigsnap-fleet-nightly)';

  examples(
    addScheduleOptions(
      addCommon(
        schedule
          .command('create')
          .description(
            'Create the daily backup schedule of a workspace (runs backupWorkspace: snapshot <prefix>YYYY-MM-DD-HHMM, then retention). An existing schedule is left as it is: change it with `rigsnap schedule update`.',
          ),
      ).argument('<workspace>', 'workspace id'),
      false,
    ),
    [
      'rigsnap schedule create ws_demo',
      'rigsnap schedule create ws_demo --at 03:00 --timezone Europe/Berlin --keep-last 7',
      'rigsnap schedule create ws_demo --keep-daily 7 --keep-weekly 4 --jitter 5m --pause-on-failure --note "owner: data team"',
    ],
  ).action(
    act(async (workspaceId: string, o: ScheduleCliOptions) => {
      const io = ioOf(o);
      const input = precheck(BackupScheduleOptions, { workspaceId, ...scheduleSettings(o) });
      return withClient(o, async (rig) => {
        const s = await rig.schedules.create(input);
        printJsonOr(io, s, () => [`${io.c.green('✓')} created schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );

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
                  s.workspaceId ?? `fleet ${s.fleetName ?? ''}`,
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

  examples(
    addCommon(schedule.command('describe').description('Show a schedule: settings, next runs, recent runs and their results')).argument(scheduleArg, scheduleArgHelp),
    ['rigsnap schedule describe ws_demo', 'rigsnap schedule describe rigsnap-fleet-nightly --json'],
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

  examples(
    addCommon(schedule.command('trigger').description("Run a schedule's backup now"))
      .argument(scheduleArg, scheduleArgHelp)
      .addOption(new Option('--overlap <policy>', 'what to do if a backup of this schedule is still running (default: the schedule policy, SKIP)').choices([...OVERLAP_POLICIES])),
    ['rigsnap schedule trigger ws_demo'],
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
      for (const [field, v] of [['start', o.start], ['end', o.end]] as const) {
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

  examples(
    addScheduleOptions(
      addCommon(schedule.command('update').description('Change some settings of a schedule; the others stay. Any --keep-* option replaces the retention policy.')).argument(
        scheduleArg,
        scheduleArgHelp,
      ),
      true,
    ).option('--concurrency <n>', 'fleet schedules: backups at once', numberArg),
    ['rigsnap schedule update ws_demo --at 02:30', 'rigsnap schedule update ws_demo --keep-last 14 --note "two weeks"', 'rigsnap schedule update ws_demo --no-retention'],
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

  examples(
    addCommon(schedule.command('delete').description('Delete a schedule (asks first). Backups it made stay.'), { yes: true }).argument(scheduleArg, scheduleArgHelp),
    ['rigsnap schedule delete ws_demo --yes'],
  ).action(
    act(async (target: string, o: CommonOptions) => {
      const io = ioOf(o);
      const scheduleId = resolveScheduleId(target);
      await confirm(o, io, { action: `delete schedule ${scheduleId}`, warning: 'The backups it made stay', declined: `schedule ${scheduleId} was not deleted` });
      return withClient(o, async (rig) => {
        await rig.schedules.delete(target);
        printJsonOr(io, { scheduleId, deleted: true }, () => [`${io.c.green('✓')} deleted schedule ${scheduleId}`]);
        return EXIT.ok;
      });
    }),
  );

  addAuditScheduleCommands(schedule, act, ioOf);

  // fleet …
  const fleet = program.command('fleet').description('Back up many workspaces in one run, now or on a schedule');
  fleet.exitOverride();
  examples(
    addRetentionOptions(
      addCommon(fleet.command('backup').description('Back up many workspaces now (a child backupWorkspace each, bounded concurrency)'), {
        wait: true,
        requestKey: true,
      })
        .argument('<workspace...>', 'workspace ids')
        .option('--concurrency <n>', 'backups at once (default 10)', numberArg)
        .option('--prefix <prefix>', 'name prefix of the backups (default daily-backup-)'),
      'timezone of the date and time in the names and of the retention buckets (default UTC)',
    ),
    ['rigsnap fleet backup ws_a ws_b ws_c --concurrency 2 --keep-last 7'],
  ).action(
    act(async (workspaceIds: string[], o: CommonOptions & RetentionOptions & { concurrency?: number | string; prefix?: string }) => {
      const io = ioOf(o);
      const input = precheck(BackupFleetInput, {
        workspaceIds,
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
        ...(retentionFrom(o, true) ? { retention: retentionFrom(o, true) } : {}),
      });
      return runOperation(io, o, (rig) => rig.startFleetBackup(input, keyOf(o)), fleetOutput(io, input.workspaceIds));
    }),
  );

  const fleetSchedule = fleet.command('schedule').description('Fleet schedules: one backupFleet run over many workspaces, daily');
  fleetSchedule.exitOverride();
  examples(
    addScheduleOptions(
      addCommon(fleetSchedule.command('create').description('Create the schedule of a named fleet (an existing one is left as it is: `rigsnap fleet schedule update`)'))
        .argument('<name>', 'fleet name, e.g. nightly (schedule id rigsnap-fleet-<name>)')
        .argument('<workspace...>', 'workspace ids'),
      false,
    ).option('--concurrency <n>', 'backups at once (default 10)', numberArg),
    ['rigsnap fleet schedule create nightly ws_a ws_b ws_c --at 02:00 --timezone Europe/Berlin --keep-daily 7'],
  ).action(
    act(async (name: string, workspaceIds: string[], o: ScheduleCliOptions) => {
      const io = ioOf(o);
      const input = precheck(FleetScheduleOptions, {
        name,
        workspaceIds,
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...scheduleSettings(o),
      });
      return withClient(o, async (rig) => {
        const s = await rig.schedules.createFleet(input);
        printJsonOr(io, s, () => [`${io.c.green('✓')} created fleet schedule`, ...scheduleLines(io, s)]);
        return EXIT.ok;
      });
    }),
  );
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
  examples(addCommon(fleetSchedule.command('describe').description('Show a fleet schedule')).argument('<name>', 'fleet name'), ['rigsnap fleet schedule describe nightly']).action(
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

  // checkpoint / rollback / release
  examples(
    addCommon(
      program
        .command('checkpoint')
        .description('Start a checkpoint session: snapshot now, then `rigsnap rollback <id>` as often as needed, and `rigsnap release <id>` (or the TTL) to end it'),
      { wait: true, requestKey: true },
    )
      .argument('<workspace>', 'workspace id')
      .requiredOption('--name <name>', 'checkpoint snapshot name, e.g. pre-demo')
      .option('--ttl <duration>', 'end the session (keeping the snapshot) after this long, e.g. 2h (default 24h)'),
    ['rigsnap checkpoint ws_demo --name pre-demo --ttl 2h', 'rigsnap rollback checkpoint-ws_demo-pre-demo-m1abc2', 'rigsnap release checkpoint-ws_demo-pre-demo-m1abc2'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { name: string; ttl?: string }) => {
      const io = ioOf(o);
      const input = precheck(CheckpointWorkspaceInput, { workspaceId, name: o.name, ...(o.ttl !== undefined ? { ttl: o.ttl } : {}) });
      return withClient(o, async (rig) => {
        const started = await rig.startCheckpoint(input, keyOf(o));
        const ref = { workflowId: started.workflowId, runId: started.runId, url: started.url, workflowType: started.workflowType };
        if (o.wait === false) {
          printJsonOr(io, { ...ref, status: 'started' }, () => [started.workflowId, `  ${io.c.dim(started.url)}`]);
          return EXIT.ok;
        }
        if (!io.json) io.out(`${io.c.cyan('→')} ${started.workflowId}\n  ${io.c.dim(started.url)}`);
        if (started.existing) {
          // The session already ended: show how.
          const r = await started.result();
          printJsonOr(io, { ...ref, status: 'completed', result: r }, () => [`${io.c.green('✓')} ${checkpointEnded(r)}`]);
          return EXIT.ok;
        }
        const seen: Seen = { last: null, printed: null };
        const active = await watch(rig, io, started.workflowId, rig.awaitCheckpointActive(started.workflowId), seen);
        const now = await rig.progress(started.workflowId).catch(() => seen.last);
        finalSteps(io, now?.progress?.steps, false, seen);
        printJsonOr(io, { ...ref, status: 'active', checkpoint: active }, () => [
          `${io.c.green('✓')} checkpoint "${active.snapshotName}" of ${workspaceId} is active: snapshot ${active.snapshotId}${active.expiresAt ? `, released at ${fmtTime(active.expiresAt)}` : ''}`,
          `  roll back:  rigsnap rollback ${started.workflowId}`,
          `  release:    rigsnap release ${started.workflowId} [--delete-snapshot]`,
        ]);
        return EXIT.ok;
      });
    }),
  );

  examples(
    addCommon(program.command('rollback').description('Roll a checkpoint back: stop → restore the checkpoint → start; returns when the workspace runs again'))
      .argument('<checkpoint-id>', 'workflow id printed by `rigsnap checkpoint`'),
    ['rigsnap rollback checkpoint-ws_demo-pre-demo-m1abc2'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const before = await rig.progress(workflowId, undefined, 1000).catch(() => null);
        const url = before?.url ?? rig.workflowUrl(workflowId); // without a run id: the list filtered to this id
        if (!io.json && before) io.out(`${io.c.cyan('→')} rollback of ${workflowId}\n  ${io.c.dim(url)}`);
        const t0 = Date.now();
        const seen: Seen = { last: null, printed: null };
        const r = await watch(rig, io, workflowId, rig.rollback(workflowId), seen, t0);
        const after = await rig.progress(workflowId, undefined, 2000).then((p) => stepsSince(p, t0), () => seen.last);
        finalSteps(io, after?.progress?.steps, false, seen);
        printJsonOr(io, { workflowId, url, status: 'completed', result: r }, () => [
          `${io.c.green('✓')} ${r.snapshot.workspace_id} rolled back to ${snap(r.snapshot)} (rollback ${r.rollbacks}); workspace ${r.workspaceStatus} ${io.c.dim(`(${formatDuration(Date.now() - t0)})`)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );

  examples(
    addCommon(program.command('release').description('End a checkpoint session (the snapshot stays unless --delete-snapshot)'))
      .argument('<checkpoint-id>', 'workflow id printed by `rigsnap checkpoint`')
      .option('--delete-snapshot', 'also delete the checkpoint snapshot'),
    ['rigsnap release checkpoint-ws_demo-pre-demo-m1abc2', 'rigsnap release checkpoint-ws_demo-pre-demo-m1abc2 --delete-snapshot'],
  ).action(
    act(async (workflowId: string, o: CommonOptions & { deleteSnapshot?: boolean }) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const r = await rig.release(workflowId, { deleteSnapshot: Boolean(o.deleteSnapshot) });
        const url = rig.workflowUrl(workflowId, r.runId);
        printJsonOr(io, { workflowId, url, status: 'completed', result: r }, () => [
          r.alreadyReleased
            ? `${io.c.green('✓')} ${workflowId} had already ended; nothing to do (snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'})`
            : `${io.c.green('✓')} released ${workflowId}; snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'}`,
          `  ${io.c.dim(url)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );

  addAuditCommand(program, act, ioOf);

  // status
  examples(
    addCommon(program.command('status').description('Show a rigsnap workflow: status, steps, what its activity reports, and its result or error')).argument(
      '<workflow-id>',
      'workflow id (printed when an operation starts)',
    ),
    ['rigsnap status snapshot-ws_demo-before-migration-m1abc2', 'rigsnap status rigsnap-backup-ws_demo-2026-04-07T03:00:00Z --json'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const s = await rig.status(workflowId);
        printJsonOr(io, s, () => statusLines(io, s));
        return EXIT.ok;
      });
    }),
  );

  // cancel
  examples(
    addCommon(
      program
        .command('cancel')
        .description('Cancel a running operation (asks first): it stops at its next step, and a workspace it stopped is started again before it ends'),
      { wait: true, yes: true },
    ).argument('<workflow-id>', 'workflow id (printed when an operation starts; `rigsnap runs` lists recent ones)'),
    ['rigsnap cancel snapshot-ws_demo-before-migration-m1abc2', 'rigsnap cancel backup-ws_demo-m1abc2 --yes --no-wait'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, {
        action: `cancel ${workflowId}`,
        warning: 'It stops at its next step; a workspace it stopped is started again',
        declined: `${workflowId} was not cancelled and goes on`,
      });
      return withClient(o, async (rig) => {
        const c = await rig.cancel(workflowId);
        if (c.alreadyClosed) {
          printJsonOr(io, { ...c, status: c.status }, () => [
            `${io.c.green('✓')} ${workflowId} had already ended (${ENDED[c.status] ?? c.status.toLowerCase()}); nothing to cancel`,
            `  ${io.c.dim(c.url)}`,
          ]);
          return EXIT.ok;
        }
        if (o.wait === false) {
          printJsonOr(io, { ...c, status: 'CANCEL_REQUESTED' }, () => [`${io.c.green('✓')} cancellation of ${workflowId} requested; follow it with \`rigsnap status ${workflowId}\``, `  ${io.c.dim(c.url)}`]);
          return EXIT.ok;
        }
        if (!io.json) io.out(`${io.c.cyan('→')} cancelling ${workflowId}\n  ${io.c.dim(c.url)}`);
        const t0 = Date.now();
        const seen: Seen = { last: null, printed: null };
        const status = await watch(rig, io, workflowId, rig.awaitClosed(workflowId, c.runId), seen);
        const report = await rig.progress(workflowId, c.runId, 1500).catch(() => seen.last);
        finalSteps(io, report?.progress?.steps, status !== 'COMPLETED', seen);
        const how = ENDED[status] ?? status.toLowerCase();
        printJsonOr(io, { ...c, status }, () => [
          status === 'CANCELLED' || status === 'CANCELED'
            ? `${io.c.green('✓')} ${workflowId} cancelled ${io.c.dim(`(${formatDuration(Date.now() - t0)})`)}`
            : `${io.c.yellow('!')} ${workflowId} ${how} before the cancellation took effect; see \`rigsnap status ${workflowId}\``,
        ]);
        return EXIT.ok;
      });
    }),
  );

  // runs
  examples(
    addCommon(program.command('runs').description('List recent rigsnap operations (newest first) with their workflow ids and how they ended'))
      .argument('[workspace]', 'only the operations on this workspace')
      .option('--limit <n>', 'how many (default 20)', numberArg)
      .option('--include-reads', 'also list the `rigsnap list` reads'),
    ['rigsnap runs', 'rigsnap runs ws_demo --limit 5', 'rigsnap runs ws_demo --json'],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions & { limit?: number | string; includeReads?: boolean }) => {
      const io = ioOf(o);
      const limit = o.limit === undefined ? 20 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidInput('limit: must be a whole number from 1 to 1000', ['limit']);
      if (workspaceId !== undefined) precheck(ListSnapshotsInput, { workspaceId });
      return withClient(o, async (rig) => {
        const runs = await rig.recent({ ...(workspaceId ? { workspaceId } : {}), limit, includeReads: Boolean(o.includeReads) });
        printJsonOr(io, runs, () =>
          runs.length === 0
            ? [`no rigsnap operations${workspaceId ? ` on ${workspaceId}` : ''} on task queue ${rig.taskQueue} yet`]
            : table(
                ['STARTED', 'STATUS', 'OPERATION', 'WORKSPACE', 'WORKFLOW ID'],
                runs.map((r) => [fmtTime(r.startedAt), r.status, r.operation ?? r.workflowType, r.workspaceId ?? '-', r.workflowId]),
                io.c,
              ),
        );
        return EXIT.ok;
      });
    }),
  );

  // worker / dev
  examples(program.command('worker').description('Run a rigsnap worker (needs RIGBOX_TOKEN; see the worker settings in the README)').allowUnknownOption().allowExcessArguments(), [
    'RIGBOX_TOKEN=… rigsnap worker',
  ]).action(
    act(async () => runNode('worker/main.js', [])),
  );
  examples(program.command('dev').description('The local stack in one command: Temporal dev server with its UI, the Rigbox emulator and a worker').allowUnknownOption().allowExcessArguments(), [
    'rigsnap dev',
  ]).action(
    act(async (_o: unknown, cmd: Command) => runNode('worker/dev.js', cmd.args)),
  );

  addCommonOptions();
  reportUnknownOptionsFirst(program);
  return program;
}

// ---- the backup audit -----------------------------------------------------------------------------

type ActFactory = (fn: (...args: never[]) => Promise<number>) => Action;

const VERDICT_COLORS = { missing: 'red', stale: 'red', failed: 'yellow', ok: 'green' } as const;

function auditOutput(io: Io): OperationOutput<AuditBackupsResult> {
  const age = (s: number | null) => (s === null ? '-' : formatDuration(s * 1000));
  return {
    line: (r) => {
      const misses = r.counts.missing + r.counts.stale;
      const total = r.workspaces.length;
      return (
        `audit (RPO ${r.rpo}): ${misses === 0 ? `all ${total} protected workspaces have a backup within the RPO` : `${misses} of ${total} protected workspaces miss the RPO`}` +
        (r.counts.failed ? `, ${r.counts.failed} with a failed last run` : '') +
        (r.counts.unprotected ? `; ${r.counts.unprotected} unprotected` : '') +
        (r.notified ? '; notification sent' : '')
      );
    },
    more: (r) => {
      const lines: string[] = [];
      if (r.workspaces.length) {
        lines.push(
          ...table(
            ['WORKSPACE', 'VERDICT', 'NEWEST BACKUP', 'AGE', 'LAST RUN', 'SCHEDULES'],
            r.workspaces.map((w) => [
              w.workspaceId,
              io.c[VERDICT_COLORS[w.verdict]](w.verdict),
              w.newestBackup ? `${w.newestBackup.name} (${w.newestBackup.id})` : '-',
              age(w.ageSeconds),
              w.lastRun ? `${w.lastRun.status} ${fmtTime(w.lastRun.closedAt)}` : '-',
              w.schedules.length ? `${w.schedules.join(', ')}${w.paused ? ' (paused)' : ''}` : '(named on the command line)',
            ]),
            io.c,
          ),
        );
      }
      if (r.unprotected.length) {
        lines.push('', io.c.bold('unprotected: snapshots in Rigbox, but no schedule'));
        lines.push(
          ...table(
            ['WORKSPACE', 'SNAPSHOTS', 'SIZE', 'NEWEST'],
            r.unprotected.map((u) => [u.workspaceId, String(u.snapshotCount), fmtBytes(u.snapshotBytes), u.newestSnapshot ? `${u.newestSnapshot.name} ${fmtTime(u.newestSnapshot.created_at)}` : '-']),
            io.c,
          ),
        );
      }
      return lines;
    },
    exitCode: (r) => (r.ok ? EXIT.ok : EXIT.failed),
  };
}

/** `rigsnap audit`: is everything backed up? Exit 1 when a protected workspace misses the RPO (cron, CI gates). */
function addAuditCommand(program: Command, act: ActFactory, ioOf: (o: CommonOptions) => Io): void {
  examples(
    addCommon(
      program
        .command('audit')
        .description(
          'Is everything backed up? For every workspace under a backup or fleet schedule (and any given here): the newest backup in Rigbox, ' +
            'its age, whether the last backup run failed, and a verdict (ok, failed, stale, missing); and the workspaces with snapshots but no ' +
            'schedule. Exits 1 when any workspace misses the RPO.',
        ),
      { requestKey: true },
    )
      .argument('[workspace...]', 'more workspaces to audit (Rigbox has no list of workspaces)')
      .option('--rpo <duration>', 'recovery point objective: the newest backup may be at most this old (default 26h)')
      .option('--prefix <prefix>', "only snapshots named so count as backups (default: each schedule's own prefix, daily-backup- for the workspaces given)")
      .option('--notify', 'also send the offenders to the worker’s RIGSNAP_NOTIFY_URL (nothing is sent when all is well)'),
    ['rigsnap audit', 'rigsnap audit --rpo 26h --prefix daily-backup- --json', 'rigsnap audit ws_legacy ws_scratch --rpo 7d'],
  ).action(
    act(async (workspaceIds: string[], o: CommonOptions & { rpo?: string; prefix?: string; notify?: boolean }) => {
      const io = ioOf(o);
      const input = precheck(AuditBackupsInput, {
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
        ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
        workspaceIds,
        notify: Boolean(o.notify),
      });
      return runOperation(io, o, (rig) => rig.startAudit(input, keyOf(o)), auditOutput(io));
    }),
  );
}

/** `rigsnap schedule create-audit` / `delete-audit`: the audit on a schedule, notifying when something needs attention. */
function addAuditScheduleCommands(schedule: Command, act: ActFactory, ioOf: (o: CommonOptions) => Io): void {
  examples(
    addCommon(
      schedule
        .command('create-audit')
        .description(
          'Run the backup audit on a schedule (rigsnap-audit): one notification through RIGSNAP_NOTIFY_URL listing the workspaces that need attention, nothing when all is well. Creating it again updates it.',
        ),
    )
      .argument('[workspace...]', 'more workspaces to audit besides those of the schedules')
      .option('--every <duration>', 'how often (default 6h)')
      .option('--rpo <duration>', 'recovery point objective (default 26h)')
      .option('--prefix <prefix>', 'only snapshots named so count as backups (default: each schedule’s own prefix)')
      .option('--paused', 'create it paused'),
    ['rigsnap schedule create-audit --every 6h --rpo 26h'],
  ).action(
    act(async (workspaceIds: string[], o: CommonOptions & { every?: string; rpo?: string; prefix?: string; paused?: boolean }) => {
      const io = ioOf(o);
      const options = precheck(AuditScheduleOptions, {
        ...(o.every !== undefined ? { every: o.every } : {}),
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
        ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
        workspaceIds,
        paused: Boolean(o.paused),
      });
      return withClient(o, async (rig) => {
        const s = await rig.createAuditSchedule(options);
        printJsonOr(io, s, () => [
          `${io.c.green('✓')} ${s.created ? 'created' : 'updated'} ${s.scheduleId}: backup audit every ${s.every}, RPO ${s.rpo}${s.paused ? io.c.yellow(' (paused)') : ''}`,
          `  next runs   ${s.nextRuns.slice(0, 3).map((t) => fmtTime(t)).join(', ') || '-'}`,
          `  link        ${io.c.dim(s.url)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );
  examples(addCommon(schedule.command('delete-audit').description('Delete the backup audit’s schedule (asks first)'), { yes: true }), [
    'rigsnap schedule delete-audit --yes',
  ]).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, { action: 'delete the backup audit schedule rigsnap-audit', declined: 'the audit schedule rigsnap-audit is unchanged' });
      return withClient(o, async (rig) => {
        await rig.deleteAuditSchedule();
        printJsonOr(io, { scheduleId: 'rigsnap-audit', deleted: true }, () => [`${io.c.green('✓')} deleted schedule rigsnap-audit`]);
        return EXIT.ok;
      });
    }),
  );
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

function reportUnknownOptionsFirst(program: Command): void {
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

function checkpointEnded(r: CheckpointWorkspaceResult): string {
  return `checkpoint of ${r.workspaceId} (${snap(r.snapshot)}) ended by ${r.endedBy} after ${r.rollbacks} rollback${r.rollbacks === 1 ? '' : 's'}; snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'}`;
}

function backupOutput(io: Io): OperationOutput<BackupWorkspaceResult> {
  return {
    line: (r) =>
      `backup "${r.snapshot.name}" of ${r.snapshot.workspace_id} is ${r.snapshot.id} (${fmtBytes(r.snapshot.size_bytes)}); workspace ${r.workspaceStatus}` +
      (r.prune ? `; retention kept ${r.prune.kept.length}, deleted ${r.prune.deleted.length}` : ''),
    more: (r) => (r.prune ? pruneOutput(io).more!(r.prune) : []),
  };
}

/** How each workflow type's result reads, for `status`: the same line the command that ran it prints. */
function resultLines(io: Io, workflowType: string, result: unknown): string[] {
  const outputs: Record<string, OperationOutput<object>> = {
    [WORKFLOW_TYPES.snapshot]: snapshotOutput(),
    [WORKFLOW_TYPES.restore]: restoreOutput(),
    [WORKFLOW_TYPES.delete]: deleteOutput(),
    [WORKFLOW_TYPES.list]: listOutput(io),
    [WORKFLOW_TYPES.prune]: pruneOutput(io),
    [WORKFLOW_TYPES.backup]: backupOutput(io),
    [WORKFLOW_TYPES['fleet-backup']]: fleetOutput(io),
    [WORKFLOW_TYPES.checkpoint]: { line: (r: CheckpointWorkspaceResult) => checkpointEnded(r) },
  };
  const out = outputs[workflowType];
  if (!out || result === null || typeof result !== 'object') return [`  result      ${result === undefined ? '-' : 'see --json'}`];
  try {
    return [`  result      ${out.line(result)}`, ...(out.more?.(result) ?? []).map((l) => `  ${l}`)];
  } catch {
    return ['  result      (a shape this version does not know; see --json)'];
  }
}

const ENDED: Record<string, string> = { COMPLETED: 'completed', FAILED: 'failed', CANCELLED: 'cancelled', CANCELED: 'cancelled', TERMINATED: 'terminated', TIMED_OUT: 'timed out', CONTINUED_AS_NEW: 'continued as new' };

function statusLines(io: Io, s: StatusReport): string[] {
  const color = s.status === 'COMPLETED' ? io.c.green : s.status === 'RUNNING' ? io.c.cyan : io.c.red;
  const row = (label: string, value: string) => `  ${label.padEnd(11)} ${value}`;
  const lines = [
    `${io.c.bold(s.workflowId)} ${color(s.status)}`,
    row('type', `${s.workflowType}${s.operation ? ` (${s.operation}${s.workspaceId ? ` of ${s.workspaceId}` : ''})` : ''}`),
  ];
  if (s.summary) lines.push(row('summary', s.summary));
  lines.push(row('started', fmtTime(s.startedAt)));
  if (s.closedAt) {
    lines.push(row('ended', `${ENDED[s.status] ?? s.status.toLowerCase()} ${fmtTime(s.closedAt)}, after ${formatDuration(Date.parse(s.closedAt) - Date.parse(s.startedAt))}`));
  }
  lines.push(row('link', io.c.dim(s.url)));
  if (s.progress) {
    const detail = describeDetail(s.progress.detail);
    if (detail) lines.push(row('detail', detail));
    lines.push(row('steps', ''));
    lines.push(...renderProgress({ progress: s.progress, activity: s.activity, now: Date.now() }, { color: io.tty, detail: false }).slice(1).map((l) => `  ${l}`));
  } else if (s.activity) {
    lines.push(row('activity', `${s.activity.activityType} (attempt ${s.activity.attempt})`));
  }
  if (s.error) lines.push(row('error', io.c.red(`${s.error.type}: ${s.error.message}`)), row('what to do', s.error.advice));
  if (s.result !== undefined) lines.push(...resultLines(io, s.workflowType, s.result));
  return lines;
}

function keyOf(o: CommonOptions): { requestKey?: string } {
  return o.requestKey !== undefined ? { requestKey: o.requestKey } : {};
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Runs one of the package's own Node entry points (dist/worker/…), resolved next to this file, with
 * the terminal inherited. The child gets its own process group so that Ctrl-C reaches it once, from
 * here, and shuts it down gracefully; a second Ctrl-C is forwarded too, which stops it at once.
 */
async function runNode(relative: string, args: string[]): Promise<number> {
  const entry = fileURLToPath(new URL(`../${relative}`, import.meta.url));
  if (!fs.existsSync(entry)) {
    process.stderr.write(`rigsnap: ${entry} not found; run \`npm run build\` first\n`);
    return EXIT.failed;
  }
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit', detached: true });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code !== null) resolve(code);
        else resolve(128 + (signal ? (os.constants.signals[signal] ?? 1) : 1));
      });
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('exit', killOnExit);
  }
}

/** Prints an error the way a user can act on it and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const write = (s: string) => process.stderr.write(`${s}\n`);
  const emitJson = (body: Record<string, unknown>) => {
    if (json) process.stdout.write(`${JSON.stringify({ error: body })}\n`);
  };
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.ok;
    emitJson({ type: 'Usage', message: err.message });
    return EXIT.usage; // commander already printed the message and the hint
  }
  if (err instanceof Declined) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Declined', message: err.message });
    return EXIT.usage;
  }
  if (err instanceof UsageError || err instanceof ClientConfigError) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Usage', message: err.message });
    return EXIT.usage;
  }
  if (err instanceof TemporalConnectionError) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Unreachable', message: err.message, address: err.address });
    return EXIT.unreachable;
  }
  if (err instanceof RigsnapError) {
    const beforeStart = err.type === 'InvalidInput' && !err.workflowId;
    const message = beforeStart ? withFlagNames(err.message) : err.message;
    write(`rigsnap: ${err.type}: ${message}`);
    write(`  what to do: ${err.advice}`);
    if (err.workflowId && err.type !== 'WorkflowNotFound') write(`  workflow: ${err.workflowId} (rigsnap status ${err.workflowId})`);
    emitJson({ ...err.toJSON(), message });
    return beforeStart ? EXIT.usage : EXIT.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`rigsnap: ${message}`);
  emitJson({ type: 'Unknown', message });
  return EXIT.failed;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return reportError(err, argv.includes('--json'));
  }
}

/** Runs the CLI as a program: sets the exit code, and never lets a slow handle hang the shell. */
export function run(argv: string[] = process.argv): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
      // Should a handle outlive the command (a gRPC channel closing slowly), do not hang the shell.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`rigsnap: ${String(err)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

// Run when executed (node dist/client/cli.js, the npm bin link), not when imported (tests, ./rigsnap).
const invokedAs = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) run();
