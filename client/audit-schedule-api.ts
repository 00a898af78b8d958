import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { WORKFLOW_TYPES, operationKey } from '../contract/index.js';
import { parseDuration, scheduleIds, type Operation } from '../domain/index.js';
import { AuditScheduleOptions, scheduledAuditInput, type AuditScheduleInfo } from './audit-schedule.js';
import type { TemporalContext } from './context.js';
import { validate } from './errors.js';

/**
 * The backup audit's schedule, `rigsnap-audit`, in Temporal (its options are checked in
 * audit-schedule.ts, which the CLI loads without the Temporal SDK).
 */

/**
 * Creates (or updates) the audit's schedule: an auditBackups run every `every` that notifies
 * (RIGSNAP_NOTIFY_URL) when a workspace needs attention, and stays silent otherwise.
 */
export async function createAuditSchedule(ctx: TemporalContext, options: AuditScheduleOptions = {}): Promise<AuditScheduleInfo> {
  const o = validate(AuditScheduleOptions, options);
  const scheduleId = scheduleIds.audit();
  const typedSearchAttributes: SearchAttributePair[] = [{ key: operationKey, value: 'audit' satisfies Operation }];
  const spec = { intervals: [{ every: parseDuration(o.every)! }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: WORKFLOW_TYPES.audit,
    workflowId: scheduleId,
    taskQueue: ctx.taskQueue,
    args: [scheduledAuditInput(o)],
    typedSearchAttributes,
    staticSummary: `scheduled backup audit (RPO ${o.rpo}, every ${o.every})`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  const state = { paused: o.paused, note: `audit every ${o.every}, RPO ${o.rpo}` };
  let created = true;
  await ctx.call({ scheduleId }, async () => {
    try {
      await ctx.client.schedule.create({ scheduleId, spec, action, policies, typedSearchAttributes, state });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      created = false;
      await ctx.client.schedule.getHandle(scheduleId).update(() => ({ spec, action, policies, typedSearchAttributes, state }));
    }
  });
  const desc = await ctx.call({ scheduleId }, () => ctx.client.schedule.getHandle(scheduleId).describe());
  return {
    scheduleId,
    url: ctx.scheduleUrl(scheduleId),
    created,
    every: o.every,
    rpo: o.rpo,
    paused: desc.state.paused,
    nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
  };
}

export async function deleteAuditSchedule(ctx: TemporalContext): Promise<void> {
  const scheduleId = scheduleIds.audit();
  await ctx.call({ scheduleId }, () => ctx.client.schedule.getHandle(scheduleId).delete());
}
