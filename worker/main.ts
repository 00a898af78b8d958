#!/usr/bin/env node
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig } from './config.js';
import { createWorkerLogger } from './logger.js';
import { ensureSearchAttributes, temporalSettings } from './temporal.js';
import { RigsnapMetrics, prometheusTelemetry } from './metrics.js';
import { createRigsnapWorker, startBackupMetricsFor } from './worker.js';

/**
 * `rigsnap worker` / `node dist/worker/main.js`: runs one worker. Stops gracefully on SIGINT/SIGTERM
 * (in-flight activity attempts get RIGSNAP_SHUTDOWN_GRACE_MS to finish); exits non-zero on fatal errors.
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
  try {
    await worker.run();
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
