import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallLimiter } from '../../activities/call-limiter.js';

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
  it('spaces calls 1/rate apart: 20 calls at 10/s go over 1.9 s, never more than 10 in a second', async () => {
    const times = await goTimes(new CallLimiter(10), 20);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBeCloseTo(1900, 0);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
  });

  it('a share of the quota slows this worker to its part (two workers: half each)', async () => {
    const limiter = new CallLimiter(10);
    limiter.setShare(0.5);
    expect(limiter.ratePerSecond).toBeCloseTo(5);
    const times = await goTimes(limiter, 6);
    expect(times.at(-1)).toBeCloseTo(1000, 0);
  });

  it('a cancelled read stops waiting for its turn', async () => {
    const limiter = new CallLimiter(1);
    await limiter.acquire(); // takes the first slot
    const abort = new AbortController();
    const waiting = limiter.acquire(abort.signal);
    abort.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });
});
