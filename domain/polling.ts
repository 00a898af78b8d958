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

export function nextPollDelayMs(elapsedMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE): number {
  const proportional = elapsedMs * schedule.growth;
  return Math.min(schedule.maxDelayMs, Math.max(schedule.minDelayMs, proportional));
}

/** The poll times (ms after the wait began) up to `untilMs`; used by tests and the benchmark report. */
export function pollTimes(untilMs: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE): number[] {
  const times = [0];
  let t = 0;
  while (t < untilMs) {
    t += nextPollDelayMs(t, schedule);
    times.push(t);
  }
  return times;
}

/** Default maximum wait for a stop or a start before a Timeout failure. */
export const DEFAULT_MAX_WAIT_MS = 10 * 60_000;
