import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import pc from 'picocolors';
import { DEMO_WORKSPACES } from '../emulator/demo.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { shutdownForceMs } from '../worker/config.js';
import { createWorkerLogger } from '../worker/logger.js';
import { RigsnapMetrics, prometheusTelemetry } from '../worker/metrics.js';
import { ensureSearchAttributes } from '../worker/temporal.js';
import { createRigsnapWorker, startBackupMetricsFor } from '../worker/worker.js';
import { banner, emulationNotice } from './banner.js';
import { watchParent } from './parent-watch.js';
import { assertPortsFree, planStack, type StackPlan, type TemporalConnectionOptions } from './plan.js';
import { resolveTemporalCli, startTemporalDevServer, waitForTemporal, type DevServer } from './temporal-server.js';

/**
 * The local stack behind `npm start`, from its plan (plan.ts) to a clean stop.
 *
 * Process layout: the worker and the emulator run in this Node process (one runtime, one log, and
 * shutdown is a sequence of awaits: drain the worker, close the emulator, stop the server). The
 * Temporal dev server is a child in its own process group, so a terminal's Ctrl-C reaches only us
 * and the server stays up while the worker drains; a tiny watchdog process holds a pipe to us and
 * stops the server's group if we die without cleaning up (SIGKILL, crash).
 */

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

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What the stack started, closed in reverse order on the way down. */
export interface Closer {
  name: string;
  close: () => Promise<void>;
  /** How long the way down waits for it before going on without it (the worker: its shutdown force time). */
  budgetMs?: number;
}

/** A part that has not closed by then is left behind (and named): the rest must still go down. */
const CLOSER_BUDGET_MS = 10_000;
/** A part slower than this to close is named on the way down, with how long it took. */
const SLOW_CLOSE_MS = 3_000;

/**
 * Closes what the stack started, last first. Each part gets its budget; one that has not closed by
 * then is named and left behind, so that the rest (the emulator's save, the dev server) still goes
 * down. A slow part is named with how long it took.
 */
export async function closeInReverse(closers: Closer[], io: DevStackIo, say: (text: string) => void): Promise<void> {
  for (const c of [...closers].reverse()) {
    const began = Date.now();
    const budget = c.budgetMs ?? CLOSER_BUDGET_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      const closed = await Promise.race([c.close().then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budget)))]);
      if (!closed) io.err(`rigsnap: ${c.name} did not stop within ${budget / 1000} s; going on without it`);
      else if (Date.now() - began > SLOW_CLOSE_MS) say(`stopping ${c.name} took ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } catch (err) {
      io.err(`rigsnap: stopping ${c.name}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One run of the stack: what it started, and the one way down however it is asked to stop. */
class DevStack {
  readonly abort = new AbortController();
  private readonly closers: Closer[] = [];
  private worker: Worker | undefined;
  private server: DevServer | undefined;
  stopping: Promise<void> | undefined;
  exitCode = 0;
  private firstSignalAt = 0;

  constructor(
    private readonly plan: StackPlan,
    private readonly io: DevStackIo,
    private readonly say: (text: string) => void,
  ) {}

  /** The one way down: the worker drains (RIGSNAP_SHUTDOWN_GRACE_MS), then everything else closes in reverse. */
  stop(reason: string, code: number): Promise<void> {
    if (this.stopping) return this.stopping;
    this.exitCode = code;
    this.abort.abort(new Aborted(reason));
    this.stopping = (async () => {
      if (this.worker && this.worker.getState() === 'RUNNING') {
        this.say(
          `${reason}: the worker finishes in-flight activities (up to ${Math.round(this.plan.config.RIGSNAP_SHUTDOWN_GRACE_MS / 1000)}s), then everything stops`,
        );
        this.worker.shutdown();
      } else {
        this.say(`${reason}: stopping`);
      }
      await closeInReverse(this.closers, this.io, this.say);
    })();
    return this.stopping;
  }

  readonly onSignal = (signal: NodeJS.Signals): void => {
    // Ctrl-C under `npm start` arrives twice: from the terminal (to the whole process group) and again
    // from npm, which forwards it to its child. That is one Ctrl-C, not a second one asking for haste.
    if (this.stopping && Date.now() - this.firstSignalAt < SAME_SIGNAL_WINDOW_MS) return;
    // Only a person asks twice for haste, with Ctrl-C. A repeated SIGTERM or SIGHUP comes from the
    // machinery (a supervisor, the terminal's session ending, npm forwarding), however late: one stop.
    if (this.stopping && signal !== 'SIGINT') return;
    this.firstSignalAt ||= Date.now();
    if (this.stopping) {
      this.io.err(`rigsnap: ${signal} again: stopping at once`);
      if (this.server) {
        try {
          process.kill(process.platform === 'win32' ? this.server.pid : -this.server.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      process.exit(130);
    }
    void this.stop(`${signal} received`, 0);
  };

  /** Starts everything and waits until asked to stop; a failure on the way up stops what started. */
  async run(startedAt: number): Promise<void> {
    try {
      fs.mkdirSync(this.plan.dir, { recursive: true });
      Runtime.install({
        logger: createWorkerLogger({ level: this.plan.config.RIGSNAP_LOG_LEVEL, format: this.plan.config.RIGSNAP_LOG_FORMAT }),
        telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} }, ...prometheusTelemetry(this.plan.config) },
        // Signals are ours: the order of the way down matters (see above).
        shutdownSignals: [],
      });
      const { native, connectionOptions, emulatorStart } = await this.startTemporal();
      this.closers.push({ name: 'the worker’s connection', close: () => native.close() });
      const workspaces = emulatorStart ? Object.keys((await emulatorStart).state.data.workspaces) : [];
      this.abort.signal.throwIfAborted();
      await this.startWorker(native, connectionOptions);
      const notice = emulationNotice(this.plan, workspaces);
      if (notice) this.io.out(notice);
      this.io.out(banner({ plan: this.plan, serverPid: this.server?.pid, workspaces, startedInMs: Date.now() - startedAt }));
      await new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    } catch (err) {
      if (!(err instanceof Aborted) && !(this.abort.signal.aborted && this.abort.signal.reason instanceof Aborted)) {
        this.io.err(`rigsnap: cannot start: ${err instanceof Error ? err.message : String(err)}`);
        void this.stop('start-up failed', 1);
      }
    }
  }

  /** Temporal: the dev server from the project's CLI (with the emulator starting meanwhile), or the cluster TEMPORAL_ADDRESS names. */
  private async startTemporal(): Promise<{
    native: NativeConnection;
    connectionOptions: TemporalConnectionOptions;
    emulatorStart: Promise<Emulator> | undefined;
  }> {
    const t = this.plan.temporal;
    if (t.kind === 'external') {
      const emulatorStart = this.startEmulatorIfNeeded();
      try {
        return { native: await NativeConnection.connect(t.connectionOptions), connectionOptions: t.connectionOptions, emulatorStart };
      } catch (err) {
        throw new Error(`cannot reach Temporal at ${t.address} (${(err as Error).message}); check TEMPORAL_ADDRESS and its TLS/API-key settings`);
      }
    }
    const cliPath = await resolveTemporalCli();
    this.abort.signal.throwIfAborted();
    this.say(`starting the Temporal dev server on ${t.address} (state in ${t.dbFile})`);
    const s = startTemporalDevServer({ cliPath, port: t.port, uiPort: t.uiPort, namespace: t.namespace, dbFile: t.dbFile, logFile: t.logFile });
    this.server = s;
    // Its own stop sends SIGKILL after 10 s.
    this.closers.push({ name: 'the Temporal dev server', close: () => s.stop(), budgetMs: 15_000 });
    void s.exited.then(({ code, signal }) => {
      if (!this.stopping) {
        this.io.err(`rigsnap: the Temporal dev server stopped unexpectedly (${signal ?? `code ${code}`}); see ${t.logFile}`);
        void this.stop('the Temporal dev server stopped', 1);
      }
    });
    const emulatorStart = this.startEmulatorIfNeeded(); // in parallel with the server's start
    const native = await waitForTemporal(s, t.namespace, { signal: this.abort.signal });
    return { native, connectionOptions: { address: t.address }, emulatorStart };
  }

  private startEmulatorIfNeeded(): Promise<Emulator> | undefined {
    if (this.plan.rigbox.kind !== 'emulated') return undefined;
    const r = this.plan.rigbox;
    const starting = startEmulator({
      port: r.port,
      host: '127.0.0.1',
      token: r.token,
      stateFile: r.stateFile,
      recordCalls: false,
      seedWorkspaces: DEMO_WORKSPACES,
    });
    starting.catch(() => {}); // awaited by run(); a stop during start-up must still close it
    this.closers.push({ name: 'the Rigbox emulator', close: async () => (await starting.catch(() => undefined))?.close() });
    return starting;
  }

  /** The worker (and the backup metrics' refresher), on the namespace's search attributes; its end ends the stack. */
  private async startWorker(native: NativeConnection, connectionOptions: TemporalConnectionOptions): Promise<void> {
    const { config } = this.plan;
    const namespace = this.plan.temporal.namespace;
    const log = Runtime.instance().logger;
    const clientConnection = await Connection.connect(connectionOptions);
    this.closers.push({ name: 'the client connection', close: () => clientConnection.close() });
    const client = new Client({ connection: clientConnection, namespace });
    await ensureSearchAttributes(native, namespace, (level, message) => {
      log[level](message);
    });
    this.abort.signal.throwIfAborted();
    const metrics = new RigsnapMetrics(Runtime.instance().metricMeter);
    const w = await createRigsnapWorker({ connection: native, namespace, config, client, metrics });
    this.worker = w;
    const running = w.run();
    if (this.plan.metricsUrl) {
      const refresher = startBackupMetricsFor(config, client, metrics, log);
      this.closers.push({ name: 'the backup metrics', close: async () => refresher.stop() });
    }
    // Closers run in reverse: the worker drains first, before its connection, the emulator and the server.
    this.closers.push({
      name: 'the worker',
      // The SDK ends run() at the force time; a little more for its own way down.
      budgetMs: shutdownForceMs(config) + 5_000,
      close: async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => {});
      },
    });
    running.then(
      () => {
        if (!this.stopping) void this.stop('the worker stopped', 1);
      },
      (err: unknown) => {
        this.io.err(`rigsnap: the worker failed: ${err instanceof Error ? err.message : String(err)}`);
        void this.stop('the worker failed', 1);
      },
    );
  }
}

/**
 * Runs the stack until SIGINT/SIGTERM/SIGHUP or a fatal error; resolves with the exit code. Installs
 * the SDK Runtime, so it runs once per process (dev/main.ts).
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
  const stack = new DevStack(plan, io, say);
  for (const s of STOP_SIGNALS) process.on(s, stack.onSignal);
  // `kill -9` of `npm start` (or whatever started us) reaches no handler here: follow the parent instead.
  const stopWatchingParent = watchParent(() => void stack.stop('the process that started the stack has exited', 0));
  await stack.run(started);
  await stack.stopping;
  stopWatchingParent();
  for (const s of STOP_SIGNALS) process.off(s, stack.onSignal);
  say('stopped');
  return stack.exitCode;
}
