/**
 * What the commands use when they run, loaded only then: zod, the domain's schemas and the client's
 * helpers take longer to load than Node takes to start, and `rigsnap --help` or a usage error needs none
 * of them (issue 24, item 6: at most 3× a bare Node start). cli/main.ts loads them in a preAction hook,
 * after commander has parsed the command line and before any action runs; error reporting loads them
 * when an error needs them.
 *
 * The functions below stand in for the real ones, so the commands call them as before. Code that runs
 * while the program is built (options, help texts) must not use anything here: it throws until loaded.
 */
import type { z } from 'zod';
import type * as AuditSchedule from '../client/audit-schedule.js';
import type * as Errors from '../client/errors.js';
import type * as Format from '../client/format.js';
import type * as NoticeOptions from '../client/notice-options.js';
import type * as ProgressRenderer from '../client/progress-renderer.js';
import type * as ReportSchedule from '../client/report-schedule.js';
import type * as ScheduleOptions from '../client/schedule-options.js';
import type * as Domain from '../domain/index.js';

interface RunDeps {
  domain: typeof Domain;
  errors: typeof Errors;
  format: typeof Format;
  progress: typeof ProgressRenderer;
  scheduleOptions: typeof ScheduleOptions;
  auditSchedule: typeof AuditSchedule;
  reportSchedule: typeof ReportSchedule;
  noticeOptions: typeof NoticeOptions;
}

let deps: RunDeps | undefined;

/** Loads everything here (once); cheap when already loaded. */
export async function loadRunDeps(): Promise<void> {
  if (deps) return;
  const [domain, errors, format, progress, scheduleOptions, auditSchedule, reportSchedule, noticeOptions] = await Promise.all([
    import('../domain/index.js'),
    import('../client/errors.js'),
    import('../client/format.js'),
    import('../client/progress-renderer.js'),
    import('../client/schedule-options.js'),
    import('../client/audit-schedule.js'),
    import('../client/report-schedule.js'),
    import('../client/notice-options.js'),
  ]);
  deps = { domain, errors, format, progress, scheduleOptions, auditSchedule, reportSchedule, noticeOptions };
}

function loaded(): RunDeps {
  if (!deps) throw new Error('rigsnap: a command used its run-time modules before they were loaded (cli/run-deps.ts, loadRunDeps)');
  return deps;
}

export const domain = (): typeof Domain => loaded().domain;
export const errors = (): typeof Errors => loaded().errors;
export const scheduleOptions = (): typeof ScheduleOptions => loaded().scheduleOptions;
export const auditSchedule = (): typeof AuditSchedule => loaded().auditSchedule;
export const reportSchedule = (): typeof ReportSchedule => loaded().reportSchedule;

export const formatDuration: typeof Domain.formatDuration = (...a) => domain().formatDuration(...a);
export const formatShortDuration: typeof Domain.formatShortDuration = (...a) => domain().formatShortDuration(...a);
export const parseDuration: typeof Domain.parseDuration = (...a) => domain().parseDuration(...a);
export const discoverWorkspaces: typeof Domain.discoverWorkspaces = (...a) => domain().discoverWorkspaces(...a);
export const protectedBySchedule: typeof Domain.protectedBySchedule = (...a) => domain().protectedBySchedule(...a);
export const reportCsv: typeof Domain.reportCsv = (...a) => domain().reportCsv(...a);
export const usageView: typeof Domain.usageView = (...a) => domain().usageView(...a);

export const fmtTime: typeof Format.fmtTime = (...a) => loaded().format.fmtTime(...a);
export const fmtBytes: typeof Format.fmtBytes = (...a) => loaded().format.fmtBytes(...a);

export const describeDetail: typeof ProgressRenderer.describeDetail = (...a) => loaded().progress.describeDetail(...a);
export const describeLockWait: typeof ProgressRenderer.describeLockWait = (...a) => loaded().progress.describeLockWait(...a);
export const finishedStepLines: typeof ProgressRenderer.finishedStepLines = (...a) => loaded().progress.finishedStepLines(...a);
export const renderProgress: typeof ProgressRenderer.renderProgress = (...a) => loaded().progress.renderProgress(...a);

export const fleetScheduleId: typeof ScheduleOptions.fleetScheduleId = (...a) => scheduleOptions().fleetScheduleId(...a);
export const resolveScheduleId: typeof ScheduleOptions.resolveScheduleId = (...a) => scheduleOptions().resolveScheduleId(...a);
export const scheduledReportInput: typeof ReportSchedule.scheduledReportInput = (...a) => reportSchedule().scheduledReportInput(...a);
export const checkReason: typeof NoticeOptions.checkReason = (...a) => loaded().noticeOptions.checkReason(...a);
export const checkSnooze: typeof NoticeOptions.checkSnooze = (...a) => loaded().noticeOptions.checkSnooze(...a);

export const fleetSummaryOf: typeof Errors.fleetSummaryOf = (...a) => errors().fleetSummaryOf(...a);
export const groupSnapshotOf: typeof Errors.groupSnapshotOf = (...a) => errors().groupSnapshotOf(...a);
export const groupRestoreOf: typeof Errors.groupRestoreOf = (...a) => errors().groupRestoreOf(...a);
export const invalidInput: typeof Errors.invalidInput = (...a) => errors().invalidInput(...a);
export function validate<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  return errors().validate(schema, raw);
}
