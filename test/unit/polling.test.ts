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
  it.each([
    [1_000, 3, 125],
    [10_000, 3, 125],
    [30_000, 4, 150],
  ])(
    'a %i ms transition that takes as long as usual: %i reads, seen %i ms late (half a step, a step being 1/50 of it within 250–300 ms)',
    (ms, reads, late) => {
      const { gets, delayMs } = detect(ms, ms);
      // pollTimes counts the read at 0; two more bracket the end, after jumps of at most the 15 s cap.
      expect(gets).toBe(reads);
      expect(delayMs).toBe(late);
    },
  );

  it('a 60 s transition that takes as long as usual: reads spaced by the 15 s cap, then the bracket, seen 150 ms late', () => {
    const { gets, delayMs } = detect(60_000, 60_000);
    expect(gets).toBeLessThanOrEqual(6);
    expect(delayMs).toBe(150);
  });

  it('a transition shorter than usual is seen at the first read of the bracket', () => {
    expect(detect(600, 1_000)).toEqual({ gets: 2, delayMs: 150 });
  });

  it('without the bracket, a transition that takes as long as usual costs one read, seen half a step late', () => {
    const times = pollTimes(10_000, DEFAULT_POLL_SCHEDULE, 10_000, false);
    expect(times).toEqual([0, 10_125]);
  });

  it('a transition a little longer than usual is read every step: seen within a step, a read per step of overrun', () => {
    const { gets, delayMs } = detect(31_000, 30_000);
    expect(delayMs).toBeLessThanOrEqual(300);
    expect(gets).toBeLessThanOrEqual(4 + Math.ceil(1_000 / 300));
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

  it('a wait that read once, after the expected end, never raises the estimate nor halves it', () => {
    const d = new TransitionDurations();
    d.record('stopped', 'ws_a', 9_900, 10_100);
    // Asked at 0, first read (done) at 10.15 s: the transition took at most that.
    d.record('stopped', 'ws_a', 0, 10_150);
    expect(d.expected('stopped', 'ws_a')).toBe(10_000);
    // Done at a read earlier than the estimate: it took at most that, and the estimate follows.
    d.record('stopped', 'ws_a', 0, 8_000);
    expect(d.expected('stopped', 'ws_a')).toBe(8_000);
  });

  it('brackets the first waits of a kind and then one in five, reading once after the expected end otherwise', () => {
    const d = new TransitionDurations();
    const plan = Array.from({ length: 10 }, () => d.probe('stopped'));
    expect(plan).toEqual([true, true, true, false, true, false, false, false, false, true]);
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
