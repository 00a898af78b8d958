/**
 * What `rigsnap usage` and `rigsnap report` show, as pure functions of one inventory
 * (InventoryWorkspacesResult): usage and cost per workspace with a 30-day forecast, and the compliance
 * report (protection, last backup against the RPO, failures and skips in the period, holds) with its
 * fixed CSV columns. Pure, so the report workflow, the CLI and the unit tests give the same answer.
 */
import { emptyExpiring, type ExpiringByKind, type ExpiringKind } from './expiry.js';
import { SNAPSHOT_KINDS, bytesToGib, monthlyCost, type SnapshotKind } from './inventory.js';
import type { InventoriedWorkspace, InventoryWorkspacesResult } from './results.js';

// ---- usage and cost ---------------------------------------------------------------------------------

export interface UsageRow {
  workspaceId: string;
  exists: boolean | null;
  protected: boolean;
  snapshotCount: number;
  /** GiB by kind, and in all. */
  gib: Record<SnapshotKind, number> & { total: number };
  forecastGib: number;
  /** Per month at the price; null without a price. */
  monthlyCost: number | null;
  forecastMonthlyCost: number | null;
  /** Checkpoint and safety snapshots that will expire (domain/expiry.ts): how many, GiB, how many are due now, from when to when. */
  expiring: ExpiringView;
}

export interface ExpiringKindView {
  count: number;
  gib: number;
  dueNowCount: number;
  dueNowGib: number;
  firstDueAt: string | null;
  lastDueAt: string | null;
}
export type ExpiringView = Record<ExpiringKind, ExpiringKindView>;

function expiringView(e: ExpiringByKind | undefined): ExpiringView {
  const k = (t: ExpiringByKind[ExpiringKind]): ExpiringKindView => ({
    count: t.count,
    gib: round(bytesToGib(t.bytes)),
    dueNowCount: t.dueNowCount,
    dueNowGib: round(bytesToGib(t.dueNowBytes)),
    firstDueAt: t.firstDueAt,
    lastDueAt: t.lastDueAt,
  });
  const all = e ?? emptyExpiring();
  return { checkpoint: k(all.checkpoint), safety: k(all.safety) };
}

export interface UsageView {
  takenAt: string;
  pricePerGibMonth: number | null;
  workspaces: UsageRow[];
  /** Sums of the rows; `bytes` equals the sum of every snapshot's size_bytes in Rigbox. */
  totals: Omit<UsageRow, 'workspaceId' | 'exists' | 'protected'> & { bytes: number };
  orphans: { workspaceIds: string[]; count: number; gib: number };
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

function gibByKind(byKind: InventoriedWorkspace['byKind'], totalBytes: number): UsageRow['gib'] {
  const out = { total: round(bytesToGib(totalBytes)) } as UsageRow['gib'];
  for (const k of SNAPSHOT_KINDS) out[k] = round(bytesToGib(byKind[k].bytes));
  return out;
}

const costOf = (bytes: number, price: number | null) => (price === null ? null : round(monthlyCost(bytes, price), 2));

/** Usage per workspace (biggest first) and in all, with the monthly cost at `pricePerGibMonth` (null: no cost). */
export function usageView(inv: InventoryWorkspacesResult, pricePerGibMonth: number | null): UsageView {
  const rows = inv.workspaces
    .filter((w) => w.snapshotCount > 0 || w.schedules.length > 0)
    .map((w): UsageRow => ({
      workspaceId: w.workspaceId,
      exists: w.exists,
      protected: w.schedules.length > 0,
      snapshotCount: w.snapshotCount,
      gib: gibByKind(w.byKind, w.snapshotBytes),
      forecastGib: round(bytesToGib(w.forecast.bytesAtHorizon)),
      monthlyCost: costOf(w.snapshotBytes, pricePerGibMonth),
      forecastMonthlyCost: costOf(w.forecast.bytesAtHorizon, pricePerGibMonth),
      expiring: expiringView(w.expiring),
    }))
    .sort((a, b) => b.gib.total - a.gib.total || a.workspaceId.localeCompare(b.workspaceId));
  const t = inv.totals;
  return {
    takenAt: inv.takenAt,
    pricePerGibMonth,
    workspaces: rows,
    totals: {
      bytes: t.bytes,
      snapshotCount: t.count,
      gib: gibByKind(t.byKind, t.bytes),
      forecastGib: round(bytesToGib(t.forecastBytes)),
      monthlyCost: costOf(t.bytes, pricePerGibMonth),
      forecastMonthlyCost: costOf(t.forecastBytes, pricePerGibMonth),
      expiring: expiringView(t.expiring),
    },
    orphans: { workspaceIds: inv.orphans.workspaceIds, count: inv.orphans.count, gib: round(bytesToGib(inv.orphans.bytes)) },
  };
}

// ---- the compliance report --------------------------------------------------------------------------

/** A workspace's standing: the audit's verdicts, plus `pending` (no backup yet, its schedule younger than one RPO) and `unprotected`. */
export const REPORT_STATUSES = ['missing', 'stale', 'failed', 'pending', 'ok', 'unprotected'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export interface ReportRow {
  workspaceId: string;
  protected: boolean;
  status: ReportStatus;
  schedules: string[];
  lastBackupAt: string | null;
  lastBackupName: string | null;
  /** Age of the last backup at the report, in seconds. */
  ageSeconds: number | null;
  /** The last backup is at most one RPO old. */
  withinRpo: boolean;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Held snapshots, as the workspace entity says. */
  holds: number;
}

export interface BackupReport {
  generatedAt: string;
  since: string;
  rpo: string;
  rpoSeconds: number;
  /** False when a protected workspace misses the RPO (missing or stale): exit 1, like the audit. */
  ok: boolean;
  workspaces: ReportRow[];
  totals: {
    workspaces: number;
    protected: number;
    unprotected: number;
    withinRpo: number;
    missesRpo: number;
    pending: number;
    succeeded: number;
    failed: number;
    skipped: number;
    holds: number;
  };
}

const FAILED_LAST: ReadonlySet<string> = new Set(['failed', 'timed-out']);

/**
 * One workspace's standing at `nowMs`: missing/stale/failed/ok as the audit says, but `pending` instead
 * of `missing` while its first schedule is younger than one RPO (its first run may not have come yet).
 * A stale backup stays stale: a new schedule does not excuse an old backup.
 */
export function reportStatusOf(w: InventoriedWorkspace, rpoMs: number, nowMs: number): ReportStatus {
  if (w.schedules.length === 0) return 'unprotected';
  const newest = w.newestBackup ? Date.parse(w.newestBackup.created_at) : null;
  if (newest !== null && nowMs - newest <= rpoMs) return w.lastRun && FAILED_LAST.has(w.lastRun.status) ? 'failed' : 'ok';
  if (newest !== null) return 'stale';
  return w.firstScheduledAt && nowMs - Date.parse(w.firstScheduledAt) < rpoMs ? 'pending' : 'missing';
}

function reportRow(w: InventoriedWorkspace, rpoMs: number, nowMs: number): ReportRow {
  const at = w.newestBackup?.created_at ?? null;
  const ageSeconds = at ? Math.max(0, Math.round((nowMs - Date.parse(at)) / 1000)) : null;
  return {
    workspaceId: w.workspaceId,
    protected: w.schedules.length > 0,
    status: reportStatusOf(w, rpoMs, nowMs),
    schedules: w.schedules,
    lastBackupAt: at,
    lastBackupName: w.newestBackup?.name ?? null,
    ageSeconds,
    withinRpo: ageSeconds !== null && ageSeconds * 1000 <= rpoMs,
    succeeded: w.runs.completed,
    failed: w.runs.failed,
    skipped: w.runs.skipped,
    holds: w.byKind.held.count,
  };
}

/** The report of every workspace that exists (orphans are the usage's business), worst first. */
export function backupReport(inv: InventoryWorkspacesResult, opts: { rpo: string; rpoMs: number; nowMs: number }): BackupReport {
  const rank = (s: ReportStatus) => REPORT_STATUSES.indexOf(s);
  const rows = inv.workspaces
    .filter((w) => w.exists !== false)
    .map((w) => reportRow(w, opts.rpoMs, opts.nowMs))
    .sort((a, b) => rank(a.status) - rank(b.status) || a.workspaceId.localeCompare(b.workspaceId));
  const prot = rows.filter((r) => r.protected);
  const sum = (f: (r: ReportRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  const misses = prot.filter((r) => r.status === 'missing' || r.status === 'stale').length;
  return {
    generatedAt: new Date(opts.nowMs).toISOString(),
    since: inv.since,
    rpo: opts.rpo,
    rpoSeconds: opts.rpoMs / 1000,
    ok: misses === 0,
    workspaces: rows,
    totals: {
      workspaces: rows.length,
      protected: prot.length,
      unprotected: rows.length - prot.length,
      withinRpo: prot.filter((r) => r.withinRpo).length,
      missesRpo: misses,
      pending: prot.filter((r) => r.status === 'pending').length,
      succeeded: sum((r) => r.succeeded),
      failed: sum((r) => r.failed),
      skipped: sum((r) => r.skipped),
      holds: sum((r) => r.holds),
    },
  };
}

/** The report's CSV columns, fixed and documented (docs/cli.md): a change here is a change of a public format. */
export const REPORT_CSV_COLUMNS = [
  'workspace_id',
  'protected',
  'status',
  'schedules',
  'last_backup_at',
  'last_backup_name',
  'age_seconds',
  'within_rpo',
  'succeeded',
  'failed',
  'skipped',
  'holds',
] as const;

const csvCell = (v: string | number | boolean | null) => {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** RFC 4180 CSV: the header, a row per workspace, then a `TOTAL` row (its status: ok or misses-rpo). */
export function reportCsv(r: BackupReport): string {
  const rows: Array<Array<string | number | boolean | null>> = r.workspaces.map((w) => [
    w.workspaceId,
    w.protected,
    w.status,
    w.schedules.join(' '),
    w.lastBackupAt,
    w.lastBackupName,
    w.ageSeconds,
    w.withinRpo,
    w.succeeded,
    w.failed,
    w.skipped,
    w.holds,
  ]);
  const t = r.totals;
  rows.push(['TOTAL', t.protected, r.ok ? 'ok' : 'misses-rpo', '', null, null, null, t.withinRpo, t.succeeded, t.failed, t.skipped, t.holds]);
  return [REPORT_CSV_COLUMNS.join(','), ...rows.map((row) => row.map(csvCell).join(','))].join('\r\n') + '\r\n';
}
