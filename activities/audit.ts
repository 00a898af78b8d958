import { Context } from '@temporalio/activity';
import { refuseSelector, type Selector } from '../domain/enrollment.js';
import { selectEnrolled } from './selection.js';
import type { Client, ScheduleDescription } from '@temporalio/client';
import { WORKFLOW_TYPES, workspaceIdKey } from '../contract/index.js';
import {
  DEFAULT_BACKUP_PREFIX,
  RetentionPolicy,
  MEMO_KEYS,
  newestFirst,
  scheduleIds,
  type AuditInventory,
  type BackupRun,
  type InventoryWorkspace,
  type RigboxSnapshot,
} from '../domain/index.js';
import { judgeGuardedViews, readGuardedViews } from './audit-holds.js';
import { toFailure } from './failures.js';
import type { RigboxClient } from './rigbox-client.js';
import { goneWorkspaces, mapLimit } from './workspace-existence.js';

/**
 * What the backup audit and the worker's metric restoration know about protection: the rigsnap
 * schedules of this task queue (Temporal), every snapshot (Rigbox's list: the source of truth, since
 * Temporal histories expire), and the newest closed backup run of each workspace (visibility).
 */

const BACKUP_SCHEDULE_PREFIX = scheduleIds.backup('');
/** scheduleIds.fleet(name) without the name (the client's FLEET_PREFIX). */
const FLEET_SCHEDULE_PREFIX = 'rigsnap-fleet-';
/** Schedules described at once: enough to be quick, few enough not to crowd the frontend. */
const DESCRIBE_CONCURRENCY = 8;

export interface InventoryDeps {
  rigbox: RigboxClient;
  temporal: { client: Client; taskQueue: string };
}

export interface InventoryRequest {
  /** Audited too, without a schedule. */
  workspaceIds?: string[];
  /** Overrides every schedule's name prefix. */
  namePrefix?: string;
  /** Backup runs closed before this instant are not looked at. */
  runsSince: Date;
  signal?: AbortSignal;
  /** Called as work progresses (an activity heartbeats). */
  progress?: (what: string) => void;
  /** Ask Rigbox whether each workspace with snapshots still exists (one call each), to report orphans. */
  checkExistence?: boolean;
  /** Check every workspace entity's held and baseline snapshots against the listing (tamper detection). */
  checkHolds?: boolean;
}

export interface ScheduleState {
  scheduleId: string;
  paused: boolean;
  note: string | null;
}

/** rigsnap's backup and fleet schedules in the namespace (one list call per 1000 schedules). */
export async function listRigsnapSchedules(client: Client): Promise<ScheduleState[]> {
  const out: ScheduleState[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(BACKUP_SCHEDULE_PREFIX) && !s.scheduleId.startsWith(FLEET_SCHEDULE_PREFIX)) continue;
    out.push({ scheduleId: s.scheduleId, paused: s.state.paused, note: s.state.note || null });
  }
  return out;
}

interface ScheduleExtras {
  retention: RetentionPolicy | null;
  createdAt?: string;
}
const NO_EXTRAS: ScheduleExtras = { retention: null };

export const RUN_STATUS: Record<string, BackupRun['status'] | undefined> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  TIMED_OUT: 'timed-out',
  TERMINATED: 'terminated',
  CANCELLED: 'cancelled',
  CONTINUED_AS_NEW: 'continued-as-new',
};

/** What the schedules say of one workspace. */
export interface Protection {
  schedules: string[];
  pausedAll: boolean;
  prefixes: Set<string>;
  /** The retention of its first schedule that has one (the usage forecast reads it). */
  retention: RetentionPolicy | null;
  /** When its earliest schedule was created (an audit reads a schedule younger than the RPO as pending). */
  firstScheduledAt: string | null;
}

/**
 * A fleet schedule's workspaces: its list, or what its selector matches now (as its next run will resolve
 * it: the enrolled workspaces whose entities confirm the labels).
 */
async function fleetMembers(deps: InventoryDeps, args: { workspaceIds?: unknown; selector?: unknown }): Promise<unknown> {
  if (!args.selector || typeof args.selector !== 'object' || refuseSelector(args.selector)) return args.workspaceIds;
  return (await selectEnrolled(deps.temporal, args.selector as Selector)).workspaceIds;
}

/** Who is protected: the workspaces of this task queue's backup and fleet schedules, and those asked for. */
export async function protectedWorkspaces(
  deps: InventoryDeps,
  req: Pick<InventoryRequest, 'workspaceIds' | 'namePrefix'>,
  progress: (what: string) => void,
): Promise<Map<string, Protection>> {
  const { client, taskQueue } = deps.temporal;
  const schedules = await listRigsnapSchedules(client);
  progress(`${schedules.length} schedules`);
  const described = await mapLimit(schedules, DESCRIBE_CONCURRENCY, async (s): Promise<ScheduleDescription | null> => {
    try {
      return await client.schedule.getHandle(s.scheduleId).describe();
    } catch {
      return null; // deleted between the list and now
    } finally {
      progress(`described ${s.scheduleId}`);
    }
  });
  const byWorkspace = new Map<string, Protection>();
  const protect = (workspaceId: string, scheduleId: string | null, paused: boolean, prefix: string, extra: ScheduleExtras = NO_EXTRAS) => {
    const entry = byWorkspace.get(workspaceId) ?? { schedules: [], pausedAll: true, prefixes: new Set<string>(), retention: null, firstScheduledAt: null };
    entry.retention ??= extra.retention;
    if (extra.createdAt && (!entry.firstScheduledAt || extra.createdAt < entry.firstScheduledAt)) entry.firstScheduledAt = extra.createdAt;
    if (scheduleId) {
      entry.schedules.push(scheduleId);
      entry.pausedAll &&= paused;
    } else {
      entry.pausedAll = false;
    }
    entry.prefixes.add(req.namePrefix ?? prefix);
    byWorkspace.set(workspaceId, entry);
  };
  for (const d of described) {
    if (!d || d.action.type !== 'startWorkflow' || d.action.taskQueue !== taskQueue) continue;
    const args = (d.action.args?.[0] ?? {}) as { workspaceId?: unknown; workspaceIds?: unknown; selector?: unknown; namePrefix?: unknown; retention?: unknown };
    const prefix = typeof args.namePrefix === 'string' ? args.namePrefix : DEFAULT_BACKUP_PREFIX;
    const ids = d.action.workflowType === WORKFLOW_TYPES['fleet-backup'] ? await fleetMembers(deps, args) : [args.workspaceId];
    if (!Array.isArray(ids)) continue;
    const parsed = RetentionPolicy.safeParse(args.retention);
    const extra: ScheduleExtras = { retention: parsed.success ? parsed.data : null, createdAt: d.info.createdAt.toISOString() };
    for (const id of ids) if (typeof id === 'string') protect(id, d.scheduleId, d.state.paused, prefix, extra);
  }
  for (const id of req.workspaceIds ?? []) protect(id, null, false, DEFAULT_BACKUP_PREFIX);
  return byWorkspace;
}

/** What Rigbox holds: every snapshot, in one (paged) list, by workspace. */
async function snapshotsByWorkspace(deps: InventoryDeps, req: InventoryRequest, progress: (what: string) => void): Promise<Map<string, RigboxSnapshot[]>> {
  const all = await deps.rigbox.listAllSnapshots({ signal: req.signal });
  progress(`${all.length} snapshots`);
  const snapshotsOf = new Map<string, RigboxSnapshot[]>();
  for (const s of all) {
    const list = snapshotsOf.get(s.workspace_id) ?? [];
    list.push(s);
    snapshotsOf.set(s.workspace_id, list);
  }
  return snapshotsOf;
}

/** The memo a skipped backup run leaves (workflows/notice.ts): who skipped it and why. */
function skippedOf(memo: unknown): { reason: string; by: string } | undefined {
  const m = memo as { reason?: unknown; by?: unknown } | undefined;
  return m && typeof m.reason === 'string' && typeof m.by === 'string' ? { reason: m.reason, by: m.by } : undefined;
}

/** How the newest backup run of each workspace ended (closed runs of this task queue since `since`). */
async function lastBackupRuns(deps: InventoryDeps, since: string, progress: (what: string) => void): Promise<Map<string, BackupRun>> {
  const { client, taskQueue } = deps.temporal;
  const lastRuns = new Map<string, BackupRun>();
  const query = `WorkflowType = '${WORKFLOW_TYPES.backup}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running' ` + `AND CloseTime > '${since}'`;
  for await (const w of client.workflow.list({ query })) {
    const workspaceId = w.typedSearchAttributes.get(workspaceIdKey);
    const status = RUN_STATUS[w.status.name];
    if (!workspaceId || !status || !w.closeTime) continue;
    const seen = lastRuns.get(workspaceId);
    if (!seen || Date.parse(seen.closedAt) < w.closeTime.getTime()) {
      const skipped = skippedOf(w.memo?.[MEMO_KEYS.skipped]);
      const requestedBy = w.memo?.[MEMO_KEYS.requestedBy];
      lastRuns.set(workspaceId, {
        workflowId: w.workflowId,
        status,
        closedAt: w.closeTime.toISOString(),
        ...(skipped ? { skipped } : {}),
        ...(typeof requestedBy === 'string' ? { requestedBy } : {}),
      });
    }
  }
  progress(`${lastRuns.size} workspaces with backup runs`);
  return lastRuns;
}

const totalBytes = (list: RigboxSnapshot[]) => list.reduce((sum, s) => sum + s.size_bytes, 0);

/** One row per protected workspace, by id. */
function protectedRows(
  byWorkspace: Map<string, Protection>,
  snapshotsOf: Map<string, RigboxSnapshot[]>,
  lastRuns: Map<string, BackupRun>,
): InventoryWorkspace[] {
  return [...byWorkspace.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([workspaceId, e]) => {
      const own = (snapshotsOf.get(workspaceId) ?? []).sort(newestFirst);
      const prefixes = [...e.prefixes].sort();
      return {
        workspaceId,
        schedules: e.schedules.sort(),
        paused: e.schedules.length > 0 && e.pausedAll,
        namePrefixes: prefixes,
        newestBackup: own.find((s) => prefixes.some((p) => s.name.startsWith(p))) ?? null,
        snapshotCount: own.length,
        snapshotBytes: totalBytes(own),
        lastRun: lastRuns.get(workspaceId) ?? null,
        firstScheduledAt: e.firstScheduledAt,
      };
    });
}

/** One row per workspace that has snapshots but no protection, by id. */
function unprotectedRows(byWorkspace: Map<string, Protection>, snapshotsOf: Map<string, RigboxSnapshot[]>): AuditInventory['unprotected'] {
  return [...snapshotsOf.entries()]
    .filter(([workspaceId]) => !byWorkspace.has(workspaceId))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([workspaceId, list]) => ({
      workspaceId,
      snapshotCount: list.length,
      snapshotBytes: totalBytes(list),
      newestSnapshot: [...list].sort(newestFirst)[0] ?? null,
    }));
}

/** Gathers the inventory. Each source is read once: no per-workspace call to Rigbox (but for existence, when asked). */
export async function collectInventory(deps: InventoryDeps, req: InventoryRequest): Promise<AuditInventory> {
  const progress = req.progress ?? (() => {});
  const byWorkspace = await protectedWorkspaces(deps, req, progress);
  // The holds are read before the listing: a snapshot held then existed before Rigbox was listed (domain/tamper.ts).
  const guarded = req.checkHolds ? await readGuardedViews(deps.temporal, [...byWorkspace.keys()], progress) : null;
  const snapshotsOf = await snapshotsByWorkspace(deps, req, progress);
  const tamper = guarded ? await judgeGuardedViews(deps.temporal, guarded, [...snapshotsOf.values()].flat(), progress) : null;
  const since = req.runsSince.toISOString();
  const lastRuns = await lastBackupRuns(deps, since, progress);
  const inventory: AuditInventory = {
    protected: protectedRows(byWorkspace, snapshotsOf, lastRuns),
    unprotected: unprotectedRows(byWorkspace, snapshotsOf),
    runsSince: since,
    ...(tamper ?? {}),
  };
  if (!req.checkExistence) return inventory;
  const gone = await goneWorkspaces(deps.rigbox, [...snapshotsOf.keys()].sort(), req.signal, progress);
  const orphaned = [...gone].sort();
  const orphans = orphaned.flatMap((id) => snapshotsOf.get(id) ?? []);
  return { ...inventory, orphans: { workspaceIds: orphaned, count: orphans.length, bytes: totalBytes(orphans) } };
}

/** The audit's activity: the inventory, heartbeating while it reads. */
export function createAuditActivities(deps: { rigbox: RigboxClient; temporal?: { client: Client; taskQueue: string } }) {
  return {
    async auditInventory(input: {
      workspaceIds: string[];
      namePrefix?: string;
      runsSinceMs: number;
      checkExistence?: boolean;
      checkHolds?: boolean;
    }): Promise<AuditInventory> {
      if (!deps.temporal) throw new Error('auditInventory needs a Temporal client (ActivityDeps.temporal)');
      const ctx = Context.current();
      return collectInventory(
        { rigbox: deps.rigbox, temporal: deps.temporal },
        {
          workspaceIds: input.workspaceIds,
          ...(input.namePrefix ? { namePrefix: input.namePrefix } : {}),
          runsSince: new Date(input.runsSinceMs),
          checkExistence: Boolean(input.checkExistence),
          checkHolds: Boolean(input.checkHolds),
          signal: ctx.cancellationSignal,
          progress: (what) => ctx.heartbeat({ phase: 'reading the inventory', status: what }),
        },
      ).catch((err: unknown) => {
        throw toFailure(err);
      });
    },
  };
}
