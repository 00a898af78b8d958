/**
 * Tamper detection (issue 20, item 3): which held or baseline snapshots are gone from Rigbox although
 * rigsnap never deleted them. Pure: the audit's activity reads each workspace entity's holds view before
 * and after one listing of Rigbox, and this decides from those three reads.
 *
 * Why two reads of the entity around the listing: a snapshot held in the first read existed before the
 * listing began (a hold is placed on a snapshot that exists), so its absence from the listing is real;
 * the second read drops what rigsnap itself deleted (or began deleting, or stopped guarding) while the
 * listing ran. A hold placed after the first read is not judged at all: the next audit sees it.
 */
import { activeHolds, normaliseHolds, type HoldKind, type HoldsView } from './holds.js';

/** Why a missing snapshot mattered: one of its holds, or the baseline. */
export interface GuardedBy {
  kind: HoldKind;
  reason: string;
  by: string;
  /** When the hold was placed (or the baseline set). */
  since: string | null;
}

export interface MissingHeldSnapshot {
  snapshotId: string;
  /** Its name when an audit last saw it; null if no audit ever did. */
  name: string | null;
  guardedBy: GuardedBy[];
  /** When an audit last found it in Rigbox (recorded in the entity); null if none did. */
  lastSeen: string | null;
  /** The earliest hold (or baseline) on it: it was known to rigsnap from then on. */
  heldSince: string | null;
}

export interface TamperedWorkspace {
  workspaceId: string;
  missing: MissingHeldSnapshot[];
}

/** What guards each snapshot of a view at `at`: its active holds, and the baseline (held by its own hold too). */
export function guardedSnapshots(view: HoldsView, at: string): Map<string, GuardedBy[]> {
  const out = new Map<string, GuardedBy[]>();
  const add = (id: string, g: GuardedBy) => out.set(id, [...(out.get(id) ?? []), g]);
  for (const h of activeHolds(normaliseHolds({ items: view.holds }), at)) {
    add(h.snapshotId, { kind: h.kind ?? 'manual', reason: h.reason, by: h.by, since: h.since ?? null });
  }
  const base = view.baseline.snapshotId;
  if (base && !out.get(base)?.some((g) => g.kind === 'baseline')) {
    add(base, { kind: 'baseline', reason: 'team baseline', by: view.baseline.by ?? 'unknown', since: view.baseline.setAt ?? null });
  }
  return out;
}

/** Ids rigsnap deleted or is deleting, per the view. */
function deletedByRigsnap(view: HoldsView): Set<string> {
  return new Set([...view.deleted, ...(view.deleting ?? [])].map((d) => d.snapshotId));
}

const earliest = (xs: Array<string | null>) => xs.filter((x): x is string => x !== null).sort()[0] ?? null;

/**
 * The guarded snapshots of `before` missing from Rigbox's listing (`present`: ids listed), still guarded
 * in `after` and not deleted by rigsnap in either read. `after` null (the entity could not be read
 * again): nothing is judged, rather than risk a false alarm.
 */
export function missingHeldSnapshots(before: HoldsView, present: ReadonlySet<string>, after: HoldsView | null, at: string): MissingHeldSnapshot[] {
  if (!after) return [];
  const stillGuarded = guardedSnapshots(after, at);
  const rigsnapDeleted = new Set([...deletedByRigsnap(before), ...deletedByRigsnap(after)]);
  const out: MissingHeldSnapshot[] = [];
  for (const [snapshotId, guardedBy] of guardedSnapshots(before, at)) {
    if (present.has(snapshotId) || rigsnapDeleted.has(snapshotId) || !stillGuarded.has(snapshotId)) continue;
    const sighting = after.seen?.[snapshotId] ?? before.seen?.[snapshotId];
    out.push({
      snapshotId,
      name: sighting?.name ?? null,
      guardedBy,
      lastSeen: sighting?.at ?? null,
      heldSince: earliest(guardedBy.map((g) => g.since)),
    });
  }
  return out.sort((a, b) => a.snapshotId.localeCompare(b.snapshotId));
}

/** The guarded snapshots of a view found in Rigbox, with their names: what the audit tells the entity it saw. */
export function sightings(view: HoldsView, listed: ReadonlyMap<string, string>, at: string): Array<{ snapshotId: string; name: string }> {
  return [...guardedSnapshots(view, at).keys()].flatMap((snapshotId) => {
    const name = listed.get(snapshotId);
    return name === undefined ? [] : [{ snapshotId, name }];
  });
}

/** One line for people: the snapshot, why it mattered, when it was last seen. */
export function describeMissing(m: MissingHeldSnapshot): string {
  const why = m.guardedBy.map((g) => (g.kind === 'baseline' ? 'the baseline' : `held: "${g.reason}" (${g.kind}, by ${g.by})`)).join('; ');
  const seen = m.lastSeen ? `last seen ${m.lastSeen}` : `never seen by an audit; held since ${m.heldSince ?? 'unknown'}`;
  return `${m.snapshotId}${m.name ? ` "${m.name}"` : ''}: ${why}; ${seen}`;
}
