import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_GROUP_MEMBERS,
  MAX_RECORDED_SETS,
  carriedStartOrder,
  emptyGroupState,
  groupSetOf,
  groupSets,
  groupView,
  lockOrder,
  membersToStart,
  migrateGroupState,
  normaliseMembers,
  refuseGroupEvent,
  refuseGroupName,
  refuseMembers,
  refuseStartOrder,
  step,
  type GroupEvent,
  type GroupSet,
  type GroupSetMember,
  type GroupState,
} from '../../domain/groups.js';

/**
 * Groups (domain/groups.ts, issue 23): names, member lists, start order, the global lock order, and the
 * group entity's step() against random sequences of create/update/delete.
 */

const wsId = fc.stringMatching(/^ws_[a-z0-9_-]{1,8}$/);
const members = fc.uniqueArray(wsId, { minLength: 2, maxLength: 8 });
const AT = '2026-12-06T18:00:00.000Z';

/** A permutation of `xs` drawn by fast-check. */
const permutationOf = (xs: string[]) => fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length });

describe('group names', () => {
  it.each(['shop', 'demo-stack', 'a', 'x1', 'a'.repeat(63)])('accepts %s', (n) => expect(refuseGroupName(n)).toBeNull());
  it.each(['', 'Shop', '-shop', 'shop-', 'shop_1', 'a b', 'a/b', 'a'.repeat(64), 'shöp'])('refuses %j', (n) => {
    expect(refuseGroupName(n)).toMatch(/lowercase letters, digits and inner dashes/);
  });
  it('refuses a name that is not a string', () => expect(refuseGroupName(42)).toMatch(/must be/));
});

describe('members', () => {
  it('normalises to each id once, in the order first given, blanks dropped', () => {
    expect(normaliseMembers(['ws_b', ' ws_a', 'ws_b', '', 'ws_c', 'ws_a'])).toEqual(['ws_b', 'ws_a', 'ws_c']);
  });

  it('refuses fewer than two, more than the maximum, repeats and ids that are not workspace ids', () => {
    expect(refuseMembers(['ws_a'])).toMatch(/at least 2 workspaces \(got 1\)/);
    expect(refuseMembers([])).toMatch(/at least 2/);
    const many = Array.from({ length: MAX_GROUP_MEMBERS + 1 }, (_, i) => `ws_${i}`);
    expect(refuseMembers(many)).toMatch(new RegExp(`at most ${MAX_GROUP_MEMBERS} workspaces \\(got ${MAX_GROUP_MEMBERS + 1}\\)`));
    expect(refuseMembers(many.slice(0, MAX_GROUP_MEMBERS))).toBeNull();
    expect(refuseMembers(['ws_a', 'ws_a'])).toMatch(/listed twice/);
    expect(refuseMembers(['ws_a', 'demo', 'ws_a/../b'])).toBe('members: "demo", "ws_a/../b" are not workspace ids (like "ws_demo")');
    expect(refuseMembers('ws_a,ws_b')).toMatch(/must be a list/);
  });

  it('accepts any normalised list of 2 to 50 distinct workspace ids', () => {
    fc.assert(
      fc.property(fc.array(wsId, { minLength: 2, maxLength: 60 }), (ids) => {
        const m = normaliseMembers(ids);
        expect(refuseMembers(m) === null).toBe(m.length >= 2 && m.length <= MAX_GROUP_MEMBERS);
      }),
    );
  });
});

describe('start order', () => {
  it('accepts exactly the permutations of the members', () => {
    fc.assert(
      fc.property(
        members.chain((m) => fc.tuple(fc.constant(m), permutationOf(m))),
        ([m, order]) => {
          expect(refuseStartOrder(m, order)).toBeNull();
        },
      ),
    );
  });

  it('refuses an order that leaves a member out, adds one, or repeats one', () => {
    fc.assert(
      fc.property(
        members.chain((m) => fc.tuple(fc.constant(m), permutationOf(m), fc.nat(m.length - 1), wsId)),
        ([m, order, i, other]) => {
          expect(
            refuseStartOrder(
              m,
              order.filter((_, j) => j !== i),
            ),
          ).toMatch(/is missing/);
          expect(refuseStartOrder(m, [...order, order[i]!])).toMatch(/listed twice/);
          if (!m.includes(other)) expect(refuseStartOrder(m, [...order, other])).toMatch(/is not a member/);
        },
      ),
    );
    expect(refuseStartOrder(['ws_a', 'ws_b', 'ws_c'], ['ws_c', 'ws_a'])).toBe('startOrder: ws_b is missing (it lists every member once)');
  });

  it('after a change of members keeps the order of those that stay and appends the new ones in member order', () => {
    expect(carriedStartOrder(['ws_c', 'ws_b', 'ws_a'], ['ws_a', 'ws_b', 'ws_d', 'ws_e'])).toEqual(['ws_b', 'ws_a', 'ws_d', 'ws_e']);
    fc.assert(
      fc.property(members, members, (before, after) => {
        const carried = carriedStartOrder(before, after);
        expect(refuseStartOrder(after, carried)).toBeNull();
        const kept = before.filter((w) => after.includes(w));
        expect(carried.slice(0, kept.length)).toEqual(kept);
      }),
    );
  });
});

describe('the global lock order', () => {
  it('is the same whatever order (and repeats) the ids come in', () => {
    fc.assert(
      fc.property(
        fc.array(wsId, { maxLength: 20 }).chain((ids) => fc.tuple(fc.constant(ids), permutationOf(ids))),
        ([ids, shuffled]) => {
          expect(lockOrder(shuffled)).toEqual(lockOrder(ids));
          expect(lockOrder([...ids, ...ids])).toEqual(lockOrder(ids));
          expect(lockOrder(ids)).toEqual([...new Set(ids)].sort());
        },
      ),
    );
  });

  it('is a total order: strictly ascending, each id once, and consistent between any two groups that share members', () => {
    fc.assert(
      fc.property(members, members, (g1, g2) => {
        const o1 = lockOrder(g1);
        const o2 = lockOrder(g2);
        for (let i = 1; i < o1.length; i++) expect(o1[i - 1]! < o1[i]!).toBe(true);
        // The shared members come in the same relative order in both: no group waits for a lock the other holds while holding one it wants.
        const shared1 = o1.filter((w) => g2.includes(w));
        const shared2 = o2.filter((w) => g1.includes(w));
        expect(shared1).toEqual(shared2);
      }),
    );
  });

  it('compares code units, not a locale (upper case before lower case, "-" before "_")', () => {
    expect(lockOrder(['ws_b', 'ws_B', 'ws_a', 'ws_-', 'ws__'])).toEqual(['ws_-', 'ws_B', 'ws__', 'ws_a', 'ws_b']);
  });
});

describe('the group entity state (step)', () => {
  const create = (m: string[], startOrder?: string[]): GroupEvent => ({
    type: 'create',
    request: { members: m, ...(startOrder ? { startOrder } : {}), by: 'ann' },
    at: AT,
  });

  it('creates with the default start order (member order), shows the lock order, refuses other members for an existing group', () => {
    const s = step(emptyGroupState('shop'), create(['ws_web', 'ws_api', 'ws_db']));
    expect(groupView(s)).toEqual({
      name: 'shop',
      exists: true,
      members: ['ws_web', 'ws_api', 'ws_db'],
      startOrder: ['ws_web', 'ws_api', 'ws_db'],
      lockOrder: ['ws_api', 'ws_db', 'ws_web'],
      createdAt: AT,
      createdBy: 'ann',
      updatedAt: AT,
      updatedBy: 'ann',
    });
    expect(refuseGroupEvent(s, create(['ws_web', 'ws_api', 'ws_db']))).toBeNull(); // a retry of the same create
    expect(step(s, create(['ws_web', 'ws_api', 'ws_db']))).toBe(s);
    expect(refuseGroupEvent(s, create(['ws_web', 'ws_api']))).toBe('group shop already exists with members ws_web,ws_api,ws_db');
    expect(refuseGroupEvent(s, create(['ws_web', 'ws_api', 'ws_db'], ['ws_db', 'ws_api', 'ws_web']))).toMatch(/already exists/);
  });

  it('refuses an update or a delete of a group that does not exist, and a create with a bad start order', () => {
    const none = emptyGroupState('shop');
    expect(refuseGroupEvent(none, { type: 'update', request: { members: ['ws_a', 'ws_b'], by: 'ann' }, at: AT })).toBe('group shop does not exist');
    expect(refuseGroupEvent(none, { type: 'delete', request: { by: 'ann' }, at: AT })).toBe('group shop does not exist');
    expect(refuseGroupEvent(none, create(['ws_a', 'ws_b'], ['ws_a']))).toMatch(/ws_b is missing/);
    expect(step(none, create(['ws_a', 'ws_b'], ['ws_a']))).toBe(none);
  });

  it('deletes, and a deleted group can be created again', () => {
    const s = step(emptyGroupState('shop'), create(['ws_a', 'ws_b']));
    const gone = step(s, { type: 'delete', request: { by: 'bob' }, at: AT });
    expect(gone.status).toBe('deleted');
    expect(groupView(gone)).toMatchObject({ exists: false, members: [], lockOrder: [] });
    expect(step(gone, create(['ws_c', 'ws_d'])).members).toEqual(['ws_c', 'ws_d']);
  });

  it('migrates: no or unknown carried state is an empty group; v2 is kept (name from the input); v1 becomes v2 with no sets', () => {
    expect(migrateGroupState('shop', undefined)).toEqual(emptyGroupState('shop'));
    expect(migrateGroupState('shop', { v: 99 })).toEqual(emptyGroupState('shop'));
    const s = step(emptyGroupState('shop'), create(['ws_a', 'ws_b']));
    expect(migrateGroupState('shop', JSON.parse(JSON.stringify(s)))).toEqual(s);
    // What a v1 entity (before sets) carried across continue-as-new.
    const v1 = {
      v: 1,
      name: 'shop',
      status: 'active',
      members: ['ws_a', 'ws_b'],
      startOrder: ['ws_b', 'ws_a'],
      createdAt: AT,
      createdBy: 'ann',
      updatedAt: AT,
      updatedBy: 'ann',
    };
    expect(migrateGroupState('shop', v1)).toEqual({ ...v1, v: 2, sets: [] });
  });

  it('random create/update/delete sequences keep the invariants: an active group has valid members and a start order that is a permutation of them', () => {
    const request = fc.record({ members: fc.option(fc.array(wsId, { maxLength: 5 }), { nil: undefined }), reorder: fc.boolean() });
    const event = fc.tuple(fc.constantFrom('create', 'update', 'delete'), request);
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        let s: GroupState = emptyGroupState('g');
        for (const [type, r] of events) {
          const m = r.members ? normaliseMembers(r.members) : undefined;
          const e: GroupEvent =
            type === 'delete'
              ? { type, request: { by: 'x' }, at: AT }
              : type === 'create'
                ? { type, request: { members: m ?? [], ...(r.reorder && m ? { startOrder: [...m].reverse() } : {}), by: 'x' }, at: AT }
                : { type, request: { ...(m ? { members: m } : {}), ...(r.reorder ? { startOrder: [...(m ?? s.members)].reverse() } : {}), by: 'x' }, at: AT };
          const refused = refuseGroupEvent(s, e);
          const next = step(s, e);
          if (refused) expect(next).toBe(s);
          s = next;
          if (s.status === 'active') {
            expect(refuseMembers(s.members)).toBeNull();
            expect(refuseStartOrder(s.members, s.startOrder)).toBeNull();
          } else expect(s.members).toEqual([]);
          expect(JSON.parse(JSON.stringify(s))).toEqual(s);
        }
      }),
    );
  });
});

describe('group snapshot sets', () => {
  const active = step(emptyGroupState('shop'), { type: 'create', request: { members: ['ws_a', 'ws_b', 'ws_c'], by: 'ann' }, at: AT });
  const run = (n: number) => ({ name: `set-${n}`, at: AT, workflowId: `wf-${n}`, runId: `run-${n}` });
  const member = fc.record({
    workspaceId: wsId,
    outcome: fc.constantFrom('snapshotted' as const, 'failed' as const, 'not-snapshotted' as const),
  });
  const outcomes = fc.uniqueArray(member, { minLength: 2, maxLength: 8, selector: (m) => m.workspaceId }).map((ms) =>
    ms.map((m, i): GroupSetMember => ({
      ...m,
      snapshotId: m.outcome === 'snapshotted' ? `snap_${i}` : null,
      ...(m.outcome === 'failed' ? { errorType: 'Unavailable' } : {}),
    })),
  );

  it('a set is complete exactly when every member was snapshotted, and none is made when nothing landed', () => {
    fc.assert(
      fc.property(outcomes, (ms) => {
        const set = groupSetOf(run(1), ms);
        if (!ms.some((m) => m.outcome === 'snapshotted')) {
          expect(set).toBeNull();
          return;
        }
        expect(set!.complete).toBe(ms.every((m) => m.outcome === 'snapshotted'));
        expect(set!.members).toEqual(ms);
        // What groupSetOf makes, the entity accepts.
        expect(refuseGroupEvent(active, { type: 'record-set', request: set!, at: AT })).toBeNull();
      }),
    );
  });

  it("records sets newest first, replaces the same run's set (a retried record), and keeps at most MAX_RECORDED_SETS", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: MAX_RECORDED_SETS * 2 }), { maxLength: MAX_RECORDED_SETS * 3 }), (runs) => {
        let s = active;
        for (const n of runs) {
          const set = groupSetOf(run(n), [{ workspaceId: 'ws_a', outcome: 'snapshotted', snapshotId: `snap_${n}` }])!;
          s = step(s, { type: 'record-set', request: set, at: AT });
        }
        const distinctNewestLast = runs.filter((n, i) => runs.lastIndexOf(n) === i);
        expect(s.sets.map((x) => x.workflowId)).toEqual(distinctNewestLast.slice(-MAX_RECORDED_SETS).map((n) => `wf-${n}`));
        expect(groupSets(s).map((x) => x.workflowId)).toEqual([...s.sets].reverse().map((x) => x.workflowId));
        expect(s.members).toEqual(active.members);
      }),
    );
  });

  it('refuses a set for a group that does not exist, a workspace listed twice, or a complete flag or snapshot id that lies', () => {
    const good: GroupSet = groupSetOf(run(1), [
      { workspaceId: 'ws_a', outcome: 'snapshotted', snapshotId: 'snap_1' },
      { workspaceId: 'ws_b', outcome: 'failed', snapshotId: null, errorType: 'Unauthorized' },
    ])!;
    const refuse = (st: GroupState, request: GroupSet) => refuseGroupEvent(st, { type: 'record-set', request, at: AT });
    expect(refuse(active, good)).toBeNull();
    expect(refuse(emptyGroupState('shop'), good)).toBe('group shop does not exist');
    expect(refuse(active, { ...good, members: [good.members[0]!, good.members[0]!] })).toMatch(/twice/);
    expect(refuse(active, { ...good, complete: true })).toMatch(/complete exactly when/);
    expect(refuse(active, { ...good, members: [{ ...good.members[0]!, snapshotId: null }, good.members[1]!] })).toMatch(/snapshot id exactly when/);
    expect(step(active, { type: 'record-set', request: { ...good, complete: true }, at: AT })).toBe(active);
  });

  it('starts, in the start order, exactly the members it must start', () => {
    fc.assert(
      fc.property(
        members.chain((m) => fc.tuple(permutationOf(m), fc.subarray(m))),
        ([order, must]) => {
          const started = membersToStart(order, new Set(must));
          expect([...started].sort()).toEqual([...must].sort());
          expect(started).toEqual(order.filter((w) => must.includes(w)));
        },
      ),
    );
  });
});
