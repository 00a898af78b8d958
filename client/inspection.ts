import type { WorkflowExecutionDescription } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES, asHeartbeatDetails, lockStateQuery, operationKey, progressQuery, workspaceIdKey } from '../contract/index.js';
import { MEMO_KEYS, WorkspaceId, workflowIds } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { RigsnapError, TemporalConnectionError, validateField } from './errors.js';
import { newestFirst } from './format.js';
import type { WorkflowOf } from './operations.js';
import type { CancelOutcome, FleetBackupView, PendingActivityView, ProgressReport, RecentRun, StatusReport } from './views.js';

/**
 * Looking at rigsnap's workflows from outside: a run's progress (the `progress` query and its pending
 * activity's heartbeat), its full status, recent operations, a fleet's backups, the workers polling,
 * and cancellation. Functions of the Temporal context; RigsnapClient exposes them as methods.
 */

const statusName = (desc: WorkflowExecutionDescription): string => desc.status.name;

/**
 * The `progress` query of a workflow plus its pending activity's heartbeat (phase, status, polls,
 * queue position). The query is answered by a worker; without one in `queryTimeoutMs`, progress is null.
 */
export async function progressOf(ctx: TemporalContext, workflowId: string, runId?: string, queryTimeoutMs = 3000): Promise<ProgressReport> {
  const handle = ctx.client.workflow.getHandle(workflowId, runId);
  const desc = await ctx.call({ workflowId, runId }, () => handle.describe());
  const progress = await ctx.client.withDeadline(Date.now() + queryTimeoutMs, () => handle.query(progressQuery)).catch(() => null);
  return {
    workflowId,
    runId: desc.runId,
    url: ctx.workflowUrl(workflowId, desc.runId),
    status: statusName(desc),
    startedAt: desc.startTime.toISOString(),
    closedAt: desc.closeTime?.toISOString() ?? null,
    progress,
    activity: await pendingActivity(ctx, desc),
    runningChildren: (desc.raw.pendingChildren ?? []).map((c) => c.workflowId ?? '').filter(Boolean),
  };
}

const PENDING_STATES = ['UNSPECIFIED', 'SCHEDULED', 'STARTED', 'CANCEL_REQUESTED', 'PAUSED', 'PAUSE_REQUESTED'];

type ProtoTime = { seconds?: unknown; nanos?: unknown } | null | undefined;
const isoOf = (t: ProtoTime) => (t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6)).toISOString() : null);

/** The newest pending activity of a run, with its heartbeat details decoded by the client's data converter. */
async function pendingActivity(ctx: TemporalContext, desc: WorkflowExecutionDescription): Promise<PendingActivityView | null> {
  const pending = [...(desc.raw.pendingActivities ?? [])];
  if (pending.length === 0) return null;
  const seconds = (t: { seconds?: unknown } | null | undefined) => Number(t?.seconds ?? 0);
  pending.sort((a, b) => seconds(b.lastStartedTime ?? b.scheduledTime) - seconds(a.lastStartedTime ?? a.scheduledTime));
  const a = pending[0]!;
  let heartbeat: PendingActivityView['heartbeat'] = null;
  if (a.heartbeatDetails?.payloads?.length) {
    try {
      const [first] = await decodeArrayFromPayloads(ctx.client.options.loadedDataConverter, a.heartbeatDetails.payloads);
      heartbeat = asHeartbeatDetails(first);
    } catch {
      heartbeat = null; // details in a format this client cannot decode: show the rest
    }
  }
  return {
    activityType: a.activityType?.name ?? 'unknown',
    attempt: a.attempt ?? 1,
    state: PENDING_STATES[Number(a.state ?? 0)] ?? String(a.state),
    heartbeat,
    lastHeartbeatAt: isoOf(a.lastHeartbeatTime),
    lastFailure: a.lastFailure?.message ?? null,
  };
}

/** Everything about one workflow: status, progress, and its result or typed failure once closed. */
export async function statusOf(ctx: TemporalContext, workflowId: string, runId?: string): Promise<StatusReport> {
  const handle = ctx.client.workflow.getHandle(workflowId, runId);
  const desc = await ctx.call({ workflowId, runId }, () => handle.describe());
  const report = await progressOf(ctx, workflowId, desc.runId);
  const sa = desc.typedSearchAttributes;
  const out: StatusReport = {
    ...report,
    workflowType: desc.type,
    workspaceId: sa.get(workspaceIdKey) ?? null,
    operation: sa.get(operationKey) ?? null,
    summary: (await desc.staticSummary().catch(() => undefined)) ?? null,
    requestedBy: typeof desc.memo?.[MEMO_KEYS.requestedBy] === 'string' ? (desc.memo[MEMO_KEYS.requestedBy] as string) : null,
    historyLength: desc.historyLength,
  };
  if (report.status !== 'RUNNING') {
    // Any rigsnap workflow's result: shown as JSON, or read by the CLI knowing its type.
    const closed = ctx.client.workflow.getHandle(workflowId, desc.runId);
    try {
      out.result = await closed.result();
    } catch (err) {
      const e = ctx.error(err, { workflowId, runId: desc.runId });
      if (e instanceof TemporalConnectionError) throw e;
      out.error = e.toJSON();
    }
  }
  return out;
}

/**
 * The backups a fleet run made, workspace by workspace (the first `limit`): the snapshot of each
 * that succeeded, the typed error of each that failed. Each child's id is derived from the fleet's,
 * so this needs no visibility query.
 */
export async function fleetBackupsOf(ctx: TemporalContext, fleetWorkflowId: string, workspaceIds: string[], limit = 50): Promise<FleetBackupView[]> {
  const one = async (workspaceId: string): Promise<FleetBackupView> => {
    const workflowId = workflowIds.fleetChild(fleetWorkflowId, workspaceId);
    const handle = ctx.client.workflow.getHandle<WorkflowOf<'backup'>>(workflowId);
    const base = { workspaceId, workflowId, snapshot: null, error: null };
    let status: string;
    try {
      status = statusName(await handle.describe());
    } catch {
      return { ...base, status: 'NOT_STARTED' };
    }
    if (status === 'RUNNING') return { ...base, status };
    try {
      const r = await handle.result();
      return { ...base, status, snapshot: r.snapshot ? { id: r.snapshot.id, name: r.snapshot.name } : null };
    } catch (err) {
      const e = ctx.error(err, { workflowId });
      return { ...base, status, error: { type: e instanceof RigsnapError ? e.type : 'Unreachable', message: e.message } };
    }
  };
  const ids = workspaceIds.slice(0, limit);
  const views: FleetBackupView[] = [];
  // A few at a time: a fleet can be thousands of workspaces, the server is shared.
  for (let i = 0; i < ids.length; i += 8) views.push(...(await Promise.all(ids.slice(i, i + 8).map(one))));
  return views;
}

/**
 * Recent rigsnap operations on the context's task queue, newest first, from Temporal's visibility (a
 * run that just started may take a moment to appear). Reads (`list`) and the workspace locks are left
 * out unless `includeReads`.
 */
export async function recentRuns(ctx: TemporalContext, opts: { workspaceId?: string; limit?: number; includeReads?: boolean } = {}): Promise<RecentRun[]> {
  const limit = opts.limit ?? 20;
  const op = SEARCH_ATTRIBUTES.operation;
  const clauses = [`TaskQueue = "${ctx.taskQueue}"`, `${op} IS NOT NULL`, `${op} != "lock"`];
  if (!opts.includeReads) clauses.push(`${op} != "list"`);
  if (opts.workspaceId !== undefined) clauses.push(`${SEARCH_ATTRIBUTES.workspaceId} = "${validateField('workspaceId', WorkspaceId, opts.workspaceId)}"`);
  const runs: RecentRun[] = [];
  await ctx.call({}, async () => {
    for await (const w of ctx.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(limit, 100) })) {
      runs.push({
        workflowId: w.workflowId,
        runId: w.runId,
        workflowType: w.type,
        operation: w.typedSearchAttributes.get(operationKey) ?? null,
        workspaceId: w.typedSearchAttributes.get(workspaceIdKey) ?? null,
        status: w.status.name,
        startedAt: w.startTime.toISOString(),
        closedAt: w.closeTime?.toISOString() ?? null,
        url: ctx.workflowUrl(w.workflowId, w.runId),
      });
      if (runs.length >= limit) break;
    }
  });
  return newestFirst(runs);
}

/**
 * The workers polling the context's task queue, from Temporal's task-queue description. The server
 * lists a poller for minutes after it went away, so only those seen within `recentMs` count: a live
 * worker polls again at least every minute (a long poll lasts up to ~70 s).
 */
export async function liveWorkersOf(ctx: TemporalContext, recentMs = 90_000): Promise<Array<{ identity: string; lastAccessTime: string }>> {
  const TASK_QUEUE_TYPE_WORKFLOW = 1; // temporal.api.enums.v1.TaskQueueType
  const res = await ctx.call({}, () =>
    ctx.client.workflowService.describeTaskQueue({ namespace: ctx.namespace, taskQueue: { name: ctx.taskQueue }, taskQueueType: TASK_QUEUE_TYPE_WORKFLOW }),
  );
  const now = Date.now();
  return (res.pollers ?? [])
    .map((p) => ({ identity: p.identity ?? '', lastAccessMs: p.lastAccessTime ? Date.parse(isoOf(p.lastAccessTime)!) : 0 }))
    .filter((p) => now - p.lastAccessMs <= recentMs)
    .map((p) => ({ identity: p.identity, lastAccessTime: new Date(p.lastAccessMs).toISOString() }));
}

/**
 * Asks a running operation to cancel: it stops at its next step and, if it had stopped the workspace,
 * starts it again before it ends (the workflows' guarantee). A run that already ended is left alone
 * (`alreadyClosed`). The workspace lock is internal and refused: cancel the operation holding it.
 */
export async function cancelRun(ctx: TemporalContext, workflowId: string): Promise<CancelOutcome> {
  const desc = await ctx.call({ workflowId }, () => ctx.client.workflow.getHandle(workflowId).describe());
  const ref = { workflowId, runId: desc.runId, url: ctx.workflowUrl(workflowId, desc.runId) };
  if (desc.type === WORKFLOW_TYPES.lock || desc.type === WORKFLOW_TYPES.workspace) {
    throw new RigsnapError({
      type: 'Rejected',
      message: `${workflowId} is a workspace's lock, which rigsnap runs by itself; cancel the operation that holds or waits for it instead`,
      workflowId,
      advice: `see who holds it and who waits: \`temporal workflow query --name ${lockStateQuery.name} --workflow-id ${workflowId}\`, or \`rigsnap runs <workspace>\``,
    });
  }
  if (statusName(desc) !== 'RUNNING') return { ...ref, alreadyClosed: true, status: statusName(desc) };
  await ctx.call({ workflowId, runId: desc.runId }, () => ctx.client.workflow.getHandle(workflowId, desc.runId).cancel());
  return { ...ref, alreadyClosed: false, status: 'RUNNING' };
}

/** Waits until a run has ended, however it ends; resolves with its final status (COMPLETED, CANCELLED…). */
export async function awaitClosed(ctx: TemporalContext, workflowId: string, runId: string): Promise<string> {
  const handle = ctx.client.workflow.getHandle(workflowId, runId);
  try {
    await handle.result();
  } catch (err) {
    // However it ended is what the status says; only losing Temporal is an error here.
    const e = ctx.error(err, { workflowId, runId });
    if (e instanceof TemporalConnectionError) throw e;
  }
  return statusName(await ctx.call({ workflowId, runId }, () => handle.describe()));
}
