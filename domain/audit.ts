import { VERDICTS, type Verdict } from './labels.js';
import type { AuditBackupsResult, AuditedWorkspace, BackupRun } from './results.js';
import type { RigboxSnapshot } from './rigbox.js';
import type { TamperedWorkspace } from './tamper.js';
import { parseDuration } from './time.js';

/**
 * The backup audit ("is everything backed up?"): its input, the inventory an activity gathers
 * (schedules from Temporal, snapshots from Rigbox, the last backup runs from visibility), and the pure
 * function that turns both into verdicts. Pure and deterministic, so the workflow evaluates it with
 * workflow time and the tests check exact verdicts without a clock.
 */

/** One workspace in the inventory: what protects it and what Rigbox holds for it. */
export interface InventoryWorkspace {
  workspaceId: string;
  /** Schedule ids that back it up (empty: only named in the audit's input). */
  schedules: string[];
  /** True when every schedule that backs it up is paused. */
  paused: boolean;
  /** Backups are the snapshots whose names start with one of these. */
  namePrefixes: string[];
  /** The newest snapshot whose name is a backup's. */
  newestBackup: RigboxSnapshot | null;
  snapshotCount: number;
  snapshotBytes: number;
  /** The newest closed backupWorkspace run seen in visibility, if any. */
  lastRun: BackupRun | null;
  /** When its earliest schedule was created (absent in inventories recorded before it existed). */
  firstScheduledAt?: string | null;
}

export interface InventoryUnprotected {
  workspaceId: string;
  snapshotCount: number;
  snapshotBytes: number;
  newestSnapshot: RigboxSnapshot | null;
}

export interface AuditInventory {
  /** Protected workspaces: those of the schedules, and those named in the input. */
  protected: InventoryWorkspace[];
  /** Workspaces with snapshots in Rigbox that nothing protects. */
  unprotected: InventoryUnprotected[];
  /** Backup runs closed before this were not looked at. */
  runsSince: string;
  /** Snapshots of workspaces Rigbox answers 404 for (absent when existence was not checked). */
  orphans?: AuditOrphans;
  /** Held or baseline snapshots gone from Rigbox that rigsnap did not delete (absent when holds were not checked). */
  tampered?: TamperedWorkspace[];
  /** The workspaces whose holds and baseline were checked (absent when not checked). */
  heldChecked?: string[];
}

export interface AuditOrphans {
  workspaceIds: string[];
  count: number;
  bytes: number;
}

const FAILED_RUN: ReadonlySet<BackupRun['status']> = new Set(['failed', 'timed-out']);

/**
 * The verdict of one protected workspace: no backup (pending while its first schedule is younger than
 * the RPO, else missing), then too old, then a failed last run, else ok.
 */
export function verdictOf(w: InventoryWorkspace, rpoMs: number, nowMs: number): Verdict {
  if (!w.newestBackup) return w.firstScheduledAt && nowMs - Date.parse(w.firstScheduledAt) < rpoMs ? 'pending' : 'missing';
  if (nowMs - Date.parse(w.newestBackup.created_at) > rpoMs) return 'stale';
  if (w.lastRun && FAILED_RUN.has(w.lastRun.status)) return 'failed';
  return 'ok';
}

/** One row of the report; a workspace with missing held snapshots is tampered, whatever its backups say. */
function auditedRow(w: InventoryWorkspace, rpoMs: number, nowMs: number, missingHeld: TamperedWorkspace['missing'] | undefined): AuditedWorkspace {
  return {
    workspaceId: w.workspaceId,
    verdict: missingHeld?.length ? 'tampered' : verdictOf(w, rpoMs, nowMs),
    schedules: w.schedules,
    paused: w.paused,
    namePrefixes: w.namePrefixes,
    newestBackup: w.newestBackup,
    ageSeconds: w.newestBackup ? Math.max(0, Math.round((nowMs - Date.parse(w.newestBackup.created_at)) / 1000)) : null,
    lastRunFailed: w.lastRun ? FAILED_RUN.has(w.lastRun.status) : null,
    lastRun: w.lastRun,
    snapshotCount: w.snapshotCount,
    snapshotBytes: w.snapshotBytes,
    ...(missingHeld?.length ? { missingHeld } : {}),
  };
}

/** Protected workspaces, plus a row for each tampered workspace that no schedule protects (its holds did). */
function rowsToAudit(inventory: AuditInventory): InventoryWorkspace[] {
  const known = new Set(inventory.protected.map((w) => w.workspaceId));
  const extra = (inventory.tampered ?? [])
    .filter((t) => !known.has(t.workspaceId))
    .map((t): InventoryWorkspace => {
      const u = inventory.unprotected.find((x) => x.workspaceId === t.workspaceId);
      return {
        workspaceId: t.workspaceId,
        schedules: [],
        paused: false,
        namePrefixes: [],
        newestBackup: null,
        snapshotCount: u?.snapshotCount ?? 0,
        snapshotBytes: u?.snapshotBytes ?? 0,
        lastRun: null,
      };
    });
  return [...inventory.protected, ...extra];
}

/** Turns an inventory into the audit's report at `nowMs` (workflow time in the workflow). */
export function evaluateAudit(inventory: AuditInventory, rpo: string, nowMs: number): Omit<AuditBackupsResult, 'notified'> {
  const rpoMs = parseDuration(rpo)!;
  const rank = (v: Verdict) => VERDICTS.indexOf(v);
  const tampered = new Map((inventory.tampered ?? []).filter((t) => t.missing.length > 0).map((t) => [t.workspaceId, t.missing]));
  const workspaces: AuditedWorkspace[] = rowsToAudit(inventory)
    .map((w) => auditedRow(w, rpoMs, nowMs, tampered.get(w.workspaceId)))
    .sort((a, b) => rank(a.verdict) - rank(b.verdict) || (b.ageSeconds ?? Infinity) - (a.ageSeconds ?? Infinity) || a.workspaceId.localeCompare(b.workspaceId));
  const count = (v: Verdict) => workspaces.filter((w) => w.verdict === v).length;
  const counts = {
    ok: count('ok'),
    failed: count('failed'),
    stale: count('stale'),
    missing: count('missing'),
    pending: count('pending'),
    unprotected: inventory.unprotected.length,
    ...(inventory.tampered ? { tampered: count('tampered') } : {}),
  };
  return {
    auditedAt: new Date(nowMs).toISOString(),
    rpo,
    rpoSeconds: rpoMs / 1000,
    ok: counts.stale === 0 && counts.missing === 0 && !counts.tampered,
    counts,
    workspaces,
    unprotected: [...inventory.unprotected].sort((a, b) => a.workspaceId.localeCompare(b.workspaceId)),
    ...(inventory.orphans ? { orphans: inventory.orphans } : {}),
    ...(inventory.heldChecked ? { heldChecked: [...inventory.heldChecked].sort() } : {}),
  };
}

/** Protected workspaces that need attention (every verdict but ok and pending), worst first. */
export function auditOffenders(report: Pick<AuditBackupsResult, 'workspaces'>): AuditedWorkspace[] {
  return report.workspaces.filter((w) => w.verdict !== 'ok' && w.verdict !== 'pending');
}
