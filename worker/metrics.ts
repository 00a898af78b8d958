import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';
import type { InjectedSinks } from '@temporalio/worker';
import type { AuditBackupsResult, AuditInventory } from '../domain/index.js';
import type { RigsnapMetricsSinks } from '../workflows/metrics.js';
import type { WorkerConfig } from './config.js';

/**
 * rigsnap's Prometheus series, beside the SDK's own on the worker's one /metrics endpoint: they go
 * through the SDK runtime's metric meter, whose exporter keeps these names as they are (the runtime's
 * `temporal_` prefix applies only to the SDK's metrics). Workflows report through the `rigsnapMetrics`
 * sink (workflows/metrics.ts), which is never called while a workflow replays; activities (the Rigbox
 * client) and the worker's own start-up restoration call this class directly.
 *
 * Label values are bounded: operations, outcomes and error types come from closed lists, endpoints are
 * route templates, and workspace and schedule ids are the protected fleet (never snapshot ids or names).
 */

/** Every series rigsnap exports (histograms add _bucket, _sum and _count). */
export const RIGSNAP_METRICS = {
  lastSuccess: 'rigsnap_backup_last_success_timestamp_seconds',
  lastFailure: 'rigsnap_backup_last_failure_timestamp_seconds',
  operations: 'rigsnap_operations_total',
  duration: 'rigsnap_operation_duration_seconds',
  downtime: 'rigsnap_workspace_downtime_seconds',
  pruned: 'rigsnap_snapshots_pruned_total',
  rigboxRequests: 'rigsnap_rigbox_requests_total',
  rigboxCallsDispatched: 'rigsnap_rigbox_calls_dispatched_total',
  lockWait: 'rigsnap_lock_wait_seconds',
  snapshots: 'rigsnap_snapshots',
  snapshotBytes: 'rigsnap_snapshot_size_bytes',
  schedulePaused: 'rigsnap_schedule_paused',
  rigboxApi: 'rigsnap_rigbox_api_state',
  quotaWorkers: 'rigsnap_quota_workers',
  skipped: 'rigsnap_backup_skipped_total',
  heldMissing: 'rigsnap_held_snapshot_missing',
} as const;

/**
 * Bucket bounds in seconds. Operations run from seconds (a delete) to hours (a fleet); a workspace's
 * downtime is a stop, a copy and a start; a lock wait is nothing when the workspace is free.
 */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [RIGSNAP_METRICS.duration]: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
  [RIGSNAP_METRICS.downtime]: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  [RIGSNAP_METRICS.lockWait]: [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600],
};

/** The runtime's telemetry for the worker's config: the Prometheus endpoint with rigsnap's buckets, or nothing. */
export function prometheusTelemetry(config: Pick<WorkerConfig, 'RIGSNAP_METRICS_HOST' | 'RIGSNAP_METRICS_PORT'>) {
  if (config.RIGSNAP_METRICS_PORT <= 0) return {};
  return {
    metrics: {
      prometheus: {
        bindAddress: `${config.RIGSNAP_METRICS_HOST}:${config.RIGSNAP_METRICS_PORT}`,
        histogramBucketOverrides: HISTOGRAM_BUCKETS,
      },
    },
  };
}

/** Temporal's note on a schedule it paused after a failed (or timed-out) run. */
const PAUSED_BY_FAILURE = /^paused(,| due to) workflow/i;

/** How many reports the sink remembers to drop a repeat of: a workflow task is run again within minutes. */
const REMEMBERED_REPORTS = 50_000;

/**
 * The reports a worker has taken in, so each is counted once. `callDuringReplay: false` keeps a replay
 * from reporting again, but a workflow task can also run live twice: when its first run never reaches
 * the history (the worker evicts the workflow from a full cache while the task waits on a local
 * activity, or the task times out), it runs again, later, and reports again with other figures (a
 * small-cache test counted one restore's lock wait twice, 0.5 s and 10.5 s). So a report names which
 * one it is (the run, and the lock request or deletion round it is about), and a repeat is dropped.
 */
export class ReportsSeen {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = REMEMBERED_REPORTS) {}

  /** True the first time the run reports this `kind` for this `key`; false for a repeat. */
  first(runId: string, kind: string, key = ''): boolean {
    const id = `${runId}/${kind}/${key}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    // A Set iterates in insertion order: forget the oldest.
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

export class RigsnapMetrics {
  private readonly operations: MetricCounter;
  private readonly duration: MetricHistogram;
  private readonly downtimeSeconds: MetricHistogram;
  private readonly lockWaitSeconds: MetricHistogram;
  private readonly prunedTotal: MetricCounter;
  private readonly rigboxRequests: MetricCounter;
  private readonly rigboxCallsDispatched: MetricCounter;
  private readonly lastSuccess: MetricGauge;
  private readonly lastFailure: MetricGauge;
  private readonly snapshots: MetricGauge;
  private readonly snapshotBytes: MetricGauge;
  private readonly schedulePaused: MetricGauge;
  private readonly rigboxApi: MetricGauge;
  private readonly quotaWorkers: MetricGauge;
  private readonly skippedTotal: MetricCounter;
  private readonly heldMissing: MetricGauge;
  /** Workspaces whose held-missing gauge is above 0: an audit that no longer finds them sets it back to 0. */
  private readonly heldMissingAbove0 = new Set<string>();
  /** The timestamps set so far: they only move forward, whoever reports them and in whatever order. */
  private readonly successAt = new Map<string, number>();
  private readonly failureAt = new Map<string, number>();
  private readonly pausedSchedules = new Map<string, string>();

  constructor(meter: MetricMeter) {
    const m = RIGSNAP_METRICS;
    this.operations = meter.createCounter(
      m.operations,
      undefined,
      'rigsnap operations that ended, by operation, outcome (completed, failed, cancelled) and error type',
    );
    this.duration = meter.createHistogram(m.duration, 'float', 's', 'Duration of rigsnap operations, from start (queueing included) to end');
    this.downtimeSeconds = meter.createHistogram(
      m.downtime,
      'float',
      's',
      'Downtime an operation caused: from the stop request to running again (or to the end, when the workspace stays stopped)',
    );
    this.lockWaitSeconds = meter.createHistogram(m.lockWait, 'float', 's', 'Time operations waited for their workspace lock');
    this.prunedTotal = meter.createCounter(m.pruned, undefined, 'Snapshots deleted by retention policies');
    this.rigboxRequests = meter.createCounter(
      m.rigboxRequests,
      undefined,
      'Requests to the Rigbox API by route template and HTTP status (timeout, error: no answer)',
    );
    this.rigboxCallsDispatched = meter.createCounter(
      m.rigboxCallsDispatched,
      undefined,
      'Rigbox calls the quota let go, by fairness key (default: none) and whether another key was waiting too (contended: the turns the weights decide)',
    );
    this.skippedTotal = meter.createCounter(
      m.skipped,
      undefined,
      'Backup runs that ended skipped, by workspace and reason (window: could not stop within its window; manual: rigsnap skip)',
    );
    this.lastSuccess = meter.createGauge(m.lastSuccess, 'float', 's', 'Creation time of the newest good backup of a protected workspace (0: none found)');
    this.lastFailure = meter.createGauge(m.lastFailure, 'float', 's', 'Time the newest failed backup run of a workspace ended');
    this.snapshots = meter.createGauge(m.snapshots, 'int', undefined, 'Snapshots of a workspace in Rigbox, as last seen (worker start-up, audits)');
    this.snapshotBytes = meter.createGauge(m.snapshotBytes, 'int', 'By', 'Total size of a workspace’s snapshots in Rigbox, as last seen');
    this.schedulePaused = meter.createGauge(
      m.schedulePaused,
      'int',
      undefined,
      '1 while a rigsnap schedule is paused; reason "failure" when Temporal paused it after a failed run',
    );
    this.rigboxApi = meter.createGauge(
      m.rigboxApi,
      'int',
      undefined,
      "Whether RIGBOX_API_URL answers like Rigbox: 1 for the current state (rigbox; unknown: no telling answer yet; not_rigbox: only answers unlike Rigbox's, check RIGBOX_API_URL)",
    );
    this.heldMissing = meter.createGauge(
      m.heldMissing,
      'int',
      undefined,
      'Held or baseline snapshots of a workspace gone from Rigbox that rigsnap did not delete, as the last audit found (0: all present)',
    );
    this.quotaWorkers = meter.createGauge(m.quotaWorkers, 'int', undefined, 'Workers sharing the Rigbox quota, as this worker counts them (itself included)');
  }

  /** The state of RIGBOX_API_URL (activities/rigbox-client.ts ApiRecognition): 1 for it, 0 for the others. */
  rigboxApiState(state: 'unknown' | 'rigbox' | 'not-rigbox'): void {
    for (const s of ['unknown', 'rigbox', 'not-rigbox'] as const) this.rigboxApi.set(s === state ? 1 : 0, { state: s.replace('-', '_') });
  }

  quotaShare(workers: number): void {
    this.quotaWorkers.set(workers);
  }

  operationEnded(e: { operation: string; outcome: string; errorType: string; durationSeconds: number }): void {
    this.operations.add(1, { operation: e.operation, outcome: e.outcome, error_type: e.errorType });
    this.duration.record(e.durationSeconds, { operation: e.operation });
  }

  downtime(operation: string, seconds: number): void {
    this.downtimeSeconds.record(seconds, { operation });
  }

  lockWait(seconds: number): void {
    this.lockWaitSeconds.record(seconds);
  }

  pruned(count: number): void {
    if (count > 0) this.prunedTotal.add(count);
  }

  backupSkipped(workspaceId: string, reason: string): void {
    this.skippedTotal.add(1, { workspace: workspaceId, reason });
  }

  /** One request to Rigbox: `endpoint` is the route template ("GET /workspaces/:id"), `status` the HTTP status. */
  rigboxRequest(endpoint: string, status: string): void {
    this.rigboxRequests.add(1, { endpoint, status });
  }

  /** A call the quota let go (activities/call-limiter.ts `onDispatch`). */
  rigboxCallDispatched(fairnessKey: string, contended: boolean): void {
    this.rigboxCallsDispatched.add(1, { fairness_key: fairnessKey || 'default', contended: String(contended) });
  }

  /** A good backup of the workspace exists since `atSeconds` (0: protected, but no backup found). */
  backupSucceeded(workspaceId: string, atSeconds: number): void {
    const known = this.successAt.get(workspaceId);
    if (known !== undefined && known >= atSeconds) return;
    this.successAt.set(workspaceId, atSeconds);
    this.lastSuccess.set(atSeconds, { workspace: workspaceId });
  }

  backupFailed(workspaceId: string, atSeconds: number): void {
    const known = this.failureAt.get(workspaceId);
    if (known !== undefined && known >= atSeconds) return;
    this.failureAt.set(workspaceId, atSeconds);
    this.lastFailure.set(atSeconds, { workspace: workspaceId });
  }

  snapshotInventory(workspaceId: string, count: number, bytes: number): void {
    this.snapshots.set(count, { workspace: workspaceId });
    this.snapshotBytes.set(bytes, { workspace: workspaceId });
  }

  /**
   * The paused state of every rigsnap schedule. A schedule that disappeared (deleted) goes back to 0:
   * the exporter cannot drop a series, and a stale 1 would keep an alert firing.
   */
  schedules(states: Array<{ scheduleId: string; paused: boolean; note: string | null }>): void {
    const seen = new Set<string>();
    for (const s of states) {
      seen.add(s.scheduleId);
      const reason = s.paused && s.note && PAUSED_BY_FAILURE.test(s.note) ? 'failure' : 'manual';
      const before = this.pausedSchedules.get(s.scheduleId);
      if (before && before !== reason) this.schedulePaused.set(0, { schedule: s.scheduleId, reason: before });
      this.schedulePaused.set(s.paused ? 1 : 0, { schedule: s.scheduleId, reason });
      this.pausedSchedules.set(s.scheduleId, reason);
    }
    for (const [scheduleId, reason] of this.pausedSchedules) {
      if (!seen.has(scheduleId)) this.schedulePaused.set(0, { schedule: scheduleId, reason });
    }
  }

  /** What an inventory (worker start-up) says about protected workspaces and snapshots. */
  inventory(inv: AuditInventory): void {
    for (const w of inv.protected) {
      this.backupSucceeded(w.workspaceId, w.newestBackup ? Date.parse(w.newestBackup.created_at) / 1000 : 0);
      if (w.lastRun && (w.lastRun.status === 'failed' || w.lastRun.status === 'timed-out')) {
        this.backupFailed(w.workspaceId, Date.parse(w.lastRun.closedAt) / 1000);
      }
      this.snapshotInventory(w.workspaceId, w.snapshotCount, w.snapshotBytes);
    }
    for (const u of inv.unprotected) this.snapshotInventory(u.workspaceId, u.snapshotCount, u.snapshotBytes);
    if (inv.heldChecked) {
      const rows = (inv.tampered ?? []).map((t) => ({ workspaceId: t.workspaceId, missingHeld: t.missing }));
      this.heldSnapshotsMissing(inv.heldChecked, rows);
    }
  }

  /** What an audit found: the same as an inventory, from the audit's report, and the tamper check's counts. */
  audited(report: Pick<AuditBackupsResult, 'workspaces' | 'unprotected' | 'heldChecked'>): void {
    this.inventory({
      protected: report.workspaces.map((w) => ({ ...w, lastRun: w.lastRun })),
      unprotected: report.unprotected,
      runsSince: '',
    });
    if (report.heldChecked) this.heldSnapshotsMissing(report.heldChecked, report.workspaces);
  }

  /**
   * Every workspace whose holds were checked gets its count (0: all present); one counted before and
   * not checked now (its holds ended) goes back to 0, since the exporter cannot drop a series and a
   * stale count would keep the alert firing.
   */
  heldSnapshotsMissing(checked: string[], rows: Array<{ workspaceId: string; missingHeld?: unknown[] }>): void {
    const counts = new Map(checked.map((id) => [id, 0]));
    for (const w of rows) if (w.missingHeld?.length) counts.set(w.workspaceId, w.missingHeld.length);
    for (const id of this.heldMissingAbove0) if (!counts.has(id)) counts.set(id, 0);
    for (const [workspace, n] of counts) {
      this.heldMissing.set(n, { workspace });
      if (n > 0) this.heldMissingAbove0.add(workspace);
      else this.heldMissingAbove0.delete(workspace);
    }
  }

  /** The sink workflows report through: never called on replay, and a report a re-run workflow task repeats is dropped. */
  sinks(): InjectedSinks<RigsnapMetricsSinks> {
    const seen = new ReportsSeen();
    return {
      rigsnapMetrics: {
        operationEnded: {
          fn: (info, e) => {
            if (seen.first(info.runId, 'operationEnded')) this.operationEnded(e);
          },
          callDuringReplay: false,
        },
        downtime: {
          fn: (info, operation, seconds, key) => {
            if (seen.first(info.runId, 'downtime', key)) this.downtime(operation, seconds);
          },
          callDuringReplay: false,
        },
        lockWait: {
          fn: (info, seconds, requestId) => {
            if (seen.first(info.runId, 'lockWait', requestId)) this.lockWait(seconds);
          },
          callDuringReplay: false,
        },
        pruned: {
          fn: (info, count, key) => {
            if (seen.first(info.runId, 'pruned', key)) this.pruned(count);
          },
          callDuringReplay: false,
        },
        backupOutcome: {
          fn: (_info, o) => {
            // Gauges: setting one twice to the same value is harmless.
            if (o.succeededAt !== undefined) this.backupSucceeded(o.workspaceId, o.succeededAt);
            if (o.failedAt !== undefined) this.backupFailed(o.workspaceId, o.failedAt);
          },
          callDuringReplay: false,
        },
        backupSkipped: {
          fn: (info, workspaceId, reason) => {
            if (seen.first(info.runId, 'backupSkipped')) this.backupSkipped(workspaceId, reason);
          },
          callDuringReplay: false,
        },
        audited: { fn: (_info, report) => this.audited(report), callDuringReplay: false },
      },
    };
  }
}
