/**
 * Knowing every workspace, read once per source: Rigbox's list of every snapshot (the only way it
 * reveals workspaces), GET /workspaces/{id} per workspace (a 404 makes its snapshots orphans), the
 * rigsnap schedules (who is protected, with which prefix and retention), the checkpoint runs (which
 * snapshots are checkpoints: their names are the user's) and the backup runs of the period. Also the
 * deletion of orphans. The rules are domain/inventory.ts's; this file only gathers and calls.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPES, checkpointDetailOf, progressQuery, workspaceIdKey } from '../contract/index.js';
import {
  CheckpointWorkspaceResult,
  FORECAST_DAYS,
  MAX_LISTED_SNAPSHOTS,
  addExpiring,
  emptyExpiring,
  expiryPolicyOf,
  mergeExpiring,
  planExpiry,
  NO_HOLDS,
  type HoldTest,
  SNAPSHOT_KINDS,
  backupPrefixOf,
  classifySnapshot,
  emptyUsage,
  forecastStorage,
  nearestIds,
  newestFirst,
  selectOrphans,
  totalBytesOf,
  usageByKind,
  type BackupRun,
  type CheckpointSessionFacts,
  type CheckWorkspacesResult,
  type ClassifyContext,
  type InventoriedWorkspace,
  type InventoryWorkspacesResult,
  type PruneOrphansResult,
  type RigboxSnapshot,
  type UsageByKind,
} from '../domain/index.js';
import { RUN_STATUS, protectedWorkspaces, type InventoryDeps, type Protection } from './audit.js';
import { readGuardedViews } from './audit-holds.js';
import { guardedSnapshots } from '../domain/tamper.js';
import { holdEndsOf } from '../domain/holds.js';
import { toFailure } from './failures.js';
import { RigboxApiError, type RigboxClient } from './rigbox-client.js';
import { goneWorkspaces, mapLimit } from './workspace-existence.js';

/** Calls in flight at once for per-workspace probes and per-checkpoint reads. */
const CONCURRENCY = 8;
/** Checkpoint runs looked at (newest first): sessions older than this are counted as hand-made snapshots. */
const MAX_CHECKPOINT_RUNS = 500;

type Progress = (what: string) => void;

/**
 * The snapshots that checkpoint sessions took and did not delete, with when each session ended (null:
 * open; open sessions: their query; closed: their result). Visibility's close time is fine here: usage
 * only shows when a snapshot is due; the prune that deletes asks each session itself (activities/expiry.ts).
 */
async function checkpointSessions(temporal: InventoryDeps['temporal'], progress: Progress): Promise<CheckpointSessionFacts[]> {
  const { client, taskQueue } = temporal;
  const runs: Array<{ workflowId: string; runId: string; running: boolean; closedAt: string | null }> = [];
  const query = `WorkflowType = '${WORKFLOW_TYPES.checkpoint}' AND TaskQueue = '${taskQueue}'`;
  for await (const w of client.workflow.list({ query })) {
    if (w.status.name === 'RUNNING' || w.status.name === 'COMPLETED')
      runs.push({ workflowId: w.workflowId, runId: w.runId, running: w.status.name === 'RUNNING', closedAt: w.closeTime?.toISOString() ?? null });
    if (runs.length >= MAX_CHECKPOINT_RUNS) break;
  }
  const facts: CheckpointSessionFacts[] = [];
  await mapLimit(runs, CONCURRENCY, async (r) => {
    const id = await checkpointSnapshotOf(client, r).catch(() => null); // a run that cannot answer now is read as hand-made
    if (id) facts.push({ snapshotId: id, endedAt: r.running ? null : (r.closedAt ?? new Date().toISOString()) });
  });
  progress(`${facts.length} checkpoint snapshots`);
  return facts;
}

async function checkpointSnapshotOf(client: Client, r: { workflowId: string; runId: string; running: boolean }): Promise<string | null> {
  const handle = client.workflow.getHandle(r.workflowId, r.runId);
  if (r.running) return checkpointDetailOf(await handle.query(progressQuery))?.snapshotId ?? null;
  const parsed = CheckpointWorkspaceResult.safeParse(await handle.result());
  return parsed.success && !parsed.data.snapshotDeleted ? parsed.data.snapshot.id : null;
}

/** What each workspace's entity holds now (holds and the baseline), by workspace: when each snapshot's last hold ends (null: never). */
async function heldByWorkspace(
  temporal: InventoryDeps['temporal'],
  workspaceIds: string[],
  progress: Progress,
): Promise<Map<string, Map<string, string | null>>> {
  const views = await readGuardedViews(temporal, workspaceIds, progress);
  const at = new Date().toISOString();
  return new Map([...views].map(([ws, view]) => [ws, holdEndsOf(view, [...guardedSnapshots(view, at).keys()], at)]));
}

interface RunTally {
  last: BackupRun | null;
  completed: number;
  failed: number;
  skipped: number;
}

/** Backup runs that closed after `since`, by workspace: how each ended, and the newest. */
async function backupRunsSince(temporal: InventoryDeps['temporal'], since: string): Promise<Map<string, RunTally>> {
  const { client, taskQueue } = temporal;
  const out = new Map<string, RunTally>();
  const query = `WorkflowType = '${WORKFLOW_TYPES.backup}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running' AND CloseTime > '${since}'`;
  for await (const w of client.workflow.list({ query })) {
    const workspaceId = w.typedSearchAttributes.get(workspaceIdKey);
    const status = RUN_STATUS[w.status.name];
    if (!workspaceId || !status || !w.closeTime || status === 'continued-as-new') continue;
    const t = out.get(workspaceId) ?? { last: null, completed: 0, failed: 0, skipped: 0 };
    if (status === 'completed') t.completed++;
    else if (status === 'failed' || status === 'timed-out') t.failed++;
    else t.skipped++;
    if (!t.last || Date.parse(t.last.closedAt) < w.closeTime.getTime()) t.last = { workflowId: w.workflowId, status, closedAt: w.closeTime.toISOString() };
    out.set(workspaceId, t);
  }
  return out;
}

export interface WorkspaceInventoryRequest {
  checkExistence: boolean;
  sinceMs: number;
  workspaceIds: string[];
  nowMs: number;
  signal?: AbortSignal;
  progress?: Progress;
}

interface RowContext {
  gone: Set<string> | null;
  sessions: CheckpointSessionFacts[];
  /** Held snapshots and when their last hold ends (null: never). */
  held: ReadonlyMap<string, string | null>;
  runs: RunTally | undefined;
  nowMs: number;
}

/** One workspace's row: its snapshots classified, its protection, its runs, what is due to expire and its forecast. */
function rowOf(workspaceId: string, own: RigboxSnapshot[], p: Protection | undefined, ctx: RowContext): InventoriedWorkspace {
  const namePrefixes = p ? [...p.prefixes].sort() : [];
  const classify: ClassifyContext = {
    backupPrefixes: namePrefixes.length ? namePrefixes : [backupPrefixOf([])],
    checkpointIds: new Set(ctx.sessions.map((x) => x.snapshotId)),
    heldIds: new Set(ctx.held.keys()),
  };
  const byKind = usageByKind(own, classify);
  const sorted = [...own].sort(newestFirst);
  const backups = sorted.filter((s) => classifySnapshot(s, classify) === 'backup');
  const backupBytes = totalBytesOf(backups);
  const plan = planExpiry(
    own,
    workspaceId,
    { sessions: ctx.sessions, heldIds: new Set(ctx.held.keys()), holdEnds: ctx.held },
    expiryPolicyOf(p?.retention),
    ctx.nowMs,
  );
  const expiring = addExpiring(emptyExpiring(), [...plan.expired, ...plan.waiting], ctx.nowMs);
  // Checkpoint and safety snapshots due within the forecast's horizon are gone by then (a prune expires them).
  const horizon = ctx.nowMs + FORECAST_DAYS * 86_400_000;
  const goneByHorizon = totalBytesOf(
    [...plan.expired, ...plan.waiting]
      .filter((x) => x.keptBecause !== 'open checkpoint' && x.dueAt !== null && Date.parse(x.dueAt) <= horizon)
      .map((x) => x.snapshot),
  );
  const scheduled = Boolean(p && p.schedules.length > 0 && !p.pausedAll);
  const forecast = forecastStorage({
    backups,
    namePrefix: backupPrefixOf(namePrefixes),
    retention: p?.retention ?? null,
    scheduled,
    // Only a schedule with retention runs the prune that expires them.
    otherBytes: totalBytesOf(own) - backupBytes - (scheduled && p?.retention ? goneByHorizon : 0),
    nowMs: ctx.nowMs,
  });
  const t = ctx.runs;
  return {
    workspaceId,
    exists: ctx.gone ? !ctx.gone.has(workspaceId) : null,
    schedules: p ? [...p.schedules].sort() : [],
    paused: Boolean(p && p.schedules.length > 0 && p.pausedAll),
    namePrefixes,
    firstScheduledAt: p?.firstScheduledAt ?? null,
    snapshotCount: own.length,
    snapshotBytes: totalBytesOf(own),
    byKind,
    expiring,
    newestSnapshot: sorted[0] ?? null,
    newestBackup: backups[0] ?? null,
    lastRun: t?.last ?? null,
    runs: { completed: t?.completed ?? 0, failed: t?.failed ?? 0, skipped: t?.skipped ?? 0 },
    forecast: { ...forecast, bytesNow: Math.round(forecast.bytesNow), bytesAtHorizon: Math.round(forecast.bytesAtHorizon) },
  };
}

function sumKinds(rows: readonly InventoriedWorkspace[]): UsageByKind {
  const out = emptyUsage();
  for (const r of rows)
    for (const k of SNAPSHOT_KINDS) {
      out[k].count += r.byKind[k].count;
      out[k].bytes += r.byKind[k].bytes;
    }
  return out;
}

/** Gathers the inventory: every source read once, a probe per workspace when `checkExistence`. */
export async function collectWorkspaceInventory(deps: InventoryDeps, req: WorkspaceInventoryRequest): Promise<InventoryWorkspacesResult> {
  const progress = req.progress ?? (() => {});
  const byWorkspace = await protectedWorkspaces(deps, { workspaceIds: [] }, progress);
  const all = await deps.rigbox.listAllSnapshots({ signal: req.signal, onPage: (listed) => progress(`listed ${listed} snapshots`) });
  progress(`${all.length} snapshots`);
  const snapshotsOf = new Map<string, RigboxSnapshot[]>();
  for (const s of all) snapshotsOf.set(s.workspace_id, [...(snapshotsOf.get(s.workspace_id) ?? []), s]);
  const ids = [...new Set([...snapshotsOf.keys(), ...byWorkspace.keys(), ...req.workspaceIds])].sort();
  const gone = req.checkExistence ? await goneWorkspaces(deps.rigbox, ids, req.signal, progress) : null;
  const sessions = await checkpointSessions(deps.temporal, progress);
  const held = await heldByWorkspace(deps.temporal, [...snapshotsOf.keys()], progress);
  const since = new Date(req.sinceMs).toISOString();
  const runs = await backupRunsSince(deps.temporal, since);
  const rows = ids.map((id) =>
    rowOf(id, snapshotsOf.get(id) ?? [], byWorkspace.get(id), { gone, sessions, held: held.get(id) ?? new Map(), runs: runs.get(id), nowMs: req.nowMs }),
  );
  const orphanList = all.filter((s) => gone?.has(s.workspace_id)).sort((a, b) => -newestFirst(a, b));
  return {
    takenAt: new Date(req.nowMs).toISOString(),
    since,
    existenceChecked: req.checkExistence,
    workspaces: rows,
    orphans: {
      workspaceIds: [...(gone ?? [])].filter((id) => snapshotsOf.has(id)).sort(),
      count: orphanList.length,
      bytes: totalBytesOf(orphanList),
      snapshots: orphanList.slice(0, MAX_LISTED_SNAPSHOTS),
    },
    totals: {
      count: all.length,
      bytes: totalBytesOf(all),
      byKind: sumKinds(rows),
      expiring: rows.reduce((a, r) => mergeExpiring(a, r.expiring ?? emptyExpiring()), emptyExpiring()),
      forecastBytes: rows.reduce((a, r) => a + r.forecast.bytesAtHorizon, 0),
    },
  };
}

export interface PruneOrphansRequest {
  olderThanMs: number;
  olderThan: string;
  dryRun: boolean;
  snapshotIds?: string[];
  nowMs: number;
  signal?: AbortSignal;
  /** The activity's cancellation: no new deletion starts, and those waiting for their turn are given up. */
  cancelled?: AbortSignal;
  progress?: Progress;
  /**
   * What the entities of these (gone) workspaces still guard: holds and baselines, asked of each entity
   * (a query, never visibility). A read that fails fails the attempt: nothing is deleted unasked.
   */
  heldOf?: (workspaceIds: string[]) => Promise<HoldTest>;
}

/** The snapshots the entities of `workspaceIds` guard now (a hold or the baseline), as a HoldTest. */
async function heldInEntities(temporal: InventoryDeps['temporal'], workspaceIds: string[], progress: Progress): Promise<HoldTest> {
  const held = await heldByWorkspace(temporal, workspaceIds, progress);
  return (s) => held.get(s.workspace_id)?.has(s.id) ?? false;
}

/**
 * Finds the orphans (a 404 for their workspace, asked now) and, unless a dry run, deletes them, except
 * those their workspace's entity still holds (a deleted workspace's entity keeps its holds). A retried
 * attempt lists again: what an earlier attempt deleted is gone from the list, so nothing is deleted twice.
 */
export async function pruneOrphanSnapshots(rigbox: RigboxClient, req: PruneOrphansRequest): Promise<PruneOrphansResult> {
  const progress = req.progress ?? (() => {});
  const all = await rigbox.listAllSnapshots({ signal: req.signal, onPage: (listed) => progress(`listed ${listed} snapshots`) });
  const ids = [...new Set(all.map((s) => s.workspace_id))].sort();
  const gone = await goneWorkspaces(rigbox, ids, req.signal, progress);
  const held = req.heldOf && gone.size > 0 ? await req.heldOf([...gone]) : NO_HOLDS;
  const pick = selectOrphans(all, gone, {
    olderThanMs: req.olderThanMs,
    nowMs: req.nowMs,
    held,
    ...(req.snapshotIds ? { onlyIds: req.snapshotIds } : {}),
  });
  const failed: PruneOrphansResult['failed'] = [];
  let deleted = 0;
  if (!req.dryRun) {
    await mapLimit(pick.selected, CONCURRENCY, async (s) => {
      if (req.cancelled?.aborted) return;
      try {
        // A deletion not yet sent (waiting for its turn under the quota) is given up on cancellation; one sent is seen to its end.
        await rigbox.deleteSnapshot(s.workspace_id, s.id, { turnSignal: req.cancelled });
        deleted++;
      } catch (err) {
        if (req.cancelled?.aborted && !(err instanceof RigboxApiError)) return;
        if (err instanceof RigboxApiError && err.status === 404)
          deleted++; // gone already: what was asked for
        else failed.push({ snapshotId: s.id, message: err instanceof Error ? err.message : String(err) });
      }
      progress(`deleted ${deleted} of ${pick.selected.length}`);
    });
    // Those in flight have settled; the retry lists again, so what went is not deleted twice.
    if (req.cancelled?.aborted) throw req.cancelled.reason;
  }
  return {
    dryRun: req.dryRun,
    olderThan: req.olderThan,
    selected: pick.selected.slice(0, MAX_LISTED_SNAPSHOTS),
    selectedCount: pick.selected.length,
    selectedBytes: totalBytesOf(pick.selected),
    deletedCount: deleted,
    tooRecent: pick.tooRecent,
    held: pick.held.length,
    failed: failed.slice(0, MAX_LISTED_SNAPSHOTS),
  };
}

/**
 * Whether each named workspace exists (asked now), and for those that do not, the nearest ids rigsnap
 * knows: those Rigbox reveals through its snapshots and those its schedules name.
 */
export async function checkWorkspaceIds(
  deps: InventoryDeps,
  ids: readonly string[],
  signal: AbortSignal | undefined,
  progress: Progress,
): Promise<CheckWorkspacesResult> {
  const gone = await goneWorkspaces(deps.rigbox, [...new Set(ids)], signal, progress);
  if (gone.size === 0) return { workspaces: ids.map((workspaceId) => ({ workspaceId, exists: true, suggestions: [] })), knownCount: 0 };
  const all = await deps.rigbox.listAllSnapshots({ signal, onPage: (listed) => progress(`listed ${listed} snapshots`) });
  const scheduled = await protectedWorkspaces(deps, { workspaceIds: [] }, progress);
  const known = new Set([...all.map((s) => s.workspace_id), ...scheduled.keys()].filter((id) => !gone.has(id)));
  const nearest = new Map([...gone].map((id) => [id, nearestIds(id, known, 5)]));
  // A suggestion must exist itself: the snapshots of a deleted workspace still name it.
  const goneToo = await goneWorkspaces(deps.rigbox, [...new Set([...nearest.values()].flat())], signal, progress);
  const suggestionsOf = (id: string) => (nearest.get(id) ?? []).filter((s) => !goneToo.has(s)).slice(0, 3);
  return {
    workspaces: ids.map((workspaceId) => ({ workspaceId, exists: !gone.has(workspaceId), suggestions: suggestionsOf(workspaceId) })),
    knownCount: known.size,
  };
}

/** The activities: each heartbeats while it reads or deletes. */
export function createInventoryActivities(deps: { rigbox: RigboxClient; temporal?: { client: Client; taskQueue: string } }) {
  const beat = (phase: string) => {
    const ctx = Context.current();
    return { signal: ctx.cancellationSignal, progress: (status: string) => ctx.heartbeat({ phase, status }) };
  };
  return {
    async workspaceInventory(input: { checkExistence: boolean; sinceMs: number; workspaceIds: string[] }): Promise<InventoryWorkspacesResult> {
      if (!deps.temporal) throw new Error('workspaceInventory needs a Temporal client (ActivityDeps.temporal)');
      return collectWorkspaceInventory(
        { rigbox: deps.rigbox, temporal: deps.temporal },
        { ...input, nowMs: Date.now(), ...beat('reading the inventory') },
      ).catch((err: unknown) => {
        throw toFailure(err);
      });
    },
    async checkWorkspaceIds(input: { workspaceIds: string[] }): Promise<CheckWorkspacesResult> {
      if (!deps.temporal) throw new Error('checkWorkspaceIds needs a Temporal client (ActivityDeps.temporal)');
      const { signal, progress } = beat('checking workspaces');
      return checkWorkspaceIds({ rigbox: deps.rigbox, temporal: deps.temporal }, input.workspaceIds, signal, progress).catch((err: unknown) => {
        throw toFailure(err);
      });
    },
    async pruneOrphanSnapshots(input: Omit<PruneOrphansRequest, 'nowMs' | 'signal' | 'cancelled' | 'progress'>): Promise<PruneOrphansResult> {
      const { signal, progress } = beat(input.dryRun ? 'finding orphans' : 'deleting orphans');
      // Deletions are changes: never aborted once sent (see activities/env.ts changeOptions); the reads stop with the activity.
      if (!deps.temporal) throw new Error('pruneOrphanSnapshots needs a Temporal client (ActivityDeps.temporal): holds are asked of the entities');
      const temporal = deps.temporal;
      return pruneOrphanSnapshots(deps.rigbox, {
        ...input,
        nowMs: Date.now(),
        signal: input.dryRun ? signal : undefined,
        cancelled: signal,
        progress,
        heldOf: (ids) => heldInEntities(temporal, ids, progress),
      }).catch((err: unknown) => {
        throw toFailure(err);
      });
    },
  };
}
