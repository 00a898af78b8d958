#!/usr/bin/env node
/**
 * `npm run demo:day`: a day of simulated backups on a throwaway local stack (a Temporal dev server in
 * memory, the Rigbox emulator, one worker process), driven through the real CLI as a person would:
 * enroll workspaces with labels, a fleet schedule by selector and two workspace schedules every 4 hours,
 * backfilled over the last 24 hours; a checkpoint released, a restore, a failed run; then
 * `rigsnap report --since 24h` and `rigsnap usage`. What it prints is what the note shows.
 * Not part of `npm test`: it takes about two minutes (`--quick`, two runs per schedule instead of six, about one).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../dev/temporal-server.js';
import { RigsnapClient } from '../client/index.js';
import { startBenchStack, until, type BenchStack } from './stack.js';

const CLI = () => path.join(projectRoot(), 'dist', 'cli', 'main.js');

/** The demo's workspaces: id, labels, what is in them. */
const WORKSPACES: Array<{ id: string; labels: Record<string, string>; files: Record<string, string> }> = [
  { id: 'ws_ml_train', labels: { team: 'ml', env: 'prod' }, files: { 'model.bin': 'weights v1' } },
  { id: 'ws_ml_notebook', labels: { team: 'ml', env: 'dev' }, files: { 'analysis.ipynb': 'cells' } },
  { id: 'ws_web', labels: { team: 'web', env: 'prod' }, files: { 'index.html': '<h1>hi</h1>' } },
  { id: 'ws_data', labels: { team: 'data', env: 'prod' }, files: { 'rows.csv': 'a,b\n1,2' } },
];
/** Not enrolled and never backed up by rigsnap: `discover` finds it through its hand-made snapshot. */
const STRAY: { id: string; files: Record<string, string> } = { id: 'ws_sandbox', files: { 'notes.txt': 'scratch' } };

interface Out {
  line(text?: string): void;
}

/** Runs the built CLI against the stack, prints the command and its output, returns its exit code. */
async function cli(stack: BenchStack, out: Out, args: string[], opts: { show?: boolean } = {}): Promise<{ code: number | null; stdout: string }> {
  out.line(`$ rigsnap ${args.join(' ')}`);
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
    const child = spawn(process.execPath, [CLI(), ...args], {
      env: { ...clean, TEMPORAL_ADDRESS: stack.address, RIGSNAP_TASK_QUEUE: stack.taskQueue, RIGSNAP_IDENTITY: 'demo@rigsnap', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  if (opts.show !== false) for (const l of `${r.stdout}${r.stderr}`.trimEnd().split('\n')) out.line(l);
  if (opts.show !== false && r.code !== 0) out.line(`(exit ${r.code})`);
  out.line();
  return r;
}

/** Waits until a schedule has taken `actions` actions and none is running (backfilled runs are buffered one after another). */
async function scheduleSettled(stack: BenchStack, scheduleId: string, actions: number, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      const d = await stack.client.schedule.getHandle(scheduleId).describe();
      return d.info.runningActions.length === 0 && d.info.recentActions.length >= actions;
    },
    timeoutMs,
    `${scheduleId}: ${actions} runs done`,
  );
}

/** The times of a day every 4 hours ("00:00,04:00,…"), or every 12 with --quick. */
function everyHours(step: number): string {
  const at: string[] = [];
  for (let h = 0; h < 24; h += step) at.push(`${String(h).padStart(2, '0')}:00`);
  return at.join(',');
}

async function seed(stack: BenchStack, rig: RigsnapClient, out: Out): Promise<void> {
  for (const w of [...WORKSPACES, STRAY]) stack.emu.state.upsertWorkspace({ id: w.id, status: 'running', files: w.files });
  await rig.snapshot({ workspaceId: STRAY.id, name: 'before-cleanup' });
  for (const w of WORKSPACES) {
    await cli(stack, out, ['enroll', w.id, ...Object.entries(w.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`])]);
  }
  await cli(stack, out, ['workspaces', '--selector', 'team=ml']);
}

/** Schedules every `step` hours, backfilled over the last 24 h; waits for every run. */
async function aDayOfBackups(stack: BenchStack, out: Out, step: number): Promise<void> {
  const at = everyHours(step);
  await cli(stack, out, ['fleet', 'schedule', 'create', 'ml-nightly', '--selector', 'team=ml', '--at', at, '--timezone', 'UTC', '--keep-last', '12']);
  await cli(stack, out, ['schedule', 'create', 'ws_web', '--at', at, '--timezone', 'UTC', '--keep-daily', '7']);
  await cli(stack, out, ['schedule', 'create', 'ws_data', '--at', at, '--timezone', 'UTC', '--keep-last', '6']);
  const end = new Date();
  const start = new Date(end.getTime() - 24 * 3_600_000);
  const runs = 24 / step;
  for (const id of ['rigsnap-fleet-ml-nightly', 'rigsnap-backup-ws_web', 'rigsnap-backup-ws_data']) {
    await cli(stack, out, ['schedule', 'backfill', id, '--start', start.toISOString(), '--end', end.toISOString(), '--overlap', 'BUFFER_ALL']);
  }
  out.line(`… waiting for the ${runs} backfilled runs of each schedule`);
  for (const id of ['rigsnap-fleet-ml-nightly', 'rigsnap-backup-ws_web', 'rigsnap-backup-ws_data']) await scheduleSettled(stack, id, runs, 10 * 60_000);
  out.line('… done');
  out.line();
}

/** A checkpoint released (its snapshot kept: retention expires it 7 days later), a restore (a safety snapshot), a failed run. */
async function theRestOfTheDay(stack: BenchStack, rig: RigsnapClient, out: Out): Promise<void> {
  out.line('$ rigsnap checkpoint ws_ml_notebook --name pre-demo --ttl 2h   # then: rigsnap release <id>');
  const cp = await rig.startCheckpoint({ workspaceId: 'ws_ml_notebook', name: 'pre-demo', ttl: '2h' });
  const active = await rig.awaitCheckpointActive(cp.workflowId);
  out.line(`checkpoint ${active.snapshotId} active (${cp.workflowId})`);
  out.line();
  await cli(stack, out, ['release', cp.workflowId]);

  const list = await rig.listSnapshots({ workspaceId: 'ws_web' });
  const oldest = [...list.snapshots].sort((a, b) => a.name.localeCompare(b.name))[0]!;
  await cli(stack, out, ['restore', 'ws_web', oldest.id, '--yes']);

  // A Rigbox incident: ws_data is gone for a moment (404), exactly when its schedule runs; then it is back.
  out.line('… ws_data answers 404 for a moment (a Rigbox incident) while its schedule is triggered:');
  const ws = stack.emu.state.workspace('ws_data')!;
  stack.emu.state.deleteWorkspace('ws_data');
  const trigger = await cli(stack, out, ['schedule', 'trigger', 'ws_data']);
  const workflowId = /triggered \S+: (\S+)/.exec(trigger.stdout)?.[1];
  if (!workflowId) throw new Error(`no run in the trigger's answer: ${trigger.stdout}`);
  // Its own result, not the schedule's summary: the run has ended (failed) before the workspace comes back.
  const failure = await stack.client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      () => 'completed',
      (err: unknown) => (err instanceof Error ? `${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}` : String(err)),
    );
  out.line(`${workflowId}: ${failure}`);
  out.line();
  stack.emu.state.upsertWorkspace({ id: 'ws_data', status: 'running', files: ws.files });
  await cli(stack, out, ['runs', 'ws_data']);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: npm run demo:day [-- --quick]   (--quick: every 12 hours instead of every 4)\n');
    return 0;
  }
  const out: Out = { line: (t = '') => process.stdout.write(`${t}\n`) };
  const t0 = Date.now();
  out.line('# A day of simulated backups: a throwaway Temporal dev server, the Rigbox emulator, one worker');
  const stack = await startBenchStack({
    inMemory: true,
    emulator: { delays: { stopMs: 200, startMs: 200, snapshotMs: 100, restoreMs: 100, latencyMs: 2 } },
    log: (l) => out.line(`# ${l}`),
  });
  try {
    await stack.startWorker();
    const rig = await RigsnapClient.connect({ address: stack.address, taskQueue: stack.taskQueue, env: { RIGSNAP_IDENTITY: 'demo@rigsnap' } });
    try {
      out.line();
      await seed(stack, rig, out);
      await aDayOfBackups(stack, out, values.quick ? 12 : 4);
      await theRestOfTheDay(stack, rig, out);
      out.line('# The report and the usage after the day');
      out.line();
      const report = await cli(stack, out, ['report', '--since', '24h']);
      const usage = await cli(stack, out, ['usage', '--price-per-gib-month', '0.05']);
      await cli(stack, out, ['discover']);
      out.line(`# demo took ${Math.round((Date.now() - t0) / 1000)} s`);
      // The report exits 1 when a protected workspace misses the RPO; none should here.
      return report.code === 0 && usage.code === 0 ? 0 : 1;
    } finally {
      await rig.close();
    }
  } finally {
    await stack.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo:day failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
