import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_LISTED_DELETED,
  cancelledAfterChangeAdvice,
  cancelledAfterChangeMessage,
  hasLanded,
  recordLanded,
  type ChangesLanded,
  type LandedChange,
  type RigboxSnapshot,
} from '../../domain/index.js';
import { RigsnapError, adviceFor, landedOf } from '../../client/errors.js';

/** The record of what landed before a cancel (domain/landed.ts) and how the client turns it into advice. */

const snap = (id: string, name: string): RigboxSnapshot => ({ id, workspace_id: 'ws_demo', name, size_bytes: 1, created_at: '2026-12-06T10:00:00Z' });
const snapshotArb = fc.tuple(fc.stringMatching(/^snap_[a-z0-9]{1,8}$/), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)).map(([id, name]) => snap(id, name));
const changeArb: fc.Arbitrary<LandedChange> = fc.oneof(
  snapshotArb.map((snapshot) => ({ kind: 'snapshot' as const, snapshot })),
  snapshotArb.map((snapshot) => ({ kind: 'safety-snapshot' as const, snapshot })),
  fc.stringMatching(/^snap_[a-z0-9]{1,8}$/).map((snapshotId) => ({ kind: 'restored' as const, snapshotId })),
  fc.uniqueArray(fc.stringMatching(/^snap_[a-z0-9]{1,8}$/), { maxLength: 80 }).map((snapshotIds) => ({ kind: 'deleted' as const, snapshotIds })),
);
const replay = (changes: LandedChange[]) => changes.reduce<ChangesLanded | null>((r, c) => recordLanded(r, 'ws_demo', c), null);

describe('what landed before a cancel', () => {
  it('nothing recorded is not landed: plain Cancelled stays the truth then', () => {
    expect(hasLanded(null)).toBe(false);
    expect(hasLanded(recordLanded(null, 'ws_demo', { kind: 'deleted', snapshotIds: [] }))).toBe(false);
  });

  it('any change that landed is reported, and the message names every listed id', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { minLength: 1, maxLength: 12 }), (changes) => {
        const record = replay(changes)!;
        const anyReal = changes.some((c) => c.kind !== 'deleted' || c.snapshotIds.length > 0);
        expect(hasLanded(record)).toBe(anyReal);
        if (!anyReal) return;
        const message = cancelledAfterChangeMessage(record);
        for (const s of [record.snapshot, record.safetySnapshot]) if (s) expect(message).toContain(s.id);
        if (record.restored) expect(message).toContain(record.restored.snapshotId);
        for (const id of record.deleted?.snapshotIds ?? []) expect(message).toContain(id);
      }),
    );
  });

  it('deletions: the count is exact (each id once) and the list is bounded', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 12 }), (changes) => {
        const record = replay(changes);
        const ids = new Set(changes.flatMap((c) => (c.kind === 'deleted' ? c.snapshotIds : [])));
        expect(record?.deleted?.count ?? 0).toBe(ids.size);
        expect((record?.deleted?.snapshotIds ?? []).length).toBe(Math.min(ids.size, MAX_LISTED_DELETED));
      }),
    );
  });

  it('a restore cancelled after it overwrote the disk: the advice is the command that goes back to the safety snapshot', () => {
    const record = replay([
      { kind: 'safety-snapshot', snapshot: snap('snap_safe1', 'pre-restore-20261206-100000') },
      { kind: 'restored', snapshotId: 'snap_good', name: 'known-good' },
    ])!;
    expect(cancelledAfterChangeMessage(record)).toContain('overwritten with snapshot snap_good "known-good"');
    expect(cancelledAfterChangeAdvice(record)).toContain('`rigsnap restore ws_demo snap_safe1`');
  });

  it('the client reads the record from the failure details and advises with it; without one, the table advice', () => {
    const record = replay([{ kind: 'snapshot', snapshot: snap('snap_made', 'before-migration') }])!;
    const err = new RigsnapError({ type: 'CancelledAfterChange', message: cancelledAfterChangeMessage(record), details: [record] });
    expect(err.landed).toEqual(record);
    expect(err.advice).toContain('rigsnap delete ws_demo snap_made');
    expect(err.advice).toContain('adopts it');
    expect(err.toJSON()).toMatchObject({ type: 'CancelledAfterChange', landed: record });
    expect(landedOf([{ workspaceId: 'ws_demo', snapshot: 'not an object' }])).toBeNull();
    expect(adviceFor('CancelledAfterChange', { details: [] })).toContain('safety snapshot');
    expect(adviceFor('Cancelled')).toContain('before any change');
  });
});
