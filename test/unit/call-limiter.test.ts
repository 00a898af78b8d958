import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallLimiter, QUOTA_HEADROOM } from '../../activities/call-limiter.js';

/** The Rigbox quota's limiter, on fake timers: when each call may go, exactly. */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

async function goTimes(limiter: CallLimiter, n: number): Promise<number[]> {
  const t0 = performance.now();
  const times: number[] = [];
  const all = Array.from({ length: n }, () => limiter.acquire().then(() => times.push(performance.now() - t0)));
  await vi.runAllTimersAsync();
  await Promise.all(all);
  return times.sort((a, b) => a - b);
}

describe('CallLimiter', () => {
  it('alone, spaces calls (1 s + 50 ms)/rate apart: 20 calls at 10/s go over 2 s, never more than 10 in a second, even 49 ms late', async () => {
    expect(QUOTA_HEADROOM).toBeCloseTo(0.952);
    const times = await goTimes(new CallLimiter(10), 20);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBe(19 * 105);
    // One call 49 ms later than its turn still leaves at most 10 in any second.
    const late = times.map((t, i) => (i === 10 ? t + 49 : t));
    for (const t of late) expect(late.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
  });

  it('a share of the quota slows this worker to its part (two workers: half each), with 100 ms for jitter', async () => {
    const limiter = new CallLimiter(10);
    limiter.setShare(0.5);
    expect(limiter.ratePerSecond).toBeCloseTo(5 / 1.1);
    const times = await goTimes(limiter, 6);
    expect(times.at(-1)).toBe(5 * 220);
  });

  it('a cancelled read stops waiting for its turn', async () => {
    const limiter = new CallLimiter(1);
    await limiter.acquire(); // takes the first slot
    const abort = new AbortController();
    const waiting = limiter.acquire({ signal: abort.signal });
    abort.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });

  it('a cancelled read gives its turn to the next caller', async () => {
    const limiter = new CallLimiter(1);
    const t0 = performance.now();
    await limiter.acquire();
    const abort = new AbortController();
    const cancelled = limiter.acquire({ signal: abort.signal }).catch(() => 'cancelled');
    const next = limiter.acquire().then(() => performance.now() - t0);
    abort.abort(new Error('cancelled'));
    await vi.runAllTimersAsync();
    expect(await cancelled).toBe('cancelled');
    expect(await next).toBe(1050);
  });
});

describe('CallLimiter: who goes next', () => {
  it('a priority-1 change that comes last goes before the priority-4 reads waiting ahead of it', async () => {
    const limiter = new CallLimiter(10);
    await limiter.acquire(); // takes the first slot: the rest wait
    const order: string[] = [];
    const reads = Array.from({ length: 5 }, (_, i) => limiter.acquire({ kind: 'read', priorityKey: 4 }).then(() => order.push(`read${i}`)));
    const change = limiter.acquire({ kind: 'change', priorityKey: 1 }).then(() => order.push('change'));
    await vi.runAllTimersAsync();
    await Promise.all([...reads, change]);
    expect(order[0]).toBe('change');
    expect(order.slice(1)).toEqual(['read0', 'read1', 'read2', 'read3', 'read4']);
  });

  it('a share of 0 holds every call until a share is given; the smallest share of several workers holds', async () => {
    const limiter = new CallLimiter(10);
    limiter.setShare(0, 'joining');
    let went = false;
    const call = limiter.acquire({ kind: 'change' }).then(() => (went = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(went).toBe(false);
    limiter.setShare(0.25, 'joining');
    limiter.setShare(0.5, 'other');
    expect(limiter.ratePerSecond).toBeCloseTo(2 / 1.1); // 2.5 calls/s: whole calls
    await vi.runAllTimersAsync();
    await call;
    expect(went).toBe(true);
    limiter.clearShare('joining');
    expect(limiter.ratePerSecond).toBeCloseTo(5 / 1.1);
    limiter.clearShare('other');
    expect(limiter.ratePerSecond).toBeCloseTo(10 / 1.05);
  });
});

describe('CallLimiter: what it tells of each call that goes (the fairness metric)', () => {
  it('a key alone is never contended; two keys waiting at weights 1 and 3 take the contended turns 1 : 3, and the last calls of one key go uncontended', async () => {
    const limiter = new CallLimiter(10);
    const seen: Array<{ fairnessKey: string; priorityKey: number; contended: boolean }> = [];
    limiter.onDispatch((d) => seen.push(d));
    await limiter.acquire({ fairnessKey: 'solo' }); // the free first turn
    const calls = [
      ...Array.from({ length: 8 }, () => limiter.acquire({ kind: 'change', priorityKey: 4, fairnessKey: 'a', fairnessWeight: 1 })),
      ...Array.from({ length: 24 }, () => limiter.acquire({ kind: 'change', priorityKey: 4, fairnessKey: 'b', fairnessWeight: 3 })),
    ];
    await vi.runAllTimersAsync();
    await Promise.all(calls);
    expect(seen[0]).toEqual({ fairnessKey: 'solo', priorityKey: 3, contended: false });
    expect(new Set(seen.slice(1).map((d) => d.priorityKey))).toEqual(new Set([4]));
    const contended = seen.filter((d) => d.contended);
    const share = (key: string) => contended.filter((d) => d.fairnessKey === key).length / contended.length;
    expect(contended.length).toBeGreaterThanOrEqual(28);
    expect(share('a')).toBeCloseTo(0.25, 1);
    expect(share('b')).toBeCloseTo(0.75, 1);
    // Once one key has nothing waiting, the other's turns are its own: not contended.
    expect(seen.at(-1)!.contended).toBe(false);
    expect(seen.length).toBe(33);
  });

  it('two fleets at weights 1 and 3, each keeping calls of both kinds waiting: 25 % / 75 % of 400 turns (± 2 points), all contended', async () => {
    const limiter = new CallLimiter(40);
    const seen: string[] = [];
    limiter.onDispatch((d) => {
      if (d.priorityKey === 4) seen.push(`${d.fairnessKey}:${d.contended}`);
    });
    await limiter.acquire(); // the free first turn
    // Each fleet's children ask again as soon as a call goes: the light fleet mostly changes, the heavy one
    // mostly status polls (the kinds must not decide the shares, only the weights).
    const child = async (key: string, weight: number, kinds: ('change' | 'read')[]) => {
      for (let i = 0; seen.length < 400; i++)
        await limiter.acquire({ kind: kinds[i % kinds.length], priorityKey: 4, fairnessKey: key, fairnessWeight: weight });
    };
    const children = [
      ...Array.from({ length: 5 }, () => child('a', 1, ['change', 'change', 'read'])),
      ...Array.from({ length: 5 }, () => child('b', 3, ['read', 'read', 'read', 'change'])),
    ];
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(children);
    const turns = seen.slice(0, 400);
    expect(turns.filter((t) => t === 'a:true').length).toBeGreaterThanOrEqual(92);
    expect(turns.filter((t) => t === 'a:true').length).toBeLessThanOrEqual(108);
    expect(turns.filter((t) => t === 'b:true').length).toBe(400 - turns.filter((t) => t === 'a:true').length);
  });

  it('a removed listener hears nothing more', async () => {
    const limiter = new CallLimiter(10);
    let heard = 0;
    const off = limiter.onDispatch(() => heard++);
    await limiter.acquire();
    off();
    const second = limiter.acquire();
    await vi.runAllTimersAsync();
    await second;
    expect(heard).toBe(1);
  });
});

describe('CallLimiter on the real clock', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('a timer that fires late pushes the following calls back: consecutive calls never go closer than 1/rate', async () => {
    const limiter = new CallLimiter(10);
    await limiter.acquire();
    const times = [performance.now()];
    const all = Array.from({ length: 3 }, () => limiter.acquire().then(() => times.push(performance.now())));
    // The event loop is busy for 250 ms: the second call's turn (at 100 ms) comes late, and the third's
    // (due at 200 ms when slots are booked ahead) must not follow it at once.
    const busyUntil = performance.now() + 250;
    while (performance.now() < busyUntil);
    await Promise.all(all);
    // Node may fire a timer up to 1 ms before its time as performance.now() reads it.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(98);
  });
});
