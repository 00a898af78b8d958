import { z } from 'zod';
import { AuditBackupsInput, DEFAULT_RPO, NamePrefix, Rpo, WorkspaceId, parseDuration } from '../domain/index.js';
import { validate } from './errors.js';

/**
 * The backup audit's schedule settings: pure (zod and domain/ only), so the CLI checks them before it
 * loads the Temporal client. client/rigsnap-client.ts creates the schedule from them.
 */

const MIN_EVERY_MS = 60_000;
const MAX_EVERY_MS = 7 * 86_400_000;

export const AuditScheduleOptions = z.strictObject({
  /** How often the audit runs, e.g. "6h". */
  every: z
    .string({ error: 'must be a duration such as "6h"' })
    .refine(
      (t) => {
        const ms = parseDuration(t);
        return ms !== undefined && ms >= MIN_EVERY_MS && ms <= MAX_EVERY_MS;
      },
      { error: 'must be a duration from "1m" to "7d", such as "6h"' },
    )
    .default('6h'),
  rpo: Rpo.default(DEFAULT_RPO),
  namePrefix: NamePrefix.optional(),
  workspaceIds: z.array(WorkspaceId, { error: 'must be an array of workspace ids' }).default([]),
  paused: z.boolean({ error: 'must be true or false' }).default(false),
});
export type AuditScheduleOptions = z.input<typeof AuditScheduleOptions>;

/** The audit workflow's input for a schedule: it always notifies (that is what the schedule is for). */
export function scheduledAuditInput(o: z.output<typeof AuditScheduleOptions>): z.output<typeof AuditBackupsInput> {
  return validate(AuditBackupsInput, {
    rpo: o.rpo,
    ...(o.namePrefix ? { namePrefix: o.namePrefix } : {}),
    workspaceIds: o.workspaceIds,
    notify: true,
  });
}

export interface AuditScheduleInfo {
  scheduleId: string;
  url: string;
  created: boolean;
  every: string;
  rpo: string;
  paused: boolean;
  nextRuns: string[];
}
