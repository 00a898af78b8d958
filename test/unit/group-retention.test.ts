import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INCOMPLETE_KEPT_REASON, selectGroupRetention, setKey, setSnapshotIds } from '../../domain/group-retention.js';
import type { GroupSet } from '../../domain/groups.js';

/**
 * selectGroupRetention: a group schedule's retention counts sets, not snapshots. Properties on arbitrary
 * records of sets (complete and incomplete, held and not, other names, retired ones) check the safety
 * rules; a few tables pin the reading of the rules.
 */

const PREFIX = 'daily-backup-';
const MEMBERS = ['ws_a', 'ws_b', 'ws_c'];
const T0 = Date.parse('2026-12-01T03:00:00Z');

interface Spec {
  complete: boolean;
  prefixed: boolean;
  retired: boolean;
  heldMember: number | null;
}

/** Sets one hour apart, oldest first (as the entity records them), each member's snapshot id unique. */
function setsOf(specs: readonly Spec[]): { sets: GroupSet[]; held: Record<string, string[]> } {
  const held: Record<string, string[]> = {};
  const sets = specs.map((sp, i): GroupSet => {
    const at = new Date(T0 + i * 3_600_000).toISOString();
    const members = MEMBERS.map((workspaceId, m) => {
      const snapped = sp.complete || m !== 1;
      return { workspaceId, outcome: snapped ? ('snapshotted' as const) : ('failed' as const), snapshotId: snapped ? `snap_${i}_${m}` : null };
    });
    if (sp.heldMember !== null && members[sp.heldMember]!.snapshotId) held[members[sp.heldMember]!.snapshotId!] = ['hold: legal'];
    return {
      name: `${sp.prefixed ? PREFIX : 'by-hand-'}2026-12-01-${String(i).padStart(4, '0')}`,
      at,
      complete: sp.complete,
      members,
      workflowId: `wf-${i}`,
      runId: `run-${i}`,
      ...(sp.retired ? { retired: { at, by: 'earlier', survivors: [] } } : {}),
    };
  });
  return { sets, held };
}

const spec = fc.record({
  complete: fc.boolean(),
  prefixed: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
  retired: fc.oneof(fc.constant(false), fc.constant(false), fc.constant(true)),
  heldMember: fc.oneof(fc.constant(null), fc.constant(null), fc.integer({ min: 0, max: 2 })),
});
const specs = fc.array(spec, { maxLength: 25 });
const keepLast = fc.integer({ min: 1, max: 10 });

describe('selectGroupRetention (properties)', () => {
  it('never deletes a held snapshot, nor any snapshot of a kept set', () => {
    fc.assert(
      fc.property(specs, keepLast, (sp, n) => {
        const { sets, held } = setsOf(sp);
        const r = selectGroupRetention(sets, PREFIX, { keepLast: n }, held);
        const deletedIds = new Set(r.deleted.flatMap(setSnapshotIds));
        for (const id of Object.keys(held)) expect(deletedIds.has(id)).toBe(false);
        for (const k of r.kept) for (const id of setSnapshotIds(k.set)) expect(deletedIds.has(id)).toBe(false);
      }),
    );
  });

  it('keeps exactly min(N, complete sets) complete sets when nothing is held, the newest ones', () => {
    fc.assert(
      fc.property(specs, keepLast, (sp, n) => {
        const { sets } = setsOf(sp.map((s) => ({ ...s, heldMember: null })));
        const r = selectGroupRetention(sets, PREFIX, { keepLast: n });
        const complete = sets.filter((s) => s.complete && !s.retired && s.name.startsWith(PREFIX));
        const keptComplete = r.kept.filter((k) => k.set.complete).map((k) => setKey(k.set));
        expect(keptComplete).toEqual(
          complete
            .slice(-n)
            .reverse()
            .map((s) => setKey(s)),
        );
      }),
    );
  });

  it('decides every candidate once and touches nothing else (other names, retired sets)', () => {
    fc.assert(
      fc.property(specs, keepLast, (sp, n) => {
        const { sets, held } = setsOf(sp);
        const r = selectGroupRetention(sets, PREFIX, { keepLast: n }, held);
        const decided = [...r.kept.map((k) => k.set), ...r.deleted].map(setKey);
        expect(new Set(decided).size).toBe(decided.length);
        const candidates = sets.filter((s) => !s.retired && s.name.startsWith(PREFIX)).map(setKey);
        expect([...decided].sort()).toEqual([...candidates].sort());
        expect(r.ignored).toBe(sets.length - candidates.length);
      }),
    );
  });

  it('deletes an incomplete set only when it is older than the oldest kept complete set; it never counts toward N', () => {
    fc.assert(
      fc.property(specs, keepLast, (sp, n) => {
        const { sets, held } = setsOf(sp);
        const r = selectGroupRetention(sets, PREFIX, { keepLast: n }, held);
        const keptComplete = r.kept.filter((k) => k.set.complete);
        const oldest = keptComplete.length ? Math.min(...keptComplete.map((k) => Date.parse(k.set.at))) : null;
        for (const d of r.deleted.filter((s) => !s.complete)) {
          expect(oldest).not.toBeNull();
          expect(Date.parse(d.at)).toBeLessThan(oldest!);
        }
        // Adding incomplete sets changes nothing about which complete sets stay.
        const onlyComplete = selectGroupRetention(
          sets.filter((s) => s.complete),
          PREFIX,
          { keepLast: n },
          held,
        );
        expect(keptComplete.map((k) => setKey(k.set))).toEqual(onlyComplete.kept.map((k) => setKey(k.set)));
      }),
    );
  });
});

describe('selectGroupRetention (tables)', () => {
  const c: Spec = { complete: true, prefixed: true, retired: false, heldMember: null };
  const inc: Spec = { ...c, complete: false };

  it('three complete sets, keep the last 2: the oldest is deleted whole', () => {
    const { sets } = setsOf([c, c, c]);
    const r = selectGroupRetention(sets, PREFIX, { keepLast: 2 });
    expect(r.kept.map((k) => k.set.workflowId)).toEqual(['wf-2', 'wf-1']);
    expect(r.deleted.map((s) => s.workflowId)).toEqual(['wf-0']);
    expect(setSnapshotIds(r.deleted[0]!)).toEqual(['snap_0_0', 'snap_0_1', 'snap_0_2']);
  });

  it('a held member keeps its whole old set, with the hold as the reason', () => {
    const { sets, held } = setsOf([{ ...c, heldMember: 2 }, c, c]);
    const r = selectGroupRetention(sets, PREFIX, { keepLast: 2 }, held);
    expect(r.deleted).toEqual([]);
    expect(r.kept.find((k) => k.set.workflowId === 'wf-0')!.reasons).toEqual(['hold: legal']);
  });

  it('incomplete sets: kept while newer than the oldest kept set, deleted once older', () => {
    const { sets } = setsOf([inc, c, inc, c, c]);
    const r = selectGroupRetention(sets, PREFIX, { keepLast: 2 });
    expect(r.kept.map((k) => [k.set.workflowId, k.reasons[0]])).toEqual([
      ['wf-4', 'newest'],
      ['wf-3', 'last'],
    ]);
    expect(r.deleted.map((s) => s.workflowId)).toEqual(['wf-2', 'wf-1', 'wf-0']);
    const { sets: onlyIncomplete } = setsOf([inc, inc]);
    expect(selectGroupRetention(onlyIncomplete, PREFIX, { keepLast: 1 }).kept.map((k) => k.reasons)).toEqual([
      [INCOMPLETE_KEPT_REASON],
      [INCOMPLETE_KEPT_REASON],
    ]);
  });

  it('keep-daily counts days of sets', () => {
    const { sets } = setsOf([c, c, c]); // one day: only the newest of the day counts
    const r = selectGroupRetention(sets, PREFIX, { keepDaily: 1 });
    expect(r.kept.map((k) => k.set.workflowId)).toEqual(['wf-2']);
  });
});
