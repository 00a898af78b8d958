/**
 * Retention of a group schedule (issue 23, item 4): which recorded sets of a group stay and which are
 * deleted whole. It counts sets, not snapshots: the keep-* rules of domain/retention.ts applied to the
 * complete sets (one per moment of the group), so `keepLast: 7` keeps seven moments of every member.
 * Pure and deterministic: the backupGroup workflow runs it in its sandbox; property-tested in
 * test/unit/group-retention.test.ts.
 *
 * - Only sets whose name starts with the schedule's prefix are candidates: a set taken by hand
 *   (`rigsnap snapshot --group`) or by another schedule is never touched, and neither is a retired one.
 * - A set any of whose snapshots is held (a person's hold, a checkpoint's) stays whole: the hold wanted that
 *   moment, and its siblings are what make it a restore point. It counts like any other kept set.
 * - Incomplete sets (a member failed) never count toward N. One is deleted once it is older than the
 *   oldest complete set kept; while no complete set is kept, none is (it is the only record of its moment).
 */
import type { GroupSet } from './groups.js';
import type { RetentionPolicy } from './inputs.js';
import { selectRetention } from './retention.js';
import type { RigboxSnapshot } from './rigbox.js';

export interface KeptGroupSet {
  set: GroupSet;
  /** Why: `newest`, `last`, `daily`, … as for snapshots; `hold: <reason>`; `incomplete, newer than the oldest kept set`. */
  reasons: string[];
}

export interface GroupRetentionSelection {
  /** Newest first. */
  kept: KeptGroupSet[];
  /** Newest first: every member's snapshot of these is deleted. */
  deleted: GroupSet[];
  /** Recorded sets that are not candidates: other names, or already retired. */
  ignored: number;
}

export const INCOMPLETE_KEPT_REASON = 'incomplete, newer than the oldest kept set';

/** A set's identity in the record: the run that took it (one set per run). */
export function setKey(set: Pick<GroupSet, 'workflowId' | 'runId'>): string {
  return `${set.workflowId}/${set.runId}`;
}

/** The snapshot ids a set holds in Rigbox (its members that were snapshotted). */
export function setSnapshotIds(set: GroupSet): string[] {
  return set.members.flatMap((m) => (m.snapshotId ? [m.snapshotId] : []));
}

/** The hold reasons of a set: those of each of its snapshots, once each. */
function heldReasons(set: GroupSet, held: Readonly<Record<string, readonly string[]>>): string[] {
  return [...new Set(setSnapshotIds(set).flatMap((id) => held[id] ?? []))];
}

/**
 * The selection. `held` maps snapshot ids to their hold reasons (`hold: …`), without the holds the group
 * schedule places on its own kept sets (those protect them from single-workspace prunes, not from this).
 */
export function selectGroupRetention(
  sets: readonly GroupSet[],
  namePrefix: string,
  policy: RetentionPolicy,
  held: Readonly<Record<string, readonly string[]>> = {},
): GroupRetentionSelection {
  const candidates = sets.filter((s) => !s.retired && namePrefix.length > 0 && s.name.startsWith(namePrefix));
  const byKey = new Map(candidates.map((s) => [setKey(s), s]));
  // Each complete set as one "snapshot" of the group, so the keep-* rules are the snapshots' own.
  const asSnapshots: RigboxSnapshot[] = candidates
    .filter((s) => s.complete)
    .map((s) => ({ id: setKey(s), workspace_id: 'ws_group', name: s.name, size_bytes: 0, created_at: s.at }));
  const heldByKey: Record<string, string[]> = {};
  for (const s of candidates) {
    const reasons = heldReasons(s, held);
    if (reasons.length) heldByKey[setKey(s)] = reasons;
  }
  const complete = selectRetention(asSnapshots, 'ws_group', namePrefix, policy, heldByKey);
  const kept: KeptGroupSet[] = complete.kept.map((k) => ({ set: byKey.get(k.snapshot.id)!, reasons: k.reasons }));
  const deleted: GroupSet[] = complete.deleted.map((d) => byKey.get(d.id)!);

  const oldestKept = kept.length ? Math.min(...kept.map((k) => Date.parse(k.set.at))) : null;
  for (const s of candidates.filter((x) => !x.complete)) {
    const holds = heldByKey[setKey(s)];
    if (holds) kept.push({ set: s, reasons: holds });
    else if (oldestKept === null || Date.parse(s.at) >= oldestKept) kept.push({ set: s, reasons: [INCOMPLETE_KEPT_REASON] });
    else deleted.push(s);
  }
  const newestFirst = (a: GroupSet, b: GroupSet) => Date.parse(b.at) - Date.parse(a.at);
  kept.sort((a, b) => newestFirst(a.set, b.set));
  deleted.sort(newestFirst);
  return { kept, deleted, ignored: sets.length - candidates.length };
}
