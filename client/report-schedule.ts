import { z } from 'zod';
import { DEFAULT_RPO, ReportBackupsInput, Rpo, parseDuration } from '../domain/index.js';
import { validate } from './errors.js';

/**
 * The compliance report's schedule settings: pure (zod and domain/ only), so the CLI checks them before
 * it loads the Temporal client. client/report-schedule-api.ts creates the schedule from them.
 */

const MIN_EVERY_MS = 60_000;
const MAX_EVERY_MS = 31 * 86_400_000;

export const ReportScheduleOptions = z.strictObject({
  /** How often the report runs, e.g. "24h". */
  every: z
    .string({ error: 'must be a duration such as "24h"' })
    .refine(
      (t) => {
        const ms = parseDuration(t);
        return ms !== undefined && ms >= MIN_EVERY_MS && ms <= MAX_EVERY_MS;
      },
      { error: 'must be a duration from "1m" to "31d", such as "24h"' },
    )
    .default('24h'),
  /** The period each report covers; default: `every`, so consecutive reports cover every run once. */
  since: z.string().optional(),
  rpo: Rpo.default(DEFAULT_RPO),
  paused: z.boolean({ error: 'must be true or false' }).default(false),
});
export type ReportScheduleOptions = z.input<typeof ReportScheduleOptions>;

/** The report workflow's input for a schedule: it always posts the report (that is what the schedule is for). */
export function scheduledReportInput(o: z.output<typeof ReportScheduleOptions>): z.output<typeof ReportBackupsInput> {
  return validate(ReportBackupsInput, { since: o.since ?? o.every, rpo: o.rpo, notify: true });
}

export interface ReportScheduleInfo {
  scheduleId: string;
  url: string;
  created: boolean;
  every: string;
  since: string;
  rpo: string;
  paused: boolean;
  nextRuns: string[];
}
