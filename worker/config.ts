import { z } from 'zod';
import { DEFAULT_RIGBOX_API_URL, DEFAULT_TASK_QUEUE } from '../domain/index.js';

/**
 * Every setting the worker reads from the environment, parsed once with zod. A bad value stops
 * start-up with a message naming the variable and the expected form. The token is never printed.
 */

export const int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number from ${min} to ${max}` })
    .int({ error: `${name} must be a whole number from ${min} to ${max}` })
    .min(min, { error: `${name} must be a whole number from ${min} to ${max}` })
    .max(max, { error: `${name} must be a whole number from ${min} to ${max}` });

const num = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number from ${min} to ${max}` })
    .min(min, { error: `${name} must be a number from ${min} to ${max}` })
    .max(max, { error: `${name} must be a number from ${min} to ${max}` });

const httpUrl = (name: string) =>
  z.url({ protocol: /^https?$/, error: `${name} must be an http(s) URL such as https://api.rigbox.dev/api` }).transform((u) => u.replace(/\/+$/, ''));

export const WorkerEnv = z.object({
  RIGBOX_API_URL: httpUrl('RIGBOX_API_URL').default(DEFAULT_RIGBOX_API_URL),
  RIGBOX_TOKEN: z
    .string({ error: 'RIGBOX_TOKEN is required: the Rigbox API token the worker uses (only the worker needs it)' })
    .min(1, { error: 'RIGBOX_TOKEN must not be empty' })
    .refine((t) => !/\s/.test(t), { error: 'RIGBOX_TOKEN must not contain whitespace' }),
  RIGSNAP_TASK_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'RIGSNAP_TASK_QUEUE must be 1-200 letters, digits, ".", "_" or "-"' })
    .default(DEFAULT_TASK_QUEUE),
  RIGSNAP_MAX_CONCURRENT_ACTIVITIES: int('RIGSNAP_MAX_CONCURRENT_ACTIVITIES', 1, 10_000).default(200),
  RIGSNAP_MAX_CONCURRENT_WORKFLOW_TASKS: int('RIGSNAP_MAX_CONCURRENT_WORKFLOW_TASKS', 2, 1000).default(40),
  /**
   * Workflows one worker keeps in memory between tasks. Idle workspace locks and waiting checkpoints
   * would otherwise fill it by the thousand; an evicted workflow is replayed from history when it wakes.
   */
  RIGSNAP_MAX_CACHED_WORKFLOWS: int('RIGSNAP_MAX_CACHED_WORKFLOWS', 2, 100_000).default(250),
  /**
   * The Rigbox API quota rigsnap may use: HTTP requests to Rigbox per second, all workers on the task
   * queue together (each takes an equal share). Every request counts, status polls included.
   */
  RIGSNAP_RIGBOX_CALLS_PER_SECOND: num('RIGSNAP_RIGBOX_CALLS_PER_SECOND', 0.1, 100_000).default(50),
  /** Deprecated name of RIGSNAP_RIGBOX_CALLS_PER_SECOND (it limited activity starts, not calls); read as it. */
  RIGSNAP_ACTIVITIES_PER_SECOND: num('RIGSNAP_ACTIVITIES_PER_SECOND', 0.1, 100_000).optional(),
  RIGSNAP_POLL_MIN_MS: int('RIGSNAP_POLL_MIN_MS', 50, 60_000).default(250),
  RIGSNAP_POLL_MAX_MS: int('RIGSNAP_POLL_MAX_MS', 100, 300_000).default(15_000),
  RIGSNAP_POLL_GROWTH: num('RIGSNAP_POLL_GROWTH', 0.01, 2).default(0.4),
  /** Longest wait for a stop or start; the awaitTransition profile's timeout (1h) must stay above it. */
  RIGSNAP_MAX_WAIT_MS: int('RIGSNAP_MAX_WAIT_MS', 1000, 50 * 60_000).default(10 * 60_000),
  RIGSNAP_REQUEST_TIMEOUT_MS: int('RIGSNAP_REQUEST_TIMEOUT_MS', 100, 600_000).default(30_000),
  /** Prometheus metrics (the SDK runtime's and rigsnap's); 0 turns them off. */
  RIGSNAP_METRICS_PORT: int('RIGSNAP_METRICS_PORT', 0, 65_535).default(9464),
  /** Loopback by default, like everything `npm start` runs; a container sets 0.0.0.0 (docker-compose.yml does). */
  RIGSNAP_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How often the worker reads the schedules' paused state (and retries a failed start-up restoration of the backup gauges). */
  RIGSNAP_METRICS_REFRESH_MS: int('RIGSNAP_METRICS_REFRESH_MS', 1000, 3_600_000).default(60_000),
  RIGSNAP_NOTIFY_URL: httpUrl('RIGSNAP_NOTIFY_URL').optional(),
  RIGSNAP_UI_URL: httpUrl('RIGSNAP_UI_URL').default('http://localhost:8233'),
  RIGSNAP_SHUTDOWN_GRACE_MS: int('RIGSNAP_SHUTDOWN_GRACE_MS', 0, 3_600_000).default(30_000),
  /**
   * From SIGTERM/SIGINT, how long the worker waits in all for its activities before it exits anyway
   * (non-zero); default: the grace time + 10 s (SHUTDOWN_FORCE_AFTER_GRACE_MS). What it leaves running is
   * retried elsewhere after its heartbeat or attempt timeout.
   */
  RIGSNAP_SHUTDOWN_FORCE_MS: int('RIGSNAP_SHUTDOWN_FORCE_MS', 1000, 3_600_000).optional(),
  RIGSNAP_LOG_LEVEL: z
    .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], { error: 'RIGSNAP_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN or ERROR' })
    .default('INFO'),
  /** `text`: one line per entry for people; `json`: one JSON object per line for log pipelines (compose sets it). */
  /**
   * Worker Versioning (Temporal Worker Deployments; server 1.29.1 or later). `auto`: versioned, and the
   * worker makes its version current when the deployment has none (a first install); `manual`:
   * versioned, routing left to the operator; `off`: unversioned, for servers without Worker Deployments.
   */
  RIGSNAP_WORKER_VERSIONING: z.enum(['auto', 'manual', 'off'], { error: 'RIGSNAP_WORKER_VERSIONING must be auto, manual or off' }).default('auto'),
  /** The Worker Deployment this worker belongs to. */
  RIGSNAP_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, { error: 'RIGSNAP_DEPLOYMENT_NAME must be 1-100 letters, digits, "_" or "-"' })
    .default('rigsnap'),
  /** The build id; default: the package version plus the git commit, recorded by `npm run build`. */
  RIGSNAP_BUILD_ID: z
    .string()
    .regex(/^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,99}$/, { error: 'RIGSNAP_BUILD_ID must be 1-100 letters, digits, ".", "_", "+" or "-", not starting with "."' })
    .optional(),
  RIGSNAP_LOG_FORMAT: z.enum(['text', 'json'], { error: 'RIGSNAP_LOG_FORMAT must be text or json' }).default('text'),
});
export type WorkerConfig = z.output<typeof WorkerEnv>;

/** The start-to-close timeout of one quick Rigbox call (workflows/profiles.ts quickCall): requests must time out first. */
const QUICK_CALL_ATTEMPT_MS = 60_000;

/**
 * Temporal connection settings, read by @temporalio/envconfig (not by this schema): listed so the
 * compose check and the docs know them.
 */
export const TEMPORAL_ENV_VARS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
] as const;

/** Every variable the worker knows: its own schema plus Temporal's. */
export const KNOWN_ENV_VARS: readonly string[] = [...Object.keys(WorkerEnv.shape), ...TEMPORAL_ENV_VARS];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws ConfigError listing every bad variable (never echoing the token). */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  // An empty variable means "not set" (compose files often pass VAR= through).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  // The old name of the quota stands for the new one when only it is set.
  if (present.RIGSNAP_ACTIVITIES_PER_SECOND !== undefined && present.RIGSNAP_RIGBOX_CALLS_PER_SECOND === undefined) {
    present.RIGSNAP_RIGBOX_CALLS_PER_SECOND = present.RIGSNAP_ACTIVITIES_PER_SECOND;
  }
  const r = WorkerEnv.safeParse(present);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const name = String(i.path[0] ?? '');
      const given = name && name !== 'RIGBOX_TOKEN' && present[name] !== undefined ? ` (got ${JSON.stringify(present[name])})` : '';
      return `  - ${i.message}${given}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = r.data;
  const conflicts: string[] = [];
  if (c.RIGSNAP_POLL_MIN_MS > c.RIGSNAP_POLL_MAX_MS) {
    conflicts.push(`RIGSNAP_POLL_MIN_MS (${c.RIGSNAP_POLL_MIN_MS}) must not exceed RIGSNAP_POLL_MAX_MS (${c.RIGSNAP_POLL_MAX_MS})`);
  }
  if (c.RIGSNAP_REQUEST_TIMEOUT_MS >= QUICK_CALL_ATTEMPT_MS) {
    conflicts.push(
      `RIGSNAP_REQUEST_TIMEOUT_MS (${c.RIGSNAP_REQUEST_TIMEOUT_MS}) must be below ${QUICK_CALL_ATTEMPT_MS}: ` +
        'a single Rigbox call (delete, status) runs in an activity attempt that times out after one minute, before the request would',
    );
  }
  if (c.RIGSNAP_POLL_MIN_MS >= c.RIGSNAP_MAX_WAIT_MS) {
    conflicts.push(
      `RIGSNAP_POLL_MIN_MS (${c.RIGSNAP_POLL_MIN_MS}) must be below RIGSNAP_MAX_WAIT_MS (${c.RIGSNAP_MAX_WAIT_MS}): no status would be read before the wait gives up`,
    );
  }
  if (c.RIGSNAP_SHUTDOWN_FORCE_MS !== undefined && c.RIGSNAP_SHUTDOWN_FORCE_MS <= c.RIGSNAP_SHUTDOWN_GRACE_MS) {
    conflicts.push(
      `RIGSNAP_SHUTDOWN_FORCE_MS (${c.RIGSNAP_SHUTDOWN_FORCE_MS}) must be above RIGSNAP_SHUTDOWN_GRACE_MS (${c.RIGSNAP_SHUTDOWN_GRACE_MS}): ` +
        'activities are asked to stop only when the grace time ends',
    );
  }
  if (conflicts.length > 0) throw new ConfigError(`invalid configuration:\n${conflicts.map((m) => `  - ${m}`).join('\n')}`);
  return c;
}

/**
 * How long after the grace time a stopping worker still waits for its activities to settle once asked to
 * stop (a change in flight is seen to its end: a long copy may outlast any grace) before it exits anyway.
 * 10 s: the compose file's stop_grace_period (45 s) stays above the defaults' 40 s.
 */
export const SHUTDOWN_FORCE_AFTER_GRACE_MS = 10_000;

/** RIGSNAP_SHUTDOWN_FORCE_MS, or its default. */
export function shutdownForceMs(c: Pick<WorkerConfig, 'RIGSNAP_SHUTDOWN_GRACE_MS' | 'RIGSNAP_SHUTDOWN_FORCE_MS'>): number {
  return c.RIGSNAP_SHUTDOWN_FORCE_MS ?? c.RIGSNAP_SHUTDOWN_GRACE_MS + SHUTDOWN_FORCE_AFTER_GRACE_MS;
}

/** The configuration for logs and the start banner: the token replaced by a mark. */
export function describeConfig(c: WorkerConfig): Record<string, unknown> {
  return { ...c, RIGBOX_TOKEN: '(set)' };
}
