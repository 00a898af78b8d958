import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { type NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { CallLimiter } from '../activities/call-limiter.js';
import { createActivities, createRigboxClient, type ActivityDeps } from '../activities/index.js';
import { UrlRecognition } from '../activities/rigbox-client.js';
import { startBackupMetrics, type BackupMetricsOptions, type BackupMetricsRefresher } from './backup-metrics.js';
import { PRELOADED_MODULES, webpackConfigHook, workflowInterceptorModules } from './bundle.js';
import { shutdownForceMs, type WorkerConfig } from './config.js';
import { priorityHeaderInterceptor } from './priority-header.js';
import { shareQuota } from './quota.js';
import { RigsnapMetrics } from './metrics.js';
import { watchRigboxUrl } from './rigbox-url.js';
import { adoptAsCurrentIfNone, declaredVersion, deploymentOptions, describeVersioning } from './versioning.js';
import { SnapshotGaugeRefresher } from './snapshot-gauges.js';

/**
 * Where the workflow code comes from. A prebuilt bundle (`npm run build` writes it) starts a worker in
 * well under a second, which matters when workers restart often; otherwise the source is bundled now.
 */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
  if (fs.existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? 'ts' : 'js';
  return { workflowsPath: fileURLToPath(new URL(`../workflows/index.${ext}`, import.meta.url)) };
}

/** Keeps the backup gauges true across restarts (worker/backup-metrics.ts), for a worker of this configuration. */
export function startBackupMetricsFor(config: WorkerConfig, client: Client, metrics: RigsnapMetrics, log: BackupMetricsOptions['log']): BackupMetricsRefresher {
  return startBackupMetrics({
    client,
    taskQueue: config.RIGSNAP_TASK_QUEUE,
    rigbox: rigboxClientFromConfig(config, metrics),
    metrics,
    refreshMs: config.RIGSNAP_METRICS_REFRESH_MS,
    log,
  });
}

/** The Rigbox client from the configuration: the only place the token goes. Its requests are counted in `metrics`. */
export function rigboxClientFromConfig(config: WorkerConfig, metrics?: RigsnapMetrics) {
  const gauges = metrics ? new SnapshotGaugeRefresher(metrics) : undefined;
  const limiter = rigboxCallLimiter(config);
  if (metrics) countDispatches(limiter, metrics);
  const client = createRigboxClient({
    baseUrl: config.RIGBOX_API_URL,
    token: config.RIGBOX_TOKEN,
    requestTimeoutMs: config.RIGSNAP_REQUEST_TIMEOUT_MS,
    limiter,
    recognition: rigboxUrlRecognition(config),
    ...(metrics ? { onRequest: (endpoint: string, status: string) => metrics.rigboxRequest(endpoint, status) } : {}),
    ...(gauges ? { onSnapshotsChanged: gauges.changed } : {}),
  });
  gauges?.attach(client);
  return client;
}

/** Each metrics object counts a shared limiter's dispatches once, however many clients it makes. */
const counting = new WeakMap<CallLimiter, WeakSet<RigsnapMetrics>>();
function countDispatches(limiter: CallLimiter, metrics: RigsnapMetrics): void {
  let seen = counting.get(limiter);
  if (!seen) counting.set(limiter, (seen = new WeakSet()));
  if (seen.has(metrics)) return;
  seen.add(metrics);
  limiter.onDispatch((d) => metrics.rigboxCallDispatched(d.fairnessKey, d.contended));
}

/** One limiter per process and quota: every Rigbox client of this worker process draws from it. */
const limiters = new Map<number, CallLimiter>();
export function rigboxCallLimiter(config: WorkerConfig): CallLimiter {
  const rate = config.RIGSNAP_RIGBOX_CALLS_PER_SECOND;
  let limiter = limiters.get(rate);
  if (!limiter) limiters.set(rate, (limiter = new CallLimiter(rate)));
  return limiter;
}

/** One per process and URL: whether RIGBOX_API_URL has answered like Rigbox, from every client's answers. */
const recognitions = new Map<string, UrlRecognition>();
export function rigboxUrlRecognition(config: Pick<WorkerConfig, 'RIGBOX_API_URL'>): UrlRecognition {
  let r = recognitions.get(config.RIGBOX_API_URL);
  if (!r) recognitions.set(config.RIGBOX_API_URL, (r = new UrlRecognition()));
  return r;
}

/** Activity dependencies from the configuration. */
export function activityDepsFromConfig(config: WorkerConfig, client: Client, metrics?: RigsnapMetrics): ActivityDeps {
  return {
    rigbox: rigboxClientFromConfig(config, metrics),
    temporal: { client, taskQueue: config.RIGSNAP_TASK_QUEUE },
    pollSchedule: {
      minDelayMs: config.RIGSNAP_POLL_MIN_MS,
      maxDelayMs: config.RIGSNAP_POLL_MAX_MS,
      growth: config.RIGSNAP_POLL_GROWTH,
    },
    maxWaitMs: config.RIGSNAP_MAX_WAIT_MS,
    notifyUrl: config.RIGSNAP_NOTIFY_URL,
    uiUrl: config.RIGSNAP_UI_URL,
  };
}

/** See `maxHeartbeatThrottleInterval` below. */
export const HEARTBEAT_THROTTLE = '2s';

export interface RigsnapWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: WorkerConfig;
  client: Client;
  /** Tests pass a bundle built once per file, or fake activities. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  activities?: object;
  identity?: string;
  /** Where rigsnap's metrics go; default: the SDK runtime's meter (a no-op when the runtime exports no metrics). */
  metrics?: RigsnapMetrics;
  /** Tests of Temporal's dispatch: a worker that runs workflows and local activities only. */
  enableNonLocalActivities?: boolean;
}

export async function createRigsnapWorker(o: RigsnapWorkerOptions): Promise<Worker> {
  const { config } = o;
  const metrics = o.metrics ?? new RigsnapMetrics(Runtime.instance().metricMeter);
  const source = o.workflowBundle ? { workflowBundle: o.workflowBundle } : workflowSource();
  const version = declaredVersion(config);
  const workerDeploymentOptions = deploymentOptions(version);
  const worker = await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: config.RIGSNAP_TASK_QUEUE,
    ...source,
    // A prebuilt bundle carries its interceptors and options; workflows bundled at start-up get the same.
    interceptors: {
      activity: [priorityHeaderInterceptor],
      ...(source.workflowsPath ? { workflowModules: workflowInterceptorModules() } : {}),
    },
    ...(source.workflowsPath ? { bundlerOptions: { preloadModules: PRELOADED_MODULES, webpackConfigHook } } : {}),
    sinks: metrics.sinks(),
    activities: o.activities ?? createActivities(activityDepsFromConfig(config, o.client, metrics)),
    maxConcurrentActivityTaskExecutions: config.RIGSNAP_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.RIGSNAP_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: config.RIGSNAP_MAX_CACHED_WORKFLOWS,
    // In-flight attempts get the grace time, then are cancelled (waits and changes not yet sent end at
    // once, activities/env.ts); the force time bounds what still runs (a change in flight) so that a
    // stopping worker always exits. Either way the attempts fail and Temporal retries them elsewhere.
    shutdownGraceTime: config.RIGSNAP_SHUTDOWN_GRACE_MS,
    shutdownForceTime: shutdownForceMs(config),
    // A cancellation reaches a running activity in a heartbeat's answer: send heartbeats at least this
    // often (instead of 80% of the 10 s heartbeat timeout), so cancelling from the UI takes effect in
    // seconds. The cost is one heartbeat RPC per running long activity per interval.
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(workerDeploymentOptions ? { workerDeploymentOptions } : {}),
    ...(o.enableNonLocalActivities === false ? { enableNonLocalActivities: false } : {}),
  });
  const state = () => {
    const s = worker.getState();
    return s === 'INITIALIZED' ? 'starting' : s === 'STOPPED' || s === 'FAILED' ? 'stopped' : 'running';
  };
  const log = (level: 'info' | 'warn' | 'error', message: string): void => {
    Runtime.instance().logger[level](message);
  };
  // The Rigbox quota is shared with the other workers of this task queue, this one counted from the start.
  shareQuota(rigboxCallLimiter(config), {
    client: o.client,
    namespace: o.namespace,
    taskQueue: config.RIGSNAP_TASK_QUEUE,
    identity: worker.options.identity,
    state,
    log,
    onCount: (n) => metrics.quotaShare(n),
  });
  // Whether RIGBOX_API_URL is Rigbox's, said at start-up and kept in the health gauge.
  watchRigboxUrl({
    rigbox: rigboxClientFromConfig(config, metrics),
    recognition: rigboxUrlRecognition(config),
    url: config.RIGBOX_API_URL,
    log,
    onState: (s) => metrics.rigboxApiState(s),
    running: () => state() !== 'stopped',
  });
  const logger = Runtime.instance().logger;
  logger.info(describeVersioning(config, version));
  if (version && config.RIGSNAP_WORKER_VERSIONING === 'auto') {
    // Its pollers register the version once the worker runs; a first install then has a current version.
    void adoptAsCurrentIfNone({
      client: o.client,
      namespace: o.namespace,
      taskQueue: config.RIGSNAP_TASK_QUEUE,
      version,
      log: (level, message) => {
        logger[level](message);
      },
      stopped: () => ['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED', 'FAILED'].includes(worker.getState()),
    });
  }
  return worker;
}
