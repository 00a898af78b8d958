/**
 * Calendar helpers that are deterministic (no wall clock: the caller passes the instant) and pure, so
 * workflows and the retention function share them.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

export interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
}

/** The calendar date of an instant in a timezone. */
export function localDate(instant: Date, timeZone: string): LocalDate {
  const parts = formatterFor(timeZone).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

const timeFormatters = new Map<string, Intl.DateTimeFormat>();

export interface LocalDateTime extends LocalDate {
  hour: number; // 0-23
  minute: number;
  second: number;
}

/** The calendar date and wall-clock time of an instant in a timezone. */
export function localDateTime(instant: Date, timeZone: string): LocalDateTime {
  let f = timeFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    timeFormatters.set(timeZone, f);
  }
  const parts = f.formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** YYYY-MM-DD of an instant in a timezone: the date in a backup's name. */
export function isoDate(instant: Date, timeZone: string): string {
  const d = localDate(instant, timeZone);
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

/** ISO-8601 week of a calendar date, as "YYYY-Www" (the week-year can differ from the year). */
export function isoWeek(d: LocalDate): string {
  // Work on a UTC date so no timezone shifts the weekday.
  const date = new Date(Date.UTC(d.year, d.month - 1, d.day));
  const weekday = date.getUTCDay() || 7; // Monday=1 … Sunday=7
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const weekYear = date.getUTCFullYear();
  const yearStart = Date.UTC(weekYear, 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${pad(weekYear, 4)}-W${pad(week)}`;
}

/** Compact UTC timestamp for names: 20261128T232333Z. */
export function utcStamp(instant: Date): string {
  return instant
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1000, 1] as const;

/**
 * Parses "90s", "30m", "2h", "7d", "250ms", and their combinations largest unit first ("1h30m",
 * "4m05s", what formatDuration prints), to milliseconds; undefined if malformed. The one duration
 * parser of rigsnap: every option and input that takes a duration goes through it.
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m || m.slice(1).every((part) => part === undefined)) return undefined;
  return UNIT_MS.reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * unit, 0);
}

/** Human form of a duration for progress lines: 850ms, 12.3s, 4m05s, 2h10m. */
export function formatDuration(ms: number): string {
  // Compare the rounded value shown, so 999.6 ms is not "1000ms" and 59.96 s is not "60.0s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  if (Math.round(ms / 100) < 600) return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${pad(totalS % 60)}s`;
  const totalM = Math.round(totalS / 60);
  return `${Math.floor(totalM / 60)}h${pad(totalM % 60)}m`;
}
