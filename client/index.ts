/**
 * The rigsnap client library: `import { RigsnapClient } from 'rigsnap'`. Start and watch snapshot,
 * restore, retention, backup and checkpoint workflows and manage backup schedules from any Node service;
 * only the Temporal connection is needed (the Rigbox token stays with the workers).
 */
export * from './rigsnap-client.js';
export * from './schedules.js';
export * from './audit-schedule.js';
export * from './report-schedule.js';
export * from './errors.js';
export type { AbandonOutcome } from './abandon.js';
export { toRigsnapError, isUnreachable } from './sdk-errors.js';
export {
  ClientConfigError,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_UI_URL,
  TemporalConnectionError,
  scheduleUrl,
  temporalSettings,
  workflowUrl,
  type SettingsOverrides,
  type TemporalSettings,
} from './connection.js';
export { renderProgress, describeActivity, describeDetail, finishedStepLines, type ProgressFrame, type RenderOptions } from './progress-renderer.js';
export * from '../domain/inputs.js';
export * from '../domain/results.js';
export * from '../domain/audit.js';
export { DEFAULT_TASK_QUEUE, MEMO_KEYS } from '../domain/constants.js';
export * from '../contract/index.js';
export { TemporalContext, type TemporalContextOptions } from './context.js';
export { groupRestoreOf } from './errors.js';
export { fleetSummaryOf, groupSnapshotOf, type OperationInput, type OperationResult, type PublicOperation, type WorkflowOf } from './operations.js';
export { ERROR_TABLE, ERROR_ADVICE, type ErrorType } from '../domain/errors.js';
export { workflowIds, scheduleIds, requestKey } from '../domain/ids.js';
export type { PendingStopChange } from './notices.js';
export type { NoticeView, SnoozeRequest, SkipRequest } from '../domain/notice.js';
export type { EnrolledWorkspaces, EnrollOptions } from './enrollment.js';
export type { CreateGroupOptions, GroupList, UpdateGroupOptions } from './groups.js';
export type { GroupView } from '../domain/groups.js';
export { parseSelector, formatSelector, type EnrollmentView, type Selector } from '../domain/enrollment.js';
