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

/** A served call, with what it was when it waited. */
interface Seen {
  id: number;
  key: string;
  priorityKey: number;
  kind: 'change' | 'read';
  arrivedAt: number;
  deadline: number;
}

/**
 * Keys of one priority, each with `clients` callers that each have one call waiting at a time and ask
 * again at once after their turn (always backlogged; a key of one client runs dry between its turns).
 * Each call's kind comes from `kinds`, in turn. Returns the keys of the turns served, one per tick.
 */
function backlogged(keys: { key: string; weight: number; clients: number }[], kinds: ('change' | 'read')[], turns: number, headStart = 0): string[] {
  const q = new CallQueue<{ key: string; weight: number }>();
  let n = 0;
  const kind = () => kinds[n++ % kinds.length]!;
  const ask = (k: { key: string; weight: number }, now: number) =>
    q.push(k, { kind: kind(), priorityKey: 4, fairnessKey: k.key, fairnessWeight: k.weight }, now);
  // The first key alone for `headStart` turns: it cannot bank them against the others, nor they against it.
  for (let t = 0; t < headStart; t++) {
    ask(keys[0]!, t * 25);
    q.pop();
  }
  for (const k of keys) for (let c = 0; c < k.clients; c++) ask(k, headStart * 25);
  const served: string[] = [];
  for (let t = 0; t < turns; t++) {
    const now = (headStart + t) * 25;
    const next = q.pop()!;
    served.push(next.item.key);
    ask(next.item, now);
  }
  return served;
}

/** The largest distance, over every window of `size` consecutive turns, between `key`'s share and `share`. */
function worstWindow(served: string[], key: string, size: number, share: number): number {
  let inWindow = served.slice(0, size).filter((k) => k === key).length;
  let worst = Math.abs(inWindow / size - share);
  for (let i = size; i < served.length; i++) {
    inWindow += (served[i] === key ? 1 : 0) - (served[i - size] === key ? 1 : 0);
    worst = Math.max(worst, Math.abs(inWindow / size - share));
  }
  return worst;
}

describe('CallQueue: fairness between keys of one priority, whatever their calls’ kinds', () => {
  const kinds = fc.array(fc.constantFrom<'change' | 'read'>('change', 'read'), { minLength: 1, maxLength: 12 });

  it('two keys always backlogged at weights 1 and 3: over every window of 400 turns, 25 % / 75 % ± 2 points', () => {
    fc.assert(
      fc.property(kinds, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 300 }), (mix, ca, cb, headStart) => {
        const served = backlogged(
          [
            { key: 'a', weight: 1, clients: ca },
            { key: 'b', weight: 3, clients: cb },
          ],
          mix,
          2000,
          headStart,
        );
        expect(worstWindow(served, 'a', 400, 0.25)).toBeLessThanOrEqual(0.02);
      }),
      { numRuns: 150 },
    );
  });

  it('any weights, two to four keys: every window of 400 turns gives each its weight’s share ± 2 points', () => {
    const keys = fc.array(fc.record({ weight: fc.integer({ min: 1, max: 10 }), clients: fc.integer({ min: 1, max: 20 }) }), { minLength: 2, maxLength: 4 });
    fc.assert(
      fc.property(keys, kinds, (ks, mix) => {
        const named = ks.map((k, i) => ({ ...k, key: `k${i}` }));
        const served = backlogged(named, mix, 1600);
        const total = ks.reduce((s, k) => s + k.weight, 0);
        for (const k of named) expect(worstWindow(served, k.key, 400, k.weight / total)).toBeLessThanOrEqual(0.02);
      }),
      { numRuns: 100 },
    );
  });

  it('a key idle while another ran does not bank turns: back, it takes its weight’s share from its first turn', () => {
    const q = new CallQueue<string>();
    for (let t = 0; t < 500; t++) {
      q.push('a', { kind: 'read', priorityKey: 4, fairnessKey: 'a', fairnessWeight: 1 }, t);
      if (t % 2 === 0) q.pop(); // a's backlog grows while it runs alone
    }
    for (let i = 0; i < 400; i++) q.push('b', { kind: 'read', priorityKey: 4, fairnessKey: 'b', fairnessWeight: 1 }, 500);
    const next = Array.from({ length: 100 }, () => q.pop()!);
    expect(next.filter((c) => c.item === 'b')).toHaveLength(50);
    expect(next.every((c) => c.contended)).toBe(true);
  });
});

describe('CallQueue: priority across keys, and no starvation', () => {
  const anyCall = fc.record({
    kind: fc.constantFrom<'change' | 'read'>('change', 'read'),
    priorityKey: fc.integer({ min: 1, max: 5 }),
    fairnessKey: fc.constantFrom('', 'team-a', 'team-b', 'team-c'),
    fairnessWeight: fc.constantFrom(0.5, 1, 3, 10),
  });

  /** Serves one call per tick while `stream` arrives (bursts per tick), then drains; checks `rule` at every turn against the calls still waiting. */
  function run(stream: [CallClass & { fairnessKey: string }, number][], tickMs: number, rule: (served: Seen, waiting: Seen[]) => void): Seen[] {
    const q = new CallQueue<Seen>();
    const waiting = new Map<number, Seen>();
    const order: Seen[] = [];
    let now = 0;
    let id = 0;
    const serve = () => {
      const next = q.pop();
      if (!next) return;
      waiting.delete(next.item.id);
      rule(next.item, [...waiting.values()]);
      order.push(next.item);
    };
    for (const [c, burst] of stream) {
      for (let k = 0; k < burst; k++) {
        const seen: Seen = {
          id: id++,
          key: c.fairnessKey,
          priorityKey: c.priorityKey!,
          kind: c.kind,
          arrivedAt: now,
          deadline: now + laneOf(c) * AGING_STEP_MS,
        };
        waiting.set(seen.id, seen);
        q.push(seen, c, now);
      }
      serve();
      now += tickMs;
    }
    while (q.size > 0) serve();
    return order;
  }

  it('a call never goes before a waiting call of a higher priority that arrived no later than it (K = 0), whatever the keys and weights', () => {
    const stream = fc.array(fc.tuple(anyCall, fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 250 });
    fc.assert(
      fc.property(stream, fc.integer({ min: 20, max: 1500 }), (s, tickMs) => {
        const order = run(s, tickMs, (served, waiting) => {
          for (const w of waiting) if (w.priorityKey < served.priorityKey) expect(served.arrivedAt).toBeLessThan(w.arrivedAt);
        });
        expect(order).toHaveLength(s.reduce((n, [, b]) => n + b, 0));
      }),
      { numRuns: 200 },
    );
  });

  it('no starvation: under a flood of higher-priority calls of several keys, a priority-5 read goes once the calls whose deadlines are earlier than its own have gone', () => {
    // Two teams flood priority 1 and 2 at 3 calls a second each, one call goes per second: the queue only grows.
    fc.assert(
      fc.property(fc.constantFrom(1, 3, 10), fc.integer({ min: 0, max: 17_999 }), (weightB, arrival) => {
        const q = new CallQueue<{ deadline: number; low?: true }>();
        let served = false;
        let passedBy = 0;
        let earlier = 0;
        const lowDeadline = arrival + laneOf({ kind: 'read', priorityKey: 5 }) * AGING_STEP_MS;
        for (let t = 0; t < 3_000_000 && !served; t += 1000) {
          if (t <= arrival && arrival < t + 1000) q.push({ deadline: lowDeadline, low: true }, { kind: 'read', priorityKey: 5 }, arrival);
          for (const [key, priorityKey, weight] of [
            ['a', 1, 1],
            ['b', 1, weightB],
            ['c', 2, 1],
          ] as const)
            for (let k = 0; k < 3; k++) {
              const cls = { kind: 'change' as const, priorityKey, fairnessKey: key, fairnessWeight: weight };
              const deadline = t + laneOf(cls) * AGING_STEP_MS;
              if (deadline < lowDeadline) earlier++;
              q.push({ deadline }, cls, t);
            }
          const next = q.pop()!;
          if (next.item.low) served = true;
          else passedBy++;
        }
        expect(served).toBe(true);
        // Every call with an earlier deadline goes first, and of the later ones only the turns their keys'
        // weights interleave while an older call of theirs still waits.
        expect(passedBy).toBeGreaterThanOrEqual(earlier);
        expect(passedBy).toBeLessThanOrEqual(earlier * (1 + weightB));
      }),
      { numRuns: 60 },
    );
  });
});
