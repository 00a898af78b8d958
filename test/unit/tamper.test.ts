import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateAudit, type AuditInventory } from '../../domain/index.js';
import { holdsView, stepHolds, type BaselineSection, type HoldsSection } from '../../domain/holds.js';
import { describeMissing, missingHeldSnapshots, sightings } from '../../domain/tamper.js';

/**
 * Tamper detection's rules (domain/tamper.ts): which held or baseline snapshots count as deleted outside
 * rigsnap, from the entity's view before and after a listing of Rigbox; the entity's sightings; and the
 * audit's `tampered` verdict.
 */

const AT = '2026-12-06T12:00:00.000Z';
const SNAPS = ['snap_a', 'snap_b', 'snap_c', 'snap_d'];

function run(events: Array<Parameters<typeof stepHolds>[2]>): { holds: HoldsSection; baseline: BaselineSection } {
  let holds: HoldsSection = { items: [] };
  let baseline: BaselineSection = { snapshotId: null };
  for (const e of events) ({ holds, baseline } = stepHolds(holds, baseline, e));
  return { holds, baseline };
}
const view = (s: { holds: HoldsSection; baseline: BaselineSection }) => holdsView('ws_t', s.holds, s.baseline, AT);

describe('missingHeldSnapshots', () => {
  it('names a held snapshot and the baseline gone from the listing, with the hold, and "last seen" from the audit that saw it', () => {
    const s = run([
      { type: 'hold', request: { snapshotId: 'snap_a', reason: 'known-good for the release', by: 'ann' }, at: '2026-12-06T09:00:00.000Z' },
      { type: 'baseline-set', request: { snapshotId: 'snap_b', by: 'bob' }, at: '2026-12-06T10:00:00.000Z' },
      { type: 'held-seen', seen: [{ snapshotId: 'snap_a', name: 'release-1.4' }], at: '2026-12-06T11:00:00.000Z' },
    ]);
    const missing = missingHeldSnapshots(view(s), new Set(['snap_c']), view(s), AT);
    expect(missing).toEqual([
      {
        snapshotId: 'snap_a',
        name: 'release-1.4',
        guardedBy: [{ kind: 'manual', reason: 'known-good for the release', by: 'ann', since: '2026-12-06T09:00:00.000Z' }],
        lastSeen: '2026-12-06T11:00:00.000Z',
        heldSince: '2026-12-06T09:00:00.000Z',
      },
      {
        snapshotId: 'snap_b',
        name: null,
        guardedBy: [{ kind: 'baseline', reason: 'team baseline', by: 'bob', since: '2026-12-06T10:00:00.000Z' }],
        lastSeen: null,
        heldSince: '2026-12-06T10:00:00.000Z',
      },
    ]);
    expect(describeMissing(missing[0]!)).toBe('snap_a "release-1.4": held: "known-good for the release" (manual, by ann); last seen 2026-12-06T11:00:00.000Z');
    expect(describeMissing(missing[1]!)).toBe('snap_b: the baseline; never seen by an audit; held since 2026-12-06T10:00:00.000Z');
  });

  it('does not count what rigsnap deleted (forced) or is deleting, nor a hold released meanwhile, nor an unreadable entity', () => {
    const held = run([
      { type: 'hold', request: { snapshotId: 'snap_a', reason: 'r', by: 'ann' }, at: AT },
      { type: 'hold', request: { snapshotId: 'snap_b', reason: 'r', by: 'ann' }, at: AT },
    ]);
    const before = view(held);
    // While the listing ran, rigsnap force-deleted snap_a and the hold of snap_b ended.
    let after = stepHolds(held.holds, held.baseline, {
      type: 'authorise-deletes',
      request: { snapshotIds: ['snap_a'], workflowId: 'delete-1', by: 'ops', force: true, reason: 'quota' },
      at: AT,
    });
    expect(missingHeldSnapshots(before, new Set(), view(after), AT).map((m) => m.snapshotId)).toEqual(['snap_b']);
    after = stepHolds(after.holds, after.baseline, { type: 'unhold', request: { snapshotId: 'snap_b', by: 'ann' }, at: AT });
    expect(missingHeldSnapshots(before, new Set(), view(after), AT)).toEqual([]);
    expect(missingHeldSnapshots(before, new Set(), null, AT)).toEqual([]);
  });

  it('property: reported = guarded before and after, absent from the listing, never deleted by rigsnap', () => {
    const arb = fc.record({
      held: fc.subarray(SNAPS),
      baseline: fc.option(fc.constantFrom(...SNAPS), { nil: null }),
      listed: fc.subarray(SNAPS),
      deletedByRigsnap: fc.subarray(SNAPS),
    });
    fc.assert(
      fc.property(arb, ({ held, baseline, listed, deletedByRigsnap }) => {
        const events: Array<Parameters<typeof stepHolds>[2]> = held.map((snapshotId) => ({
          type: 'hold' as const,
          request: { snapshotId, reason: 'r', by: 'ann' },
          at: AT,
        }));
        if (baseline) events.push({ type: 'baseline-set', request: { snapshotId: baseline, by: 'bob' }, at: AT });
        const before = run(events);
        const after = deletedByRigsnap.length
          ? stepHolds(before.holds, before.baseline, {
              type: 'authorise-deletes',
              request: { snapshotIds: deletedByRigsnap, workflowId: 'prune-1', by: 'ops', force: true, reason: 'r' },
              at: AT,
            })
          : before;
        const settled = stepHolds(after.holds, after.baseline, { type: 'deletes-settled', workflowId: 'prune-1', deleted: deletedByRigsnap, at: AT });
        const got = missingHeldSnapshots(view(before), new Set(listed), view(settled), AT).map((m) => m.snapshotId);
        const guarded = new Set([...held, ...(baseline ? [baseline] : [])]);
        const want = SNAPS.filter((id) => guarded.has(id) && !listed.includes(id) && !deletedByRigsnap.includes(id));
        expect(got).toEqual(want);
      }),
    );
  });
});

describe('sightings (the entity remembers when an audit last saw each guarded snapshot)', () => {
  it('records only guarded snapshots found, and forgets a sighting once the snapshot is no longer guarded', () => {
    const s = run([{ type: 'hold', request: { snapshotId: 'snap_a', reason: 'r', by: 'ann' }, at: AT }]);
    const seen = sightings(
      view(s),
      new Map([
        ['snap_a', 'good'],
        ['snap_z', 'other'],
      ]),
      AT,
    );
    expect(seen).toEqual([{ snapshotId: 'snap_a', name: 'good' }]);
    const after = stepHolds(s.holds, s.baseline, { type: 'held-seen', seen: [...seen, { snapshotId: 'snap_z', name: 'other' }], at: AT });
    expect(after.holds.seen).toEqual({ snap_a: { at: AT, name: 'good' } });
    const unheld = stepHolds(after.holds, after.baseline, { type: 'unhold', request: { snapshotId: 'snap_a', by: 'ann' }, at: AT });
    const next = stepHolds(unheld.holds, unheld.baseline, { type: 'held-seen', seen: [], at: AT });
    expect(next.holds.seen).toEqual({});
  });
});

describe('the tampered verdict', () => {
  const inventory = (tampered: AuditInventory['tampered']): AuditInventory => ({
    protected: [
      {
        workspaceId: 'ws_fresh',
        schedules: ['rigsnap-backup-ws_fresh'],
        paused: false,
        namePrefixes: ['daily-backup-'],
        newestBackup: { id: 'snap_n', workspace_id: 'ws_fresh', name: 'daily-backup-x', size_bytes: 1, created_at: AT },
        snapshotCount: 1,
        snapshotBytes: 1,
        lastRun: null,
      },
    ],
    unprotected: [{ workspaceId: 'ws_loose', snapshotCount: 2, snapshotBytes: 5, newestSnapshot: null }],
    runsSince: AT,
    tampered,
    heldChecked: ['ws_fresh', 'ws_loose'],
  });
  const gone = { snapshotId: 'snap_a', name: null, guardedBy: [], lastSeen: null, heldSince: AT };

  it('outranks a fresh backup, adds a row for an unscheduled workspace, and makes the audit not ok', () => {
    const r = evaluateAudit(inventory([{ workspaceId: 'ws_loose', missing: [gone] }]), '26h', Date.parse(AT));
    expect(r.ok).toBe(false);
    expect(r.counts.tampered).toBe(1);
    expect(r.workspaces.map((w) => [w.workspaceId, w.verdict])).toEqual([
      ['ws_loose', 'tampered'],
      ['ws_fresh', 'ok'],
    ]);
    expect(r.workspaces[0]!.missingHeld).toEqual([gone]);
    expect(r.workspaces[0]!.snapshotCount).toBe(2);
    expect(r.heldChecked).toEqual(['ws_fresh', 'ws_loose']);

    const fresh = evaluateAudit(inventory([{ workspaceId: 'ws_fresh', missing: [gone] }]), '26h', Date.parse(AT));
    expect(fresh.workspaces.map((w) => [w.workspaceId, w.verdict])).toEqual([['ws_fresh', 'tampered']]);
  });

  it('all present: ok, counts.tampered 0; an inventory from before the check has no tampered count', () => {
    const r = evaluateAudit(inventory([]), '26h', Date.parse(AT));
    expect(r.ok).toBe(true);
    expect(r.counts.tampered).toBe(0);
    const old = evaluateAudit({ ...inventory(undefined), heldChecked: undefined }, '26h', Date.parse(AT));
    expect(old.counts).not.toHaveProperty('tampered');
    expect(old).not.toHaveProperty('heldChecked');
  });
});
