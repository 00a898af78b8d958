/** The Temporal connection of the client library: where to connect (envconfig) and connecting, with errors that say what to fix. */
import os from 'node:os';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from '../domain/index.js';
import { ClientConfigError, TemporalConnectionError } from './errors.js';

export { ClientConfigError, TemporalConnectionError } from './errors.js';

/**
 * Where the client connects, read the way every Temporal tool reads it (@temporalio/envconfig):
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the
 * temporal.toml profiles. The same code path serves a local dev server, a self-hosted cluster and
 * Temporal Cloud. (worker/temporal.ts does the same for the worker; client/ must not import worker/.)
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  connectionOptions: ConnectionOptions;
  taskQueue: string;
  uiUrl: string;
  /** Who asks: the client's identity, shown by the workspace entity and the operation (RIGSNAP_IDENTITY, else user@host). */
  identity?: string;
}

/** The default identity of a person's client: user@host (the SDK's own default is pid@host). */
export function defaultIdentity(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the host still says where it came from.
  }
  return `${user}@${os.hostname()}`;
}

export interface SettingsOverrides {
  /** host:port; wins over TEMPORAL_ADDRESS and profiles. */
  address?: string;
  namespace?: string;
  /** A temporal.toml profile name (else TEMPORAL_PROFILE, else "default"). */
  profile?: string;
  taskQueue?: string;
  uiUrl?: string;
  /** How long to wait for the server before giving up with TemporalConnectionError. */
  connectTimeoutMs?: number;
}

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_UI_URL = 'http://localhost:8233';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

const TASK_QUEUE_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

export function temporalSettings(env: Record<string, string | undefined> = process.env, overrides: SettingsOverrides = {}): TemporalSettings {
  // An empty variable means "not set" (compose files pass VAR= through).
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars, ...(overrides.profile ? { profile: overrides.profile } : {}) });
  } catch (err) {
    throw new ClientConfigError(`cannot read the Temporal connection settings: ${(err as Error).message}`);
  }
  const c = loaded.connectionOptions;
  const address = overrides.address ?? c.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace = overrides.namespace ?? loaded.namespace ?? 'default';
  const taskQueue = overrides.taskQueue ?? overrideEnvVars.RIGSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  if (!TASK_QUEUE_PATTERN.test(taskQueue)) {
    throw new ClientConfigError(`RIGSNAP_TASK_QUEUE must be 1-200 letters, digits, ".", "_" or "-" (got ${JSON.stringify(taskQueue)})`);
  }
  const uiUrl = (overrides.uiUrl ?? overrideEnvVars.RIGSNAP_UI_URL ?? DEFAULT_UI_URL).replace(/\/+$/, '');
  const connectionOptions: ConnectionOptions = {
    address,
    connectTimeout: overrides.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(c.tls !== undefined ? { tls: c.tls } : {}),
    ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}),
    ...(c.metadata !== undefined ? { metadata: c.metadata } : {}),
  };
  const identity = overrideEnvVars.RIGSNAP_IDENTITY ?? defaultIdentity();
  return { address, namespace, connectionOptions, taskQueue, uiUrl, identity };
}

export async function connectTemporal(settings: TemporalSettings): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect(settings.connectionOptions);
  } catch (err) {
    throw new TemporalConnectionError(settings.address, (err as Error).message || String(err));
  }
  return { connection, client: new Client({ connection, namespace: settings.namespace, ...(settings.identity ? { identity: settings.identity } : {}) }) };
}

export { scheduleUrl, workflowUrl } from '../domain/links.js';
