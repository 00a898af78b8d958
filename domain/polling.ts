/**
 * How often to ask Rigbox whether a workspace finished stopping or starting. The delay grows with the
 * time already waited (a fixed fraction of it), between a floor and a cap: a quick stop is noticed
 * within the floor, a slow one costs few calls, and the detection delay stays a bounded fraction of
 * the wait. With the defaults a 30 s stop costs at most 15 GETs.
 */
export interface PollSchedule {
  /** Shortest delay between two polls. */
  minDelayMs: number;
  /** Longest delay between two polls. */
  maxDelayMs: number;
  /** Delay as a fraction of the time waited so far. */
  growth: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = { minDelayMs: 250, maxDelayMs: 15_000, growth: 0.4 };

export function nextPollDelayMs(elapsedMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE, expectedMs?: number, bracket = true): number {
  const clamp = (ms: number) => Math.min(schedule.maxDelayMs, Math.max(schedule.minDelayMs, ms));
  if (expectedMs === undefined || expectedMs <= 0) return clamp(elapsedMs * schedule.growth);
  // When the usual length E of this transition is known, skip the reads before it: read just after it,
  // E + step/2 (it usually is over: one read, seen within half a step), and, when `bracket`, also just
  // before it, E - step, so that the two reads bracket its end and keep the estimate honest (the caller
  // brackets now and then). Late, it is read every step, widening to a quarter of the overrun (a long
  // overrun costs few reads), then, past 1.5 E, on the plain schedule.
  const step = Math.min(Math.max(expectedMs * NEAR_END.share, schedule.minDelayMs), NEAR_END.maxStepMs);
  const before = bracket ? expectedMs - step : 0;
  const after = expectedMs + step / 2;
  if (elapsedMs < before) return clamp(before - elapsedMs);
  if (elapsedMs < after) return clamp(after - elapsedMs);
  if (elapsedMs < expectedMs * 1.5) return clamp(Math.max(step, (elapsedMs - expectedMs) * 0.25));
  return clamp(elapsedMs * schedule.growth);
}

/** Reads near a known transition's end are `share` of its length apart, at most `maxStepMs`. */
const NEAR_END = { share: 0.02, maxStepMs: 300 } as const;

/** The poll times (ms after the wait began) up to `untilMs`; used by tests and the benchmark report. */
export function pollTimes(untilMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE, expectedMs?: number, bracket = true): number[] {
  const times = [0];
  let t = 0;
  while (t < untilMs) {
    t += nextPollDelayMs(t, schedule, expectedMs, bracket);
    times.push(t);
  }
  return times;
}

/** Default maximum wait for a stop or a start before a Timeout failure. */
export const DEFAULT_MAX_WAIT_MS = 10 * 60_000;
