import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/index.js';
import { DEFAULT_TASK_QUEUE } from '../domain/index.js';
import { DEMO_WORKSPACES } from '../emulator/demo.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { ensurePostgres, ensureTemporalPrograms, postgresAccount, type PostgresPrograms, type TemporalPrograms } from './cluster-programs.js';
import { canConnect, freeLowPort, httpOk, runScript, sleep, waitFor } from './waits.js';
import { SERVER_PORT_VARIABLES, interpolate, readComposeTopology, temporalServerEnvironment, type ComposeTopology } from './compose-topology.js';
import { spawnGuarded, type GuardedProcess, type ProcessExit } from './guarded-process.js';
import { projectRoot, resolveTemporalCli } from './temporal-server.js';
import { freePort, spawnWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * `npm run cluster`: the production topology of docker-compose.yml, run without Docker. PostgreSQL
 * (the Debian package, as an unprivileged user, data in a scratch directory), the `temporal` and
 * `temporal_visibility` databases made by deploy/temporal/setup-schema.sh with temporal-sql-tool,
 * Temporal Server started from compose's own `temporal` service environment (the embedded config
 * template the temporalio/server image renders from it; only addresses and ports are local), the
 * namespace and search attributes made by deploy/temporal/setup-namespace.sh, the Web UI from
 * compose's `temporal-ui` environment, the Rigbox emulator and N worker processes.
 *
 * docker-compose.yml is the single source of truth (compose-topology.ts): versions (image tags), the
 * server's environment, the dynamic config file and the setup scripts are read from it, so the two
 * cannot drift. Everything lives in one temporary directory that stop() (and, if this process is
 * killed, the watchdogs) removes.
 */

export const CLUSTER_NAMESPACE = 'default';

export interface ClusterOptions {
  /** Worker processes to start (default 3). */
  workers?: number;
  /** Start the Rigbox emulator with the demo workspaces and point the workers at it (default true). */
  emulator?: boolean;
  /** Start the Web UI (default true, when it could be built). */
  ui?: boolean;
  /** Extra environment for every worker the cluster starts. */
  workerEnv?: Record<string, string>;
  log?: (line: string) => void;
  /** Aborting stops the start-up between steps (Ctrl-C while it starts). */
  signal?: AbortSignal;
}

export interface ClusterWorker extends WorkerProcess {
  metricsPort: number;
}

export interface Cluster {
  dir: string;
  namespace: string;
  /** host:port of the Temporal frontend. */
  address: string;
  topology: ComposeTopology;
  versions: { server: string; ui: string; postgres: string };
  /** `socketDir` accepts the user without a password (local trust), for psql from this machine. */
  postgres: { port: number; pid: number; dataDir: string; socketDir: string; binDir: string; user: string; runAs: string };
  server: { pid(): number; logFile: string; env: Record<string, string>; local: string[] };
  ui: { url: string; pid: number } | null;
  uiUnavailable?: string;
  emulator: Emulator | null;
  taskQueue: string;
  workers: ClusterWorker[];
  client: Client;
  /**
   * The worker environment: this cluster's Temporal, plus the cluster's emulator when it has one.
   * `entry` runs another build's worker (the rolling-upgrade test's previous release) instead of dist/'s.
   */
  startWorker(env?: Record<string, string>, o?: { entry?: string }): Promise<ClusterWorker>;
  /** Kills the Temporal Server process (SIGKILL by default) and starts it again on the same database. */
  restartServer(o?: { signal?: NodeJS.Signals; downMs?: number }): Promise<void>;
  /** Called when PostgreSQL, Temporal Server or the Web UI exits when it should not. */
  onUnexpectedExit(listener: (what: string, exit: ProcessExit) => void): void;
  /** Every process this cluster started that still runs (the test checks none is left). */
  pids(): number[];
  stop(): Promise<void>;
}

interface PostgresRun {
  port: number;
  process: GuardedProcess;
  dataDir: string;
  socketDir: string;
  user: string;
  password: string;
}

/** The programs a cluster runs, found (or built) before anything starts. */
interface Programs {
  root: string;
  topology: ComposeTopology;
  cliPath: string;
  temporal: TemporalPrograms;
  pg: PostgresPrograms;
  account: { uid: number; gid: number; name: string } | undefined;
}

/** One cluster being started: what it started so far, and the one way to stop all of it. */
class ClusterRun {
  readonly dir: string;
  readonly guarded: Array<{ what: string; p: GuardedProcess }> = [];
  readonly workers: ClusterWorker[] = [];
  readonly exitListeners: Array<(what: string, exit: ProcessExit) => void> = [];
  readonly baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.homedir() };
  private stopping: Promise<void> | undefined;
  restarting = false;
  connection: Connection | undefined;
  emulator: Emulator | null = null;

  constructor(
    readonly o: ClusterOptions,
    readonly programs: Programs,
    readonly log: (line: string) => void,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-cluster-'));
    // The postgres account must reach its directory inside.
    fs.chmodSync(this.dir, 0o711);
  }

  track(what: string, p: GuardedProcess): GuardedProcess {
    this.guarded.push({ what, p });
    void p.exited.then((exit) => {
      if (this.stopping || (this.restarting && what === 'Temporal Server')) return;
      for (const l of this.exitListeners) l(what, exit);
    });
    return p;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Workers drain first (they need Temporal to report), then the UI, the server and its database.
      await Promise.all(
        this.workers.map(async (w) => {
          const timer = setTimeout(() => w.child.kill('SIGKILL'), 45_000);
          await w.stop('SIGTERM');
          clearTimeout(timer);
        }),
      );
      await this.emulator?.close().catch(() => {});
      await this.connection?.close().catch(() => {});
      for (const what of ['Temporal Web UI', 'Temporal Server', 'PostgreSQL']) {
        for (const g of this.guarded.filter((x) => x.what === what)) {
          // PostgreSQL: SIGINT is its fast shutdown (SIGTERM would wait for clients to disconnect).
          await g.p.stop({ signal: what === 'PostgreSQL' ? 'SIGINT' : 'SIGTERM', graceMs: 15_000 });
        }
      }
      fs.rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** PostgreSQL as compose's postgres image sets it up: the user and password, passwords over TCP. */
  async startPostgres(): Promise<PostgresRun> {
    const { pg, account } = this.programs;
    const socketDir = path.join(this.dir, 'postgres');
    const dataDir = path.join(socketDir, 'data');
    fs.mkdirSync(socketDir, { mode: 0o700 });
    const user = 'temporal';
    const password = randomBytes(18).toString('base64url');
    const pwFile = path.join(socketDir, 'password');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (account) {
      fs.chownSync(socketDir, account.uid, account.gid);
      fs.chownSync(pwFile, account.uid, account.gid);
    }
    const asAccount = account ? { uid: account.uid, gid: account.gid } : {};
    const pgEnv = { ...this.baseEnv, LC_ALL: 'C', LANG: 'C' };
    this.log(`PostgreSQL ${pg.version}: initdb in ${dataDir}${account ? ' as the postgres account' : ''}`);
    // --no-sync because the directory is thrown away.
    const init = spawnSync(
      path.join(pg.binDir, 'initdb'),
      ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { encoding: 'utf8', cwd: socketDir, env: pgEnv, ...asAccount },
    );
    fs.rmSync(pwFile, { force: true });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}):\n${init.stdout}\n${init.stderr}`);
    this.o.signal?.throwIfAborted();
    const port = await freePort();
    const postgres = this.track(
      'PostgreSQL',
      spawnGuarded({
        command: path.join(pg.binDir, 'postgres'),
        args: ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1'],
        env: pgEnv,
        cwd: socketDir,
        logFile: path.join(this.dir, 'postgresql.log'),
        label: `PostgreSQL of the rigsnap cluster in ${this.dir}`,
        removeDirOnOrphan: this.dir,
        ...asAccount,
      }),
    );
    const ready = async () =>
      spawnSync(path.join(pg.binDir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-d', 'postgres', '-t', '2'], { stdio: 'ignore' }).status === 0;
    await waitFor(`PostgreSQL on 127.0.0.1:${port}`, postgres, ready, 60_000, this.o.signal);
    this.log(`PostgreSQL is up on 127.0.0.1:${port} (pid ${postgres.pid})`);
    return { port, process: postgres, dataDir, socketDir, user, password };
  }

  /** Compose's temporal-schema step: the two databases, with temporal-sql-tool. */
  async setupSchema(pg: PostgresRun): Promise<void> {
    const { root, topology, temporal } = this.programs;
    this.log(`schema: ${topology.schemaScript} with temporal-sql-tool ${temporal.serverVersion}`);
    await runScript(
      path.join(root, topology.schemaScript),
      {
        ...this.baseEnv,
        PATH: `${path.dirname(temporal.sqlTool)}${path.delimiter}${this.baseEnv.PATH}`,
        POSTGRES_SEEDS: '127.0.0.1',
        DB_PORT: String(pg.port),
        POSTGRES_USER: pg.user,
        SQL_PASSWORD: pg.password,
      },
      path.join(this.dir, 'setup-schema.log'),
      this.o.signal,
    );
  }

  /** Compose's temporal service: its environment with local addresses and ports; a function to start it (again). */
  async serverOf(pg: PostgresRun) {
    const { root, topology, temporal } = this.programs;
    const taken = new Set<number>();
    const ports = {} as Record<(typeof SERVER_PORT_VARIABLES)[number], number>;
    for (const v of SERVER_PORT_VARIABLES) ports[v] = await freeLowPort(taken);
    const server = temporalServerEnvironment(topology, { root, postgres: { port: pg.port, user: pg.user, password: pg.password }, ports });
    const logFile = path.join(this.dir, 'temporal-server.log');
    const start = () =>
      this.track(
        'Temporal Server',
        spawnGuarded({
          command: temporal.server,
          // No config flag: the embedded template, rendered from the environment, as the image's entrypoint does.
          args: ['start'],
          env: { ...this.baseEnv, ...server.env },
          cwd: this.dir,
          logFile,
          label: `Temporal Server of the rigsnap cluster in ${this.dir}`,
          removeDirOnOrphan: this.dir,
        }),
      );
    return { address: `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`, port: ports.FRONTEND_GRPC_PORT, env: server.env, local: server.local, logFile, start };
  }

  /** Compose's temporal-namespace step, then a client; checks the script registered the search attributes. */
  async setupNamespace(address: string, serverProcess: () => GuardedProcess): Promise<{ client: Client; namespaceReady: () => Promise<boolean> }> {
    const { root, topology, cliPath } = this.programs;
    this.log(`namespace: ${topology.namespaceScript} with the temporal CLI`);
    await runScript(
      path.join(root, topology.namespaceScript),
      { ...this.baseEnv, PATH: `${path.dirname(cliPath)}${path.delimiter}${this.baseEnv.PATH}`, TEMPORAL_ADDRESS: address, NAMESPACE: CLUSTER_NAMESPACE },
      path.join(this.dir, 'setup-namespace.log'),
      this.o.signal,
    );
    const connection = await Connection.connect({ address });
    this.connection = connection;
    const client = new Client({ connection, namespace: CLUSTER_NAMESPACE });
    const namespaceReady = async () => {
      try {
        await connection.workflowService.describeNamespace({ namespace: CLUSTER_NAMESPACE });
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(`namespace ${CLUSTER_NAMESPACE}`, serverProcess(), namespaceReady, 60_000, this.o.signal);
    const attributes = (await connection.operatorService.listSearchAttributes({ namespace: CLUSTER_NAMESPACE })).customAttributes ?? {};
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((n) => !(n in attributes));
    if (missing.length > 0) throw new Error(`${topology.namespaceScript} did not register ${missing.join(', ')}`);
    return { client, namespaceReady };
  }

  /** Compose's temporal-ui service, unless turned off or not built. */
  async startUi(address: string): Promise<{ ui: Cluster['ui']; uiUnavailable: string | undefined }> {
    const { topology, temporal } = this.programs;
    if (this.o.ui === false) return { ui: null, uiUnavailable: 'not started (ui: false)' };
    if (!temporal.ui) return { ui: null, uiUnavailable: temporal.uiUnavailable };
    const uiPort = await freePort();
    // The image renders config/docker.yaml from its environment; base.yaml (read first) binds it to loopback here.
    const configDir = path.join(this.dir, 'ui-config');
    fs.mkdirSync(configDir);
    fs.copyFileSync(path.join(temporal.ui.configDir, 'docker.yaml'), path.join(configDir, 'docker.yaml'));
    fs.writeFileSync(path.join(configDir, 'base.yaml'), 'host: 127.0.0.1\n');
    const uiEnv = Object.fromEntries(Object.entries(topology.uiEnvironment).map(([k, v]) => [k, interpolate(v, { TEMPORAL_NAMESPACE: CLUSTER_NAMESPACE })]));
    const uiProcess = this.track(
      'Temporal Web UI',
      spawnGuarded({
        command: temporal.ui.uiServer,
        args: ['--root', this.dir, '--config', 'ui-config', '--env', 'docker', 'start'],
        env: { ...this.baseEnv, ...uiEnv, TEMPORAL_ADDRESS: address, TEMPORAL_UI_PORT: String(uiPort), TEMPORAL_CORS_ORIGINS: `http://localhost:${uiPort}` },
        cwd: this.dir,
        logFile: path.join(this.dir, 'temporal-ui.log'),
        label: `Temporal Web UI of the rigsnap cluster in ${this.dir}`,
        removeDirOnOrphan: this.dir,
      }),
    );
    await waitFor(`the Temporal Web UI on 127.0.0.1:${uiPort}`, uiProcess, () => httpOk(`http://127.0.0.1:${uiPort}/`), 60_000, this.o.signal);
    const ui = { url: `http://localhost:${uiPort}`, pid: uiProcess.pid };
    this.log(`Temporal Web UI ${temporal.uiVersion} on ${ui.url}`);
    return { ui, uiUnavailable: temporal.uiUnavailable };
  }

  /** The Rigbox emulator with the demo workspaces (unless turned off); the token the workers use with it. */
  async startEmulator(): Promise<string | undefined> {
    if (this.o.emulator === false) return undefined;
    const token = `cluster-${randomBytes(16).toString('hex')}`;
    this.emulator = await startEmulator({
      token,
      host: '127.0.0.1',
      stateFile: path.join(this.dir, 'emulator.json'),
      recordCalls: false,
      seedWorkspaces: DEMO_WORKSPACES,
    });
    this.log(`Rigbox emulator on ${this.emulator.url}`);
    return token;
  }

  /** A worker process on this cluster's Temporal (and emulator), guarded, its log in the cluster's directory. */
  async startWorker(entry: string, index: number, base: Record<string, string>, env: Record<string, string>): Promise<ClusterWorker> {
    const metricsPort = await freePort();
    const w = spawnWorkerProcess({
      entry,
      env: { ...this.baseEnv, ...base, RIGSNAP_METRICS_PORT: String(metricsPort), RIGSNAP_METRICS_HOST: '127.0.0.1', ...(this.o.workerEnv ?? {}), ...env },
      guard: { label: `rigsnap worker ${index} of the cluster in ${this.dir}`, removeDirOnOrphan: this.dir },
      logFile: path.join(this.dir, `worker-${index}.log`),
    });
    const cw: ClusterWorker = Object.assign(w, { metricsPort });
    this.workers.push(cw);
    return cw;
  }

  /** Until `wanted` of this cluster's workers poll the task queue; fails if one exits meanwhile. */
  async awaitWorkers(client: Client, taskQueue: string, wanted: number): Promise<void> {
    const identities = () => new Set(this.workers.map((w) => `${w.pid}@${os.hostname()}`));
    const polling = async () => {
      const exited = this.workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
      if (exited) throw new Error(`worker ${exited.pid} exited during start-up:\n${exited.output.join('').slice(-2000)}`);
      const r = await client.workflowService.describeTaskQueue({ namespace: CLUSTER_NAMESPACE, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType: 2 });
      return (r.pollers ?? []).filter((p) => p.identity && identities().has(p.identity)).length >= wanted;
    };
    await waitFor(`${wanted} workers polling ${taskQueue}`, undefined, polling, 90_000, this.o.signal);
    this.log(`${wanted} workers poll task queue ${taskQueue}`);
  }
}

/** Everything the cluster runs, found (or built) first: nothing runs yet, so a failed build leaves nothing to clean up. */
async function findPrograms(log: (line: string) => void, signal: AbortSignal | undefined): Promise<Programs> {
  const root = projectRoot();
  const topology = readComposeTopology(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
  const cliPath = await resolveTemporalCli();
  const temporal = await ensureTemporalPrograms();
  const pg = ensurePostgres(log);
  const account = postgresAccount();
  signal?.throwIfAborted();
  return { root, topology, cliPath, temporal, pg, account };
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const log = o.log ?? (() => {});
  const programs = await findPrograms(log, o.signal);
  const run = new ClusterRun(o, programs, log);
  try {
    const pg = await run.startPostgres();
    await run.setupSchema(pg);
    const server = await run.serverOf(pg);
    let serverProcess = server.start();
    log(`Temporal Server ${programs.temporal.serverVersion} starting on ${server.address} (pid ${serverProcess.pid})`);
    await waitFor(`Temporal Server on ${server.address}`, serverProcess, () => canConnect(server.port), 90_000, o.signal);
    const { client, namespaceReady } = await run.setupNamespace(server.address, () => serverProcess);
    const { ui, uiUnavailable } = await run.startUi(server.address);
    const token = await run.startEmulator();
    const workerEntry = path.join(programs.root, 'dist', 'worker', 'main.js');
    if (!fs.existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: run \`npm run build\` first`);
    const workerBase: Record<string, string> = {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: CLUSTER_NAMESPACE,
      ...(ui ? { RIGSNAP_UI_URL: ui.url } : {}),
      ...(run.emulator && token ? { RIGBOX_API_URL: run.emulator.url, RIGBOX_TOKEN: token } : {}),
      ...(process.env.RIGSNAP_LOG_LEVEL ? { RIGSNAP_LOG_LEVEL: process.env.RIGSNAP_LOG_LEVEL } : {}),
    };
    let workerCount = 0;
    const taskQueue = o.workerEnv?.RIGSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
    const cluster: Cluster = {
      dir: run.dir,
      namespace: CLUSTER_NAMESPACE,
      address: server.address,
      topology: programs.topology,
      versions: { server: programs.temporal.serverVersion, ui: programs.temporal.uiVersion, postgres: programs.pg.version },
      postgres: {
        port: pg.port,
        pid: pg.process.pid,
        dataDir: pg.dataDir,
        socketDir: pg.socketDir,
        binDir: programs.pg.binDir,
        user: pg.user,
        runAs: programs.account?.name ?? os.userInfo().username,
      },
      server: { pid: () => serverProcess.pid, logFile: server.logFile, env: server.env, local: server.local },
      ui,
      ...(uiUnavailable ? { uiUnavailable } : {}),
      emulator: run.emulator,
      taskQueue,
      workers: run.workers,
      client,
      startWorker: (env = {}, so = {}) => run.startWorker(so.entry ?? workerEntry, ++workerCount, workerBase, env),
      async restartServer({ signal: killSignal = 'SIGKILL', downMs = 2000 } = {}) {
        run.restarting = true;
        try {
          log(`Temporal Server: ${killSignal} to pid ${serverProcess.pid}`);
          await serverProcess.stop({ signal: killSignal, graceMs: 15_000 });
          await sleep(downMs);
          serverProcess = server.start();
          log(`Temporal Server starting again on the same database (pid ${serverProcess.pid})`);
          await waitFor(`Temporal Server on ${server.address}`, serverProcess, namespaceReady, 90_000);
        } finally {
          run.restarting = false;
        }
      },
      onUnexpectedExit: (listener) => void run.exitListeners.push(listener),
      pids: () => [
        ...run.guarded.filter((g) => g.p.running()).map((g) => g.p.pid),
        ...run.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).map((w) => w.pid),
      ],
      stop: () => run.stop(),
    };
    const wanted = o.workers ?? 3;
    for (let i = 0; i < wanted; i++) await cluster.startWorker();
    if (wanted > 0) await run.awaitWorkers(client, taskQueue, wanted);
    return cluster;
  } catch (err) {
    await run.stop();
    throw err;
  }
}
