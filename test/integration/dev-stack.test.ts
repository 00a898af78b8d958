import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

/**
 * A test that starts a whole stack and stops it: start-up (up to a minute on a loaded machine), the
 * worker's 30 s shutdown grace (the production default) and the rest of the way down.
 */
const STACK_TEST_TIMEOUT_MS = 240_000;

/**
 * `npm start` as a user runs it: `node dist/dev/main.js` in a child process, on free ports (never
 * 7233/8233/8787, which other things here may use) and a throwaway state directory, against the real
 * Temporal dev server it starts from the project's CLI binary.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const devEntry = path.join(root, 'dist/dev/main.js');
const FIRST_COMMAND = './rigsnap snapshot ws_demo --name before-migration';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The environment without anything that would point the stack elsewhere. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(TEMPORAL_|RIGBOX_|RIGSNAP_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, TEMPORAL_CLI_PATH: inject('temporalCliPath'), NO_COLOR: '1', RIGSNAP_LOG_LEVEL: 'WARN' };
}

interface Stack {
  child: ChildProcess;
  /** Started in a process group of its own (npm start). */
  group: boolean;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

const running: Stack[] = [];

/**
 * Starts `node dist/dev/main.js`, or with `npm: true` the README's `npm start` from the project root
 * in a process group of its own (as a terminal would run it, so the test can hang it up).
 */
function startStack(o: { cwd: string; env: Record<string, string>; npm?: boolean }): Stack {
  // A terminal has none of the npm_* variables this test runs with (under `npm test`); they change
  // how a nested npm runs its script.
  const npmEnv = Object.fromEntries(Object.entries(o.env).filter(([k]) => !/^npm_/i.test(k)));
  const child = o.npm
    ? spawn('npm', ['start'], { cwd: root, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, [devEntry], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const stack: Stack = {
    child,
    group: Boolean(o.npm),
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        if (done) throw new Error(`the stack exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} in time\nstdout:\n${out}\nstderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  running.push(stack);
  return stack;
}

/** Running and not a zombie (a zombie has exited; only its parent's bookkeeping is left). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Live processes whose command line mentions `text` (the dev server's db path, the watchdog's argument). */
function processesMentioning(text: string): string[] {
  const listing = execFileSync('ps', ['-A', '-ww', '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  return listing
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(text) && !/^\d+\s+Z/.test(l));
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

afterEach(async () => {
  // A failed assertion must not leave a stack behind.
  for (const s of running.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
    if (s.group) {
      try {
        process.kill(-s.child.pid!, 'SIGKILL'); // what npm started, if anything of it is left
      } catch {
        // nothing left
      }
    }
  }
});

describe('npm start: the whole stack on an embedded default', () => {
  let workdir: string;
  let env: Record<string, string>;
  let ports: { temporal: number; ui: number; emulator: number; metrics: number };
  const workflowId = `dev-stack-snapshot-${Date.now().toString(36)}`;
  const scheduleId = `dev-stack-backup-${Date.now().toString(36)}`;

  beforeAll(async () => {
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-dev-stack-'));
    ports = { temporal: await freePort(), ui: await freePort(), emulator: await freePort(), metrics: await freePort() };
    env = {
      ...cleanEnv(),
      RIGSNAP_DEV_TEMPORAL_PORT: String(ports.temporal),
      RIGSNAP_DEV_UI_PORT: String(ports.ui),
      RIGSNAP_DEV_EMULATOR_PORT: String(ports.emulator),
      RIGSNAP_METRICS_PORT: String(ports.metrics),
    };
  });
  afterAll(() => {
    if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
  });

  it(
    'comes up, runs a snapshot against the emulated Rigbox, and SIGTERM leaves no process behind',
    async () => {
      // The working directory is a fresh one: the state goes to its .rigsnap/, the default place.
      const stack = startStack({ cwd: workdir, env });
      await stack.waitForOutput(/rigsnap dev stack is up/);
      const out = stack.stdout();
      const serverPid = Number(out.match(/dev server pid (\d+)/)?.[1]);
      expect(serverPid).toBeGreaterThan(0);
      expect(isRunning(serverPid)).toBe(true);

      // What runs where, said once.
      expect(out).toContain(`127.0.0.1:${ports.temporal}`);
      expect(out).toMatch(new RegExp(`Temporal UI\\s+http://localhost:${ports.ui}`));
      expect(out).toMatch(new RegExp(`Rigbox\\s+http://127\\.0\\.0\\.1:${ports.emulator}/api\\s+\\(emulated\\)`));
      expect(out).toMatch(new RegExp(`Metrics\\s+http://localhost:${ports.metrics}/metrics`));
      expect(out).toContain(`TEMPORAL_ADDRESS=127.0.0.1:${ports.temporal} RIGSNAP_UI_URL=http://localhost:${ports.ui} ${FIRST_COMMAND}`);
      expect(out.match(/Rigbox is emulated/g)).toHaveLength(1);
      expect(out).toContain('set RIGBOX_TOKEN');
      expect(out).toContain(path.join(workdir, '.rigsnap', 'temporal.db'));
      expect(fs.existsSync(path.join(workdir, '.rigsnap', 'temporal.db'))).toBe(true);

      // The Web UI of the dev server answers.
      const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
      expect(ui.status).toBe(200);

      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      try {
        const client = new Client({ connection, namespace: 'default' });
        const result = await client.workflow.execute(WORKFLOW_TYPES.snapshot, {
          taskQueue: 'rigbox-snapshots',
          args: [{ workspaceId: 'ws_demo', name: 'before-migration' }],
          workflowId,
        });
        expect(result).toMatchObject({ snapshot: { workspace_id: 'ws_demo', name: 'before-migration' }, workspaceStatus: 'running' });

        // The emulated Rigbox has it, and the workspace runs again.
        const emulator = `http://127.0.0.1:${ports.emulator}/_emulator`;
        const snapshots = (await (await fetch(`${emulator}/snapshots`)).json()) as Array<{ id: string; workspace_id: string; name: string }>;
        expect(snapshots).toContainEqual(expect.objectContaining({ id: result.snapshot.id, workspace_id: 'ws_demo', name: 'before-migration' }));
        const ws = (await (await fetch(`${emulator}/workspaces/ws_demo`)).json()) as { status: string };
        expect(ws.status).toBe('running');

        // An ordinary user error (a snapshot that does not exist) is one log line per failure, no stack.
        const failed = await client.workflow
          .execute(WORKFLOW_TYPES.restore, {
            taskQueue: 'rigbox-snapshots',
            args: [{ workspaceId: 'ws_demo', snapshotId: 'snap_nope' }],
            workflowId: `${workflowId}-nope`,
          })
          .then(
            () => 'completed',
            (e: unknown) => e,
          );
        expect(failed).toBeInstanceOf(Error);
        const log = await eventually(() => /Workflow failed: /.test(stack.stderr()), 10_000).then(() => stack.stderr());
        expect(log).toMatch(/^\S+ WARN +Activity failed: NotFound: snapshot snap_nope does not exist in workspace ws_demo .*workflowType=restoreWorkspace/m);
        expect(log).toMatch(/^\S+ WARN +Workflow failed: ApplicationFailure: snapshot snap_nope does not exist/m);
        expect(log).not.toMatch(/^\s+at /m);

        // A schedule, for the second start to find.
        await client.schedule.create({
          scheduleId,
          spec: { calendars: [{ hour: 3, minute: 0 }] },
          action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPES.backup, taskQueue: 'rigbox-snapshots', args: [{ workspaceId: 'ws_demo' }] },
          state: { paused: true, note: 'dev-stack test' },
        });

        // The worker's Prometheus endpoint counts the completion.
        const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
        expect(metrics).toMatch(/temporal_workflow_completed\{[^}]*workflow_type="snapshotWorkspace"[^}]*\} [1-9]/);
      } finally {
        await connection.close();
      }

      stack.child.kill('SIGTERM');
      const exit = await stack.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stack.stdout()).toContain('[rigsnap] stopped');
      expect(isRunning(serverPid)).toBe(false);
      expect(await eventually(() => processesMentioning(workdir).length === 0, 5_000)).toBe(true);
      // The emulator saved its state on the way down.
      const saved = JSON.parse(fs.readFileSync(path.join(workdir, '.rigsnap', 'emulator.json'), 'utf8')) as { snapshots: Record<string, { name: string }> };
      expect(Object.values(saved.snapshots).map((s) => s.name)).toContain('before-migration');
    },
    STACK_TEST_TIMEOUT_MS,
  );

  it(
    'a second start on the same directory finds the first one’s workflow, schedule and snapshot; a SIGKILL still takes the dev server down',
    async () => {
      const stack = startStack({ cwd: workdir, env });
      await stack.waitForOutput(/rigsnap dev stack is up/);
      const serverPid = Number(stack.stdout().match(/dev server pid (\d+)/)?.[1]);

      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      try {
        const client = new Client({ connection, namespace: 'default' });
        const described = await client.workflow.getHandle(workflowId).describe();
        expect(described.type).toBe(WORKFLOW_TYPES.snapshot);
        expect(described.status.name).toBe('COMPLETED');
        const result = (await client.workflow.getHandle(workflowId).result()) as { snapshot: { id: string } };

        const schedule = await client.schedule.getHandle(scheduleId).describe();
        expect(schedule.state.paused).toBe(true);
        expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: WORKFLOW_TYPES.backup });

        const snapshots = (await (await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/snapshots`)).json()) as Array<{ id: string }>;
        expect(snapshots.map((s) => s.id)).toContain(result.snapshot.id);
      } finally {
        await connection.close();
      }

      // No chance to clean up: the watchdog must stop the dev server.
      stack.child.kill('SIGKILL');
      await stack.exited;
      expect(await eventually(() => !isRunning(serverPid), 20_000)).toBe(true);
      expect(await eventually(() => processesMentioning(workdir).length === 0, 20_000)).toBe(true);
    },
    STACK_TEST_TIMEOUT_MS,
  );
});

/** Whether anything accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Direct children of a process. */
function childrenOf(pid: number): number[] {
  const listing = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  return listing
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === pid)
    .map(([p]) => p!);
}

describe('npm start stops with the process that started it', () => {
  // What a supervisor or an IDE's stop button does (SIGTERM to npm), what `kill -9` does, and what a
  // closed terminal does (SIGHUP to the whole process group).
  const ways: Array<[string, (npmPid: number, stack: Stack) => unknown]> = [
    ['SIGTERM to npm', (pid) => process.kill(pid, 'SIGTERM')],
    ['SIGKILL of npm', (pid) => process.kill(pid, 'SIGKILL')],
    ['SIGHUP of the terminal', (pid) => process.kill(-pid, 'SIGHUP')],
    // Ctrl-C: the terminal signals the whole group, and npm forwards it to the stack once more. The
    // kernel merges the two when they arrive together; the test makes npm's copy come after the
    // stack saw the first, as it does on a terminal now and then. One Ctrl-C must not be taken for two.
    [
      'Ctrl-C in the terminal',
      async (pid, stack) => {
        process.kill(-pid, 'SIGINT');
        await stack.waitForOutput(/SIGINT received/);
        process.kill(pid, 'SIGINT');
      },
    ],
  ];

  it.each(ways)(
    '%s: the stack shuts down, no process or port of it remains',
    async (_how, kill) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-npm-start-'));
      const ports = { temporal: await freePort(), ui: await freePort(), emulator: await freePort(), metrics: await freePort() };
      try {
        const stack = startStack({
          cwd: root,
          npm: true,
          env: {
            ...cleanEnv(),
            RIGSNAP_DEV_DIR: dir,
            RIGSNAP_DEV_TEMPORAL_PORT: String(ports.temporal),
            RIGSNAP_DEV_UI_PORT: String(ports.ui),
            RIGSNAP_DEV_EMULATOR_PORT: String(ports.emulator),
            RIGSNAP_METRICS_PORT: String(ports.metrics),
          },
        });
        await stack.waitForOutput(/rigsnap dev stack is up/);
        const npmPid = stack.child.pid!;
        // `exec` in the script: the stack is npm's own child, not a shell's.
        const stackPids = childrenOf(npmPid);
        expect(stackPids).toHaveLength(1);
        expect(execFileSync('ps', ['-o', 'args=', '-p', String(stackPids[0])], { encoding: 'utf8' })).toContain('dist/dev/main.js');
        for (const port of Object.values(ports)) expect(await listening(port)).toBe(true);

        await kill(npmPid, stack);
        // The stack's bound on the way down, at the production defaults: the worker's shutdown force time
        // (grace 30 s + 10 s) and the dev server's SIGKILL after 10 s, with room for a loaded machine.
        // Normally 3 to 8 s: nothing is in flight.
        const killedAt = Date.now();
        const story = () =>
          `${Math.round((Date.now() - killedAt) / 1000)} s after the signal\nstdout:\n${stack.stdout()}\nstderr:\n${stack.stderr()}\nprocesses:\n${processesMentioning(dir).join('\n')}`;
        expect(await eventually(() => !isRunning(stackPids[0]!), 80_000), story()).toBe(true);
        expect(await eventually(() => processesMentioning(dir).length === 0, 20_000), story()).toBe(true);
        for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
        // It went down the orderly way: the emulator saved its state, nothing was cut short.
        expect(fs.existsSync(path.join(dir, 'emulator.json'))).toBe(true);
        expect(stack.stderr()).not.toContain('stopping at once');
        expect(stack.stdout()).toContain('[rigsnap] stopped');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    STACK_TEST_TIMEOUT_MS,
  );
});

describe('npm start refuses to start on bad ground, before starting anything', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-dev-refuse-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a port in use gives a message naming the port and the variable to change', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const stack = startStack({
        cwd: dir,
        env: {
          ...cleanEnv(),
          RIGSNAP_DEV_DIR: path.join(dir, 'state'),
          RIGSNAP_DEV_TEMPORAL_PORT: String(busy),
          RIGSNAP_DEV_UI_PORT: String(await freePort()),
          RIGSNAP_DEV_EMULATOR_PORT: String(await freePort()),
          RIGSNAP_METRICS_PORT: String(await freePort()),
        },
      });
      const exit = await stack.exited;
      expect(exit.code).toBe(1);
      expect(stack.stderr()).toContain(`port ${busy}`);
      expect(stack.stderr()).toContain('RIGSNAP_DEV_TEMPORAL_PORT');
      expect(stack.stdout()).not.toContain('starting the Temporal dev server');
      expect(fs.existsSync(path.join(dir, 'state', 'temporal.db'))).toBe(false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('bad configuration names the variable and never echoes the token', async () => {
    const token = 'rbx_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    const stack = startStack({
      cwd: dir,
      env: {
        ...cleanEnv(),
        RIGSNAP_DEV_DIR: path.join(dir, 'state'),
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        RIGBOX_TOKEN: token,
        RIGBOX_API_URL: 'not a url',
        RIGSNAP_METRICS_PORT: 'ninety',
      },
    });
    const exit = await stack.exited;
    expect(exit.code).toBe(1);
    expect(stack.stderr()).toContain('RIGBOX_API_URL');
    expect(stack.stderr()).toContain('RIGSNAP_METRICS_PORT');
    expect(stack.stdout() + stack.stderr()).not.toContain(token);
  });
});

describe('npm start with TEMPORAL_ADDRESS and RIGBOX_TOKEN set', () => {
  let emu: Emulator;
  const token = 'rbx_test_0a1b2c3d4e5f60718293a4b5c6d7e8f9';
  const workspaceId = `ws_devstack_${Date.now().toString(36)}`;
  beforeAll(async () => {
    emu = await startEmulator({
      token,
      delays: { stopMs: 200, startMs: 200, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
      seedWorkspaces: [{ id: workspaceId, status: 'running', files: { 'a.txt': 'a' } }],
    });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('runs just the worker, against that cluster and that API', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-dev-worker-only-'));
    const taskQueue = `dev-stack-worker-only-${process.pid}-${Date.now().toString(36)}`;
    try {
      const stack = startStack({
        cwd: dir,
        env: {
          ...cleanEnv(),
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          RIGBOX_TOKEN: token,
          RIGBOX_API_URL: emu.url,
          RIGSNAP_TASK_QUEUE: taskQueue,
          RIGSNAP_METRICS_PORT: '0',
          RIGSNAP_POLL_MIN_MS: '50',
          RIGSNAP_POLL_MAX_MS: '200',
        },
      });
      await stack.waitForOutput(/rigsnap dev stack is up/);
      const out = stack.stdout();
      expect(out).not.toContain('starting the Temporal dev server');
      expect(out).not.toContain('Rigbox is emulated');
      expect(out).toMatch(/Temporal\s+\S+\s+namespace default\s+\(external: TEMPORAL_ADDRESS\)/);
      expect(out).toContain(`${emu.url}  (real API, RIGBOX_TOKEN set)`);
      expect(out).toContain(`RIGSNAP_TASK_QUEUE=${taskQueue} ${FIRST_COMMAND}`);
      expect(fs.existsSync(path.join(dir, '.rigsnap', 'temporal.db'))).toBe(false);

      const connection = await Connection.connect({ address: inject('temporalAddress') });
      try {
        const client = new Client({ connection, namespace: 'default' });
        const result = await client.workflow.execute(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          args: [{ workspaceId, name: 'before-migration' }],
          workflowId: `dev-stack-worker-only-${Date.now().toString(36)}`,
        });
        expect(result).toMatchObject({ snapshot: { workspace_id: workspaceId, name: 'before-migration' } });
        expect(emu.state.snapshotsOf(workspaceId).map((s) => s.name)).toEqual(['before-migration']);
      } finally {
        await connection.close();
      }

      stack.child.kill('SIGTERM');
      expect(await stack.exited).toEqual({ code: 0, signal: null });
      expect(stack.stdout() + stack.stderr()).not.toContain(token);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
