#!/usr/bin/env node
import { Client, Connection } from '@temporalio/client';
import { GracefulShutdownPeriodExpiredError, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig, shutdownForceMs } from './config.js';
import { createWorkerLogger } from './logger.js';
import { ensureSearchAttributes, temporalSettings } from './temporal.js';
import { RigsnapMetrics, prometheusTelemetry } from './metrics.js';
import { createRigsnapWorker, startBackupMetricsFor } from './worker.js';

/** The SDK's force timer and this file's signal time are taken a moment apart: a failure this close to the force time is the forced stop. */
const FORCE_TIME_SLACK_MS = 1000;

/**
 * `rigsnap worker` / `node dist/worker/main.js`: runs one worker. Stops gracefully on SIGINT/SIGTERM
 * (in-flight activity attempts get RIGSNAP_SHUTDOWN_GRACE_MS to finish, then are cancelled); exits
 * non-zero on fatal errors, and when activities still ran at RIGSNAP_SHUTDOWN_FORCE_MS (a change in
 * flight): they are retried elsewhere. See docs/operations.md, "Stopping a worker".
 */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  Runtime.install({
    logger: createWorkerLogger({ level: config.RIGSNAP_LOG_LEVEL, format: config.RIGSNAP_LOG_FORMAT }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...prometheusTelemetry(config),
    },
  });
  const log = Runtime.instance().logger;
  const { connectionOptions, namespace } = temporalSettings();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${connectionOptions.address} (${(err as Error).message}); set TEMPORAL_ADDRESS`);
  }
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({ connection: clientConnection, namespace });
  await ensureSearchAttributes(connection, namespace, (level, message) => {
    log[level](message);
  });

  const metrics = new RigsnapMetrics(Runtime.instance().metricMeter);
  const worker = await createRigsnapWorker({ connection, namespace, config, client, metrics });
  const backupMetrics = config.RIGSNAP_METRICS_PORT > 0 ? startBackupMetricsFor(config, client, metrics, log) : undefined;
  log.info('rigsnap worker started', {
    temporal: connectionOptions.address,
    namespace,
    taskQueue: config.RIGSNAP_TASK_QUEUE,
    rigbox: config.RIGBOX_API_URL,
    metrics: config.RIGSNAP_METRICS_PORT > 0 ? `http://localhost:${config.RIGSNAP_METRICS_PORT}/metrics` : 'off',
    rigboxCallsPerSecond: config.RIGSNAP_RIGBOX_CALLS_PER_SECOND,
  });
  // When the stop signal came: the SDK's forced stop does not always fail with its own error (below). Listened
  // to once, like the SDK's own hook: a second signal must still kill the worker at once (Node's default).
  let stopAskedAt: number | undefined;
  const signals = Runtime.instance().options.shutdownSignals;
  const noteStop = () => {
    stopAskedAt = Date.now();
    for (const signal of signals) process.off(signal, noteStop);
  };
  for (const signal of signals) process.on(signal, noteStop);
  try {
    await worker.run();
  } catch (err) {
    // With an activity still running at the force time, the SDK's run() fails with "Worker still in use"
    // (its finalizeShutdown) instead of GracefulShutdownPeriodExpiredError: any failure from then on is the forced stop.
    const forced =
      err instanceof GracefulShutdownPeriodExpiredError ||
      (stopAskedAt !== undefined && Date.now() - stopAskedAt >= shutdownForceMs(config) - FORCE_TIME_SLACK_MS);
    if (!forced) throw err;
    throw new Error(
      `activities still running ${shutdownForceMs(config)} ms after the stop signal (RIGSNAP_SHUTDOWN_FORCE_MS): exiting without them; ` +
        'Temporal retries them on another worker once their heartbeat or attempt times out' +
        (err instanceof GracefulShutdownPeriodExpiredError ? '' : ` (the SDK said: ${err instanceof Error ? err.message : String(err)})`),
    );
  } finally {
    backupMetrics?.stop();
    await clientConnection.close();
    await connection.close();
  }
  log.info('rigsnap worker stopped');
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `rigsnap worker: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
