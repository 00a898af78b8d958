import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WORKFLOW_TYPES, lockStateQuery, progressQuery } from '../../contract/index.js';
import { buildProgram } from '../../cli/main.js';
import type { Worker } from '@temporalio/worker';
import { scheduleIds } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { eventually } from '../helpers/workflows.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { checkLink, linksIn } from '../helpers/ui-links.js';

/**
 * The real `rigsnap` binary (dist/cli/main.js, built by `npm run build`, which `npm test` runs first)
 * as a child process, against the run's Temporal dev server and an in-process worker on a queue of its
 * own, backed by the emulator.
 */
const CLI = path.resolve('dist/cli/main.js');

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let closedAddress: string;
const taskQueue = uniqueTaskQueue('cli');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ReturnType<typeof spawn>;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Waits until stdout or stderr matches (polling the collected output, not sleeping a fixed time). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts the CLI without waiting for it, to watch its output as it goes. */
function startRigsnap(args: string[], env: Record<string, string> = {}): Running {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...clean, TEMPORAL_ADDRESS: inject('temporalAddress'), RIGSNAP_TASK_QUEUE: taskQueue, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      eventually(() => pattern.test(out) || pattern.test(err), timeoutMs, `${pattern} in the output of rigsnap ${args.join(' ')}\n${out}\n${err}`),
  };
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing `input` once it asks: for the
 * confirmations, which are only ever asked on a terminal.
 */
function rigsnapOnTerminal(args: string[], input: string, env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], {
      env: { ...clean, TEMPORAL_ADDRESS: inject('temporalAddress'), RIGSNAP_TASK_QUEUE: taskQueue, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!typed && /\[y\/N\]/.test(stdout)) {
        typed = true;
        child.stdin.write(input);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

/** Runs `node dist/cli/main.js …` without a terminal (stdin, stdout and stderr are pipes). Never blocks the worker. */
function rigsnap(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...clean, TEMPORAL_ADDRESS: inject('temporalAddress'), RIGSNAP_TASK_QUEUE: taskQueue, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

const parse = (r: Run) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

async function workflowsOfType(type: string): Promise<number> {
  return (await temporal.client.workflow.count(`TaskQueue="${taskQueue}" AND WorkflowType="${type}"`)).count;
}

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  if (fs.statSync(CLI).mtimeMs < fs.statSync(path.resolve('cli/main.ts')).mtimeMs) {
    throw new Error(`${CLI} is older than cli/main.ts: run \`npm run build\` first (npm test does)`);
  }
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
    seedWorkspaces: [
      { id: 'ws_cli', status: 'running', files: { 'app.py': 'print(1)' } },
      { id: 'ws_restore', status: 'running' },
      { id: 'ws_prune', status: 'running' },
      { id: 'ws_list', status: 'running' },
      { id: 'ws_cli_sched', status: 'running' },
      { id: 'ws_cli_cancel', status: 'running' },
      { id: 'ws_cli_abandon', status: 'running' },
      { id: 'ws_cli_detach', status: 'running' },
      { id: 'ws_lock', status: 'running' },
      { id: 'ws_fleet_a', status: 'running' },
      { id: 'ws_fleet_b', status: 'stopped' },
      { id: 'ws_status', status: 'running' },
      { id: 'ws_cli_notice', status: 'running' },
      { id: 'ws_cli_snapnotice', status: 'running' },
      { id: 'ws_cli_fleetnotice', status: 'running' },
    ],
  });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  // An address where nothing listens: a port that was just free.
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closedAddress = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  await new Promise((r) => server.close(r));
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

describe('rigsnap snapshot / list / restore', () => {
  it('snapshot --json prints the result as JSON, and the snapshot exists in Rigbox', async () => {
    const r = await rigsnap(['snapshot', 'ws_cli', '--name', 'cli-json', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = parse(r);
    expect(out).toMatchObject({ status: 'completed', workflowType: WORKFLOW_TYPES.snapshot });
    expect(out.workflowId).toMatch(/^snapshot-ws_cli-cli-json-/);
    expect(out.url).toBe(`http://localhost:8233/namespaces/default/workflows/${out.workflowId}/${out.runId}/history`);
    expect(out.result.snapshot).toMatchObject({ name: 'cli-json', workspace_id: 'ws_cli' });
    const inRigbox = emu.state.snapshotsOf('ws_cli').find((s) => s.id === out.result.snapshot.id);
    expect(inRigbox).toMatchObject({ name: 'cli-json', files: { 'app.py': 'print(1)' } });
    expect(emu.state.workspace('ws_cli')!.status).toBe('running');
  });

  it('snapshot in plain output prints the link, each step and a one-line result', async () => {
    const r = await rigsnap(['snapshot', 'ws_cli', '--name', 'cli-plain'], { RIGSNAP_UI_URL: 'http://ui.example:8080/' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/http:\/\/ui\.example:8080\/namespaces\/default\/workflows\/snapshot-ws_cli-cli-plain-[^/]+\/[0-9a-f-]+\/history/);
    expect(r.stdout).toContain('✓ taking snapshot');
    expect(r.stdout).toMatch(/✓ snapshot "cli-plain" of ws_cli is snap_\w+ .*workspace running/);
    expect(r.stdout).not.toContain('\u001b['); // no colours without a terminal
  });

  it('list --json lists what Rigbox has', async () => {
    const ws = emu.state.workspace('ws_list')!;
    emu.state.addSnapshot(ws, 'one');
    emu.state.addSnapshot(ws, 'two');
    const r = await rigsnap(['list', 'ws_list', '--json']);
    expect(r.code).toBe(0);
    const out = parse(r);
    expect(out.result.count).toBe(2);
    expect(out.result.snapshots.map((s: { name: string }) => s.name).sort()).toEqual(['one', 'two']);

    // A read stays out of the workspace's list in the Temporal UI, and is found as a read.
    const reads = `TaskQueue="${taskQueue}" AND RigboxOperation="list" AND WorkflowId="${out.workflowId}"`;
    await eventually(async () => (await temporal.client.workflow.count(reads)).count === 1, 30_000, 'the read in visibility');
    expect((await temporal.client.workflow.count(`RigboxWorkspaceId="ws_list" AND WorkflowId="${out.workflowId}"`)).count).toBe(0);
  });

  it('restore without --yes and without a terminal refuses (exit 2) and starts nothing', async () => {
    const ws = emu.state.workspace('ws_restore')!;
    const target = emu.state.addSnapshot(ws, 'good-state');
    const callsBefore = emu.calls.length;

    const r = await rigsnap(['restore', 'ws_restore', target.id]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to restore ws_restore');
    expect(r.stderr).toContain('--yes');
    expect(r.stdout).toBe('');
    // It did not even connect: against an address where nothing listens it still answers 2, not 3.
    const offline = await rigsnap(['restore', 'ws_restore', target.id], { TEMPORAL_ADDRESS: closedAddress });
    expect(offline.code).toBe(2);
    expect(emu.calls.length).toBe(callsBefore);
    expect(await workflowsOfType(WORKFLOW_TYPES.restore)).toBe(0);

    // With --yes it restores.
    const ok = await rigsnap(['restore', 'ws_restore', target.id, '--yes', '--json']);
    expect(ok.code).toBe(0);
    expect(parse(ok).result.restored.id).toBe(target.id);
  });

  it('declining a restore on a terminal starts nothing and says the workspace is unchanged', async () => {
    const ws = emu.state.workspace('ws_restore')!;
    const target = emu.state.addSnapshot(ws, 'maybe');
    const callsBefore = emu.calls.length;
    const restoresBefore = await workflowsOfType(WORKFLOW_TYPES.restore);
    // Without a safety snapshot (the default takes one since issue 20), the question says what is lost.
    const r = await rigsnapOnTerminal(['restore', 'ws_restore', target.id, '--no-keep-current'], 'n\n');
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`restore ws_restore to ${target.id}? Its current state is replaced without a safety snapshot. [y/N]`);
    expect(r.stdout).toContain('nothing done: ws_restore was not restored and is unchanged');
    expect(r.stdout).not.toMatch(/lost/);
    expect(emu.calls.length).toBe(callsBefore);
    expect(await workflowsOfType(WORKFLOW_TYPES.restore)).toBe(restoresBefore);
  });

  it('delete without --yes and without a terminal refuses too', async () => {
    const ws = emu.state.workspace('ws_restore')!;
    const doomed = emu.state.addSnapshot(ws, 'doomed');
    const r = await rigsnap(['delete', 'ws_restore', doomed.id]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to delete snapshot');
    expect(emu.state.data.snapshots[doomed.id]).toBeDefined();
  });
});

describe('output read only in part', () => {
  it('a reader that closes the pipe early (`| head`) ends the CLI quietly, with no stack trace', async () => {
    const child = spawn(process.execPath, [CLI, 'fleet', 'backup', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has started: its first write meets a pipe nobody reads.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('bad usage', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing --name', ['snapshot', 'ws_cli'], /required option '--name <name>' not specified/],
    ['a misspelt --name', ['snapshot', 'ws_cli', '--nme', 'foo'], /unknown option '--nme'\n\(Did you mean --name\?\)/],
    ['a misspelt option of a nested command', ['schedule', 'backfill', 'ws_cli', '--strat', 'x', '--end', 'y'], /unknown option '--strat'/],
    ['a malformed workspace id', ['snapshot', 'bad-id', '--name', 'x'], /InvalidInput: invalid input: workspaceId \(<workspace>\): must be "ws_"/],
    ['a malformed snapshot name', ['snapshot', 'ws_cli', '--name', '../etc'], /name \(--name\): must be 1-128 characters/],
    ['an unknown restart policy', ['snapshot', 'ws_cli', '--name', 'x', '--restart', 'sometimes'], /--restart <policy>' argument 'sometimes' is invalid/],
    ['a prune without a policy', ['prune', 'ws_cli', '--prefix', 'daily-', '--dry-run'], /retention \(--keep-last.*\): must set at least one of/],
    [
      'a non-numeric --keep-last',
      ['prune', 'ws_cli', '--prefix', 'daily-', '--keep-last', 'seven', '--dry-run'],
      /retention\.keepLast \(--keep-last\): must be a whole number/,
    ],
    ['an unknown timezone', ['schedule', 'create', 'ws_cli', '--timezone', 'Mars/Base'], /timezone \(--timezone\): must be an IANA timezone/],
    ['a bad --at', ['schedule', 'create', 'ws_cli', '--at', '3pm'], /at \(--at\): must be a time of day/],
    ['bad quiet hours', ['schedule', 'create', 'ws_cli', '--quiet-hours', '22-06'], /quietHours\.0 \(--quiet-hours\): must be a range of 24-hour times/],
    ['a notice in days', ['schedule', 'create', 'ws_cli', '--notice', '2d'], /notice \(--notice\): must be a duration such as "10m"/],
    ['a snapshot notice in days', ['snapshot', 'ws_cli', '--name', 'x', '--notice', '2d'], /notice \(--notice\): must be a duration such as "10m"/],
    ['a snooze shorter than a minute', ['snooze', 'ws_cli', '--for', '30s'], /for \(--for\): must be a duration of at least 1m/],
    ['an unknown command', ['snapshots', 'ws_cli'], /unknown command 'snapshots'/],
    ['a schedule group without a subcommand', ['schedule'], /Usage: rigsnap schedule/],
  ];

  it.each(cases)('%s exits 2 with a message and starts nothing', async (_what, args, message) => {
    const callsBefore = emu.calls.length;
    const r = await rigsnap(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(emu.calls.length).toBe(callsBefore);
    // Rejected before connecting: where nothing listens, still 2 (not 3).
    expect((await rigsnap(args, { TEMPORAL_ADDRESS: closedAddress })).code).toBe(2);
  });

  it('bad input with --json also prints a JSON error naming the field', async () => {
    const r = await rigsnap(['snapshot', 'bad-id', '--name', 'x', '--json']);
    expect(r.code).toBe(2);
    expect(parse(r).error).toMatchObject({ type: 'InvalidInput', fields: ['workspaceId'] });
  });

  it('an operation that fails exits 1 naming the error type and what to do', async () => {
    const r = await rigsnap(['snapshot', 'ws_nowhere', '--name', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NotFound: workspace ws_nowhere');
    expect(r.stderr).toContain(
      'what to do: check the workspace id ws_nowhere as Rigbox shows it (e.g. ws_demo); `rigsnap list` shows the workspaces that have snapshots',
    );
  });

  it('cannot reach Temporal: exits 3 naming the address it tried and how to start the local stack', async () => {
    const r = await rigsnap(['list', '--json'], { TEMPORAL_ADDRESS: closedAddress });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach Temporal at ${closedAddress}`);
    expect(r.stderr).toContain('`npm start` in the rigsnap checkout');
    expect(parse(r).error).toMatchObject({ type: 'Unreachable', address: closedAddress });
  });
});

describe('advice that leads somewhere', () => {
  it('an unknown workspace, even in `list`, is not answered with `rigsnap list <that workspace>`; what it suggests works', async () => {
    const r = await rigsnap(['list', 'ws_nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NotFound: (listing snapshots: )?workspace ws_nope does not exist/);
    expect(r.stderr).not.toContain('rigsnap list ws_nope');
    expect(r.stderr).toContain('`rigsnap list` shows the workspaces that have snapshots');
    emu.state.addSnapshot(emu.state.workspace('ws_list')!, 'visible');
    const suggested = await rigsnap(['list']);
    expect(suggested.code).toBe(0);
    expect(suggested.stdout).toMatch(/ID +NAME +WORKSPACE/);
    expect(suggested.stdout).toMatch(/visible +ws_list/);
  });

  it('a missing snapshot points at the list of that workspace', async () => {
    const r = await rigsnap(['delete', 'ws_restore', 'snap_gone', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('`rigsnap list ws_restore` lists the snapshots of ws_restore');
    const restore = await rigsnap(['restore', 'ws_restore', 'snap_gone', '--yes']);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain('what to do: check the snapshot id: `rigsnap list ws_restore` lists the snapshots of ws_restore with their ids');
  });

  it('a wrong workflow id suggests `rigsnap runs`, which lists the real ones', async () => {
    const r = await rigsnap(['status', 'snapshot-ws_cli-no-such-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WorkflowNotFound: no workflow with id snapshot-ws_cli-no-such-run');
    expect(r.stderr).toContain('`rigsnap runs [workspace]` lists recent operations with their ids');
    expect(r.stderr).not.toContain('`rigsnap status <id>`');
    const done = await rigsnap(['snapshot', 'ws_status', '--name', 'findable', '--json']);
    const id = parse(done).workflowId as string;
    let listed: Array<{ workflowId: string; status: string; operation: string }> = [];
    for (let i = 0; i < 100 && !listed.some((x) => x.workflowId === id); i++) {
      const runs = await rigsnap(['runs', 'ws_status', '--json']);
      expect(runs.code).toBe(0);
      listed = parse(runs);
    }
    expect(listed.find((x) => x.workflowId === id)).toMatchObject({ status: 'COMPLETED', operation: 'snapshot' });
    const plain = await rigsnap(['runs', 'ws_status']);
    expect(plain.stdout).toMatch(new RegExp(`COMPLETED +snapshot +ws_status +${id}`));
  });

  it('a namespace that does not exist is named as such, for a start and for a look-up', async () => {
    const start = await rigsnap(['snapshot', 'ws_cli', '--name', 'x', '--namespace', 'no-such-namespace']);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(`NamespaceNotFound: namespace "no-such-namespace" does not exist on the Temporal server at ${inject('temporalAddress')}`);
    expect(start.stderr).toContain('TEMPORAL_NAMESPACE');
    expect(start.stderr).not.toContain('Temporal UI');
    const look = await rigsnap(['status', 'anything', '--namespace', 'no-such-namespace', '--json']);
    expect(look.code).toBe(1);
    expect(parse(look).error).toMatchObject({ type: 'NamespaceNotFound' });
  });
});

describe('rigsnap fleet backup', () => {
  it('lists each workspace with the snapshot it made, or its error; exits 1 when one failed', async () => {
    const r = await rigsnap(['fleet', 'backup', 'ws_fleet_a', 'ws_fleet_b', 'ws_fleet_gone', '--concurrency', '2', '--prefix', 'fleet-', '--allow-missing']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ fleet backup: 2 of 3 succeeded, 1 failed/);
    const made = (ws: string) => emu.state.snapshotsOf(ws).find((s) => s.name.startsWith('fleet-'))!;
    expect(r.stdout).toMatch(/WORKSPACE +RESULT +SNAPSHOT +NAME/);
    expect(r.stdout).toMatch(new RegExp(`ws_fleet_a +backed up +${made('ws_fleet_a').id} +${made('ws_fleet_a').name}`));
    expect(r.stdout).toMatch(new RegExp(`ws_fleet_b +backed up +${made('ws_fleet_b').id} +${made('ws_fleet_b').name}`));
    expect(r.stdout).toMatch(/ws_fleet_gone +failed +NotFound: .*workspace ws_fleet_gone does not exist/);
    // The same run as JSON carries the backups too.
    const json = await rigsnap(['fleet', 'backup', 'ws_fleet_a', '--prefix', 'fleet-', '--json']);
    expect(json.code).toBe(0);
    expect(parse(json).backups).toEqual([
      expect.objectContaining({
        workspaceId: 'ws_fleet_a',
        status: 'COMPLETED',
        snapshot: { id: expect.stringMatching(/^snap_/), name: expect.stringMatching(/^fleet-\d{4}-\d\d-\d\d-\d{4}/) },
      }),
    ]);
  });
});

describe('rigsnap prune --dry-run', () => {
  it('deletes nothing and lists each kept snapshot with its reasons', async () => {
    const ws = emu.state.workspace('ws_prune')!;
    const days = ['2026-03-30', '2026-03-31', '2026-04-01', '2026-04-02'];
    for (const day of days) emu.state.addSnapshot(ws, `daily-backup-${day}`).created_at = `${day}T03:00:00.000Z`;
    emu.state.addSnapshot(ws, 'before-migration');
    const before = emu.state
      .snapshotsOf('ws_prune')
      .map((s) => s.id)
      .sort();

    const r = await rigsnap(['prune', 'ws_prune', '--prefix', 'daily-backup-', '--keep-last', '2', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const out = parse(r).result;
    expect(out.dryRun).toBe(true);
    expect(out.kept.map((k: { snapshot: { name: string }; reasons: string[] }) => [k.snapshot.name, k.reasons])).toEqual([
      ['daily-backup-2026-04-02', ['newest', 'last']],
      ['daily-backup-2026-04-01', ['last']],
    ]);
    expect(out.deleted.map((s: { name: string }) => s.name)).toEqual(['daily-backup-2026-03-31', 'daily-backup-2026-03-30']);
    expect(out.ignored).toBe(1);
    expect(
      emu.state
        .snapshotsOf('ws_prune')
        .map((s) => s.id)
        .sort(),
    ).toEqual(before);

    const plain = await rigsnap(['prune', 'ws_prune', '--prefix', 'daily-backup-', '--keep-last', '2', '--dry-run']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/keep +snap_\w+ +daily-backup-2026-04-02 .*newest, last/);
    expect(plain.stdout).toMatch(/would delete +snap_\w+ +daily-backup-2026-03-30/);
    expect(
      emu.state
        .snapshotsOf('ws_prune')
        .map((s) => s.id)
        .sort(),
    ).toEqual(before);
  });
});

describe('rigsnap schedule', () => {
  it('create refuses an existing schedule and changes nothing; update changes only what it is given', async () => {
    const scheduleId = scheduleIds.backup('ws_cli_sched');
    const first = await rigsnap([
      'schedule',
      'create',
      'ws_cli_sched',
      '--at',
      '03:00',
      '--timezone',
      'Europe/Berlin',
      '--keep-last',
      '7',
      '--jitter',
      '5m',
      '--pause-on-failure',
      '--note',
      'owner: data team',
      '--json',
    ]);
    expect(first.code).toBe(0);
    expect(parse(first)).toMatchObject({ created: true, scheduleId, at: ['03:00'], timezone: 'Europe/Berlin', retention: { keepLast: 7 } });

    // The first surprise: a second create used to replace the schedule with defaults.
    const second = await rigsnap(['schedule', 'create', 'ws_cli_sched', '--at', '04:00']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`ScheduleExists: schedule ${scheduleId} already exists; nothing changed`);
    expect(second.stderr).toContain('rigsnap schedule update ws_cli_sched');
    const unchanged = parse(await rigsnap(['schedule', 'describe', 'ws_cli_sched', '--json']));
    expect(unchanged).toMatchObject({
      at: ['03:00'],
      timezone: 'Europe/Berlin',
      retention: { keepLast: 7, timezone: 'Europe/Berlin' },
      jitter: '5m',
      pauseOnFailure: true,
      note: 'owner: data team',
    });

    const moved = await rigsnap(['schedule', 'update', 'ws_cli_sched', '--at', '04:00', '--json']);
    expect(moved.code).toBe(0);
    expect(parse(moved)).toMatchObject({
      at: ['04:00'],
      timezone: 'Europe/Berlin',
      retention: { keepLast: 7, timezone: 'Europe/Berlin' },
      jitter: '5m',
      pauseOnFailure: true,
      note: 'owner: data team',
      catchupWindow: '1h',
      namePrefix: 'daily-backup-',
    });

    // Times of a schedule read in its own timezone: a 04:00 Europe/Berlin backup is "04:00", not "03:00Z".
    const described = await rigsnap(['schedule', 'describe', 'ws_cli_sched']);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('every day at 04:00 Europe/Berlin');
    expect(described.stdout).toContain('keep last 7 (Europe/Berlin)');
    // (The next runs include the jitter of up to 5 minutes.)
    expect(described.stdout).toMatch(/next runs +\d{4}-\d\d-\d\d 04:0\d, \d{4}-\d\d-\d\d 04:0\d, \d{4}-\d\d-\d\d 04:0\d \(Europe\/Berlin\)/);
    expect(described.stdout).toContain('names       daily-backup-YYYY-MM-DD-HHMM (the scheduled time in Europe/Berlin)');

    // In the Temporal UI, the schedule's note says what it does, then the person's note.
    const raw = await temporal.client.schedule.getHandle(scheduleId).describe();
    expect(raw.state.note).toBe(
      'rigsnap: backs up ws_cli_sched every day at 04:00 Europe/Berlin as daily-backup-YYYY-MM-DD-HHMM; keeps the last 7\nowner: data team',
    );

    const paused = await rigsnap(['schedule', 'pause', 'ws_cli_sched', '--note', 'maintenance', '--json']);
    expect(parse(paused)).toMatchObject({ scheduleId, paused: true });
    const listed = await rigsnap(['schedule', 'list', '--json']);
    expect(listed.code).toBe(0);

    const refused = await rigsnap(['schedule', 'delete', 'ws_cli_sched']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to delete schedule');
    const deleted = await rigsnap(['schedule', 'delete', 'ws_cli_sched', '--yes', '--json']);
    expect(deleted.code).toBe(0);
    const gone = await rigsnap(['schedule', 'describe', 'ws_cli_sched']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('ScheduleNotFound');
    expect(gone.stderr).toContain('rigsnap schedule list');
  });

  it('update --timezone moves the calendar and the retention buckets together (10.8)', async () => {
    const created = await rigsnap([
      'schedule',
      'create',
      'ws_cli_tz',
      '--at',
      '03:00',
      '--timezone',
      'Europe/Berlin',
      '--keep-daily',
      '7',
      '--allow-missing',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const updated = await rigsnap(['schedule', 'update', 'ws_cli_tz', '--timezone', 'America/New_York', '--json']);
    expect(updated.code).toBe(0);
    expect(parse(updated)).toMatchObject({ timezone: 'America/New_York', retention: { keepDaily: 7, timezone: 'America/New_York' } });
    // What the backups will run with: the action's input and the memo the backup names itself from.
    const raw = await temporal.client.schedule.getHandle(scheduleIds.backup('ws_cli_tz')).describe();
    expect(raw.action.args).toEqual([{ workspaceId: 'ws_cli_tz', namePrefix: 'daily-backup-', retention: { keepDaily: 7, timezone: 'America/New_York' } }]);
    expect(raw.spec.timezone).toBe('America/New_York');
    // Its times read in its timezone: 03:00 in New York, not 07:00Z or 08:00Z.
    const described = await rigsnap(['schedule', 'describe', 'ws_cli_tz']);
    expect(described.stdout).toMatch(/next runs +\d{4}-\d\d-\d\d 03:00, \d{4}-\d\d-\d\d 03:00, \d{4}-\d\d-\d\d 03:00 \(America\/New_York\)/);
    expect(described.stdout).toContain('keep 7 daily (America/New_York)');
    await rigsnap(['schedule', 'delete', 'ws_cli_tz', '--yes']);
  });
});

describe('a notice before each stop: schedule options, snooze, skip', () => {
  it('create carries the notice, window (the catch-up window) and quiet hours in the action input; describe shows them; update removes them', async () => {
    const created = await rigsnap([
      'schedule',
      'create',
      'ws_cli_notice',
      '--notice',
      '10m',
      '--quiet-hours',
      '22:00-06:00',
      '--quiet-hours',
      '12:00-13:00',
      '--max-snooze',
      '2h',
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(
      'notice      10m before each stop (snooze up to 2h, or skip); stops begin within 1h of the scheduled time; never in quiet hours 22:00-06:00, 12:00-13:00',
    );
    const raw = await temporal.client.schedule.getHandle(scheduleIds.backup('ws_cli_notice')).describe();
    expect(raw.action.args).toEqual([
      { workspaceId: 'ws_cli_notice', namePrefix: 'daily-backup-', notice: '10m', window: '1h', quietHours: ['22:00-06:00', '12:00-13:00'], maxSnooze: '2h' },
    ]);
    // `schedule describe` reads it back from the schedule itself.
    const described = await rigsnap(['schedule', 'describe', 'ws_cli_notice']);
    expect(described.stdout).toContain(
      'notice      10m before each stop (snooze up to 2h, or skip); stops begin within 1h of the scheduled time; never in quiet hours 22:00-06:00, 12:00-13:00',
    );
    // The window follows the catch-up window unless given.
    const longer = await rigsnap(['schedule', 'update', 'ws_cli_notice', '--catchup-window', '3h', '--json']);
    expect(parse(longer).stopNotice).toEqual({ notice: '10m', window: '3h', quietHours: ['22:00-06:00', '12:00-13:00'], maxSnooze: '2h' });
    const off = await rigsnap(['schedule', 'update', 'ws_cli_notice', '--notice', '0s', '--no-quiet-hours', '--json']);
    expect(parse(off).stopNotice).toBeNull();
    const rawOff = await temporal.client.schedule.getHandle(scheduleIds.backup('ws_cli_notice')).describe();
    expect(rawOff.action.args).toEqual([{ workspaceId: 'ws_cli_notice', namePrefix: 'daily-backup-' }]);
    expect((await rigsnap(['schedule', 'describe', 'ws_cli_notice'])).stdout).toContain('notice      none (stops begin at once; --notice 10m announces them)');
    await rigsnap(['schedule', 'delete', 'ws_cli_notice', '--yes']);
  });

  it('fleet schedule describe shows the notice, window and quiet hours its action carries', async () => {
    const created = await rigsnap([
      'fleet',
      'schedule',
      'create',
      'cli-notice',
      'ws_cli_notice',
      '--notice',
      '10m',
      '--window',
      '2h',
      '--quiet-hours',
      '22:00-06:00',
      '--timezone',
      'Asia/Tokyo',
    ]);
    expect(created.code).toBe(0);
    const raw = await temporal.client.schedule.getHandle(scheduleIds.fleet('cli-notice')).describe();
    expect(raw.action.args?.[0]).toMatchObject({ workspaceIds: ['ws_cli_notice'], notice: '10m', window: '2h', quietHours: ['22:00-06:00'] });
    const described = await rigsnap(['fleet', 'schedule', 'describe', 'cli-notice']);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(
      'notice      10m before each stop (snooze up to 4h, or skip); stops begin within 2h of the scheduled time; never in quiet hours 22:00-06:00',
    );
    await rigsnap(['fleet', 'schedule', 'delete', 'cli-notice', '--yes']);
  });

  it('snooze and skip act on the pending backup and print its answer; with none pending they are refused (exit 1) and say so', async () => {
    const none = await rigsnap(['snooze', 'ws_cli', '--for', '1h']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Rejected: no backup or snapshot of ws_cli is waiting out a stop notice, so there is nothing to snooze');
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
      taskQueue,
      workflowId: `backup-ws_cli-notice-${Date.now()}`,
      args: [{ workspaceId: 'ws_cli', notice: '10m' }],
    });
    // Found through visibility, which may lag the start by a moment.
    let snoozed: Run | undefined;
    await eventually(async () => (snoozed = await rigsnap(['snooze', 'ws_cli', '--for', '1h', '--json'])).code === 0, 30_000, 'the pending backup');
    expect(parse(snoozed!)).toMatchObject({ workflowId: handle.workflowId, notice: { phase: 'notice', snoozedMs: 3_600_000 } });
    const skipped = await rigsnap(['skip', 'ws_cli', '--reason', 'release day']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/the backup of ws_cli is skipped \(release day, by .+\): nothing will be stopped/);
    expect(await handle.result()).toMatchObject({ snapshot: null, skipped: { kind: 'manual', reason: 'release day' } });
  });
});

describe('rigsnap snapshot --notice and fleet backup --notice', () => {
  it('snapshot --notice waits out its notice; snooze and skip find it; the skip ends it with Skipped (exit 1), saying who and why; nothing stopped', async () => {
    const snap = startRigsnap(['snapshot', 'ws_cli_snapnotice', '--name', 'cli-notice', '--notice', '5m']);
    await snap.waitFor(/snapshot-ws_cli_snapnotice-cli-notice-/);
    // Found through visibility, which may lag the start by a moment.
    let snoozed: Run | undefined;
    await eventually(
      async () => (snoozed = await rigsnap(['snooze', 'ws_cli_snapnotice', '--for', '1h', '--json'])).code === 0,
      30_000,
      'the pending snapshot',
    );
    expect(parse(snoozed!)).toMatchObject({ notice: { operation: 'snapshot', phase: 'notice', snoozedMs: 3_600_000 } });
    expect(parse(snoozed!).workflowId).toMatch(/^snapshot-ws_cli_snapnotice-cli-notice-/);
    const skipped = await rigsnap(['skip', 'ws_cli_snapnotice', '--reason', 'pairing session']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/the snapshot of ws_cli_snapnotice is skipped \(pairing session, by .+\): nothing will be stopped/);

    expect(await snap.exited).toBe(1);
    expect(snap.stderr()).toMatch(
      /rigsnap: Skipped: the snapshot "cli-notice" of ws_cli_snapnotice was skipped by \S+ during its notice \(pairing session\); nothing was stopped/,
    );
    expect(snap.stderr()).toContain('what to do: someone skipped it during its notice');
    expect(emu.state.snapshotsOf('ws_cli_snapnotice')).toEqual([]);
    expect(emu.calls.filter((c) => c.workspaceId === 'ws_cli_snapnotice' && c.method !== 'GET')).toEqual([]);
    expect(emu.state.workspace('ws_cli_snapnotice')!.status).toBe('running');
  });

  it('fleet backup --notice passes the notice to each backup, which waits it out (skip acts on it)', async () => {
    const started = await rigsnap(['fleet', 'backup', 'ws_cli_fleetnotice', '--notice', '10m', '--max-snooze', '1h', '--no-wait', '--json']);
    expect(started.code).toBe(0);
    const fleet = temporal.client.workflow.getHandle(parse(started).workflowId);
    const history = await fleet.fetchHistory();
    const input = JSON.parse(Buffer.from(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString());
    expect(input).toMatchObject({ workspaceIds: ['ws_cli_fleetnotice'], notice: '10m', maxSnooze: '1h' });
    let skipped: Run | undefined;
    await eventually(
      async () => (skipped = await rigsnap(['skip', 'ws_cli_fleetnotice', '--json'])).code === 0,
      30_000,
      'the fleet child waiting out its notice',
    );
    expect(parse(skipped!).notice).toMatchObject({ operation: 'backup', phase: 'skipped', skipped: { kind: 'manual' } });
    await fleet.result();
    expect(emu.calls.filter((c) => c.workspaceId === 'ws_cli_fleetnotice' && c.method !== 'GET')).toEqual([]);
  });
});

describe('rigsnap cancel and status', () => {
  it('cancels a running operation: the workspace runs again, and status shows how it ended', async () => {
    const stopMs = emu.delays.stopMs;
    emu.delays.stopMs = 20_000; // a stop long enough to cancel during it
    try {
      const started = await rigsnap(['snapshot', 'ws_cli_cancel', '--name', 'to-cancel', '--no-wait']);
      expect(started.code).toBe(0);
      const id = started.stdout.split('\n')[0]!;
      await eventually(() => emu.state.workspace('ws_cli_cancel')!.status === 'stopping', 30_000, 'the stop to begin');

      const refused = await rigsnap(['cancel', id]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`refusing to cancel ${id} without confirmation`);

      emu.delays.stopMs = stopMs;
      const r = await rigsnap(['cancel', id, '--yes']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`✓ ${id} cancelled`);
      // The workflows' promise: a workspace it stopped is started again.
      await eventually(() => emu.state.workspace('ws_cli_cancel')!.status === 'running', 30_000, 'ws_cli_cancel to run again');

      const status = await rigsnap(['status', id]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`^${id} CANCELLED`));
      expect(status.stdout).toMatch(/ended +cancelled \d{4}-\d\d-\d\d \d\d:\d\d UTC, after /);
      expect(status.stdout).toMatch(/error +Cancelled: /);
      // Who asked: the CLI's identity is user@host by default (issue 19.6).
      expect(status.stdout).toMatch(/asked by +\S+@\S+/);
      const json = parse(await rigsnap(['status', id, '--json']));
      expect(json).toMatchObject({ status: 'CANCELLED', error: { type: 'Cancelled' } });

      const again = await rigsnap(['cancel', id, '--yes']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`${id} had already ended (cancelled); nothing to cancel`);
    } finally {
      emu.delays.stopMs = stopMs;
    }
  });

  it('abandon: needs --reason and a confirmation; ends a run stuck restarting its workspace, recorded; status shows Abandoned', async () => {
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === 'ws_cli_abandon' && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.forbidden.add('ws_cli_abandon');
    };
    try {
      const id = (await rigsnap(['snapshot', 'ws_cli_abandon', '--name', 'stuck', '--no-wait'])).stdout.split('\n')[0]!;
      const noReason = await rigsnap(['abandon', id, '--yes']);
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toContain('--reason');
      const unconfirmed = await rigsnap(['abandon', id, '--reason', 'revoked']);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toContain(`refusing to abandon ${id} without confirmation`);
      const alertOf = () =>
        temporal.client.workflow
          .getHandle(id)
          .query(progressQuery)
          .then((p) => p.alert ?? '')
          .catch(() => '');
      await eventually(async () => /keeps trying/.test(await alertOf()), 90_000, 'the restart loop');

      const r = await rigsnap(['abandon', id, '--reason', 'access revoked on purpose', '--by', 'cli-test', '--yes', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(parse(r)).toMatchObject({ outcome: 'abandoned', by: 'cli-test', reason: 'access revoked on purpose', workspaceId: 'ws_cli_abandon' });
      const status = parse(await rigsnap(['status', id, '--json']));
      expect(status).toMatchObject({ status: 'FAILED', error: { type: 'Abandoned' } });
      expect(emu.state.workspace('ws_cli_abandon')!.status).toBe('stopped');
    } finally {
      emu.hooks.onCall = undefined;
      emu.forbidden.delete('ws_cli_abandon');
    }
  }, 120_000);
  it('Ctrl-C while an operation runs detaches (exit 130), says how to follow it and how to cancel it; it goes on in Temporal', async () => {
    const stopMs = emu.delays.stopMs;
    emu.delays.stopMs = 20_000; // a stop long enough to press Ctrl-C during it
    try {
      const run = startRigsnap(['snapshot', 'ws_cli_detach', '--name', 'detached']);
      await eventually(() => emu.state.workspace('ws_cli_detach')!.status === 'stopping', 30_000, 'the stop to begin');
      await run.waitFor(/snapshot-ws_cli_detach-detached-\S+/);
      const id = /(snapshot-ws_cli_detach-detached-[A-Za-z0-9_-]+)/.exec(run.stdout() + run.stderr())![1]!;
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(130);
      expect(run.stderr()).toContain(`rigsnap status ${id}`);
      expect(run.stderr()).toContain(`rigsnap cancel ${id}`);
      // What it says works: the operation still runs, and `cancel` (the command it names) ends it.
      const status = await rigsnap(['status', id, '--json']);
      expect(parse(status)).toMatchObject({ status: 'RUNNING' });
      emu.delays.stopMs = stopMs;
      expect((await rigsnap(['cancel', id, '--yes'])).code).toBe(0);
      await eventually(() => emu.state.workspace('ws_cli_detach')!.status === 'running', 30_000, 'ws_cli_detach to run again');
    } finally {
      emu.delays.stopMs = stopMs;
    }
  });

  it('status reads as lines, not raw JSON: the result as the command printed it, the detail in its own row', async () => {
    const backup = await rigsnap(['prune', 'ws_status', '--prefix', 'findable', '--keep-last', '1', '--dry-run', '--json']);
    const id = parse(backup).workflowId as string;
    const status = await rigsnap(['status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^ {2}result +dry run: would keep 1, would delete 0 of the "findable\*" snapshots of ws_status/m);
    expect(status.stdout).not.toMatch(/[{}]/);
    for (const line of status.stdout.trimEnd().split('\n')) expect(line.length, line).toBeLessThanOrEqual(160);
    // Every labelled row starts its value in the same column.
    const columns = status.stdout
      .split('\n')
      .filter((l) => /^ {2}[a-z][a-z ]*\S +\S/.test(l) && !/^ {2}(keep|would)/.test(l))
      .map((l) => /^ {2}[a-z ]+?\s{2,}|^ {2}[a-z ]{11} /.exec(l)![0].length);
    expect(new Set(columns).size).toBe(1);
  });
});

describe('waiting', () => {
  it('for the workspace lock: says that it waits, for which operation, and its place, not "checking workspace"', async () => {
    const stopMs = emu.delays.stopMs;
    // Each operation holds ws_lock for several seconds: long enough for the third's CLI to start and see
    // the first still holding (queueing by Update-with-Start waits for the entity's answer, a little
    // longer than the old signal-with-start did).
    emu.delays.stopMs = 8000;
    try {
      const first = (await rigsnap(['snapshot', 'ws_lock', '--name', 'first', '--no-wait'])).stdout.split('\n')[0]!;
      await eventually(() => emu.state.workspace('ws_lock')!.status === 'stopping', 30_000, 'the first to hold the lock');
      const second = (await rigsnap(['snapshot', 'ws_lock', '--name', 'second', '--no-wait'])).stdout.split('\n')[0]!;
      const lock = temporal.client.workflow.getHandle('rigsnap-workspace-ws_lock');
      await eventually(async () => (await lock.query(lockStateQuery)).queue.some((r) => r.workflowId === second), 30_000, 'the second to queue');

      const third = startRigsnap(['snapshot', 'ws_lock', '--name', 'third']);
      await third.waitFor(new RegExp(`waiting for other operations on this workspace: waiting for ${first} \\(snapshot\\); 2 ahead of you`));
      await third.waitFor(new RegExp(`waiting for other operations on this workspace: waiting for ${second} \\(snapshot\\); next in line`));
      expect(await third.exited).toBe(0);
      // The wait is its own step, said as such; the check of the workspace comes after it, under the lock.
      expect(third.stdout()).toMatch(/✓ waiting for other operations on this workspace +\d[\d.]*s\n +✓ checking workspace +\d/);
      expect(third.stdout()).toMatch(/✓ snapshot "third" of ws_lock is snap_/);
    } finally {
      emu.delays.stopMs = stopMs;
    }
  }, 120_000);

  it('with no worker on the task queue: says so after a few seconds, with the queue and how to start one, and goes on when one comes', async () => {
    const emptyQueue = uniqueTaskQueue('cli-no-worker');
    // Default timing (NO_WORKER_CHECK_AFTER_MS, 3 s): the test waits for the message, however long it takes.
    const waiting = startRigsnap(['snapshot', 'ws_cli', '--name', 'nobody-home'], { RIGSNAP_TASK_QUEUE: emptyQueue });
    await waiting.waitFor(/no rigsnap worker is polling task queue/);
    expect(waiting.stderr()).toContain(`no rigsnap worker is polling task queue "${emptyQueue}" (namespace default at ${inject('temporalAddress')})`);
    expect(waiting.stderr()).toContain('`npm start` in the rigsnap checkout');
    expect(waiting.stderr().match(/no rigsnap worker/g)).toHaveLength(1);

    const late = await createTestWorker({ temporal, taskQueue: emptyQueue, rigboxUrl: emu.url });
    const lateRun = late.run();
    try {
      expect(await waiting.exited).toBe(0);
      expect(waiting.stdout()).toMatch(/✓ snapshot "nobody-home" of ws_cli is snap_/);
      expect(waiting.stderr()).toContain(`a worker polls task queue "${emptyQueue}" now`);
    } finally {
      late.shutdown();
      await lateRun;
    }

    const otherQueue = uniqueTaskQueue('cli-no-worker-nowait');
    const noWait = await rigsnap(['snapshot', 'ws_cli', '--name', 'nobody-later', '--no-wait'], { RIGSNAP_TASK_QUEUE: otherQueue });
    expect(noWait.code).toBe(0);
    expect(noWait.stderr).toContain(`no rigsnap worker is polling task queue "${otherQueue}"`);
    await temporal.client.workflow.getHandle(noWait.stdout.split('\n')[0]!).terminate('test clean-up: nothing will ever poll this queue');
  });
});

describe('links', () => {
  it('every link the commands print opens in the Temporal UI (the one the tests run)', async () => {
    const uiUrl = inject('temporalUiUrl');
    const env = { RIGSNAP_UI_URL: uiUrl };
    const outputs: Record<string, Run> = {};
    const run = async (name: string, args: string[]) => {
      const r = await rigsnap(args, env);
      outputs[name] = r;
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      return r;
    };
    await run('snapshot', ['snapshot', 'ws_cli', '--name', 'links']);
    const noWait = await run('snapshot --no-wait', ['snapshot', 'ws_cli', '--name', 'links-later', '--no-wait']);
    const started = noWait.stdout.split('\n')[0]!;
    const checkpoint = await run('checkpoint', ['checkpoint', 'ws_cli', '--name', 'links-cp', '--ttl', '1h']);
    const checkpointId = /rigsnap rollback (\S+)/.exec(checkpoint.stdout)![1]!;
    await run('rollback', ['rollback', checkpointId]);
    await run('release', ['release', checkpointId]);
    await run('status', ['status', started]);
    await run('schedule create', ['schedule', 'create', 'ws_cli_links', '--at', '05:00', '--allow-missing']);
    await run('schedule describe', ['schedule', 'describe', 'ws_cli_links']);
    await run('schedule trigger', ['schedule', 'trigger', 'ws_cli_links']);

    // The same release again is a harmless no-op, and its link opens too.
    const again = await run('release again', ['release', checkpointId]);
    expect(again.stdout).toContain(`${checkpointId} had already ended; nothing to do (snapshot kept)`);
    const more = await rigsnap(['release', checkpointId, '--delete-snapshot'], env);
    expect(more.code).toBe(1);
    expect(more.stderr).toMatch(/already ended \(released\) and kept its snapshot (snap_\w+); delete it with `rigsnap delete ws_cli \1`/);

    const checks = [];
    for (const [name, r] of Object.entries(outputs)) {
      const links = linksIn(r.stdout + r.stderr);
      expect(links.length, `${name} prints a link`).toBeGreaterThan(0);
      for (const link of links) checks.push({ name, ...(await checkLink(link, uiUrl)) });
    }
    const broken = checks.filter((c) => c.page !== 200 || c.status !== 200);
    expect(broken).toEqual([]);
    await rigsnap(['schedule', 'delete', 'ws_cli_links', '--yes']);
  });
});

describe('help', () => {
  // Every command the program has, not a list kept by hand.
  const commands: string[][] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      if (sub.commands.length === 0) commands.push([...path, sub.name()]);
      else walk(sub, [...path, sub.name()]);
    }
  };
  walk(
    buildProgram(() => {}),
    [],
  );

  it('every command has --help with examples, and exits 0', async () => {
    expect(commands.length).toBeGreaterThan(20);
    const runs = await Promise.all(commands.map((c) => rigsnap([...c, '--help'])));
    runs.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stdout, commands[i]!.join(' ')).toContain(`Usage: rigsnap ${commands[i]!.join(' ')}`);
      expect(r.stdout, commands[i]!.join(' ')).toContain('Examples:');
    });
  });
});
