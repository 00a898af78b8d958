import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import pc from 'picocolors';
import { DEFAULT_RIGBOX_API_URL, DEFAULT_TASK_QUEUE } from '../domain/index.js';
import { DEMO_WORKSPACES } from '../emulator/demo.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { loadDevConfig, loadWorkerConfig, type DevConfig, type WorkerConfig } from './config.js';
import { spawnGuarded } from './guarded-process.js';
import { createWorkerLogger } from './logger.js';
import { watchParent } from './parent-watch.js';
import { ensureSearchAttributes, temporalSettings } from './temporal.js';
import { startBackupMetrics } from './backup-metrics.js';
import { RigsnapMetrics, prometheusTelemetry } from './metrics.js';
import { createRigsnapWorker, rigboxClientFromConfig } from './worker.js';

/**
 * The local stack behind `npm start`: whatever is missing of Temporal (the dev server from the
 * project's CLI binary, state in SQLite) and Rigbox (the emulator with demo workspaces), plus one
 * worker. Everything is decided and validated (configuration, free ports) before anything starts.
 *
 * Process layout: the worker and the emulator run in this Node process (one runtime, one log, and
 * shutdown is a sequence of awaits: drain the worker, close the emulator, stop the server). The
 * Temporal dev server is a child in its own process group, so a terminal's Ctrl-C reaches only us
 * and the server stays up while the worker drains; a tiny watchdog process holds a pipe to us and
 * stops the server's group if we die without cleaning up (SIGKILL, crash).
 */

const has = (v: string | undefined): v is string => v !== undefined && v !== '';

export interface PortClaim {
  port: number;
  host: string;
  what: string;
  /** The variable that moves it. */
  variable: string;
}

export type TemporalPlan =
  | {
      kind: 'embedded';
      address: string;
      namespace: string;
      port: number;
      uiPort: number;
      uiUrl: string;
      dbFile: string;
      logFile: string;
    }
  | { kind: 'external'; address: string; namespace: string; connectionOptions: TemporalConnectionOptions };

/** What @temporalio/envconfig gives: usable by both the worker's and the client's connection. */
type TemporalConnectionOptions = ReturnType<typeof temporalSettings>['connectionOptions'];

export type RigboxPlan =
  | { kind: 'emulated'; url: string; port: number; stateFile: string; token: string; ignoredApiUrl: boolean }
  | { kind: 'real'; url: string };

export interface StackPlan {
  dir: string;
  temporal: TemporalPlan;
  rigbox: RigboxPlan;
  config: WorkerConfig;
  metricsUrl: string | null;
  /** The Web UI link to print: the dev server's, or RIGSNAP_UI_URL when set. */
  uiUrl: string | null;
  ports: PortClaim[];
}

/**
 * Decides what runs where from the environment. Throws ConfigError (naming the variable, never the
 * token) on bad values: nothing has started yet.
 */
export function planStack(env: Record<string, string | undefined>, cwd = process.cwd()): StackPlan {
  const dev: DevConfig = loadDevConfig(env);
  const dir = path.resolve(cwd, dev.RIGSNAP_DEV_DIR);
  const ports: PortClaim[] = [];

  let temporal: TemporalPlan;
  if (has(env.TEMPORAL_ADDRESS)) {
    // An empty variable means unset here too: envconfig would read `TEMPORAL_API_KEY=` as "use TLS".
    const { connectionOptions, namespace } = temporalSettings(env);
    temporal = { kind: 'external', address: connectionOptions.address, namespace, connectionOptions };
  } else {
    const port = dev.RIGSNAP_DEV_TEMPORAL_PORT;
    const uiPort = dev.RIGSNAP_DEV_UI_PORT;
    temporal = {
      kind: 'embedded',
      address: `127.0.0.1:${port}`,
      namespace: has(env.TEMPORAL_NAMESPACE) ? env.TEMPORAL_NAMESPACE : 'default',
      port,
      uiPort,
      uiUrl: `http://localhost:${uiPort}`,
      dbFile: path.join(dir, 'temporal.db'),
      logFile: path.join(dir, 'temporal.log'),
    };
    ports.push({ port, host: '127.0.0.1', what: 'the Temporal dev server (gRPC)', variable: 'RIGSNAP_DEV_TEMPORAL_PORT' });
    ports.push({ port: uiPort, host: '127.0.0.1', what: 'the Temporal Web UI', variable: 'RIGSNAP_DEV_UI_PORT' });
  }

  const workerEnv: Record<string, string | undefined> = { ...env };
  let rigbox: RigboxPlan;
  if (has(env.RIGBOX_TOKEN)) {
    rigbox = { kind: 'real', url: '' };
  } else {
    const port = dev.RIGSNAP_DEV_EMULATOR_PORT;
    // A fresh token per start: the emulator and the worker share this process, nobody else needs it.
    const token = `dev-${randomBytes(16).toString('hex')}`;
    const url = `http://127.0.0.1:${port}/api`;
    rigbox = {
      kind: 'emulated',
      url,
      port,
      stateFile: path.join(dir, 'emulator.json'),
      token,
      ignoredApiUrl: has(env.RIGBOX_API_URL),
    };
    workerEnv.RIGBOX_TOKEN = token;
    workerEnv.RIGBOX_API_URL = url;
    ports.push({ port, host: '127.0.0.1', what: 'the Rigbox emulator', variable: 'RIGSNAP_DEV_EMULATOR_PORT' });
  }
  if (temporal.kind === 'embedded' && !has(env.RIGSNAP_UI_URL)) workerEnv.RIGSNAP_UI_URL = temporal.uiUrl;

  const config = loadWorkerConfig(workerEnv);
  if (rigbox.kind === 'real') rigbox.url = config.RIGBOX_API_URL;

  let metricsUrl: string | null = null;
  if (config.RIGSNAP_METRICS_PORT > 0) {
    ports.push({
      port: config.RIGSNAP_METRICS_PORT,
      host: config.RIGSNAP_METRICS_HOST,
      what: 'the worker’s Prometheus metrics',
      variable: 'RIGSNAP_METRICS_PORT (0 turns metrics off)',
    });
    const host = ['0.0.0.0', '::', '127.0.0.1'].includes(config.RIGSNAP_METRICS_HOST) ? 'localhost' : config.RIGSNAP_METRICS_HOST;
    metricsUrl = `http://${host}:${config.RIGSNAP_METRICS_PORT}/metrics`;
  }
  const uiUrl = temporal.kind === 'embedded' ? temporal.uiUrl : has(env.RIGSNAP_UI_URL) ? config.RIGSNAP_UI_URL : null;
  return { dir, temporal, rigbox, config, metricsUrl, uiUrl, ports };
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly busy: PortClaim[]) {
    super(
      busy
        .map((c) => `port ${c.port} (${c.what}) is already in use on ${c.host}: stop what uses it, or set ${c.variable} to a free port`)
        .join('\n'),
    );
  }
}

/** True when something already listens on host:port (we try to listen there ourselves). */
export function isPortInUse(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(true);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** Every claimed port that is taken, or claimed twice; throws PortInUseError naming them all. */
export async function assertPortsFree(claims: PortClaim[]): Promise<void> {
  const busy: PortClaim[] = [];
  const seen = new Map<number, PortClaim>();
  for (const c of claims) {
    const first = seen.get(c.port);
    if (first) {
      busy.push({ ...c, what: `${c.what}, and also wanted by ${first.what}`, host: c.host });
      continue;
    }
    seen.set(c.port, c);
    if (await isPortInUse(c.port, c.host)) busy.push(c);
  }
  if (busy.length > 0) throw new PortInUseError(busy);
}

/** The project root (where package.json is), found from this module in worker/ or dist/worker/. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'scripts', 'ensure-temporal-cli.mjs'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the rigsnap project root (scripts/ensure-temporal-cli.mjs)');
    dir = parent;
  }
}

/** The Temporal CLI the tests and `npm start` share: TEMPORAL_CLI_PATH, PATH, the cache, or a fresh build. */
export async function resolveTemporalCli(): Promise<string> {
  const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'ensure-temporal-cli.mjs')).href;
  const mod = (await import(script)) as { ensureTemporalCli(): Promise<string> };
  return mod.ensureTemporalCli();
}

export interface DevServer {
  pid: number;
  address: string;
  /** Resolves when the server process exits (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to its group, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

/** Starts `temporal server start-dev` with its state in dbFile; returns at once (see waitForTemporal). */
export function startTemporalDevServer(o: {
  cliPath: string;
  port: number;
  uiPort: number;
  namespace: string;
  dbFile: string;
  logFile: string;
  /** Keep the state in memory instead of dbFile (benchmarks: nothing to restart, less disk I/O). */
  inMemory?: boolean;
}): DevServer {
  fs.mkdirSync(path.dirname(o.dbFile), { recursive: true });
  // Keep one previous log; the server's own state is the SQLite file, not this.
  if (fs.existsSync(o.logFile) && fs.statSync(o.logFile).size > 5 * 1024 * 1024) fs.renameSync(o.logFile, `${o.logFile}.1`);
  const args = [
    'server',
    'start-dev',
    ...(o.inMemory ? [] : ['--db-filename', o.dbFile]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    '--log-level',
    'warn',
    ...(o.namespace !== 'default' ? ['--namespace', o.namespace] : []),
  ];
  // The state directory in the label names, in `ps`, the stack the watchdog guards.
  const p = spawnGuarded({ command: o.cliPath, args, logFile: o.logFile, label: `the Temporal dev server (${path.dirname(o.dbFile)})` });
  return {
    pid: p.pid,
    address: `127.0.0.1:${o.port}`,
    exited: p.exited,
    async stop(graceMs = 10_000) {
      await p.stop({ graceMs });
    },
    logTail: (lines) => p.logTail(lines),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until the server answers for the namespace (the dev server listens a moment before its
 * namespace is ready). Fails early when the server exits, with the end of its log.
 */
export async function waitForTemporal(
  server: DevServer,
  namespace: string,
  o: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<NativeConnection> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((e) => (exitedWith = e));
  const [host, portText] = server.address.split(':') as [string, string];
  const check = () => {
    o.signal?.throwIfAborted();
    if (exitedWith) {
      const tail = server.logTail();
      const inUse = /address already in use|bind:/i.test(tail) ? ' (a port it needs is in use)' : '';
      throw new Error(
        `the Temporal dev server exited during start-up${inUse} with ${exitedWith.signal ?? `code ${exitedWith.code}`}` +
          (tail ? `; the end of its log:\n${tail}` : ''),
      );
    }
    if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${server.address} in time; see its log:\n${server.logTail()}`);
  };
  while (!(await canConnect(Number(portText), host))) {
    check();
    await sleep(100);
  }
  let connection: NativeConnection | undefined;
  for (;;) {
    check();
    try {
      connection ??= await NativeConnection.connect({ address: server.address });
      await connection.workflowService.describeNamespace({ namespace });
      return connection;
    } catch {
      await sleep(200);
    }
  }
}

export interface BannerInput {
  plan: StackPlan;
  serverPid?: number;
  workspaces: string[];
  startedInMs: number;
}

/** The first command to try, with whatever environment the CLI needs to find this stack. */
export function firstCommand(plan: StackPlan): string {
  const prefix: string[] = [];
  if (plan.temporal.kind === 'embedded' && plan.temporal.port !== 7233) prefix.push(`TEMPORAL_ADDRESS=${plan.temporal.address}`);
  if (plan.temporal.kind === 'embedded' && plan.temporal.namespace !== 'default') prefix.push(`TEMPORAL_NAMESPACE=${plan.temporal.namespace}`);
  // The CLI's links point at http://localhost:8233 unless told: elsewhere they would not open.
  if (plan.temporal.kind === 'embedded' && plan.temporal.uiPort !== 8233) prefix.push(`RIGSNAP_UI_URL=${plan.temporal.uiUrl}`);
  if (plan.config.RIGSNAP_TASK_QUEUE !== DEFAULT_TASK_QUEUE) prefix.push(`RIGSNAP_TASK_QUEUE=${plan.config.RIGSNAP_TASK_QUEUE}`);
  return [...prefix, './rigsnap snapshot ws_demo --name before-migration'].join(' ');
}

export function emulationNotice(plan: StackPlan, workspaces: string[]): string | null {
  if (plan.rigbox.kind !== 'emulated') return null;
  return (
    `${pc.yellow('Rigbox is emulated.')} RIGBOX_TOKEN is not set, so a local emulator at ${plan.rigbox.url} ` +
    `serves the demo workspaces ${workspaces.join(', ')} (state in ${plan.rigbox.stateFile}).\n` +
    `  To drive the real Rigbox API instead, set RIGBOX_TOKEN (and RIGBOX_API_URL if yours is not ${DEFAULT_RIGBOX_API_URL}) and start again.` +
    (plan.rigbox.ignoredApiUrl ? '\n  RIGBOX_API_URL is set but ignored: without RIGBOX_TOKEN the worker talks to the emulator.' : '')
  );
}

export function banner(b: BannerInput): string {
  const { plan } = b;
  const t = plan.temporal;
  const rows: Array<[string, string]> = [];
  if (t.kind === 'embedded') {
    rows.push(['Temporal', `${t.address}  namespace ${t.namespace}  (dev server pid ${b.serverPid}; state in ${t.dbFile}, log in ${t.logFile})`]);
    rows.push(['Temporal UI', t.uiUrl]);
  } else {
    rows.push(['Temporal', `${t.address}  namespace ${t.namespace}  (external: TEMPORAL_ADDRESS)`]);
    rows.push(['Temporal UI', plan.uiUrl ?? 'the Web UI of your cluster (set RIGSNAP_UI_URL to link it)']);
  }
  rows.push(['Rigbox', plan.rigbox.kind === 'emulated' ? `${plan.rigbox.url}  (emulated)` : `${plan.rigbox.url}  (real API, RIGBOX_TOKEN set)`]);
  rows.push([
    'Worker',
    `task queue ${plan.config.RIGSNAP_TASK_QUEUE}, at most ${plan.config.RIGSNAP_RIGBOX_CALLS_PER_SECOND} Rigbox calls/s across all workers`,
  ]);
  rows.push(['Metrics', plan.metricsUrl ?? 'off (RIGSNAP_METRICS_PORT=0)']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    pc.bold(pc.green(`rigsnap dev stack is up`)) + ` (in ${(b.startedInMs / 1000).toFixed(1)}s)`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    'Try:',
    `  ${pc.cyan(firstCommand(plan))}`,
    'Stop everything with Ctrl-C.',
  ].join('\n');
}

export interface DevStackIo {
  out(text: string): void;
  err(text: string): void;
}

const defaultIo: DevStackIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

class Aborted extends Error {}

/**
 * Signals this close together are one request to stop (see onSignal). The kernel merges the two
 * copies of a Ctrl-C only when they arrive together; npm's copy can come a little later. A person who
 * wants it to stop at once presses Ctrl-C again after that.
 */
const SAME_SIGNAL_WINDOW_MS = 2000;

/**
 * Runs the stack until SIGINT/SIGTERM/SIGHUP or a fatal error; resolves with the exit code. Installs
 * the SDK Runtime, so it runs once per process (worker/dev.ts).
 * Order on the way down: the worker drains (RIGSNAP_SHUTDOWN_GRACE_MS), then the emulator closes and
 * saves, then the dev server stops. A second signal stops everything at once.
 */
export async function runDevStack(env: Record<string, string | undefined> = process.env, io: DevStackIo = defaultIo): Promise<number> {
  // From the start of this process, not of this function: the banner's figure is what the user waited.
  const started = performance.timeOrigin;
  const say = (t: string) => io.out(`${pc.dim('[rigsnap]')} ${t}`);
  let plan: StackPlan;
  try {
    plan = planStack(env);
    await assertPortsFree(plan.ports);
  } catch (err) {
    // Nothing has started yet: bad configuration (ConfigError, or envconfig's own, e.g. an unreadable
    // TLS file) or busy ports (PortInUseError). The messages name the variable, never the token.
    io.err(`rigsnap: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const { config } = plan;

  const abort = new AbortController();
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  let worker: Worker | undefined;
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let server: DevServer | undefined;

  const stop = (reason: string, code: number): Promise<void> => {
    if (stopping) return stopping;
    exitCode = code;
    abort.abort(new Aborted(reason));
    stopping = (async () => {
      if (worker && worker.getState() === 'RUNNING') {
        say(`${reason}: the worker finishes in-flight activities (up to ${Math.round(config.RIGSNAP_SHUTDOWN_GRACE_MS / 1000)}s), then everything stops`);
        worker.shutdown();
      } else {
        say(`${reason}: stopping`);
      }
      for (const c of closers.reverse()) {
        try {
          await c.close();
        } catch (err) {
          io.err(`rigsnap: stopping ${c.name}: ${(err as Error).message}`);
        }
      }
    })();
    return stopping;
  };

  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm start` arrives twice: from the terminal (to the whole process group) and again
    // from npm, which forwards it to its child. That is one Ctrl-C, not a second one asking for haste.
    if (stopping && Date.now() - firstSignalAt < SAME_SIGNAL_WINDOW_MS) return;
    // Only a person asks twice for haste, with Ctrl-C. A repeated SIGTERM or SIGHUP comes from the
    // machinery (a supervisor, the terminal's session ending, npm forwarding), however late: one stop.
    if (stopping && signal !== 'SIGINT') return;
    firstSignalAt ||= Date.now();
    if (stopping) {
      io.err(`rigsnap: ${signal} again: stopping at once`);
      if (server) {
        try {
          process.kill(process.platform === 'win32' ? server.pid : -server.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      process.exit(130);
    }
    void stop(`${signal} received`, 0);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  // `kill -9` of `npm start` (or whatever started us) reaches no handler here: follow the parent instead.
  const stopWatchingParent = watchParent(() => void stop('the process that started the stack has exited', 0));

  try {
    fs.mkdirSync(plan.dir, { recursive: true });
    Runtime.install({
      logger: createWorkerLogger({ level: config.RIGSNAP_LOG_LEVEL, format: config.RIGSNAP_LOG_FORMAT }),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} }, ...prometheusTelemetry(config) },
      // Signals are ours: the order of the way down matters (see above).
      shutdownSignals: [],
    });
    const log = Runtime.instance().logger;

    // Temporal: the dev server from the project's CLI, or the cluster TEMPORAL_ADDRESS names.
    let nativeConnection: NativeConnection;
    let connectionOptions: TemporalConnectionOptions;
    const t = plan.temporal;
    let emulatorStart: Promise<Emulator> | undefined;
    const startEmulatorIfNeeded = () => {
      if (plan.rigbox.kind !== 'emulated') return undefined;
      const r = plan.rigbox;
      const starting = startEmulator({
        port: r.port,
        host: '127.0.0.1',
        token: r.token,
        stateFile: r.stateFile,
        recordCalls: false,
        seedWorkspaces: DEMO_WORKSPACES,
      });
      starting.catch(() => {}); // awaited below; a stop during start-up must still close it
      closers.push({ name: 'the Rigbox emulator', close: async () => (await starting.catch(() => undefined))?.close() });
      return starting;
    };
    if (t.kind === 'embedded') {
      const cliPath = await resolveTemporalCli();
      abort.signal.throwIfAborted();
      say(`starting the Temporal dev server on ${t.address} (state in ${t.dbFile})`);
      server = startTemporalDevServer({ cliPath, port: t.port, uiPort: t.uiPort, namespace: t.namespace, dbFile: t.dbFile, logFile: t.logFile });
      const s = server;
      closers.push({ name: 'the Temporal dev server', close: () => s.stop() });
      void s.exited.then(({ code, signal }) => {
        if (!stopping) {
          io.err(`rigsnap: the Temporal dev server stopped unexpectedly (${signal ?? `code ${code}`}); see ${t.logFile}`);
          void stop('the Temporal dev server stopped', 1);
        }
      });
      emulatorStart = startEmulatorIfNeeded(); // in parallel with the server's start
      nativeConnection = await waitForTemporal(s, t.namespace, { signal: abort.signal });
      connectionOptions = { address: t.address };
    } else {
      emulatorStart = startEmulatorIfNeeded();
      connectionOptions = t.connectionOptions;
      try {
        nativeConnection = await NativeConnection.connect(t.connectionOptions);
      } catch (err) {
        throw new Error(`cannot reach Temporal at ${t.address} (${(err as Error).message}); check TEMPORAL_ADDRESS and its TLS/API-key settings`);
      }
    }
    closers.push({ name: 'the worker’s connection', close: () => nativeConnection.close() });

    let workspaces: string[] = [];
    if (emulatorStart) {
      const emulator = await emulatorStart;
      workspaces = Object.keys(emulator.state.data.workspaces);
    }
    abort.signal.throwIfAborted();

    const clientConnection = await Connection.connect(connectionOptions);
    closers.push({ name: 'the client connection', close: () => clientConnection.close() });
    const client = new Client({ connection: clientConnection, namespace: t.namespace });
    await ensureSearchAttributes(nativeConnection, t.namespace, (level, message) => {
      log[level](message);
    });
    abort.signal.throwIfAborted();

    const metrics = new RigsnapMetrics(Runtime.instance().metricMeter);
    const w = await createRigsnapWorker({ connection: nativeConnection, namespace: t.namespace, config, client, metrics });
    worker = w;
    const running = w.run();
    if (plan.metricsUrl) {
      const refresher = startBackupMetrics({
        client,
        taskQueue: config.RIGSNAP_TASK_QUEUE,
        rigbox: rigboxClientFromConfig(config, metrics),
        metrics,
        refreshMs: config.RIGSNAP_METRICS_REFRESH_MS,
        log,
      });
      closers.push({ name: 'the backup metrics', close: async () => refresher.stop() });
    }
    // Closers run in reverse: the worker drains first, before its connection, the emulator and the server.
    closers.push({
      name: 'the worker',
      close: async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => {});
      },
    });
    running.then(
      () => {
        if (!stopping) void stop('the worker stopped', 1);
      },
      (err: unknown) => {
        io.err(`rigsnap: the worker failed: ${err instanceof Error ? err.message : String(err)}`);
        void stop('the worker failed', 1);
      },
    );

    const notice = emulationNotice(plan, workspaces);
    if (notice) io.out(notice);
    io.out(banner({ plan, serverPid: server?.pid, workspaces, startedInMs: Date.now() - started }));
    await new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
  } catch (err) {
    if (!(err instanceof Aborted) && !(abort.signal.aborted && abort.signal.reason instanceof Aborted)) {
      io.err(`rigsnap: cannot start: ${err instanceof Error ? err.message : String(err)}`);
      void stop('start-up failed', 1);
    }
  }
  await stopping;
  stopWatchingParent();
  for (const s of signals) process.off(s, onSignal);
  say('stopped');
  return exitCode;
}
