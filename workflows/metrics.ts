import { ApplicationFailure, TemporalFailure, TimeoutFailure, isCancellation, proxySinks, workflowInfo, type Sinks } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import type { Operation } from '../domain/constants.js';
import { ERROR_TYPES } from '../domain/errors.js';
import { isCancelledAfterChange } from './landed.js';
import { WORKSPACE_ID_PATTERN } from '../domain/ids.js';
import type { AuditBackupsResult } from '../domain/results.js';

/**
 * rigsnap's business metrics, seen from workflow code. Workflows report what happened (an operation
 * ended, a workspace was down so long, a lock was waited for) through a sink; the worker turns the
 * reports into Prometheus series (worker/metrics.ts). Nothing is reported while a workflow replays its
 * history, so a workflow evicted from the cache and replayed (or resumed on another worker) never
 * counts twice; each report names which one it is (the run's lock request, the prune round), so the
 * worker also drops a report a workflow task repeats when it runs live a second time. All instants are
 * workflow time (deterministic).
 */

/** The `operation` label of rigsnap_operations_total and the histograms: bounded, one per kind of operation. */
export const METRIC_OPERATIONS = ['snapshot', 'restore', 'delete', 'prune', 'backup', 'fleet', 'checkpoint', 'audit'] as const;
export type MetricOperation = (typeof METRIC_OPERATIONS)[number];

export type Outcome = 'completed' | 'failed' | 'cancelled';

/** Error types as the `error_type` label: the table's (the fleet's PartialFailure among them), "none", or "Other". */
export const METRIC_ERROR_TYPES = [...ERROR_TYPES, 'Other', 'none'] as const;

export interface OperationEnded {
  operation: MetricOperation;
  outcome: Outcome;
  errorType: string;
  durationSeconds: number;
}

/** A backup's outcome for the last-success / last-failure gauges (epoch seconds). */
export interface BackupOutcome {
  workspaceId: string;
  succeededAt?: number;
  failedAt?: number;
}

export interface RigsnapMetricsSinks extends Sinks {
  rigsnapMetrics: {
    operationEnded(event: OperationEnded): void;
    /** `key`: which downtime of the run (the lock request it happened under). */
    downtime(operation: MetricOperation, seconds: number, key: string): void;
    /** `requestId`: the lock request waited for. */
    lockWait(seconds: number, requestId: string): void;
    /** `key`: which deletion of the run (its round). */
    pruned(count: number, key: string): void;
    backupOutcome(outcome: BackupOutcome): void;
    /** A backup run that ended skipped; `reason` is `window` or `manual` (a person's text stays in the result, not a label). */
    backupSkipped(workspaceId: string, reason: 'window' | 'manual'): void;
    audited(report: Pick<AuditBackupsResult, 'workspaces' | 'unprotected' | 'heldChecked'>): void;
  };
}

const sink = proxySinks<RigsnapMetricsSinks>().rigsnapMetrics;

/** False while the workflow replays history: what it reports then was reported when it first ran. */
function live(): boolean {
  return !workflowInfo().unsafe.isReplaying;
}

const BY_OPERATION: Partial<Record<Operation, MetricOperation>> = {
  snapshot: 'snapshot',
  restore: 'restore',
  delete: 'delete',
  prune: 'prune',
  backup: 'backup',
  'fleet-backup': 'fleet',
  checkpoint: 'checkpoint',
  audit: 'audit',
};

const BY_WORKFLOW_TYPE: Record<string, MetricOperation> = Object.fromEntries(
  Object.entries(WORKFLOW_TYPES).flatMap(([op, type]) => {
    const m = BY_OPERATION[op as Operation];
    return m ? [[type, m]] : [];
  }),
);

/** The metric operation of a workflow type; undefined for those not measured (list, the lock). */
export function metricOperationOfType(workflowType: string): MetricOperation | undefined {
  return BY_WORKFLOW_TYPE[workflowType];
}

/** The metric operation of a tracker's operation (the lock and list are not measured). */
export function metricOperation(operation: Operation): MetricOperation | undefined {
  return BY_OPERATION[operation];
}

const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set(METRIC_ERROR_TYPES);

/** The error type of a workflow's failure as a bounded label value. */
export function errorTypeOf(err: unknown): string {
  let cur: unknown = err;
  while (cur instanceof Error) {
    if (cur instanceof ApplicationFailure) return cur.type && KNOWN_ERROR_TYPES.has(cur.type) ? cur.type : 'Other';
    if (cur instanceof TimeoutFailure) return 'Timeout';
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'Other';
}

const toSeconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * Reports the end of a measured workflow: its outcome, its duration since the workflow (chain) started,
 * and for a backup the gauges of its workspace. Called by the interceptor around every workflow
 * (workflows/metrics-interceptors.ts). A failure that is not a TemporalFailure fails only the workflow
 * task, which is retried: it is not an end, and is not counted.
 */
export function reportWorkflowEnd(workflowType: string, input: unknown, ending: { result: unknown } | { error: unknown }): void {
  const operation = metricOperationOfType(workflowType);
  if (!operation || !live()) return;
  let outcome: Outcome;
  let errorType = 'none';
  if ('error' in ending) {
    if (!(ending.error instanceof TemporalFailure)) return;
    // Cancelled after its change landed is still the operator's cancellation, not a failure to alert on.
    outcome = isCancellation(ending.error) || isCancelledAfterChange(ending.error) ? 'cancelled' : 'failed';
    if (outcome === 'failed') errorType = errorTypeOf(ending.error);
  } else {
    // A fleet with failed workspaces is a failed fleet run, whether it returns its summary or fails with it.
    const failedCount = (ending.result as { failedCount?: unknown } | null)?.failedCount;
    outcome = operation === 'fleet' && typeof failedCount === 'number' && failedCount > 0 ? 'failed' : 'completed';
    if (outcome === 'failed') errorType = 'PartialFailure';
  }
  const now = Date.now();
  sink.operationEnded({ operation, outcome, errorType, durationSeconds: toSeconds(now - workflowInfo().startTime.getTime()) });

  if (operation !== 'backup') return;
  const workspaceId = (input as { workspaceId?: unknown } | null)?.workspaceId;
  // Only ids that passed validation become label values.
  if (typeof workspaceId !== 'string' || !WORKSPACE_ID_PATTERN.test(workspaceId) || errorType === 'InvalidInput') return;
  const skipped = outcome === 'completed' ? (ending as { result: { skipped?: { kind?: unknown } } }).result.skipped : undefined;
  if (skipped) {
    sink.backupSkipped(workspaceId, skipped.kind === 'window' ? 'window' : 'manual');
  } else if (outcome === 'completed') {
    const createdAt = Date.parse((ending as { result: { snapshot?: { created_at?: string } } }).result.snapshot?.created_at ?? '');
    if (!Number.isNaN(createdAt)) sink.backupOutcome({ workspaceId, succeededAt: createdAt / 1000 });
  } else if (outcome === 'failed') {
    sink.backupOutcome({ workspaceId, failedAt: now / 1000 });
  }
}

/**
 * How long the operation waited for the workspace lock. The lock design measures the wait in workflow
 * code or in the preflight activity: either way, call this once per acquisition.
 */
export function recordLockWait(ms: number, requestId: string): void {
  if (live()) sink.lockWait(toSeconds(ms), requestId);
}

/** Snapshots deleted by a retention policy (pruneSnapshots and the backups' prune step). */
export function recordPruned(count: number, key: string): void {
  if (count > 0 && live()) sink.pruned(count, key);
}

/** The audit's per-workspace findings, so the worker's backup gauges follow Rigbox (see worker/metrics.ts). */
export function reportAudit(report: Pick<AuditBackupsResult, 'workspaces' | 'unprotected' | 'heldChecked'>): void {
  if (live())
    sink.audited({ workspaces: report.workspaces, unprotected: report.unprotected, ...(report.heldChecked ? { heldChecked: report.heldChecked } : {}) });
}

/**
 * The downtime an operation causes: from the stop request to the workspace running again, or to the
 * end of the operation when it stays stopped (by policy, or because starting it again failed). Only a
 * workspace that was running when the operation checked it under its lock counts: then the stop is
 * rigsnap's. (Not the stop activity's own "did I ask" flag: a lost answer to the stop request makes a
 * retried attempt find the workspace already stopping, and the downtime would go uncounted.)
 */
export class Downtime {
  private stopRequestedAt: number | undefined;
  private recorded = false;

  constructor(
    private readonly operation: MetricOperation | undefined,
    private readonly initialStatus: string,
    private readonly key: string,
  ) {}

  /** Call right before the stop: the downtime starts here. */
  stopping(): void {
    if (this.initialStatus === 'running' || this.initialStatus === 'starting') this.stopRequestedAt = Date.now();
  }

  /** Call once the workspace runs again. */
  running(): void {
    this.record();
  }

  /** Ends a downtime still open (the workspace stays stopped, or was started by the compensation). */
  end(): void {
    this.record();
  }

  private record(): void {
    if (this.stopRequestedAt === undefined || this.recorded || !this.operation) return;
    this.recorded = true;
    if (live()) sink.downtime(this.operation, toSeconds(Date.now() - this.stopRequestedAt), this.key);
  }
}

/**
 * Runs the part of an operation that may stop the workspace, measuring its downtime. `body` wraps the
 * restart guarantee, so when it ends the workspace has been started again if it is going to be.
 */
export async function withDowntime<T>(operation: Operation, initialStatus: string, key: string, body: (downtime: Downtime) => Promise<T>): Promise<T> {
  const downtime = new Downtime(metricOperation(operation), initialStatus, key);
  try {
    return await body(downtime);
  } finally {
    downtime.end();
  }
}
