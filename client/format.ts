import { localDateTime } from '../domain/index.js';

/**
 * How the CLI writes times and sizes for people: one format everywhere (`2026-11-30 07:21 UTC`), in
 * the timezone the reader thinks in (a schedule's own for its runs), never raw ISO or epoch numbers.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-11-30 07:21 UTC`, or in a timezone: `2026-12-01 03:00 Europe/Berlin`; `-` when there is none. */
export function fmtTime(time: string | number | Date | null | undefined, timeZone = 'UTC', opts: { zone?: boolean; seconds?: boolean } = {}): string {
  if (time === null || time === undefined || time === '') return '-';
  const instant = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(instant.getTime())) return String(time);
  const t = localDateTime(instant, timeZone);
  const clock = `${pad(t.hour)}:${pad(t.minute)}${opts.seconds ? `:${pad(t.second)}` : ''}`;
  const text = `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)} ${clock}`;
  return opts.zone === false ? text : `${text} ${timeZone}`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * Runs newest first by their start time (ties: the workflow id, so the order is stable). Temporal's
 * SQL visibility lists open runs first and then by close time, and has no ORDER BY: a long backup that
 * started yesterday and closed a minute ago would otherwise head `rigsnap runs`.
 */
export function newestFirst<T extends { startedAt: string; workflowId: string }>(runs: T[]): T[] {
  return [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.workflowId.localeCompare(b.workflowId));
}
