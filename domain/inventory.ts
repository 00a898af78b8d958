/**
 * Knowing every workspace: what each snapshot is (backup, checkpoint, held, restore safety, hand-made),
 * the workspaces Rigbox reveals through its snapshot list, which are protected, the orphans (snapshots
 * of workspaces that no longer exist), and a 30-day storage forecast from the retention policy and the
 * recent size trend. Pure: the inventory activity, the CLI and the unit tests share it (no zod here:
 * workflows import the types).
 */
import { DEFAULT_BACKUP_PREFIX, SAFETY_SNAPSHOT_PREFIX } from './constants.js';
import type { RetentionPolicy } from './inputs.js';
import { newestFirst } from './order.js';
import { selectRetention } from './retention.js';
import type { RigboxSnapshot } from './rigbox.js';

/** What a snapshot is for. `held`: under a hold now (the inventory reads each workspace entity). */
export const SNAPSHOT_KINDS = ['backup', 'checkpoint', 'held', 'safety', 'manual'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

export interface KindTotals {
  count: number;
  bytes: number;
}
export type UsageByKind = Record<SnapshotKind, KindTotals>;

/** What tells the kinds apart besides names: ids only the workflows know. */
export interface ClassifyContext {
  /** Backups are named `<prefix>…` (the workspace's schedules' prefixes; daily-backup- without one). */
  backupPrefixes: readonly string[];
  /** Snapshots taken by checkpoint sessions (from their runs: a checkpoint's name is the user's). */
  checkpointIds: ReadonlySet<string>;
  /** Snapshots under a hold. Hook for holds (issue 19's workspace entity): empty until they exist. */
  heldIds: ReadonlySet<string>;
}

/** A hold outranks everything (it decides deletion); then checkpoints, safety snapshots, backups; the rest is hand-made. */
export function classifySnapshot(s: Pick<RigboxSnapshot, 'id' | 'name'>, ctx: ClassifyContext): SnapshotKind {
  if (ctx.heldIds.has(s.id)) return 'held';
  if (ctx.checkpointIds.has(s.id)) return 'checkpoint';
  if (s.name.startsWith(SAFETY_SNAPSHOT_PREFIX)) return 'safety';
  if (ctx.backupPrefixes.some((p) => p.length > 0 && s.name.startsWith(p))) return 'backup';
  return 'manual';
}

export function emptyUsage(): UsageByKind {
  return {
    backup: { count: 0, bytes: 0 },
    checkpoint: { count: 0, bytes: 0 },
    held: { count: 0, bytes: 0 },
    safety: { count: 0, bytes: 0 },
    manual: { count: 0, bytes: 0 },
  };
}

/** Counts and bytes by kind. */
export function usageByKind(snapshots: readonly RigboxSnapshot[], ctx: ClassifyContext): UsageByKind {
  const out = emptyUsage();
  for (const s of snapshots) {
    const k = out[classifySnapshot(s, ctx)];
    k.count++;
    k.bytes += s.size_bytes;
  }
  return out;
}

export const totalBytesOf = (list: readonly { size_bytes: number }[]) => list.reduce((sum, s) => sum + s.size_bytes, 0);

export const GIB = 1024 ** 3;
export const bytesToGib = (bytes: number) => bytes / GIB;

/** Storage cost of `bytes` for a month at `pricePerGibMonth`. */
export function monthlyCost(bytes: number, pricePerGibMonth: number): number {
  return bytesToGib(bytes) * pricePerGibMonth;
}

// ---- the forecast ---------------------------------------------------------------------------------

export const FORECAST_DAYS = 30;
const DAY_MS = 86_400_000;
/** Backups looked at for the size trend and the cadence: recent enough to be the trend. */
export const TREND_SAMPLES = 14;

export interface ForecastInput {
  /** The workspace's backups (any order). */
  backups: readonly RigboxSnapshot[];
  /** The name prefix new backups get (what retention selects). */
  namePrefix: string;
  /** The schedule's retention; null: nothing is pruned, every backup stays. */
  retention: RetentionPolicy | null;
  /** Whether a schedule keeps making backups; false: nothing new is made. */
  scheduled: boolean;
  /** Snapshots of other kinds: they stay as they are (their own retention is not forecast). */
  otherBytes: number;
  nowMs: number;
  days?: number;
}

export interface Forecast {
  bytesNow: number;
  bytesAtHorizon: number;
  /** Backups the retention keeps at the horizon: its slots. */
  backupSlots: number;
  /** The size trend: bytes per day a backup grows (least squares over the recent backups). */
  trendBytesPerDay: number;
  /** How often a backup is made (median interval of the recent ones; 1 day when unknown). */
  cadenceHours: number;
}

/** Least-squares slope of size over time, in bytes per millisecond (0 with fewer than two points or one instant). */
export function sizeSlope(points: readonly { t: number; bytes: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mb = points.reduce((a, p) => a + p.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.bytes - mb);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function medianInterval(times: readonly number[]): number | null {
  if (times.length < 2) return null;
  const sorted = [...times].sort((a, b) => a - b);
  const gaps = sorted
    .slice(1)
    .map((t, i) => t - sorted[i]!)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)]! : null;
}

/**
 * The storage of one workspace `days` from now: the backups its schedule will have made by then (one
 * per cadence, each the size the recent trend predicts), thinned by its retention exactly as prune will
 * thin them (selectRetention), plus everything else as it is.
 */
export function forecastStorage(input: ForecastInput): Forecast {
  const days = input.days ?? FORECAST_DAYS;
  const recent = [...input.backups].sort(newestFirst).slice(0, TREND_SAMPLES);
  const points = recent.map((s) => ({ t: Date.parse(s.created_at), bytes: s.size_bytes }));
  const slope = sizeSlope(points);
  const cadence = medianInterval(points.map((p) => p.t)) ?? DAY_MS;
  const bytesNow = totalBytesOf(input.backups) + input.otherBytes;
  const horizon = input.nowMs + days * DAY_MS;
  const future: RigboxSnapshot[] = [];
  const last = points[0];
  const workspaceId = input.backups[0]?.workspace_id ?? 'ws_forecast';
  if (input.scheduled) {
    const from = last ? last.t : input.nowMs;
    const base = last ? last.bytes : 0;
    for (let t = from + cadence, i = 0; t <= horizon; t += cadence, i++) {
      const bytes = Math.max(0, Math.round(base + slope * (t - from)));
      future.push({
        id: `snap_forecast_${i}`,
        workspace_id: workspaceId,
        name: `${input.namePrefix}forecast-${i}`,
        size_bytes: bytes,
        created_at: new Date(t).toISOString(),
      });
    }
  }
  const all = [...input.backups.map((s) => ({ ...s, workspace_id: workspaceId })), ...future];
  const kept = input.retention ? selectRetention(all, workspaceId, input.namePrefix, input.retention).kept.map((k) => k.snapshot) : all;
  // Backups outside the prefix (an earlier prefix, say) are never pruned: they stay.
  const untouched = input.retention ? all.filter((s) => !s.name.startsWith(input.namePrefix)) : [];
  const keptBytes = totalBytesOf(kept) + totalBytesOf(untouched);
  return {
    bytesNow,
    bytesAtHorizon: keptBytes + input.otherBytes,
    backupSlots: kept.length + untouched.length,
    trendBytesPerDay: Math.round(slope * DAY_MS),
    cadenceHours: Math.round((cadence / 3_600_000) * 100) / 100,
  };
}

// ---- discovery and orphans ------------------------------------------------------------------------

/** Whether rigsnap already looks after a workspace: by default, protected by a schedule (`discover` adds the enrolled). */
export type EnrolledTest = (w: { workspaceId: string; schedules: readonly string[] }) => boolean;
export const protectedBySchedule: EnrolledTest = (w) => w.schedules.length > 0;

/**
 * The workspaces Rigbox reveals (those with snapshots) that are not enrolled, biggest first. `enrolled`
 * says who rigsnap knows: `discover` passes "enrolled (its entity says so) or protected by a schedule". A
 * workspace known to be gone (`exists: false`) is an orphan, not a discovery.
 */
export function discoverWorkspaces<W extends { workspaceId: string; schedules: readonly string[]; exists: boolean | null; snapshotBytes: number }>(
  workspaces: readonly W[],
  enrolled: EnrolledTest = protectedBySchedule,
): W[] {
  return workspaces
    .filter((w) => w.exists !== false && !enrolled(w))
    .sort((a, b) => b.snapshotBytes - a.snapshotBytes || a.workspaceId.localeCompare(b.workspaceId));
}

/** Whether a snapshot is held (by its workspace entity: a hold or the baseline) and must not be deleted. */
export type HoldTest = (s: RigboxSnapshot) => boolean;
export const NO_HOLDS: HoldTest = () => false;

/**
 * The orphans a prune may delete: snapshots of workspaces Rigbox answers 404 for, created at least
 * `olderThanMs` before `nowMs`, not held, and (when given) among the ids a dry run showed. Oldest first.
 */
export function selectOrphans(
  snapshots: readonly RigboxSnapshot[],
  gone: ReadonlySet<string>,
  opts: { olderThanMs: number; nowMs: number; onlyIds?: readonly string[]; held?: HoldTest },
): { selected: RigboxSnapshot[]; held: RigboxSnapshot[]; tooRecent: number } {
  const only = opts.onlyIds ? new Set(opts.onlyIds) : null;
  const held = opts.held ?? NO_HOLDS;
  const orphans = snapshots.filter((s) => gone.has(s.workspace_id) && (!only || only.has(s.id)));
  const old = orphans.filter((s) => opts.nowMs - Date.parse(s.created_at) >= opts.olderThanMs);
  return {
    selected: old.filter((s) => !held(s)).sort((a, b) => -newestFirst(a, b)),
    held: old.filter(held),
    tooRecent: orphans.length - old.length,
  };
}

/** The name prefix a workspace's backups get: its schedules' first, else the default. */
export function backupPrefixOf(prefixes: readonly string[]): string {
  return prefixes[0] ?? DEFAULT_BACKUP_PREFIX;
}

// ---- typos --------------------------------------------------------------------------------------

/** Levenshtein distance (insertions, deletions, substitutions), in O(a·b) time and O(b) space. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known ids nearest to `id`, closest first (ties by id), at most `max`, and only those close enough
 * to be a typo of it: within a third of its length (at least 2 edits, since `ws_dmeo` is 2 from `ws_demo`).
 */
export function nearestIds(id: string, known: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(id.length / 3));
  return [...new Set(known)]
    .filter((k) => k !== id)
    .map((k) => ({ k, d: editDistance(id, k) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map((x) => x.k);
}
