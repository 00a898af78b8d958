import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGING_STEP_MS, CallQueue, laneOf, type CallClass } from '../../activities/call-queue.js';

/** The order of Rigbox calls waiting for the quota: priority, changes before reads, aging, fairness by weight. */

const callClass = fc.record({
  kind: fc.constantFrom<'change' | 'read'>('change', 'read'),
  priorityKey: fc.integer({ min: 1, max: 5 }),
});

function drain<T>(q: CallQueue<T>): T[] {
  const out: T[] = [];
  for (let c = q.pop(); c; c = q.pop()) out.push(c.item);
  return out;
}

describe('CallQueue', () => {
  it('lanes: priority first, then changes before reads; absent or odd keys take Temporal’s default, 3', () => {
    expect(laneOf({ kind: 'change', priorityKey: 1 })).toBe(0);
    expect(laneOf({ kind: 'read', priorityKey: 1 })).toBe(1);
    expect(laneOf({ kind: 'change', priorityKey: 4 })).toBe(6);
    expect(laneOf({ kind: 'read' })).toBe(5);
    expect(laneOf({ kind: 'read', priorityKey: 0 })).toBe(5);
    expect(laneOf({ kind: 'read', priorityKey: 9 })).toBe(9);
  });

  it('calls waiting together go by class: every priority-1 call before any priority-4 call, changes before reads within a priority', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(callClass, fc.integer({ min: 0, max: AGING_STEP_MS - 1 })), { minLength: 1, maxLength: 60 }), (calls) => {
        const q = new CallQueue<CallClass & { at: number }>();
        // Arrivals within one aging step of each other: the strict order holds.
        for (const [c, at] of calls) q.push({ ...c, at }, c, at);
        const order = drain(q);
        expect(order).toHaveLength(calls.length);
        const lanes = order.map(laneOf);
        for (let i = 1; i < lanes.length; i++) expect(lanes[i]).toBeGreaterThanOrEqual(lanes[i - 1]!);
        const lastP1 = order.map((c) => c.priorityKey).lastIndexOf(1);
        const firstP4 = order.findIndex((c) => c.priorityKey === 4);
        if (lastP1 >= 0 && firstP4 >= 0) expect(lastP1).toBeLessThan(firstP4);
      }),
    );
  });

  it('no starvation: a waiting call is never passed by a call of another class that arrived after its deadline (arrival + lane × 2 s)', () => {
    // One call served per tick while calls of any class keep arriving (the quota saturated).
    const arrivals = fc.array(fc.tuple(callClass, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(arrivals, fc.integer({ min: 50, max: 1000 }), (stream, tickMs) => {
        const q = new CallQueue<{ id: number; lane: number; arrivedAt: number; deadline: number }>();
        const served: { id: number; lane: number; arrivedAt: number; deadline: number }[] = [];
        let now = 0;
        let id = 0;
        for (const [c, burst] of stream) {
          for (let k = 0; k < burst; k++) {
            const lane = laneOf(c);
            q.push({ id: id++, lane, arrivedAt: now, deadline: now + lane * AGING_STEP_MS }, c, now);
          }
          const next = q.pop();
          if (next) served.push(next.item);
          now += tickMs;
        }
        served.push(...drain(q));
        for (let i = 0; i < served.length; i++) {
          for (let j = i + 1; j < served.length; j++) {
            const [early, late] = [served[i]!, served[j]!];
            // `late` waited while `early` went: `early` arrived no later than `late`'s deadline, or shares its lane.
            if (early.lane !== late.lane && early.arrivedAt > late.arrivedAt) expect(early.arrivedAt).toBeLessThanOrEqual(late.deadline);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a priority-5 read under an endless flood of priority-1 changes: only the changes that arrived in its first 18 s go before it', () => {
    const q = new CallQueue<string>();
    q.push('low', { kind: 'read', priorityKey: 5 }, 0);
    // Five priority-1 changes arrive per second and one call goes per second: the queue only grows.
    let highBefore = 0;
    let served = false;
    for (let t = 0; t < 300_000 && !served; t += 1000) {
      for (let k = 0; k < 5; k++) q.push('high', { kind: 'change', priorityKey: 1 }, t);
      if (q.pop()!.item === 'low') served = true;
      else highBefore++;
    }
    expect(served).toBe(true);
    // Its deadline is 9 lanes × 2 s: the changes of seconds 0 to 18 (19 × 5) go first, none after.
    expect(highBefore).toBe(19 * 5);
  });

  it('fairness keys in one class share turns by weight: 1 and 3 → 25 % and 75 % (±5 points) while both wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<'change' | 'read'>('change', 'read'),
        fc.integer({ min: 0, max: 40 }),
        (priorityKey, kind, headStart) => {
          const q = new CallQueue<string>();
          // Team A had calls waiting before team B came: no banked turns either way.
          for (let i = 0; i < headStart; i++) q.push('a', { kind, priorityKey, fairnessKey: 'team-a', fairnessWeight: 1 }, 0);
          for (let i = 0; i < 1000; i++) {
            q.push('a', { kind, priorityKey, fairnessKey: 'team-a', fairnessWeight: 1 }, 0);
            q.push('b', { kind, priorityKey, fairnessKey: 'team-b', fairnessWeight: 3 }, 0);
          }
          const served = Array.from({ length: 400 }, () => q.pop()!.item).slice(headStart);
          const shareB = served.filter((x) => x === 'b').length / served.length;
          expect(Math.abs(shareB - 0.75)).toBeLessThanOrEqual(0.05);
        },
      ),
    );
  });

  it('weights in any ratio: each key gets its weight’s share of the turns (±5 points)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 4 }), (weights) => {
        const q = new CallQueue<number>();
        for (let i = 0; i < 2000; i++) weights.forEach((w, k) => q.push(k, { kind: 'read', fairnessKey: `k${k}`, fairnessWeight: w }, 0));
        const served = Array.from({ length: 1000 }, () => q.pop()!.item);
        const total = weights.reduce((a, b) => a + b, 0);
        weights.forEach((w, k) => {
          expect(Math.abs(served.filter((x) => x === k).length / served.length - w / total)).toBeLessThanOrEqual(0.05);
        });
      }),
      { numRuns: 50 },
    );
  });

  it('a removed call (a cancelled read) never goes, and the rest keep their order', () => {
    const q = new CallQueue<string>();
    q.push('a', { kind: 'read' }, 0);
    const b = q.push('b', { kind: 'read' }, 0);
    q.push('c', { kind: 'read' }, 0);
    expect(q.remove(b)).toBe(true);
    expect(q.remove(b)).toBe(false);
    expect(drain(q)).toEqual(['a', 'c']);
    expect(q.size).toBe(0);
  });
});
