import type { WorkflowHandle } from '@temporalio/client';
import type { HeartbeatDetails, ReleaseUpdateResult } from '../contract/index.js';
import type { Progress, RetentionPolicy } from '../domain/index.js';
import type { RigsnapError } from './errors.js';

/**
 * What the client returns besides workflow results: started operations, progress and status reports,
 * recent runs, lock waits. Plain data (ISO times), so the CLI prints them as JSON as they are.
 */

export type { HeartbeatDetails } from '../contract/index.js';

export interface StartOptions {
  /**
   * Makes the start idempotent: the same request key (for the same business key) finds the same
   * workflow instead of starting a second operation. Default: the current time in base 36 (a retry
   * within the same millisecond, such as a double click, is the same request).
   */
  requestKey?: string;
  /**
   * Temporal task-queue priority (domain/priority.ts). Defaults: every operation at 1 (on demand, ahead of
   * scheduled work), a fleet at 4 with its workflow id as its fairness key. `priority` overrides the level;
   * `team` is the fairness key and `weight` its share of dispatch against other keys at the same level.
   */
  priority?: number;
  team?: string;
  weight?: number;
}

/** A started (or found) operation. */
export interface StartedOperation<R> {
  workflowId: string;
  runId: string;
  /** The run in the Temporal Web UI. */
  url: string;
  workflowType: string;
  /** True when the id had already run to completion: this is that earlier run, nothing new was started. */
  existing: boolean;
  handle: WorkflowHandle;
  /** Waits for the result; a failure throws RigsnapError with the workflow's error type. */
  result(): Promise<R>;
}

export interface PendingActivityView {
  activityType: string;
  attempt: number;
  /** PENDING_ACTIVITY_STATE_* without the prefix: SCHEDULED, STARTED, CANCEL_REQUESTED… */
  state: string;
  heartbeat: HeartbeatDetails | null;
  lastHeartbeatAt: string | null;
  lastFailure: string | null;
}

export interface ProgressReport {
  workflowId: string;
  runId: string;
  url: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED… */
  status: string;
  startedAt: string;
  closedAt: string | null;
  /** The workflow's `progress` query; null when no worker answered. */
  progress: Progress | null;
  /** The pending activity (the newest if several), with its decoded heartbeat details. */
  activity: PendingActivityView | null;
  /** Workflow ids of its running children (a fleet's backups in flight). */
  runningChildren: string[];
}

/** What one workspace's backup in a fleet run made (`fleetBackups`). */
export interface FleetBackupView {
  workspaceId: string;
  workflowId: string;
  /** COMPLETED, FAILED, RUNNING…; NOT_STARTED when the run never got to it. */
  status: string;
  snapshot: { id: string; name: string } | null;
  error: { type: string; message: string } | null;
}

export interface StatusReport extends ProgressReport {
  workflowType: string;
  workspaceId: string | null;
  operation: string | null;
  summary: string | null;
  /** Who asked: the identity of the client that started it (memo `rigsnapRequestedBy`); null when not recorded. */
  requestedBy: string | null;
  historyLength: number;
  /** The result when the workflow completed. */
  result?: unknown;
  /** The typed failure when it failed, was cancelled, terminated or timed out. */
  error?: ReturnType<RigsnapError['toJSON']>;
}

/** One rigsnap operation as the workflow list shows it (`recent`). */
export interface RecentRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  operation: string | null;
  workspaceId: string | null;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED… */
  status: string;
  startedAt: string;
  closedAt: string | null;
  url: string;
}

export interface CancelOutcome {
  workflowId: string;
  runId: string;
  url: string;
  /** The run had already ended: nothing was sent. */
  alreadyClosed: boolean;
  /** Its status when the request was made (or how it had ended). */
  status: string;
}

/** An operation waiting for its workspace's lock. */
export interface LockWait {
  workspaceId: string;
  /** The operation that has the workspace now (null in the instant between two holders). */
  holder: { workflowId: string; operation: string; since: string } | null;
  /** Operations that go first: the holder and those queued before this one. */
  ahead: number;
}

export interface CheckpointActive {
  workflowId: string;
  runId: string;
  url: string;
  snapshotId: string;
  snapshotName: string;
  expiresAt: string | null;
}

/** What `release` answers: the update's answer, or what an ended session did. */
export type ReleaseResult = ReleaseUpdateResult & {
  /** The session had already ended (an earlier release, or its TTL): nothing was done now. */
  alreadyReleased: boolean;
  /** The checkpoint's run, for its link. */
  runId: string;
};

// ---- schedules (client/schedules.ts) -------------------------------------------------------------

export interface ScheduleRun {
  scheduledAt: string;
  startedAt: string;
  workflowId: string;
  runId: string;
  url: string;
  /** RUNNING, COMPLETED, FAILED…; null if the run is no longer visible. */
  status: string | null;
}

export interface ScheduleInfo {
  scheduleId: string;
  url: string;
  kind: 'workspace' | 'fleet' | 'group';
  workspaceId: string | null;
  fleetName: string | null;
  /** A group schedule's group (backupGroup: one set of the group per run; retention counts sets). */
  group: string | null;
  /** A fleet's listed workspaces (null for a fleet by selector). */
  workspaceIds: string[] | null;
  /** A fleet by selector: resolved at each run (null otherwise). */
  selector: Record<string, string> | null;
  concurrency: number | null;
  at: string[];
  timezone: string;
  jitter: string | null;
  catchupWindow: string;
  pauseOnFailure: boolean;
  /** A stop announced in advance: the notice (null: none), the window a stop may begin in (null: none), quiet hours, snooze cap. */
  stopNotice: { notice: string | null; window: string | null; quietHours: string[]; maxSnooze: string } | null;
  overlap: string;
  namePrefix: string;
  retention: RetentionPolicy | null;
  /** Task-queue priority of each run (1 first … 5 last), its fairness key and weight (domain/priority.ts). */
  priority: { priorityKey: number; fairnessKey: string | null; fairnessWeight: number };
  paused: boolean;
  /** What the schedule does, in one sentence (also the first line of the schedule's note in the Temporal UI). */
  description: string;
  /** The note a person gave (create/update/pause/unpause --note). */
  note: string | null;
  nextRuns: string[];
  recentRuns: ScheduleRun[];
  running: Array<{ workflowId: string; runId: string; url: string }>;
  actionsTaken: number;
  missedCatchupWindow: number;
  skippedOverlap: number;
  createdAt: string;
  updatedAt: string | null;
}

export interface ScheduleListItem {
  scheduleId: string;
  url: string;
  kind: 'workspace' | 'fleet' | 'group';
  workspaceId: string | null;
  fleetName: string | null;
  /** A group schedule's group (backupGroup: one set of the group per run; retention counts sets). */
  group: string | null;
  paused: boolean;
  description: string | null;
  note: string | null;
  nextRun: string | null;
  /** The schedule's timezone (for showing its times), when the listing carries it. */
  timezone: string | null;
  lastRun: { scheduledAt: string; workflowId: string } | null;
}

export interface TriggerResult {
  scheduleId: string;
  /** The run the trigger started; null if it was skipped (a backup was still running) or not seen yet. */
  run: ScheduleRun | null;
  skipped: boolean;
}
