import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activeHolds,
  heldMessage,
  holdsView,
  normaliseHolds,
  stepHolds,
  untilPassed,
  type BaselineSection,
  type HoldsEvent,
  type HoldsSection,
} from '../../domain/holds.js';
import { emptyEntityState, migrateEntityState, step } from '../../domain/workspace-entity.js';

/**
 * The holds rules (domain/holds.ts): random sequences of holds, unholds, delete authorisations (forced
 * or not), settlements and baselines, at increasing times, against the invariants.
 */

const SNAPS = ['snap_a', 'snap_b', 'snap_c'];
const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const snap = fc.constantFrom(...SNAPS);
const wf = fc.constantFrom('delete-1', 'prune-2');

type Unstamped = HoldsEvent extends infer E ? (E extends HoldsEvent ? Omit<E, 'at'> : never) : never;
type Gen = { event: Unstamped; advanceMs: number };
const arbEvent: fc.Arbitrary<Unstamped> = fc.oneof(
  fc
    .tuple(snap, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), fc.constantFrom('manual' as const, 'checkpoint' as const))
    .map(([snapshotId, untilH, kind]) => ({
      type: 'hold' as const,
      request: {
        snapshotId,
        reason: `keep ${snapshotId}`,
        by: 'ann',
        kind,
        ...(kind === 'checkpoint' ? { owner: 'cp-1' } : {}),
        ...(untilH ? { until: `+${untilH}` } : {}),
      },
    })),
  snap.map((snapshotId) => ({ type: 'unhold' as const, request: { snapshotId, by: 'ann' } })),
  fc.tuple(fc.subarray(SNAPS, { minLength: 1 }), wf, fc.boolean()).map(([snapshotIds, workflowId, force]) => ({
    type: 'authorise-deletes' as const,
    request: { snapshotIds, workflowId, by: 'bob', ...(force ? { force: true, reason: 'approved' } : {}) },
  })),
  fc.tuple(wf, fc.subarray(SNAPS)).map(([workflowId, deleted]) => ({ type: 'deletes-settled' as const, workflowId, deleted })),
  snap.map((snapshotId) => ({ type: 'baseline-set' as const, request: { snapshotId, by: 'ann' } })),
);
const arbGen: fc.Arbitrary<Gen> = fc.record({ event: arbEvent, advanceMs: fc.integer({ min: 0, max: 2 * 3600_000 }) });

/** `until: "+N"` in the generator is N hours after the event's time. */
function concrete(e: Unstamped, at: number): HoldsEvent {
  const iso = new Date(at).toISOString();
  if (e.type === 'hold' && typeof e.request.until === 'string' && e.request.until.startsWith('+'))
    return { ...e, request: { ...e.request, until: new Date(at + Number(e.request.until.slice(1)) * 3600_000).toISOString() }, at: iso };
  return { ...e, at: iso };
}

describe('holds rules', () => {
  it('a held snapshot is never authorised for deletion without force; forced, the override is recorded and its holds end', () => {
    fc.assert(
      fc.property(fc.array(arbGen, { maxLength: 40 }), (gens) => {
        let holds: HoldsSection = { items: [] };
        let baseline: BaselineSection = { snapshotId: null };
        let now = T0;
        for (const g of gens) {
          now += g.advanceMs;
          const event = concrete(g.event, now);
          const before = activeHolds(normaliseHolds(holds), event.at);
          const r = stepHolds(holds, baseline, event);
          if (event.type === 'authorise-deletes') {
            const a = r.answer as { allowed: string[]; refused: Array<{ snapshotId: string }>; overrides: Array<{ snapshotId: string; reason: string }> };
            for (const id of a.allowed) {
              const wasHeld = before.some((h) => h.snapshotId === id);
              if (!event.request.force) expect(wasHeld).toBe(false);
              if (wasHeld) expect(a.overrides.some((o) => o.snapshotId === id && o.reason === 'approved')).toBe(true);
              expect(r.holds.items.some((h) => h.snapshotId === id)).toBe(false);
            }
            for (const x of a.refused) expect(before.some((h) => h.snapshotId === x.snapshotId)).toBe(true);
          }
          if (event.type === 'hold' && (r.answer as { status: string }).status === 'held') {
            // Never held while its deletion is in flight or done.
            expect(normaliseHolds(holds).deleted.some((d) => d.snapshotId === event.request.snapshotId)).toBe(false);
          }
          // Expired holds hold nothing, and are gone from the state after any event.
          expect(r.holds.items.every((h) => untilPassed(h, event.at) === false)).toBe(true);
          // Continue-as-new: the sections survive serialisation.
          holds = JSON.parse(JSON.stringify(r.holds)) as HoldsSection;
          baseline = JSON.parse(JSON.stringify(r.baseline)) as BaselineSection;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('expiry is lazy: a hold whose until passed holds nothing at check time', () => {
    const at = '2026-12-01T00:00:00.000Z';
    const r = stepHolds(
      undefined,
      { snapshotId: null },
      { type: 'hold', request: { snapshotId: 'snap_a', reason: 'x', by: 'ann', until: '2026-12-01T01:00:00.000Z' }, at },
    );
    expect(activeHolds(r.holds, '2026-12-01T00:59:00.000Z')).toHaveLength(1);
    expect(activeHolds(r.holds, '2026-12-01T01:00:00.000Z')).toHaveLength(0);
    const later = stepHolds(r.holds, r.baseline, {
      type: 'authorise-deletes',
      request: { snapshotIds: ['snap_a'], workflowId: 'd', by: 'bob' },
      at: '2026-12-01T02:00:00.000Z',
    });
    expect(later.answer).toMatchObject({ allowed: ['snap_a'], refused: [] });
  });

  it('a new baseline holds it and ends the previous baseline hold', () => {
    const at = '2026-12-01T00:00:00.000Z';
    const a = stepHolds(undefined, { snapshotId: null }, { type: 'baseline-set', request: { snapshotId: 'snap_a', by: 'ann' }, at });
    const b = stepHolds(a.holds, a.baseline, { type: 'baseline-set', request: { snapshotId: 'snap_b', by: 'ann' }, at });
    expect(b.baseline.snapshotId).toBe('snap_b');
    expect(holdsView('ws_x', b.holds, b.baseline, at).holds.map((h) => [h.snapshotId, h.kind])).toEqual([['snap_b', 'baseline']]);
    expect(b.answer).toMatchObject({ status: 'set', previous: 'snap_a' });
    // Forced away, it is the baseline no more.
    const forced = stepHolds(b.holds, b.baseline, {
      type: 'authorise-deletes',
      request: { snapshotIds: ['snap_b'], workflowId: 'd', by: 'bob', force: true, reason: 'r' },
      at,
    });
    expect(forced.answer).toMatchObject({ allowed: ['snap_b'] });
    const settled = stepHolds(forced.holds, forced.baseline, { type: 'deletes-settled', workflowId: 'd', deleted: ['snap_b'], at });
    expect(settled.baseline.snapshotId).toBeNull();
  });

  it('the entity delegates holds events and leaves the lock alone; states from before holds migrate', () => {
    const s = emptyEntityState('ws_x');
    const r = step(s, { type: 'hold', request: { snapshotId: 'snap_a', reason: 'keep', by: 'ann' }, at: '2026-12-01T00:00:00.000Z' });
    expect(r.state.lock).toEqual(s.lock);
    expect(r.effects).toEqual([]);
    expect(r.holdsAnswer).toMatchObject({ status: 'held' });
    const old = migrateEntityState('ws_x', { ...s, holds: { items: [] } });
    expect(normaliseHolds(old.holds)).toEqual({ items: [], overrides: [], deleting: [], deleted: [], seen: {} });
  });

  it('the refusal message names the hold and how to release or override it', () => {
    const m = heldMessage('ws_ml', 'snap_a', [{ id: 'manual:-:snap_a', snapshotId: 'snap_a', reason: 'stable model', by: 'ann', until: null, kind: 'manual' }]);
    expect(m).toMatch(/"stable model"/);
    expect(m).toMatch(/rigsnap unhold ws_ml snap_a/);
    expect(m).toMatch(/--force --reason/);
  });
});
