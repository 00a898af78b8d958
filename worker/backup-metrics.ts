import type { Client } from '@temporalio/client';
import { collectInventory, listRigsnapSchedules } from '../activities/audit.js';
import type { RigboxClient } from '../activities/index.js';
import type { RigsnapMetrics } from './metrics.js';

/**
 * Keeps the backup gauges true across worker restarts. A fresh worker process knows nothing, and a
 * last-success gauge that starts empty would read as "no backup" and fire the RPO alert. So at start-up
 * the worker reads the inventory (the schedules of its task queue, the newest backup of each protected
 * workspace in Rigbox, the last failed backup runs in visibility, the held snapshots missing from
 * Rigbox) and sets the gauges from it, before
 * any backup runs; until that has succeeded it tries again every refresh. Then, every refresh, it
 * reads the schedules' paused state (one cheap list call).
 */

/** A failed backup run older than this no longer matters to the gauges: a newer run decides. */
const FAILED_RUNS_LOOKBACK_MS = 7 * 86_400_000;

export interface BackupMetricsOptions {
  client: Client;
  taskQueue: string;
  rigbox: RigboxClient;
  metrics: RigsnapMetrics;
  refreshMs: number;
  log: { info(message: string, meta?: Record<string, unknown>): void; warn(message: string, meta?: Record<string, unknown>): void };
}

export interface BackupMetricsRefresher {
  /** Settles when the start-up restoration succeeded (it never rejects: failures are logged and retried). */
  restored: Promise<void>;
  stop(): void;
}

export function startBackupMetrics(o: BackupMetricsOptions): BackupMetricsRefresher {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let restoredOnce = false;
  let markRestored: () => void = () => {};
  const restored = new Promise<void>((resolve) => (markRestored = resolve));

  const refresh = async () => {
    if (!restoredOnce) {
      try {
        const started = Date.now();
        const inventory = await collectInventory(
          { rigbox: o.rigbox, temporal: { client: o.client, taskQueue: o.taskQueue } },
          // The tamper check too: a held snapshot found missing keeps its alert firing across a restart.
          { runsSince: new Date(Date.now() - FAILED_RUNS_LOOKBACK_MS), checkHolds: true },
        );
        o.metrics.inventory(inventory);
        restoredOnce = true;
        markRestored();
        o.log.info('backup metrics restored from Rigbox and Temporal', {
          protectedWorkspaces: inventory.protected.length,
          withBackup: inventory.protected.filter((w) => w.newestBackup).length,
          tookMs: Date.now() - started,
        });
      } catch (err) {
        o.log.warn('could not restore the backup metrics yet; trying again', { error: (err as Error).message });
      }
    }
    try {
      o.metrics.schedules(await listRigsnapSchedules(o.client));
    } catch (err) {
      o.log.warn('could not read the schedules for the metrics', { error: (err as Error).message });
    }
  };
  const loop = async () => {
    await refresh();
    if (!stopped) timer = setTimeout(() => void loop(), o.refreshMs).unref();
  };
  void loop();
  return {
    restored,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
