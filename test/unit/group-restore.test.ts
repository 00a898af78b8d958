import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeMembers,
  groupVerdict,
  mayRestore,
  memberReport,
  memberStep,
  refuseOwnership,
  refuseTargets,
  targetStartOrder,
  targetsOfSet,
  toRollBack,
  type MemberEvent,
  type MemberState,
  type RestoreTarget,
} from '../../domain/group-restore.js';
import { MAX_GROUP_MEMBERS } from '../../domain/groups.js';

/**
 * Group restore, all or nothing (domain/group-restore.ts, issue 23 item 3): the targets of a set or an
 * explicit list, each member's state machine, and the workflow's decisions driven with random outcomes of
 * every safety snapshot, restore and rollback, and a cancellation at a random phase.
 */

const wsId = fc.stringMatching(/^ws_[a-z0-9_-]{1,8}$/);
const snapId = fc.stringMatching(/^snap_[a-z0-9]{1,8}$/);
const targets = fc.uniqueArray(fc.record({ workspaceId: wsId, snapshotId: snapId }), { minLength: 1, maxLength: 8, selector: (t) => t.workspaceId });

/** What each member's calls answer in one simulated run: true = succeeded. */
const outcomes = (n: number) =>
  fc.record({
    safety: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    restore: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    rollback: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    /** 0: not cancelled; 1: during the safety snapshots; 2: during the restores. */
    cancelAt: fc.constantFrom(0, 1, 2),
  });

/** Drives the rules as workflows/group-restore.ts does: safety snapshots, then restores only if mayRestore, then the rollbacks toRollBack names. */
function simulate(ts: RestoreTarget[], o: { safety: boolean[]; restore: boolean[]; rollback: boolean[]; cancelAt: number }) {
  const states: Record<string, MemberState> = Object.fromEntries(ts.map((t) => [t.workspaceId, { phase: 'locked' }]));
  const apply = (id: string, e: MemberEvent) => (states[id] = memberStep(states[id]!, e));
  ts.forEach((t, i) =>
    apply(t.workspaceId, o.safety[i] ? { type: 'safety-taken', safetySnapshotId: `snap_safety${i}` } : { type: 'safety-failed', error: 'Unavailable' }),
  );
  let cancelled = o.cancelAt === 1;
  let sent = false;
  if (mayRestore(Object.values(states), cancelled)) {
    sent = true;
    ts.forEach((t, i) => {
      apply(t.workspaceId, { type: 'restore-sent' });
      apply(t.workspaceId, o.restore[i] ? { type: 'restored' } : { type: 'restore-failed', error: 'NotFound: gone' });
    });
    cancelled = cancelled || o.cancelAt === 2;
  }
  const back = toRollBack(states, cancelled);
  for (const id of back) {
    const i = ts.findIndex((t) => t.workspaceId === id);
    apply(id, { type: 'rollback-sent' });
    apply(id, o.rollback[i] ? { type: 'rolled-back' } : { type: 'rollback-failed', error: 'Unavailable' });
  }
  const reports = ts.map((t) => memberReport(t, states[t.workspaceId]!));
  return { reports, verdict: groupVerdict(reports.map((r) => r.outcome)), sent, back, cancelled };
}

const run = targets.chain((ts) => fc.tuple(fc.constant(ts), outcomes(ts.length)));

describe('a group restore is all or nothing', () => {
  it('ends all restored or none, whenever every rollback succeeds', () => {
    fc.assert(
      fc.property(run, ([ts, o]) => {
        const r = simulate(ts, { ...o, rollback: o.rollback.map(() => true) });
        expect(r.verdict).not.toBe('mixed');
        const allWent = o.safety.every(Boolean) && o.restore.every(Boolean) && o.cancelAt === 0;
        expect(r.verdict).toBe(allWent ? 'restored' : 'undone');
      }),
    );
  });

  it('restores nothing unless every safety snapshot was taken and the run goes on', () => {
    fc.assert(
      fc.property(run, ([ts, o]) => {
        const r = simulate(ts, o);
        expect(r.sent).toBe(o.safety.every(Boolean) && o.cancelAt !== 1);
        if (!r.sent) expect(r.reports.every((m) => m.outcome === 'unchanged')).toBe(true);
      }),
    );
  });

  it('rolls back every member a restore touched, the failed one too, and only those', () => {
    fc.assert(
      fc.property(run, ([ts, o]) => {
        const r = simulate(ts, o);
        const anyFailed = r.sent && o.restore.some((ok) => !ok);
        expect(r.back.length).toBe(r.sent && (anyFailed || r.cancelled) ? ts.length : 0);
        for (const m of r.reports) {
          // A member whose disk a restore touched is never reported unchanged.
          if (r.sent) expect(m.outcome).not.toBe('unchanged');
          if (m.outcome === 'rolled-back-to-safety') expect(m.safetySnapshotId).toMatch(/^snap_safety/);
        }
      }),
    );
  });

  it('names each member that a failed rollback left on an unknown disk, with its safety snapshot and the command', () => {
    fc.assert(
      fc.property(run, ([ts, o]) => {
        const r = simulate(ts, o);
        const broken = r.reports.filter((m) => m.outcome === 'rollback-failed');
        if (broken.length === 0) return;
        expect(r.verdict).toBe('mixed');
        const text = describeMembers(r.reports);
        for (const m of broken) expect(text).toContain(`rigsnap restore ${m.workspaceId} ${m.safetySnapshotId}`);
        for (const m of r.reports) expect(text).toContain(m.workspaceId);
      }),
    );
  });

  it('a member never leaves a settled disk state for an earlier one (random events)', () => {
    const event: fc.Arbitrary<MemberEvent> = fc.oneof(
      fc.constant<MemberEvent>({ type: 'safety-taken', safetySnapshotId: 'snap_s' }),
      fc.constant<MemberEvent>({ type: 'safety-failed', error: 'x' }),
      fc.constant<MemberEvent>({ type: 'restore-sent' }),
      fc.constant<MemberEvent>({ type: 'restored' }),
      fc.constant<MemberEvent>({ type: 'restore-failed', error: 'x' }),
      fc.constant<MemberEvent>({ type: 'rollback-sent' }),
      fc.constant<MemberEvent>({ type: 'rolled-back' }),
      fc.constant<MemberEvent>({ type: 'rollback-failed', error: 'x' }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), (events) => {
        let s: MemberState = { phase: 'locked' };
        let touched = false;
        for (const e of events) {
          s = memberStep(s, e);
          if (s.phase === 'restore-sent') touched = true;
          // Once a restore was sent, the member is never "unchanged" again, and restores never start without a safety snapshot.
          if (touched) expect(memberReport({ workspaceId: 'ws_a', snapshotId: 'snap_a' }, s).outcome).not.toBe('unchanged');
          if (s.phase !== 'locked' && s.phase !== 'safety-failed') expect(s.safetySnapshotId).toBe('snap_s');
        }
      }),
    );
  });
});

describe('targets', () => {
  it('a complete set gives one target per member, each its own snapshot', () => {
    fc.assert(
      fc.property(targets, (ts) => {
        const r = targetsOfSet({ name: 'nightly', complete: true, members: ts }, false);
        expect(r).toEqual({ targets: ts });
      }),
    );
  });

  it('an incomplete set is refused unless allowed; allowed, only the members with a snapshot are restored', () => {
    fc.assert(
      fc.property(targets, fc.integer({ min: 0, max: 7 }), (ts, gap) => {
        const members = ts.map((t, i) => (i === gap % ts.length ? { workspaceId: t.workspaceId, snapshotId: null } : t));
        const refused = targetsOfSet({ name: 'nightly', complete: false, members }, false);
        expect(refused).toEqual({ refused: expect.stringMatching(/^set "nightly" is incomplete \(no snapshot of ws_.*allow incomplete/) });
        const allowed = targetsOfSet({ name: 'nightly', complete: false, members }, true);
        const rest = members.filter((m) => m.snapshotId !== null);
        expect(allowed).toEqual(rest.length ? { targets: rest } : { refused: expect.stringMatching(/at least one/) });
      }),
    );
  });

  it('refuses a workspace listed twice, none, or more than a group holds', () => {
    expect(refuseTargets([])).toMatch(/at least one/);
    expect(
      refuseTargets([
        { workspaceId: 'ws_a', snapshotId: 'snap_1' },
        { workspaceId: 'ws_a', snapshotId: 'snap_2' },
      ]),
    ).toMatch(/ws_a is listed twice/);
    const many = Array.from({ length: MAX_GROUP_MEMBERS + 1 }, (_, i) => ({ workspaceId: `ws_${i}`, snapshotId: `snap_${i}` }));
    expect(refuseTargets(many)).toMatch(/at most 50/);
  });

  it('a snapshot must be its own member', () => {
    const t = { workspaceId: 'ws_a', snapshotId: 'snap_1' };
    expect(refuseOwnership(t, { id: 'snap_1', workspace_id: 'ws_a' })).toBeNull();
    expect(refuseOwnership(t, { id: 'snap_1', workspace_id: 'ws_b' })).toMatch(/belongs to ws_b, not ws_a/);
    expect(refuseOwnership(t, null)).toMatch(/does not exist in workspace ws_a/);
  });

  it('the start order keeps the given order and puts members it does not name last', () => {
    fc.assert(
      fc.property(targets, (ts) => {
        const ids = ts.map((t) => t.workspaceId);
        const reversed = [...ids].reverse();
        expect(targetStartOrder(ts, reversed)).toEqual(reversed);
        expect(targetStartOrder(ts, undefined)).toEqual(ids);
        expect(targetStartOrder(ts, ['ws_other', ...reversed.slice(1)])).toEqual([...reversed.slice(1), reversed[0]]);
      }),
    );
  });
});
