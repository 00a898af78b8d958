import { localDateTime } from './time.js';

/**
 * How backups are named: `<prefix><YYYY-MM-DD>-<HHMM>`, the date and time of the run in its timezone,
 * with the seconds appended when the time is not on a whole minute. A scheduled run is named by its
 * scheduled time (`daily-backup-2026-11-30-0300`), so two runs on one day (the 03:00 backup and a
 * trigger at 10:17:42, `daily-backup-2026-11-30-101742`) never share a name. Every name still starts
 * with the prefix, so retention keeps finding older `<prefix>YYYY-MM-DD` backups too.
 */

/** How the part after the prefix reads, for help texts and schedule descriptions. */
export const BACKUP_NAME_SUFFIX = 'YYYY-MM-DD-HHMM';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function backupName(prefix: string, instant: Date, timeZone: string): string {
  const t = localDateTime(instant, timeZone);
  const date = `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
  return `${prefix}${date}-${pad(t.hour)}${pad(t.minute)}${t.second ? pad(t.second) : ''}`;
}
