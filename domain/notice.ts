/**
 * People first: the rules of a stop announced in advance. Quiet hours in a timezone (DST-correct, with
 * Intl only), the decision "may a stop begin at this instant?" given the backup's window, the quiet
 * hours and the expected downtime, and the notice state a pending backup keeps: snoozes (capped in
 * total; one past the window becomes a skip) and skips. Pure and deterministic (the caller passes
 * every instant), so the workflow runs them on workflow time and the tests on made-up clocks.
 *
 * Written to move as it is into the per-workspace entity (issue 19): `NoticeState` is plain JSON and
 * every change is `state → state` (or a refusal with its reason), the shape of `step(state, event)`.
 */
import { localDateTime } from './time.js';

/** A stop's expected downtime when this worker has not seen the workspace stop and start yet. */
export const DEFAULT_EXPECTED_DOWNTIME_MS = 5 * 60_000;
/** The copy (snapshot) between stop and start is not learnt: this much is added to the learnt stop and start. */
export const SNAPSHOT_ALLOWANCE_MS = 2 * 60_000;
/** Default cap on the total of a run's snoozes (`--max-snooze`). */
export const DEFAULT_MAX_SNOOZE = '4h';
/** The shortest snooze: a floor that also bounds how often a run can be snoozed within its cap. */
export const MIN_SNOOZE_MS = 60_000;
/** The snooze the notice suggests. */
export const SUGGESTED_SNOOZE = '1h';

export const QUIET_HOURS_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Quiet hours as minutes of the local day; `end <= start` crosses midnight (22:00-06:00). */
export interface QuietRange {
  startMinute: number;
  endMinute: number;
}

/** "22:00-06:00" → minutes of the day; undefined if malformed or empty (start equal to end). */
export function parseQuietHours(text: string): QuietRange | undefined {
  const m = QUIET_HOURS_PATTERN.exec(text.trim());
  if (!m) return undefined;
  const startMinute = Number(m[1]) * 60 + Number(m[2]);
  const endMinute = Number(m[3]) * 60 + Number(m[4]);
  return startMinute === endMinute ? undefined : { startMinute, endMinute };
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Minutes between this instant's wall clock in `timeZone` and UTC's (positive east of Greenwich). */
function offsetMinutes(instantMs: number, timeZone: string): number {
  const l = localDateTime(new Date(instantMs), timeZone);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return Math.round((asUtc - Math.floor(instantMs / 1000) * 1000) / MINUTE_MS);
}

/**
 * The first instant at which the wall clock in `timeZone` reads at least `minute` on the given local
 * day. A time skipped by a DST change (02:30 on a spring-forward night) is the end of the gap; a time
 * that happens twice (autumn) is its first occurrence.
 */
export function localMinuteToInstant(year: number, month: number, day: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day) + minute * MINUTE_MS;
  // Try both offsets around the wall time: the earlier valid one is the first occurrence.
  const candidates = [offsetMinutes(wall - DAY_MS / 2, timeZone), offsetMinutes(wall + DAY_MS / 2, timeZone)]
    .map((off) => wall - off * MINUTE_MS)
    .filter((t) => wall - offsetMinutes(t, timeZone) * MINUTE_MS === t)
    .sort((a, b) => a - b);
  if (candidates.length) return candidates[0]!;
  // In a gap: the wall clock jumps over `minute`. The answer is the jump itself, found by bisection
  // (to the minute) between the instants the two offsets would give.
  const offsets = [offsetMinutes(wall - DAY_MS / 2, timeZone), offsetMinutes(wall + DAY_MS / 2, timeZone)];
  let lo = wall - Math.max(...offsets) * MINUTE_MS;
  let hi = wall - Math.min(...offsets) * MINUTE_MS;
  const before = offsetMinutes(lo, timeZone);
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetMinutes(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Quiet intervals [start, end) in ms, merged and sorted, that meet [fromMs, untilMs]. */
export function quietIntervals(ranges: readonly QuietRange[], timeZone: string, fromMs: number, untilMs: number): Array<[number, number]> {
  if (!ranges.length) return [];
  const out: Array<[number, number]> = [];
  // From the local day before `from` (a range that crossed midnight into it) to the day after `until`,
  // stepping by calendar day, not by 24 h: a 23-hour day (spring forward) must not be skipped.
  const first = localDateTime(new Date(fromMs), timeZone);
  const last = localDateTime(new Date(untilMs), timeZone);
  const lastDay = Date.UTC(last.year, last.month - 1, last.day + 1);
  for (let k = -1; ; k++) {
    const day = new Date(Date.UTC(first.year, first.month - 1, first.day + k));
    if (day.getTime() > lastDay) break;
    const d = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
    for (const r of ranges) {
      const start = localMinuteToInstant(d.year, d.month, d.day, r.startMinute, timeZone);
      const endDay = r.endMinute <= r.startMinute ? new Date(Date.UTC(d.year, d.month - 1, d.day + 1)) : new Date(Date.UTC(d.year, d.month - 1, d.day));
      const end = localMinuteToInstant(endDay.getUTCFullYear(), endDay.getUTCMonth() + 1, endDay.getUTCDate(), r.endMinute, timeZone);
      if (end > fromMs && start <= untilMs && end > start) out.push([start, end]);
    }
  }
  out.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of out) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** Whether the instant is inside quiet hours. */
export function inQuietHours(ranges: readonly QuietRange[], timeZone: string, atMs: number): boolean {
  return quietIntervals(ranges, timeZone, atMs, atMs).some(([s, e]) => s <= atMs && atMs < e);
}

export interface StopRules {
  /** When the stop may begin at the earliest (the notice's end). */
  earliestMs: number;
  /** The window's end: no stop whose expected downtime ends after it begins. Null: no window. */
  windowEndMs: number | null;
  expectedDowntimeMs: number;
  quietHours: readonly QuietRange[];
  timeZone: string;
}

export type StopDecision = { kind: 'begin'; atMs: number } | { kind: 'wait'; untilMs: number } | { kind: 'skip'; reason: 'window' };

/** Horizon of the search for the end of quiet hours without a window: a stop is at most this far off. */
const NO_WINDOW_HORIZON_MS = 8 * DAY_MS;

/**
 * May a stop begin at `earliestMs`? Only if its expected downtime ends before the window closes and
 * before quiet hours begin. Otherwise the first later instant that allows it (when quiet hours end),
 * if the window allows one; else skip at once, with reason `window`.
 */
export function decideStop(rules: StopRules): StopDecision {
  const { earliestMs, windowEndMs, expectedDowntimeMs: d } = rules;
  const until = windowEndMs ?? earliestMs + NO_WINDOW_HORIZON_MS;
  const quiet = quietIntervals(rules.quietHours, rules.timeZone, earliestMs, until + d);
  const fits = (t: number) => t + d <= until && !quiet.some(([s, e]) => s < t + d && t < e);
  // The earliest instant that fits is `earliestMs` or the end of a quiet interval: nothing else can free it.
  for (const t of [earliestMs, ...quiet.map(([, e]) => e).filter((e) => e > earliestMs)]) {
    if (fits(t)) return t === earliestMs ? { kind: 'begin', atMs: t } : { kind: 'wait', untilMs: t };
  }
  return { kind: 'skip', reason: 'window' };
}

// ---- the notice state of one pending stop -------------------------------------------------------

export interface Snooze {
  forMs: number;
  by: string;
  at: string;
}

export interface SkipRecord {
  /** `window`: the stop could not begin within the window (a snooze past it, or quiet hours); `manual`: `rigsnap skip`. */
  kind: 'window' | 'manual';
  reason: string;
  by: string;
  at: string;
}

/** What a pending stop knows: plain JSON, so it can be queried, carried and mirrored into an entity. */
export interface NoticeState {
  version: 1;
  workspaceId: string;
  /** What will stop the workspace: a backup (absent in states from before it was recorded) or a snapshot asked for by hand. */
  operation?: 'backup' | 'snapshot';
  /** `notice`: announced, waiting for `stopAt`; `waiting`: quiet hours, the notice is not sent yet; then `stopping` or `skipped`. */
  phase: 'waiting' | 'notice' | 'stopping' | 'skipped';
  noticeMs: number;
  /** When the stop is due. */
  stopAt: string;
  /** When the last notice was sent (null before the first). */
  noticeSentAt: string | null;
  windowEnd: string | null;
  maxSnoozeMs: number;
  expectedDowntimeMs: number;
  snoozes: Snooze[];
  skipped: SkipRecord | null;
}

export const snoozedMs = (s: Pick<NoticeState, 'snoozes'>) => s.snoozes.reduce((sum, z) => sum + z.forMs, 0);

export type NoticeChange = { ok: true; state: NoticeState } | { ok: false; reason: string };

const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the run still waits out its notice (or quiet hours before it): what snooze and skip act on. */
export function acceptsNoticeChanges(s: NoticeState): boolean {
  return s.phase === 'waiting' || s.phase === 'notice';
}

function notPending(s: NoticeState): NoticeChange {
  return {
    ok: false,
    reason: `the ${s.operation ?? 'backup'} of ${s.workspaceId} is no longer waiting out its notice (${s.phase === 'skipped' ? 'it was skipped' : 'it is stopping the workspace'})`,
  };
}

/**
 * Snoozes the stop by `forMs` (moves `stopAt` later by that much). Refused past the cap on the run's
 * total; a snooze that would end past the window (downtime included) becomes a skip, reason `window`.
 */
export function applySnooze(s: NoticeState, req: { forMs: number; by: string; nowMs: number }): NoticeChange {
  if (!acceptsNoticeChanges(s)) return notPending(s);
  if (!Number.isFinite(req.forMs) || req.forMs < MIN_SNOOZE_MS) return { ok: false, reason: `a snooze must be at least ${MIN_SNOOZE_MS / 60_000}m` };
  const left = s.maxSnoozeMs - snoozedMs(s);
  if (req.forMs > left) {
    return { ok: false, reason: `snoozes of this run are capped at ${fmt(s.maxSnoozeMs)} in total (--max-snooze); ${fmt(Math.max(0, left))} left` };
  }
  const stopAtMs = Math.max(Date.parse(s.stopAt), req.nowMs) + req.forMs;
  const snoozes = [...s.snoozes, { forMs: req.forMs, by: req.by, at: iso(req.nowMs) }];
  if (s.windowEnd !== null && stopAtMs + s.expectedDowntimeMs > Date.parse(s.windowEnd)) {
    return { ok: true, state: { ...s, snoozes, phase: 'skipped', skipped: { kind: 'window', reason: 'window', by: req.by, at: iso(req.nowMs) } } };
  }
  return { ok: true, state: { ...s, snoozes, stopAt: iso(stopAtMs) } };
}

/** Skips this run: it ends as skipped, not failed. */
export function applySkip(s: NoticeState, req: { reason: string; by: string; nowMs: number }): NoticeChange {
  if (!acceptsNoticeChanges(s)) return notPending(s);
  return { ok: true, state: { ...s, phase: 'skipped', skipped: { kind: 'manual', reason: req.reason, by: req.by, at: iso(req.nowMs) } } };
}

/** A duration as the options take it, largest unit first: 4h, 1h30m, 2m30s, 45s. */
export function formatShortDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ];
  return (
    parts
      .filter(([n]) => n > 0)
      .map(([n, u]) => `${n}${u}`)
      .join('') || '0s'
  );
}

const fmt = formatShortDuration;

const hhmm = (ms: number, timeZone: string) => {
  const l = localDateTime(new Date(ms), timeZone);
  return `${String(l.hour).padStart(2, '0')}:${String(l.minute).padStart(2, '0')}`;
};

/** The one line people read in the UI's current details: "notice sent 02:50, stop at 03:00 (snoozed 1h by ana)". */
export function describeNotice(s: NoticeState, timeZone: string): string {
  if (s.phase === 'skipped' && s.skipped) return `skipped by ${s.skipped.by} (${s.skipped.reason})`;
  const stopAtMs = Date.parse(s.stopAt);
  const sent = s.noticeSentAt
    ? `notice sent ${hhmm(Date.parse(s.noticeSentAt), timeZone)}, `
    : s.noticeMs > 0
      ? `notice due ${hhmm(stopAtMs - s.noticeMs, timeZone)}, `
      : '';
  const snoozes = s.snoozes.length ? ` (snoozed ${fmt(snoozedMs(s))} by ${[...new Set(s.snoozes.map((z) => z.by))].join(', ')})` : '';
  return `${sent}stop at ${hhmm(stopAtMs, timeZone)} ${timeZone}${snoozes}`;
}

/** The expected downtime of a stop from what the worker learnt of this workspace's stops and starts. */
export function expectedDowntimeMs(learnt: { stopMs?: number; startMs?: number }): { ms: number; learnt: boolean } {
  if (learnt.stopMs === undefined || learnt.startMs === undefined) return { ms: DEFAULT_EXPECTED_DOWNTIME_MS, learnt: false };
  return { ms: Math.round(learnt.stopMs + learnt.startMs + SNAPSHOT_ALLOWANCE_MS), learnt: true };
}

// ---- the messages of `rigsnap snooze` and `rigsnap skip` (contract/messages.ts defines the updates) ----

export interface SnoozeRequest {
  /** A duration ("1h", "30m"). */
  for: string;
  /** Who asks (shown in current details and the result): the CLI sends user@host. */
  by: string;
}

export interface SkipRequest {
  reason?: string;
  by: string;
}

/** What snooze and skip answer, and the `notice` query returns: the pending stop as it now stands. */
export interface NoticeView {
  workspaceId: string;
  /** The run waiting out its notice: a backup, or a snapshot asked for with a notice. */
  operation: 'backup' | 'snapshot';
  phase: NoticeState['phase'];
  stopAt: string;
  noticeSentAt: string | null;
  windowEnd: string | null;
  snoozedMs: number;
  maxSnoozeMs: number;
  snoozes: Snooze[];
  skipped: SkipRecord | null;
  /** The line of the UI's current details. */
  summary: string;
}

export function noticeView(s: NoticeState, timeZone: string): NoticeView {
  return {
    workspaceId: s.workspaceId,
    operation: s.operation ?? 'backup',
    phase: s.phase,
    stopAt: s.stopAt,
    noticeSentAt: s.noticeSentAt,
    windowEnd: s.windowEnd,
    snoozedMs: snoozedMs(s),
    maxSnoozeMs: s.maxSnoozeMs,
    snoozes: s.snoozes,
    skipped: s.skipped,
    summary: describeNotice(s, timeZone),
  };
}
