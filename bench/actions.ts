/**
 * What one scheduled backup costs in Temporal actions (what Temporal Cloud bills), read from the dev
 * server's own `action` counter (Prometheus text on --metrics-port), by action type.
 */
import { WORKFLOW_TYPES, operationKey, workspaceIdKey } from '../contract/index.js';
import { PRIORITY, workflowIds } from '../domain/index.js';
import { billed, profileHistory, tally } from './action-profile.js';
import type { BenchStack } from './stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's `action` counter by its action_type label (grpc_RecordActivityTaskHeartbeat, command_ScheduleActivityTask…). */
export async function actionsByType(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^action(?:\{([^}]*)\})? ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    const type = /action_type="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? 'unknown';
    out[type] = (out[type] ?? 0) + Number(m[2]);
  }
  return out;
}

/**
 * Every action the counter counts, as the issue measured them. Markers (local activities) count twice on
 * this server, once each (command_RecordMarker) and once per workflow task (command_BatchMarkers); the
 * server notes that a pricing model counts one or the other, so the breakdown shows both.
 */
export function totalActions(byType: Record<string, number>): number {
  return Object.values(byType).reduce((n, v) => n + v, 0);
}

/**
 * The server's action counter once it has stopped moving. The dev server publishes its metrics about once
 * a second, so a backup's last actions can show up a second after the backup ended: the counter must stay
 * unchanged for longer than that (waiting 0.3 s counted 16 actions for backups that made 21).
 */
const QUIET_MS = 2000;
export async function quietActions(stack: BenchStack): Promise<Record<string, number>> {
  let last = await actionsByType(stack.serverMetricsUrl);
  let since = performance.now();
  const start = since;
  while (performance.now() - since < QUIET_MS) {
    if (performance.now() - start > 30_000) throw new Error("the server's action counter kept moving for 30 s: a backup's figures would count other work");
    await sleep(250);
    const now = await actionsByType(stack.serverMetricsUrl);
    if (totalActions(now) !== totalActions(last)) since = performance.now();
    last = now;
  }
  return last;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export interface BackupTimings {
  stopMs: number;
  snapshotMs: number;
  startMs: number;
}

/** The current run's history length of a workflow, 0 if it does not exist yet. */
async function historyLength(stack: BenchStack, workflowId: string): Promise<number> {
  try {
    return (await stack.client.workflow.getHandle(workflowId).describe()).historyLength;
  } catch {
    return 0;
  }
}

/**
 * One backupWorkspace (snapshot + prune with keep-last 7), started as its schedule starts it (priority
 * 3), on an otherwise idle stack: the actions from its start until the lock has settled after it, by the
 * server's counter (byType) and by the histories it wrote (profile: the backup's, and what the workspace
 * entity added for it; heartbeats leave no event).
 */
export async function actionsPerBackup(stack: BenchStack, timings: BackupTimings, workspaceId: string, o: { prunesOne?: boolean } = {}) {
  Object.assign(stack.emu.delays, { ...timings, restoreMs: timings.snapshotMs });
  const ws = stack.emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { a: 'x' } });
  // A week of daily backups already there: keep-last 7 then deletes one, as every day after the first week.
  if (o.prunesOne)
    for (let n = stack.emu.state.snapshotsOf(workspaceId).filter((x) => x.name.startsWith('daily-backup-')).length; n < 7; n++)
      stack.emu.state.addSnapshot(ws, `daily-backup-2026-01-0${n + 1}-0200`);
  const entityId = workflowIds.workspace(workspaceId);
  const before = await quietActions(stack);
  const entityBefore = await historyLength(stack, entityId);
  const workflowId = workflowIds.fleetChild(`bench-actions-${Date.now().toString(36)}`, workspaceId);
  const t0 = performance.now();
  await stack.client.workflow.execute(WORKFLOW_TYPES.backup, {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ workspaceId, retention: { keepLast: 7 } }],
    priority: { priorityKey: PRIORITY.scheduledBackup },
    // As its schedule starts it (client/schedule-definition.ts): tagged at the start, so it upserts no tags.
    typedSearchAttributes: [
      { key: operationKey, value: 'backup' },
      { key: workspaceIdKey, value: workspaceId },
    ],
  });
  const wallMs = performance.now() - t0;
  // The lock handles the release after the backup closed; the server's counter is read after that settles.
  const byType = diff(await quietActions(stack), before);
  const heartbeats = byType.grpc_RecordActivityTaskHeartbeat ?? 0;
  const events = [
    ...profileHistory(await stack.client.workflow.getHandle(workflowId).fetchHistory(), 'backup'),
    ...profileHistory(await stack.client.workflow.getHandle(entityId).fetchHistory(), 'entity', entityBefore),
  ];
  const profile = tally(events);
  return {
    prunesOne: !!o.prunesOne,
    timings,
    wallMs: Math.round(wallMs),
    actions: totalActions(byType),
    heartbeats,
    byType,
    historyActions: billed(events),
    profile,
  };
}

export type BackupActions = Awaited<ReturnType<typeof actionsPerBackup>>;
