import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emptyEntityState,
  migrateEntityState,
  refuseAcquire,
  step,
  type EntityEvent,
  type EntityRequest,
  type EntityState,
} from '../../domain/workspace-entity.js';

/**
 * The workspace entity's rules (domain/workspace-entity.ts): random sequences of events, with
 * continue-as-new (serialise, then migrate) between any two, against the lock's invariants.
 */

const WS = 'ws_prop';
const AT = '2026-12-01T00:00:00.000Z';
const RUNS = ['a', 'b', 'c', 'd'].map((w, i) => ({ workflowId: `op-${w}`, runId: `01a24ba9-0000-7000-8000-00000000000${i}` }));

function request(run: number, n: number, requestedBy = 'ann@host'): EntityRequest {
  const { workflowId, runId } = RUNS[run]!;
  return { requestId: `${workflowId}/${runId}/${n}`, workflowId, runId, operation: 'snapshot', requestedAt: AT, requestedBy };
}

type Step = EntityEvent | { type: 'continue-as-new' };

const run = fc.integer({ min: 0, max: RUNS.length - 1 });
const seq = fc.integer({ min: 1, max: 2 });
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(run, seq, fc.boolean())
      .map(([r, n, grantInAnswer]) => ({ type: 'acquire' as const, request: request(r, n), at: AT, ...(grantInAnswer ? { grantInAnswer } : {}) })),
  },
  { weight: 4, arbitrary: fc.tuple(run, seq).map(([r, n]) => ({ type: 'release' as const, requestId: request(r, n).requestId, at: AT })) },
  { weight: 2, arbitrary: run.map((r) => ({ type: 'holder-closed' as const, ...RUNS[r]!, at: AT })) },
  { weight: 1, arbitrary: fc.tuple(run, seq).map(([r, n]) => ({ type: 'requester-gone' as const, requestId: request(r, n).requestId, at: AT })) },
  {
    weight: 2,
    arbitrary: fc.tuple(run, seq, fc.constantFrom('restarted' as const, 'not-owed' as const, 'workspace-gone' as const)).map(([r, n, outcome]) => ({
      type: 'repair-settled' as const,
      requestId: request(r, n).requestId,
      outcome,
      at: AT,
    })),
  },
  { weight: 1, arbitrary: run.map((r) => ({ type: 'abandon-honoured' as const, workflowId: RUNS[r]!.workflowId, at: AT })) },
  { weight: 1, arbitrary: fc.boolean().map((open) => ({ type: 'legacy-lock' as const, open, at: AT })) },
  { weight: 2, arbitrary: fc.constant({ type: 'continue-as-new' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'resumed' as const, at: AT }) },
);

/** What the shell would see: answers per request, and the grants and repairs in flight. */
class Observer {
  readonly answers = new Map<string, string[]>();
  readonly outstanding = new Set<string>();
  readonly repairsOwed = new Set<string>();
  readonly acceptedAcquires = new Set<string>();

  answer(requestId: string, how: string): void {
    this.answers.set(requestId, [...(this.answers.get(requestId) ?? []), how]);
  }

  apply(state: EntityState, event: EntityEvent): EntityState {
    const queuedBefore = new Set(state.lock.queue.map((r) => r.requestId));
    const holderBefore = state.lock.holder?.requestId;
    const r = step(state, event);
    // The holder's time ends when it is no longer the holder (released, closed, gone, abandoned).
    const stillHolds = r.state.lock.holder?.requestId === holderBefore || r.effects.some((e) => e.type === 'grant' && e.request.requestId === holderBefore);
    if (holderBefore && !stillHolds) this.outstanding.delete(holderBefore);
    if (event.type === 'repair-settled') this.repairsOwed.delete(event.requestId);
    if (event.type === 'abandon-honoured') for (const id of [...this.repairsOwed]) if (id.startsWith(`${event.workflowId}/`)) this.repairsOwed.delete(id);
    const granting = (requestId: string) => {
      // A repair comes before the next grant; and one holder at a time.
      expect([...this.repairsOwed], `grant of ${requestId} while a repair is owed`).toEqual([]);
      expect([...this.outstanding], `grant of ${requestId} while another holds`).toEqual([]);
      this.outstanding.add(requestId);
      this.answer(requestId, 'granted');
    };
    // Granted in the acquire's answer (`holding`, no signal): the requester learns it from the answer.
    const inAnswer = event.type === 'acquire' && event.grantInAnswer && r.answer?.status === 'holding' && holderBefore !== event.request.requestId;
    if (inAnswer) {
      expect(r.effects.some((e) => e.type === 'grant' && e.request.requestId === event.request.requestId)).toBe(false);
      granting(event.request.requestId);
    }
    for (const e of r.effects) {
      if (e.type === 'grant') granting(e.request.requestId);
      // A refused retry of a request answered already is not a second answer; any other refusal is its answer.
      if (e.type === 'deny' && !this.answers.has(e.requestId)) this.answer(e.requestId, 'denied');
      if (e.type === 'restart') this.repairsOwed.add(e.repair.requestId);
    }
    if (event.type === 'acquire' && r.answer?.status !== 'denied') this.acceptedAcquires.add(event.request.requestId);
    const granted = new Set(r.effects.flatMap((e) => (e.type === 'grant' ? [e.request.requestId] : [])));
    if (inAnswer) granted.add(event.request.requestId);
    for (const id of queuedBefore) if (!r.state.lock.queue.some((q) => q.requestId === id) && !granted.has(id)) this.answer(id, 'left the queue');
    return r.state;
  }
}

/** Continue-as-new: the state goes through JSON (the next run's input) and the migration. */
const continueAsNew = (s: EntityState) => migrateEntityState(WS, JSON.parse(JSON.stringify(s)));

/** Ends every wait: the old lock closed, repairs settled, holders release; nothing may be left waiting. */
function drain(obs: Observer, state: EntityState): EntityState {
  let s = obs.apply(state, { type: 'legacy-lock', open: false, at: AT });
  for (let i = 0; i < 50 && (s.lock.holder || s.lock.queue.length || s.lock.repairs.length); i++) {
    for (const r of s.lock.repairs) s = obs.apply(s, { type: 'repair-settled', requestId: r.requestId, outcome: 'restarted', at: AT });
    if (s.lock.holder) s = obs.apply(s, { type: 'release', requestId: s.lock.holder.requestId, at: AT });
  }
  return s;
}

describe('workspace entity rules (fast-check)', () => {
  it('at most one holder, a repair before the next grant, every request answered exactly once; across continue-as-new', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 60 }), (steps) => {
        const obs = new Observer();
        let s = emptyEntityState(WS);
        // A new run (continue-as-new, or a recovery after a termination) starts with `resumed`.
        for (const e of steps) s = e.type === 'continue-as-new' ? obs.apply(continueAsNew(s), { type: 'resumed', at: AT }) : obs.apply(s, e);
        s = drain(obs, s);
        expect(s.lock.holder).toBeNull();
        expect(s.lock.queue).toEqual([]);
        for (const [id, answers] of obs.answers) expect(answers, `answers to ${id}`).toHaveLength(1);
        for (const id of obs.acceptedAcquires) expect(obs.answers.has(id), `${id} was never answered`).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a retried acquire keeps its one place in the queue and learns where it stands', () => {
    let s = step(emptyEntityState(WS), { type: 'legacy-lock', open: false, at: AT }).state;
    const first = step(s, { type: 'acquire', request: request(0, 1), at: AT });
    expect(first.answer).toEqual({ status: 'holding' });
    expect(first.effects).toEqual([{ type: 'grant', request: request(0, 1) }]);
    s = first.state;
    s = step(s, { type: 'acquire', request: request(1, 1), at: AT }).state;
    const retry = step(s, { type: 'acquire', request: request(1, 1), at: AT });
    expect(retry.answer).toEqual({ status: 'queued', position: 1 });
    expect(retry.effects).toEqual([]);
    expect(retry.state.lock.queue).toHaveLength(1);
  });

  it('granted at once, a request asked with grantInAnswer learns it from the answer alone; one granted from the queue gets the signal', () => {
    let s = step(emptyEntityState(WS), { type: 'legacy-lock', open: false, at: AT }).state;
    const first = step(s, { type: 'acquire', request: request(0, 1), at: AT, grantInAnswer: true });
    expect(first.answer).toEqual({ status: 'holding' });
    expect(first.effects).toEqual([]);
    expect(first.state.lock.holder?.requestId).toBe(request(0, 1).requestId);
    s = first.state;
    const second = step(s, { type: 'acquire', request: request(1, 1), at: AT, grantInAnswer: true });
    expect(second.answer).toEqual({ status: 'queued', position: 1 });
    // Its turn comes after the answer: only a signal can tell it.
    const released = step(second.state, { type: 'release', requestId: request(0, 1).requestId, at: AT });
    expect(released.effects).toEqual([{ type: 'grant', request: request(1, 1) }]);
  });

  it('grants nothing while the old lock workflow is open, and asks for it to be checked', () => {
    const s = emptyEntityState(WS);
    const r = step(s, { type: 'acquire', request: request(0, 1), at: AT });
    expect(r.answer).toEqual({ status: 'queued', position: 1 });
    expect(r.effects).toEqual([{ type: 'check-legacy-lock' }]);
    const open = step(r.state, { type: 'legacy-lock', open: true, at: AT });
    expect(open.effects.some((e) => e.type === 'grant')).toBe(false);
    const closed = step(open.state, { type: 'legacy-lock', open: false, at: AT });
    expect(closed.effects).toEqual([{ type: 'grant', request: request(0, 1) }]);
  });

  it('a holder that closed owes a repair first; a workspace Rigbox says is gone settles it, with a notice', () => {
    let s = step(emptyEntityState(WS), { type: 'legacy-lock', open: false, at: AT }).state;
    s = step(s, { type: 'acquire', request: request(0, 1), at: AT }).state;
    s = step(s, { type: 'acquire', request: request(1, 1), at: AT }).state;
    const closed = step(s, { type: 'holder-closed', ...RUNS[0]!, at: AT });
    expect(closed.effects.map((e) => e.type)).toEqual(['restart']);
    expect(closed.state.lock.holder).toBeNull();
    // Its release, arriving late (or its retry), changes nothing and is refused.
    expect(step(closed.state, { type: 'release', requestId: request(0, 1).requestId, at: AT }).effects).toEqual([]);
    expect(refuseAcquire(closed.state, request(0, 1))).toMatch(/closed/);
    const gone = step(closed.state, { type: 'repair-settled', requestId: request(0, 1).requestId, outcome: 'workspace-gone', at: AT });
    expect(gone.effects.map((e) => e.type)).toEqual(['notify', 'grant']);
    expect(gone.state.lock.holder?.requestId).toBe(request(1, 1).requestId);
  });

  it('the validator refuses bad and stale requests', () => {
    const s = emptyEntityState(WS);
    expect(refuseAcquire(s, { ...request(0, 1), requestId: '' })).toMatch(/no request id/);
    expect(refuseAcquire(s, { ...request(0, 1), requestId: request(1, 1).requestId })).toMatch(/not of the requesting run/);
    // A run id that is not one would fail the entity's grant command (and with it its workflow task).
    expect(refuseAcquire(s, { ...request(0, 1), runId: 'run-a', requestId: 'op-a/run-a/1' })).toMatch(/not a Temporal run id/);
    const released = step(s, { type: 'release', requestId: request(0, 1).requestId, at: AT }).state;
    expect(refuseAcquire(released, request(0, 1))).toMatch(/already answered/);
    expect(refuseAcquire(s, request(0, 1))).toBeNull();
  });
});

describe('workspace entity state migration', () => {
  it('from the old lock workflow carried state (no `v`): holder, queue, released and blockers kept, the old lock counted closed', () => {
    const holder = { ...request(0, 1), grantedAt: AT };
    const s = migrateEntityState(WS, {
      holder,
      queue: [request(1, 1)],
      recentlyReleased: [request(2, 1).requestId],
      blockedBy: [{ workflowId: 'op-d', runId: RUNS[3]!.runId, why: 'also holds the workspace' }],
    });
    expect(s.v).toBe(1);
    expect(s.lock).toEqual({
      holder,
      queue: [request(1, 1)],
      repairs: [],
      blockers: [{ workflowId: 'op-d', runId: RUNS[3]!.runId, why: 'also holds the workspace' }],
      settled: [request(2, 1).requestId],
      legacyLock: 'closed',
    });
    // The blocker must release or close before anything is granted.
    const released = step(s, { type: 'release', requestId: holder.requestId, at: AT });
    expect(released.effects).toEqual([]);
    expect(step(released.state, { type: 'holder-closed', ...RUNS[3]!, at: AT }).effects.map((e) => e.type)).toEqual(['grant']);
  });

  it('from nothing, from itself (identity), and a version 1 state without the later sections; refuses a newer version', () => {
    expect(migrateEntityState(WS, undefined)).toEqual(emptyEntityState(WS));
    const s = step(emptyEntityState(WS), { type: 'acquire', request: request(0, 1), at: AT }).state;
    expect(continueAsNew(s)).toEqual(s);
    const { holds: _h, baseline: _b, labels: _l, notices: _n, groups: _g, ...lockOnly } = s;
    expect(migrateEntityState(WS, lockOnly)).toEqual(s);
    expect(() => migrateEntityState(WS, { ...s, v: 2 })).toThrow(/newer/);
  });
});
