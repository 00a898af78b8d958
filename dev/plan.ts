import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { loadWorkerConfig, type WorkerConfig } from '../worker/config.js';
import { temporalSettings } from '../worker/temporal.js';
import { loadDevConfig, type DevConfig } from './config.js';

/**
 * What the local stack behind `npm start` runs where, decided and validated (configuration, free
 * ports) before anything starts: whatever is missing of Temporal (the dev server from the project's
 * CLI binary, state in SQLite) and Rigbox (the emulator with demo workspaces), plus one worker.
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
export type TemporalConnectionOptions = ReturnType<typeof temporalSettings>['connectionOptions'];

export type RigboxPlan =
  { kind: 'emulated'; url: string; port: number; stateFile: string; token: string; ignoredApiUrl: boolean } | { kind: 'real'; url: string };

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
    super(busy.map((c) => `port ${c.port} (${c.what}) is already in use on ${c.host}: stop what uses it, or set ${c.variable} to a free port`).join('\n'));
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
