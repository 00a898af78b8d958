/**
 * Retention of the snapshots that are not backups but that rigsnap made: a checkpoint's snapshot once its
 * session ended (release or TTL) and a restore's safety snapshot (`pre-restore-…`). Without this they fall
 * outside every retention and storage only grows. Pure: the prune workflow's selection activity, `usage`
 * (what is due to expire, and when) and the property tests share it.
 *
 * Invariants (property-tested in test/unit/expiry.test.ts):
 * - a held snapshot never expires;
 * - the snapshot of a checkpoint session that is still open never expires (an open session's snapshot
 *   also counts as one, so a snapshot with any open session is safe whatever else is known of it);
 * - a snapshot expires only once its due time has passed, and a later `now` expires a superset;
 * - only this workspace's snapshots, and only checkpoint or safety ones: backups and hand-made snapshots never.
 */
import { DEFAULT_EXPIRE_CHECKPOINTS_AFTER, DEFAULT_EXPIRE_SAFETY_AFTER, NEVER_EXPIRE, SAFETY_SNAPSHOT_PREFIX } from './constants.js';
import type { RigboxSnapshot } from './rigbox.js';
import { parseDuration } from './time.js';

export type ExpiringKind = 'checkpoint' | 'safety';

/** The two settings as milliseconds; null: never. */
export interface ExpiryPolicy {
  checkpointsAfterMs: number | null;
  safetyAfterMs: number | null;
}

/** What a retention policy says (its optional `expireCheckpointsAfter` / `expireSafetyAfter`), the defaults filling the gaps. */
export function expiryPolicyOf(retention: { expireCheckpointsAfter?: string; expireSafetyAfter?: string } | null | undefined): ExpiryPolicy {
  const ms = (text: string | undefined, fallback: string) => {
    const t = text ?? fallback;
    return t === NEVER_EXPIRE ? null : (parseDuration(t) ?? parseDuration(fallback)!);
  };
  return {
    checkpointsAfterMs: ms(retention?.expireCheckpointsAfter, DEFAULT_EXPIRE_CHECKPOINTS_AFTER),
    safetyAfterMs: ms(retention?.expireSafetyAfter, DEFAULT_EXPIRE_SAFETY_AFTER),
  };
}

/** One checkpoint session of the workspace as its own run says (describe and result, never visibility). */
export interface CheckpointSessionFacts {
  /** Its snapshot; sessions whose snapshot is unknown are left out (their snapshot stays hand-made: never expired). */
  snapshotId: string;
  /** When the session ended (its run's close time); null while it is open. */
  endedAt: string | null;
}

export interface ExpiryItem {
  snapshot: RigboxSnapshot;
  kind: ExpiringKind;
  /**
   * When it expires (may be past); null: not foreseeable (an open checkpoint, the setting `never`, or
   * held with no known end). A held one whose holds end (`holdEnds`) is due when both its retention
   * and its last hold have run out.
   */
  dueAt: string | null;
  /** Why it is kept past its due time, when it is: `hold`, `open checkpoint`. */
  keptBecause?: 'hold' | 'open checkpoint';
}

export interface ExpiryPlan {
  /** Due and free to go, oldest due first. */
  expired: ExpiryItem[];
  /** Checkpoint and safety snapshots that stay for now, soonest due first (never-due last). */
  waiting: ExpiryItem[];
}

function kindOf(s: RigboxSnapshot, ended: ReadonlyMap<string, string>, open: ReadonlySet<string>): ExpiringKind | null {
  if (ended.has(s.id) || open.has(s.id)) return 'checkpoint';
  if (s.name.startsWith(SAFETY_SNAPSHOT_PREFIX)) return 'safety';
  return null;
}

function dueAtOf(s: RigboxSnapshot, kind: ExpiringKind, endedAt: string | undefined, policy: ExpiryPolicy): string | null {
  const after = kind === 'checkpoint' ? policy.checkpointsAfterMs : policy.safetyAfterMs;
  const from = kind === 'checkpoint' ? endedAt : s.created_at;
  if (after === null || from === undefined) return null;
  const t = Date.parse(from);
  return Number.isNaN(t) ? null : new Date(t + after).toISOString();
}

/** The later of a due time and a hold's end; null when either never comes (or the hold's end is unknown: undefined). */
function laterOf(due: string | null, holdEnd: string | null | undefined): string | null {
  if (due === null || holdEnd === null || holdEnd === undefined) return null;
  return Date.parse(holdEnd) > Date.parse(due) ? new Date(Date.parse(holdEnd)).toISOString() : due;
}

const byDue = (a: ExpiryItem, b: ExpiryItem) =>
  (a.dueAt === null ? 1 : 0) - (b.dueAt === null ? 1 : 0) || (a.dueAt ?? '').localeCompare(b.dueAt ?? '') || a.snapshot.id.localeCompare(b.snapshot.id);

/**
 * Which of a workspace's checkpoint and safety snapshots have expired at `nowMs`. A checkpoint's snapshot
 * is due `checkpointsAfter` after its session ended; a safety snapshot `safetyAfter` after it was taken.
 * Held snapshots and those of open sessions are kept whatever their due time.
 */
export function planExpiry(
  snapshots: readonly RigboxSnapshot[],
  workspaceId: string,
  facts: {
    sessions: readonly CheckpointSessionFacts[];
    heldIds: ReadonlySet<string>;
    /** For held snapshots, when their last hold ends (null: never); unknown ones are never due while held. */
    holdEnds?: ReadonlyMap<string, string | null>;
  },
  policy: ExpiryPolicy,
  nowMs: number,
): ExpiryPlan {
  const open = new Set(facts.sessions.filter((x) => x.endedAt === null).map((x) => x.snapshotId));
  const ended = new Map<string, string>();
  for (const x of facts.sessions) if (x.endedAt !== null && !open.has(x.snapshotId)) ended.set(x.snapshotId, x.endedAt);
  const plan: ExpiryPlan = { expired: [], waiting: [] };
  for (const s of snapshots) {
    if (s.workspace_id !== workspaceId) continue;
    const kind = kindOf(s, ended, open);
    if (!kind) continue;
    const held = facts.heldIds.has(s.id);
    const own = open.has(s.id) ? null : dueAtOf(s, kind, ended.get(s.id), policy);
    const dueAt = held ? laterOf(own, facts.holdEnds?.get(s.id)) : own;
    const keptBecause = held ? 'hold' : open.has(s.id) ? 'open checkpoint' : undefined;
    const item: ExpiryItem = { snapshot: s, kind, dueAt, ...(keptBecause ? { keptBecause } : {}) };
    if (!keptBecause && dueAt !== null && Date.parse(dueAt) <= nowMs) plan.expired.push(item);
    else plan.waiting.push(item);
  }
  plan.expired.sort(byDue);
  plan.waiting.sort(byDue);
  return plan;
}

/** What `usage` shows per kind: what is waiting to expire, how much, and from when to when. */
export interface ExpiringTotals {
  count: number;
  bytes: number;
  /** The earliest and latest due times of those that will expire (null when none will). */
  firstDueAt: string | null;
  lastDueAt: string | null;
  /** Of those, already due (the next prune deletes them). */
  dueNowCount: number;
  dueNowBytes: number;
}
export type ExpiringByKind = Record<ExpiringKind, ExpiringTotals>;

export function emptyExpiring(): ExpiringByKind {
  const z = (): ExpiringTotals => ({ count: 0, bytes: 0, firstDueAt: null, lastDueAt: null, dueNowCount: 0, dueNowBytes: 0 });
  return { checkpoint: z(), safety: z() };
}

/**
 * Adds a plan's items that will expire into `into`: those with a due time (a held one only when its holds
 * end, then due once they have; never an open session's). "Due now" counts only what the next prune may delete.
 */
export function addExpiring(into: ExpiringByKind, items: readonly ExpiryItem[], nowMs: number): ExpiringByKind {
  for (const it of items) {
    if (it.dueAt === null || it.keptBecause === 'open checkpoint') continue;
    const t = into[it.kind];
    t.count++;
    t.bytes += it.snapshot.size_bytes;
    if (t.firstDueAt === null || it.dueAt < t.firstDueAt) t.firstDueAt = it.dueAt;
    if (t.lastDueAt === null || it.dueAt > t.lastDueAt) t.lastDueAt = it.dueAt;
    if (Date.parse(it.dueAt) <= nowMs && !it.keptBecause) {
      t.dueNowCount++;
      t.dueNowBytes += it.snapshot.size_bytes;
    }
  }
  return into;
}

/** Sums of per-workspace totals. */
export function mergeExpiring(into: ExpiringByKind, other: ExpiringByKind): ExpiringByKind {
  for (const k of ['checkpoint', 'safety'] as const) {
    const a = into[k];
    const b = other[k];
    a.count += b.count;
    a.bytes += b.bytes;
    a.dueNowCount += b.dueNowCount;
    a.dueNowBytes += b.dueNowBytes;
    if (b.firstDueAt !== null && (a.firstDueAt === null || b.firstDueAt < a.firstDueAt)) a.firstDueAt = b.firstDueAt;
    if (b.lastDueAt !== null && (a.lastDueAt === null || b.lastDueAt > a.lastDueAt)) a.lastDueAt = b.lastDueAt;
  }
  return into;
}
