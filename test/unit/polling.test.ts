import { describe, expect, it } from 'vitest';
import { TransitionDurations } from '../../activities/transition-durations.js';
import { DEFAULT_POLL_SCHEDULE, nextPollDelayMs, pollTimes } from '../../domain/index.js';

/** The poll schedule once a worker knows how long a transition usually takes. */

const detect = (durationMs: number, expectedMs?: number) => {
  const times = pollTimes(durationMs, DEFAULT_POLL_SCHEDULE, expectedMs);
  const at = times.find((t) => t >= durationMs)!;
  return { gets: times.filter((t) => t <= at).length, delayMs: at - durationMs };
};

describe('polling with an expected duration', () => {
  it.each([1_000, 10_000, 30_000, 60_000])('a %i ms transition that takes as long as usual: ≤ 15 GETs, delay ≤ max(250 ms, 5%%)', (ms) => {
    const { gets, delayMs } = detect(ms, ms);
    expect(gets).toBeLessThanOrEqual(15);
    expect(delayMs).toBeLessThanOrEqual(Math.max(250, ms * 0.05));
  });

  it('a transition that runs late falls back to the plain schedule (delay bounded by its growth)', () => {
    const late = detect(80_000, 60_000);
    expect(late.delayMs).toBeLessThanOrEqual(80_000 * DEFAULT_POLL_SCHEDULE.growth);
  });

  it('never polls faster than the floor nor slower than the cap', () => {
    for (const expected of [undefined, 500, 5_000, 600_000]) {
      for (let t = 0; t < 700_000; t += 997) {
        const d = nextPollDelayMs(t, DEFAULT_POLL_SCHEDULE, expected);
        expect(d).toBeGreaterThanOrEqual(DEFAULT_POLL_SCHEDULE.minDelayMs);
        expect(d).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.maxDelayMs);
      }
    }
  });

  it('without an expectation, a cold 30 s stop costs at most 15 GETs', () => {
    expect(detect(30_000).gets).toBeLessThanOrEqual(15);
  });
});

describe('TransitionDurations', () => {
  it('learns per workspace, and across workspaces for ones it has not seen', () => {
    const d = new TransitionDurations();
    expect(d.expected('stopped', 'ws_a')).toBeUndefined();
    d.record('stopped', 'ws_a', 9_000, 11_000);
    expect(d.expected('stopped', 'ws_a')).toBe(10_000);
    expect(d.expected('stopped', 'ws_b')).toBe(10_000);
    expect(d.expected('running', 'ws_a')).toBeUndefined();
    d.record('stopped', 'ws_a', 19_000, 21_000);
    expect(d.expected('stopped', 'ws_a')).toBe(15_000);
  });

  it('keeps at most its bound of workspaces, forgetting the least recently seen', () => {
    const d = new TransitionDurations(2);
    d.record('stopped', 'ws_1', 1, 1);
    d.record('stopped', 'ws_2', 2, 2);
    d.record('stopped', 'ws_1', 1, 1);
    d.record('stopped', 'ws_3', 3, 3);
    expect(d.expected('stopped', 'ws_2')).not.toBe(2); // evicted: falls back to the overall figure
    expect(d.expected('stopped', 'ws_1')).toBe(1);
    expect(d.expected('stopped', 'ws_3')).toBe(3);
  });
});
