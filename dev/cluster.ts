import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../contract/index.js';
import { DEFAULT_TASK_QUEUE } from '../domain/index.js';
import { DEMO_WORKSPACES } from '../emulator/demo.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
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
 * docker-compose.yml is the single source of truth: versions (image tags), the server's environment,
 * the dynamic config file and the setup scripts are read from it, so the two cannot drift.
 * Everything lives in one temporary directory that stop() (and, if this process is killed, the
 * watchdogs) removes.
 */

export const CLUSTER_NAMESPACE = 'default';

// ---------------------------------------------------------------------------------------------------
// What docker-compose.yml says

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  entrypoint?: string[] | string;
  configs?: Array<string | { source: string; target?: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  configs?: Record<string, { file?: string; content?: string }>;
}

export interface ComposeTopology {
  serverVersion: string;
  uiVersion: string;
  postgresImage: string;
  /** The `temporal` service's environment, not interpolated. */
  serverEnvironment: Record<string, string>;
  /** The `temporal-ui` service's environment, not interpolated. */
  uiEnvironment: Record<string, string>;
  /** Files (relative to the project root) that compose mounts: what the server reads as dynamic config, and the two setup scripts. */
  dynamicConfigFile: string;
  schemaScript: string;
  namespaceScript: string;
}

function environmentOf(s: ComposeService): Record<string, string> {
  if (!s.environment) return {};
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function tagOf(image: string | undefined, repository: string): string {
  const m = image ? new RegExp(`^${repository.replace('/', '\\/')}:([^@]+)`).exec(image) : null;
  if (!m) throw new Error(`docker-compose.yml: expected an image ${repository}:<version>, found ${image ?? 'none'}`);
  return m[1]!;
}

/** The project file compose mounts at `target` in `service`. */
function mountedFile(compose: ComposeFile, serviceName: string, target: string): string {
  const service = compose.services[serviceName];
  const ref = (service?.configs ?? []).find((c) => typeof c === 'object' && c.target === target);
  const source = typeof ref === 'object' ? ref.source : undefined;
  const file = source ? compose.configs?.[source]?.file : undefined;
  if (!file) throw new Error(`docker-compose.yml: service ${serviceName} mounts no config file at ${target}`);
  return path.normalize(file);
}

function scriptOf(compose: ComposeFile, serviceName: string): string {
  const entrypoint = compose.services[serviceName]?.entrypoint;
  const script = Array.isArray(entrypoint) ? entrypoint[entrypoint.length - 1] : undefined;
  if (!script) throw new Error(`docker-compose.yml: service ${serviceName} has no script entrypoint`);
  return mountedFile(compose, serviceName, script);
}

export function readComposeTopology(text: string): ComposeTopology {
  const compose = parse(text) as ComposeFile;
  const s = compose.services;
  const server = s.temporal;
  if (!server || !s['temporal-ui'] || !s.postgresql) throw new Error('docker-compose.yml: expected services postgresql, temporal and temporal-ui');
  const serverEnvironment = environmentOf(server);
  const dynamicConfigPath = serverEnvironment.DYNAMIC_CONFIG_FILE_PATH;
  if (!dynamicConfigPath) throw new Error('docker-compose.yml: the temporal service sets no DYNAMIC_CONFIG_FILE_PATH');
  return {
    serverVersion: tagOf(server.image, 'temporalio/server'),
    uiVersion: tagOf(s['temporal-ui'].image, 'temporalio/ui'),
    postgresImage: s.postgresql.image ?? '',
    serverEnvironment,
    uiEnvironment: environmentOf(s['temporal-ui']),
    dynamicConfigFile: mountedFile(compose, 'temporal', dynamicConfigPath),
    schemaScript: scriptOf(compose, 'temporal-schema'),
    namespaceScript: scriptOf(compose, 'temporal-namespace'),
  };
}

/** Compose's interpolation: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`. */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name: string | undefined, colon: string, op: string, arg: string) => {
    if (whole === '$$') return '$';
    const v = vars[name!];
    const unset = v === undefined || (colon === ':' && v === '');
    if (!op) return v ?? '';
    if (op === '-') return unset ? arg : v;
    if (unset) throw new Error(`\${${name}} is required: ${arg}`);
    return v;
  });
}

/**
 * The variables of the server's config template that hold addresses and ports: the only ones the
 * cluster sets differently from compose (one host, free ports, loopback instead of a container network).
 */
export const SERVER_PORT_VARIABLES = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
  'INTERNAL_FRONTEND_HTTP_PORT',
] as const;

/** The server's environment: compose's, interpolated, with the local addresses, ports and dynamic-config path. */
export function temporalServerEnvironment(
  topology: ComposeTopology,
  o: { root: string; postgres: { port: number; user: string; password: string }; ports: Record<(typeof SERVER_PORT_VARIABLES)[number], number> },
): { env: Record<string, string>; local: string[] } {
  const vars = { POSTGRES_USER: o.postgres.user, POSTGRES_PASSWORD: o.postgres.password };
  const env = Object.fromEntries(Object.entries(topology.serverEnvironment).map(([k, v]) => [k, interpolate(v, vars)]));
  const local: Record<string, string> = {
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(o.postgres.port),
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(o.root, topology.dynamicConfigFile),
    ...Object.fromEntries(Object.entries(o.ports).map(([k, v]) => [k, String(v)])),
  };
  return { env: { ...env, ...local }, local: Object.keys(local) };
}

// ---------------------------------------------------------------------------------------------------
// Programs

interface TemporalPrograms {
  serverVersion: string;
  uiVersion: string;
  server: string;
  sqlTool: string;
  ui: { uiServer: string; configDir: string } | null;
  uiUnavailable?: string;
}

async function ensureTemporalPrograms(): Promise<TemporalPrograms> {
  const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'ensure-temporal-server.mjs')).href;
  const mod = (await import(script)) as { ensureTemporalServer(): TemporalPrograms };
  return mod.ensureTemporalServer();
}

interface PostgresPrograms {
  binDir: string;
  version: string;
}

function findPostgres(): PostgresPrograms | undefined {
  const candidates: string[] = [];
  if (process.env.RIGSNAP_PG_BINDIR) candidates.push(process.env.RIGSNAP_PG_BINDIR);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs.readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  for (const dir of candidates) {
    if (!['initdb', 'postgres', 'pg_isready'].every((p) => fs.existsSync(path.join(dir, p)))) continue;
    const r = spawnSync(path.join(dir, 'postgres'), ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { binDir: dir, version: r.stdout.trim().replace(/^postgres \(PostgreSQL\) /, '') };
  }
  return undefined;
}

/** PostgreSQL, installed with apt-get when it is missing and we are root (a fresh CI machine). */
function ensurePostgres(log: (line: string) => void): PostgresPrograms {
  const found = findPostgres();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error('PostgreSQL is not installed (no initdb found): install it (Debian: `apt-get install postgresql`), or set RIGSNAP_PG_BINDIR to its bin directory');
  }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  log('PostgreSQL is not installed: apt-get install postgresql');
  if (!install()) {
    log('apt-get install failed; apt-get update, then again');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!install()) throw new Error('apt-get install postgresql failed');
  }
  const installed = findPostgres();
  if (!installed) throw new Error('apt-get installed postgresql, but no initdb was found under /usr/lib/postgresql');
  return installed;
}

/** Who runs PostgreSQL: it refuses to run as root, so root hands it to the `postgres` account. */
function postgresAccount(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, but there is no `postgres` account to run PostgreSQL as (it refuses to run as root)');
  return { uid: Number(uid), gid: Number(gid), name: 'postgres' };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
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

/** Waits until `ready()` holds; fails early, with the end of its log, when `p` exits. */
async function waitFor(what: string, p: GuardedProcess | undefined, ready: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await ready()) return;
    if (p && !p.running()) throw new Error(`${what} exited during start-up; the end of its log:\n${p.logTail(30)}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready in ${timeoutMs / 1000} s${p ? `; the end of its log:\n${p.logTail(30)}` : ''}`);
    await sleep(200);
  }
}

/**
 * A free loopback port below 32768. Temporal Server stores its membership ports in a PostgreSQL
 * `smallint` column (cluster_membership.rpc_port), so the kernel's ephemeral ports (32768 and up here)
 * make it fail at start-up: "value out of range for type smallint". `taken` avoids handing one port twice.
 */
export async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

/** Runs a setup script with `sh`, its output in logFile; throws with that output when it fails. */
async function runScript(script: string, env: NodeJS.ProcessEnv, logFile: string, signal?: AbortSignal): Promise<void> {
  const out = fs.openSync(logFile, 'a');
  try {
    const child = spawn('sh', [script], { env, stdio: ['ignore', out, out], ...(signal ? { signal } : {}) });
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.once('error', () => resolve(-1));
    });
    signal?.throwIfAborted();
    if (code !== 0) {
      const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
      throw new Error(`${path.basename(script)} exited with ${code}:\n${tail}`);
    }
  } finally {
    fs.closeSync(out);
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// The cluster

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
  /** The worker environment: this cluster's Temporal, plus the cluster's emulator when it has one. */
  startWorker(env?: Record<string, string>): Promise<ClusterWorker>;
  /** Kills the Temporal Server process (SIGKILL by default) and starts it again on the same database. */
  restartServer(o?: { signal?: NodeJS.Signals; downMs?: number }): Promise<void>;
  /** Called when PostgreSQL, Temporal Server or the Web UI exits when it should not. */
  onUnexpectedExit(listener: (what: string, exit: ProcessExit) => void): void;
  /** Every process this cluster started that still runs (the test checks none is left). */
  pids(): number[];
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const log = o.log ?? (() => {});
  const signal = o.signal;
  const root = projectRoot();
  const topology = readComposeTopology(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));

  // Programs first: nothing runs yet, so a failed build leaves nothing to clean up.
  const cliPath = await resolveTemporalCli();
  const programs = await ensureTemporalPrograms();
  const pg = ensurePostgres(log);
  const account = postgresAccount();
  signal?.throwIfAborted();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-cluster-'));
  // The postgres account must reach its directory inside.
  fs.chmodSync(dir, 0o711);
  const guarded: Array<{ what: string; p: GuardedProcess }> = [];
  const workers: ClusterWorker[] = [];
  const exitListeners: Array<(what: string, exit: ProcessExit) => void> = [];
  let stopping: Promise<void> | undefined;
  let restarting = false;
  let connection: Connection | undefined;
  let emulator: Emulator | null = null;
  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.homedir() };

  const track = (what: string, p: GuardedProcess) => {
    guarded.push({ what, p });
    void p.exited.then((exit) => {
      if (stopping || (restarting && what === 'Temporal Server')) return;
      for (const l of exitListeners) l(what, exit);
    });
    return p;
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Workers drain first (they need Temporal to report), then the UI, the server and its database.
      await Promise.all(
        workers.map(async (w) => {
          const timer = setTimeout(() => w.child.kill('SIGKILL'), 45_000);
          await w.stop('SIGTERM');
          clearTimeout(timer);
        }),
      );
      await emulator?.close().catch(() => {});
      await connection?.close().catch(() => {});
      for (const what of ['Temporal Web UI', 'Temporal Server', 'PostgreSQL']) {
        for (const g of guarded.filter((x) => x.what === what)) {
          // PostgreSQL: SIGINT is its fast shutdown (SIGTERM would wait for clients to disconnect).
          await g.p.stop({ signal: what === 'PostgreSQL' ? 'SIGINT' : 'SIGTERM', graceMs: 15_000 });
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    // ------------------------------------------------------------------ PostgreSQL
    const pgDir = path.join(dir, 'postgres');
    const dataDir = path.join(pgDir, 'data');
    fs.mkdirSync(pgDir, { mode: 0o700 });
    const user = 'temporal';
    const password = randomBytes(18).toString('base64url');
    const pwFile = path.join(pgDir, 'password');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (account) {
      fs.chownSync(pgDir, account.uid, account.gid);
      fs.chownSync(pwFile, account.uid, account.gid);
    }
    const asAccount = account ? { uid: account.uid, gid: account.gid } : {};
    const pgEnv = { ...baseEnv, LC_ALL: 'C', LANG: 'C' };
    log(`PostgreSQL ${pg.version}: initdb in ${dataDir}${account ? ' as the postgres account' : ''}`);
    // Like the postgres image: the user and password compose's POSTGRES_USER/POSTGRES_PASSWORD give,
    // passwords over TCP; --no-sync because the directory is thrown away.
    const init = spawnSync(
      path.join(pg.binDir, 'initdb'),
      ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { encoding: 'utf8', cwd: pgDir, env: pgEnv, ...asAccount },
    );
    fs.rmSync(pwFile, { force: true });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}):\n${init.stdout}\n${init.stderr}`);
    signal?.throwIfAborted();
    const pgPort = await freePort();
    const postgres = track(
      'PostgreSQL',
      spawnGuarded({
        command: path.join(pg.binDir, 'postgres'),
        args: ['-D', dataDir, '-p', String(pgPort), '-k', pgDir, '-c', 'listen_addresses=127.0.0.1'],
        env: pgEnv,
        cwd: pgDir,
        logFile: path.join(dir, 'postgresql.log'),
        label: `PostgreSQL of the rigsnap cluster in ${dir}`,
        removeDirOnOrphan: dir,
        ...asAccount,
      }),
    );
    await waitFor(
      `PostgreSQL on 127.0.0.1:${pgPort}`,
      postgres,
      async () => spawnSync(path.join(pg.binDir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(pgPort), '-d', 'postgres', '-t', '2'], { stdio: 'ignore' }).status === 0,
      60_000,
      signal,
    );
    log(`PostgreSQL is up on 127.0.0.1:${pgPort} (pid ${postgres.pid})`);

    // ------------------------------------------------------------------ schema (compose's temporal-schema step)
    const schemaLog = path.join(dir, 'setup-schema.log');
    log(`schema: ${topology.schemaScript} with temporal-sql-tool ${programs.serverVersion}`);
    await runScript(
      path.join(root, topology.schemaScript),
      { ...baseEnv, PATH: `${path.dirname(programs.sqlTool)}${path.delimiter}${baseEnv.PATH}`, POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(pgPort), POSTGRES_USER: user, SQL_PASSWORD: password },
      schemaLog,
      signal,
    );

    // ------------------------------------------------------------------ Temporal Server (compose's temporal service)
    const taken = new Set<number>();
    const ports = {} as Record<(typeof SERVER_PORT_VARIABLES)[number], number>;
    for (const v of SERVER_PORT_VARIABLES) ports[v] = await freeLowPort(taken);
    const server = temporalServerEnvironment(topology, { root, postgres: { port: pgPort, user, password }, ports });
    const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
    const serverLog = path.join(dir, 'temporal-server.log');
    const startServer = () =>
      track(
        'Temporal Server',
        spawnGuarded({
          command: programs.server,
          // No config flag: the embedded template, rendered from the environment, as the image's entrypoint does.
          args: ['start'],
          env: { ...baseEnv, ...server.env },
          cwd: dir,
          logFile: serverLog,
          label: `Temporal Server of the rigsnap cluster in ${dir}`,
          removeDirOnOrphan: dir,
        }),
      );
    let serverProcess = startServer();
    log(`Temporal Server ${programs.serverVersion} starting on ${address} (pid ${serverProcess.pid})`);
    await waitFor(`Temporal Server on ${address}`, serverProcess, () => canConnect(ports.FRONTEND_GRPC_PORT), 90_000, signal);

    // ------------------------------------------------------------------ namespace (compose's temporal-namespace step)
    log(`namespace: ${topology.namespaceScript} with the temporal CLI`);
    await runScript(
      path.join(root, topology.namespaceScript),
      { ...baseEnv, PATH: `${path.dirname(cliPath)}${path.delimiter}${baseEnv.PATH}`, TEMPORAL_ADDRESS: address, NAMESPACE: CLUSTER_NAMESPACE },
      path.join(dir, 'setup-namespace.log'),
      signal,
    );
    connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace: CLUSTER_NAMESPACE });
    const namespaceReady = async () => {
      try {
        await connection!.workflowService.describeNamespace({ namespace: CLUSTER_NAMESPACE });
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(`namespace ${CLUSTER_NAMESPACE}`, serverProcess, namespaceReady, 60_000, signal);
    const attributes = (await connection.operatorService.listSearchAttributes({ namespace: CLUSTER_NAMESPACE })).customAttributes ?? {};
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((n) => !(n in attributes));
    if (missing.length > 0) throw new Error(`${topology.namespaceScript} did not register ${missing.join(', ')}`);

    // ------------------------------------------------------------------ Web UI (compose's temporal-ui service)
    let ui: Cluster['ui'] = null;
    let uiUnavailable = programs.uiUnavailable;
    if (o.ui === false) uiUnavailable = 'not started (ui: false)';
    else if (programs.ui) {
      const uiPort = await freePort();
      // The image renders config/docker.yaml from its environment; base.yaml (read first) binds it to loopback here.
      const configDir = path.join(dir, 'ui-config');
      fs.mkdirSync(configDir);
      fs.copyFileSync(path.join(programs.ui.configDir, 'docker.yaml'), path.join(configDir, 'docker.yaml'));
      fs.writeFileSync(path.join(configDir, 'base.yaml'), 'host: 127.0.0.1\n');
      const uiEnv = Object.fromEntries(Object.entries(topology.uiEnvironment).map(([k, v]) => [k, interpolate(v, { TEMPORAL_NAMESPACE: CLUSTER_NAMESPACE })]));
      const uiProcess = track(
        'Temporal Web UI',
        spawnGuarded({
          command: programs.ui.uiServer,
          args: ['--root', dir, '--config', 'ui-config', '--env', 'docker', 'start'],
          env: { ...baseEnv, ...uiEnv, TEMPORAL_ADDRESS: address, TEMPORAL_UI_PORT: String(uiPort), TEMPORAL_CORS_ORIGINS: `http://localhost:${uiPort}` },
          cwd: dir,
          logFile: path.join(dir, 'temporal-ui.log'),
          label: `Temporal Web UI of the rigsnap cluster in ${dir}`,
          removeDirOnOrphan: dir,
        }),
      );
      await waitFor(`the Temporal Web UI on 127.0.0.1:${uiPort}`, uiProcess, () => httpOk(`http://127.0.0.1:${uiPort}/`), 60_000, signal);
      ui = { url: `http://localhost:${uiPort}`, pid: uiProcess.pid };
      log(`Temporal Web UI ${programs.uiVersion} on ${ui.url}`);
    }

    // ------------------------------------------------------------------ Rigbox emulator and workers
    const token = o.emulator === false ? undefined : `cluster-${randomBytes(16).toString('hex')}`;
    if (token) {
      emulator = await startEmulator({ token, host: '127.0.0.1', stateFile: path.join(dir, 'emulator.json'), recordCalls: false, seedWorkspaces: DEMO_WORKSPACES });
      log(`Rigbox emulator on ${emulator.url}`);
    }
    const workerEntry = path.join(root, 'dist', 'worker', 'main.js');
    if (!fs.existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: run \`npm run build\` first`);
    let workerCount = 0;
    const taskQueue = o.workerEnv?.RIGSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;

    const cluster: Cluster = {
      dir,
      namespace: CLUSTER_NAMESPACE,
      address,
      topology,
      versions: { server: programs.serverVersion, ui: programs.uiVersion, postgres: pg.version },
      postgres: { port: pgPort, pid: postgres.pid, dataDir, socketDir: pgDir, binDir: pg.binDir, user, runAs: account?.name ?? os.userInfo().username },
      server: { pid: () => serverProcess.pid, logFile: serverLog, env: server.env, local: server.local },
      ui,
      ...(uiUnavailable ? { uiUnavailable } : {}),
      emulator,
      taskQueue,
      workers,
      client,
      async startWorker(env = {}) {
        const index = ++workerCount;
        const metricsPort = await freePort();
        const w = spawnWorkerProcess({
          entry: workerEntry,
          env: {
            ...baseEnv,
            TEMPORAL_ADDRESS: address,
            TEMPORAL_NAMESPACE: CLUSTER_NAMESPACE,
            RIGSNAP_METRICS_PORT: String(metricsPort),
            RIGSNAP_METRICS_HOST: '127.0.0.1',
            ...(ui ? { RIGSNAP_UI_URL: ui.url } : {}),
            ...(emulator && token ? { RIGBOX_API_URL: emulator.url, RIGBOX_TOKEN: token } : {}),
            ...(process.env.RIGSNAP_LOG_LEVEL ? { RIGSNAP_LOG_LEVEL: process.env.RIGSNAP_LOG_LEVEL } : {}),
            ...(o.workerEnv ?? {}),
            ...env,
          },
          guard: { label: `rigsnap worker ${index} of the cluster in ${dir}`, removeDirOnOrphan: dir },
          logFile: path.join(dir, `worker-${index}.log`),
        });
        const cw: ClusterWorker = Object.assign(w, { metricsPort });
        workers.push(cw);
        return cw;
      },
      async restartServer({ signal: killSignal = 'SIGKILL', downMs = 2000 } = {}) {
        restarting = true;
        try {
          log(`Temporal Server: ${killSignal} to pid ${serverProcess.pid}`);
          await serverProcess.stop({ signal: killSignal, graceMs: 15_000 });
          await sleep(downMs);
          serverProcess = startServer();
          log(`Temporal Server starting again on the same database (pid ${serverProcess.pid})`);
          await waitFor(`Temporal Server on ${address}`, serverProcess, namespaceReady, 90_000);
        } finally {
          restarting = false;
        }
      },
      onUnexpectedExit(listener) {
        exitListeners.push(listener);
      },
      pids() {
        return [...guarded.filter((g) => g.p.running()).map((g) => g.p.pid), ...workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).map((w) => w.pid)];
      },
      stop,
    };

    const wanted = o.workers ?? 3;
    for (let i = 0; i < wanted; i++) await cluster.startWorker();
    if (wanted > 0) {
      const identities = () => new Set(workers.map((w) => `${w.pid}@${os.hostname()}`));
      await waitFor(
        `${wanted} workers polling ${taskQueue}`,
        undefined,
        async () => {
          const exited = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
          if (exited) throw new Error(`worker ${exited.pid} exited during start-up:\n${exited.output.join('').slice(-2000)}`);
          const r = await client.workflowService.describeTaskQueue({ namespace: CLUSTER_NAMESPACE, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType: 2 });
          const polling = (r.pollers ?? []).filter((p) => p.identity && identities().has(p.identity)).length;
          return polling >= wanted;
        },
        90_000,
        signal,
      );
      log(`${wanted} workers poll task queue ${taskQueue}`);
    }
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}
