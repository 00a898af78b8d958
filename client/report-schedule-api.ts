import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { WORKFLOW_TYPES, operationKey } from '../contract/index.js';
import { parseDuration, scheduleIds, type Operation } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { validate } from './errors.js';
import { ReportScheduleOptions, scheduledReportInput, type ReportScheduleInfo } from './report-schedule.js';

/**
 * The compliance report's schedule, `rigsnap-report`, in Temporal: a reportBackups run every `every`
 * that posts the report to RIGSNAP_NOTIFY_URL; each run's result keeps it (`rigsnap status`, the UI).
 */
export async function createReportSchedule(ctx: TemporalContext, options: ReportScheduleOptions = {}): Promise<ReportScheduleInfo> {
  const o = validate(ReportScheduleOptions, options);
  const input = scheduledReportInput(o);
  const scheduleId = scheduleIds.report();
  const typedSearchAttributes: SearchAttributePair[] = [{ key: operationKey, value: 'report' satisfies Operation }];
  const spec = { intervals: [{ every: parseDuration(o.every)! }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: WORKFLOW_TYPES.report,
    workflowId: scheduleId,
    taskQueue: ctx.taskQueue,
    args: [input],
    typedSearchAttributes,
    staticSummary: `scheduled backup report (every ${o.every}, runs of the last ${input.since}, RPO ${o.rpo})`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  const state = { paused: o.paused, note: `report every ${o.every}, RPO ${o.rpo}` };
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
    since: input.since,
    rpo: o.rpo,
    paused: desc.state.paused,
    nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
  };
}

export async function deleteReportSchedule(ctx: TemporalContext): Promise<void> {
  const scheduleId = scheduleIds.report();
  await ctx.call({ scheduleId }, () => ctx.client.schedule.getHandle(scheduleId).delete());
}
