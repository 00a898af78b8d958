import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EXPIRE_CHECKPOINTS_AFTER,
  DEFAULT_EXPIRE_SAFETY_AFTER,
  addExpiring,
  emptyExpiring,
  expiryPolicyOf,
  parseDuration,
  parseInput,
  planExpiry,
  RetentionPolicy,
  type CheckpointSessionFacts,
  type RigboxSnapshot,
} from '../../domain/index.js';

/**
 * planExpiry: retention of checkpoint snapshots (after their session ended) and restore safety snapshots.
 * Table tests pin the defaults and the due times; property tests check the safety rules on arbitrary
 * snapshot sets, sessions and holds.
 */

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-20T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const snap = (id: string, name: string, createdMs: number, workspaceId = 'ws_demo', size = 1000): RigboxSnapshot => ({
  id,
  workspace_id: workspaceId,
  name,
  size_bytes: size,
  created_at: iso(createdMs),
});
const defaults = expiryPolicyOf(undefined);

describe('expiry defaults and settings', () => {
  it('documents 7 days for checkpoints and 14 days for safety snapshots', () => {
    expect(DEFAULT_EXPIRE_CHECKPOINTS_AFTER).toBe('7d');
    expect(DEFAULT_EXPIRE_SAFETY_AFTER).toBe('14d');
    expect(defaults).toEqual({ checkpointsAfterMs: 7 * DAY, safetyAfterMs: 14 * DAY });
  });

  it('takes the retention policy’s settings, "never" included, through the public schema', () => {
    const r = parseInput(RetentionPolicy, { keepLast: 3, expireCheckpointsAfter: '2d', expireSafetyAfter: 'never' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(expiryPolicyOf(r.value)).toEqual({ checkpointsAfterMs: 2 * DAY, safetyAfterMs: null });
    const bad = parseInput(RetentionPolicy, { keepLast: 3, expireSafetyAfter: 'soon' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toContain('expireSafetyAfter');
  });
});

describe('planExpiry', () => {
  it('expires an ended checkpoint 7 days after its end and a safety snapshot 14 days after it was taken', () => {
    const snapshots = [
      snap('snap_cp_old', 'pre-demo', NOW - 30 * DAY), // ended 8 days ago: due a day ago
      snap('snap_cp_new', 'pre-talk', NOW - 30 * DAY), // ended 6 days ago: due tomorrow
      snap('snap_cp_open', 'experiment', NOW - 60 * DAY), // its session is open
      snap('snap_safe_old', 'pre-restore-20261201T000000Z', NOW - 15 * DAY),
      snap('snap_safe_new', 'pre-restore-20261210T000000Z', NOW - 10 * DAY),
      snap('snap_safe_held', 'pre-restore-20261101T000000Z', NOW - 40 * DAY),
      snap('snap_manual', 'before-migration', NOW - 400 * DAY),
      snap('snap_backup', 'daily-backup-2025-01-01-0300', NOW - 400 * DAY),
      snap('snap_other_ws', 'pre-restore-20250101T000000Z', NOW - 400 * DAY, 'ws_other'),
    ];
    const sessions: CheckpointSessionFacts[] = [
      { snapshotId: 'snap_cp_old', endedAt: iso(NOW - 8 * DAY) },
      { snapshotId: 'snap_cp_new', endedAt: iso(NOW - 6 * DAY) },
      { snapshotId: 'snap_cp_open', endedAt: null },
    ];
    const plan = planExpiry(snapshots, 'ws_demo', { sessions, heldIds: new Set(['snap_safe_held']) }, defaults, NOW);
    expect(plan.expired.map((x) => x.snapshot.id)).toEqual(['snap_cp_old', 'snap_safe_old']);
    expect(plan.expired.map((x) => x.dueAt)).toEqual([iso(NOW - DAY), iso(NOW - DAY)]);
    const waiting = Object.fromEntries(plan.waiting.map((x) => [x.snapshot.id, x]));
    expect(Object.keys(waiting).sort()).toEqual(['snap_cp_new', 'snap_cp_open', 'snap_safe_held', 'snap_safe_new']);
    expect(waiting.snap_cp_new!.dueAt).toBe(iso(NOW + DAY));
    expect(waiting.snap_cp_open!).toMatchObject({ kind: 'checkpoint', dueAt: null, keptBecause: 'open checkpoint' });
    expect(waiting.snap_safe_held!).toMatchObject({ kind: 'safety', keptBecause: 'hold' });
    expect(waiting.snap_safe_new!.dueAt).toBe(iso(NOW + 4 * DAY));

    const totals = addExpiring(emptyExpiring(), [...plan.expired, ...plan.waiting], NOW);
    expect(totals.checkpoint).toEqual({ count: 2, bytes: 2000, firstDueAt: iso(NOW - DAY), lastDueAt: iso(NOW + DAY), dueNowCount: 1, dueNowBytes: 1000 });
    expect(totals.safety).toMatchObject({ count: 2, dueNowCount: 1, lastDueAt: iso(NOW + 4 * DAY) });
  });

  it('a held snapshot whose holds end is due once both its retention and its holds ran out, never due now while held', () => {
    const s = snap('snap_s', 'pre-restore-x', NOW - 20 * DAY);
    const heldIds = new Set(['snap_s']);
    const soon = planExpiry([s], 'ws_demo', { sessions: [], heldIds, holdEnds: new Map([['snap_s', iso(NOW + DAY)]]) }, defaults, NOW);
    expect(soon.expired).toEqual([]);
    expect(soon.waiting[0]).toMatchObject({ keptBecause: 'hold', dueAt: iso(NOW + DAY) });
    expect(addExpiring(emptyExpiring(), soon.waiting, NOW).safety).toMatchObject({ count: 1, dueNowCount: 0, firstDueAt: iso(NOW + DAY) });
    const late = planExpiry([s], 'ws_demo', { sessions: [], heldIds, holdEnds: new Map([['snap_s', iso(NOW - 30 * DAY)]]) }, defaults, NOW);
    expect(late.waiting[0]!.dueAt).toBe(iso(NOW - 6 * DAY)); // its own retention ran out later than the hold: still held now, so not expired
    expect(late.expired).toEqual([]);
    const forever = planExpiry([s], 'ws_demo', { sessions: [], heldIds, holdEnds: new Map([['snap_s', null]]) }, defaults, NOW);
    expect(forever.waiting[0]!.dueAt).toBeNull();
    expect(addExpiring(emptyExpiring(), forever.waiting, NOW).safety.count).toBe(0);
  });

  it('keeps a snapshot with an open session even if another (ended) session names it too', () => {
    const s = snap('snap_cp', 'pre-demo', NOW - 30 * DAY);
    const plan = planExpiry(
      [s],
      'ws_demo',
      {
        sessions: [
          { snapshotId: 'snap_cp', endedAt: iso(NOW - 20 * DAY) },
          { snapshotId: 'snap_cp', endedAt: null },
        ],
        heldIds: new Set(),
      },
      defaults,
      NOW,
    );
    expect(plan.expired).toEqual([]);
  });

  it('"never" keeps every snapshot of that kind', () => {
    const plan = planExpiry(
      [snap('snap_s', 'pre-restore-x', NOW - 999 * DAY)],
      'ws_demo',
      { sessions: [], heldIds: new Set() },
      { ...defaults, safetyAfterMs: null },
      NOW,
    );
    expect(plan.expired).toEqual([]);
    expect(plan.waiting[0]!.dueAt).toBeNull();
  });
});

// ---- properties ------------------------------------------------------------------------------------

const ids = ['snap_a', 'snap_b', 'snap_c', 'snap_d', 'snap_e', 'snap_f', 'snap_g', 'snap_h'];
const arbSnapshot = fc.record({
  id: fc.constantFrom(...ids),
  workspace_id: fc.constantFrom('ws_demo', 'ws_other'),
  name: fc.constantFrom('pre-restore-20261201T000000Z', 'pre-demo', 'daily-backup-2026-12-01-0300', 'pre-restore-x', 'hand-made'),
  size_bytes: fc.integer({ min: 0, max: 10 ** 12 }),
  created_at: fc.integer({ min: NOW - 100 * DAY, max: NOW }).map(iso),
});
const arbSnapshots = fc.uniqueArray(arbSnapshot, { selector: (s) => s.id, maxLength: ids.length });
const arbSession = fc.record({
  snapshotId: fc.constantFrom(...ids),
  endedAt: fc.option(fc.integer({ min: NOW - 100 * DAY, max: NOW }).map(iso), { nil: null }),
});
const arbFacts = fc.record({
  sessions: fc.array(arbSession, { maxLength: 10 }),
  heldIds: fc.subarray(ids).map((a) => new Set(a)),
  holdEnds: fc.option(
    fc
      .dictionary(fc.constantFrom(...ids), fc.option(fc.integer({ min: NOW - 100 * DAY, max: NOW + 100 * DAY }).map(iso), { nil: null }))
      .map((d) => new Map(Object.entries(d))),
    { nil: undefined },
  ),
});
const arbPolicy = fc.record({
  checkpointsAfterMs: fc.option(fc.integer({ min: 0, max: 30 * DAY }), { nil: null }),
  safetyAfterMs: fc.option(fc.integer({ min: 0, max: 30 * DAY }), { nil: null }),
});

describe('planExpiry properties', () => {
  it('never expires a held snapshot, one with an open session, another workspace’s, a backup or a hand-made one', () => {
    fc.assert(
      fc.property(arbSnapshots, arbFacts, arbPolicy, (snapshots, facts, policy) => {
        const plan = planExpiry(snapshots, 'ws_demo', facts, policy, NOW);
        const open = new Set(facts.sessions.filter((x) => x.endedAt === null).map((x) => x.snapshotId));
        const ended = new Set(facts.sessions.filter((x) => x.endedAt !== null).map((x) => x.snapshotId));
        for (const { snapshot: s } of plan.expired) {
          expect(facts.heldIds.has(s.id)).toBe(false);
          expect(open.has(s.id)).toBe(false);
          expect(s.workspace_id).toBe('ws_demo');
          expect(ended.has(s.id) || s.name.startsWith('pre-restore-')).toBe(true);
        }
      }),
    );
  });

  it('expires only what is past due, by the rule of its kind', () => {
    fc.assert(
      fc.property(arbSnapshots, arbFacts, arbPolicy, (snapshots, facts, policy) => {
        const plan = planExpiry(snapshots, 'ws_demo', facts, policy, NOW);
        for (const x of plan.expired) {
          expect(x.dueAt).not.toBeNull();
          expect(Date.parse(x.dueAt!)).toBeLessThanOrEqual(NOW);
          const after = x.kind === 'checkpoint' ? policy.checkpointsAfterMs : policy.safetyAfterMs;
          expect(after).not.toBeNull();
          if (x.kind === 'safety') expect(Date.parse(x.dueAt!)).toBe(Date.parse(x.snapshot.created_at) + after!);
          else {
            const endings = facts.sessions.filter((f) => f.snapshotId === x.snapshot.id).map((f) => Date.parse(f.endedAt!) + after!);
            expect(endings).toContain(Date.parse(x.dueAt!));
          }
        }
      }),
    );
  });

  it('a later now expires a superset, and expired and waiting partition the checkpoint and safety snapshots', () => {
    fc.assert(
      fc.property(arbSnapshots, arbFacts, arbPolicy, fc.integer({ min: 0, max: 60 * DAY }), (snapshots, facts, policy, later) => {
        const a = planExpiry(snapshots, 'ws_demo', facts, policy, NOW);
        const b = planExpiry(snapshots, 'ws_demo', facts, policy, NOW + later);
        const bIds = new Set(b.expired.map((x) => x.snapshot.id));
        for (const x of a.expired) expect(bIds.has(x.snapshot.id)).toBe(true);
        const all = [...a.expired, ...a.waiting].map((x) => x.snapshot.id);
        expect(new Set(all).size).toBe(all.length);
        expect(b.expired.length + b.waiting.length).toBe(all.length);
      }),
    );
  });
});

it('parses the documented defaults as durations', () => {
  expect(parseDuration(DEFAULT_EXPIRE_CHECKPOINTS_AFTER)).toBe(7 * DAY);
  expect(parseDuration(DEFAULT_EXPIRE_SAFETY_AFTER)).toBe(14 * DAY);
});
