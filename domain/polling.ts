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

export function nextPollDelayMs(elapsedMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE, expectedMs?: number): number {
  const clamp = (ms: number) => Math.min(schedule.maxDelayMs, Math.max(schedule.minDelayMs, ms));
  if (expectedMs === undefined || expectedMs <= 0) return clamp(elapsedMs * schedule.growth);
  // When the usual length of this transition is known, poll sparsely (faster growth) until close to
  // it, then densely (5% of it) around it, then fall back to the plain schedule if it runs late.
  const windowStart = expectedMs * 0.85;
  const windowEnd = expectedMs * 1.3;
  const dense = Math.max(schedule.minDelayMs, expectedMs * 0.05);
  if (elapsedMs >= windowEnd) return clamp(elapsedMs * schedule.growth);
  if (elapsedMs >= windowStart) return Math.min(dense, clamp(elapsedMs * schedule.growth));
  const sparse = clamp(elapsedMs * schedule.growth * 2.5);
  return Math.max(schedule.minDelayMs, Math.min(sparse, windowStart - elapsedMs));
}

/** The poll times (ms after the wait began) up to `untilMs`; used by tests and the benchmark report. */
export function pollTimes(untilMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE, expectedMs?: number): number[] {
  const times = [0];
  let t = 0;
  while (t < untilMs) {
    t += nextPollDelayMs(t, schedule, expectedMs);
    times.push(t);
  }
  return times;
}

/** Default maximum wait for a stop or a start before a Timeout failure. */
export const DEFAULT_MAX_WAIT_MS = 10 * 60_000;
