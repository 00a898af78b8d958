/**
 * Who goes first under a tight Rigbox quota: an on-demand snapshot started while a large fleet runs
 * (its time against its time alone), and two teams' fleets at weights 1 and 3 (their shares of the
 * Rigbox calls while both run). The fleets are terminated once measured: their end is not the point.
 */
import { WORKFLOW_TYPES } from '../contract/index.js';
import { PRIORITY, priorityFor, workflowIds } from '../domain/index.js';
import type { BenchStack } from './stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function addWorkspaces(stack: BenchStack, prefix: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running' });
  return ids;
}

async function startFleet(stack: BenchStack, taskQueue: string, ids: string[], team?: string, weight?: number) {
  const workflowId = workflowIds.fleetBackup(`${team ?? 'load'}-${Date.now().toString(36)}`);
  return stack.client.workflow.start(WORKFLOW_TYPES['fleet-backup'], {
    taskQueue,
    workflowId,
    args: [{ workspaceIds: ids, concurrency: 50 }],
    priority: priorityFor('fleet', { ...(team ? { team } : {}), ...(weight ? { weight } : {}) }, workflowId),
  });
}

/** A snapshot as the CLI starts it (priority 1); its wall time. */
async function onDemandSnapshot(stack: BenchStack, taskQueue: string, workspaceId: string, name: string): Promise<number> {
  const t0 = performance.now();
  await stack.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
    taskQueue,
    workflowId: workflowIds.snapshot(workspaceId, name, Date.now().toString(36)),
    args: [{ workspaceId, name }],
    priority: { priorityKey: PRIORITY.onDemand },
  });
  return performance.now() - t0;
}

/** A worker alone on a task queue of its own with this quota (the stack's other workers stopped). */
async function quotaWorker(stack: BenchStack, suffix: string, quota: number) {
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const taskQueue = `${stack.taskQueue}-${suffix}`;
  const worker = await stack.startWorker({ RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(quota), RIGSNAP_TASK_QUEUE: taskQueue });
  return { taskQueue, worker };
}

/** 12. An on-demand snapshot 10 s into a fleet of `fleetSize` at `quota` calls/s, against the same snapshot alone. */
export async function benchInteractive(
  stack: BenchStack,
  o: { fleetSize: number; quota: number; startAfterMs: number; delays: { stopMs: number; snapshotMs: number; startMs: number } },
) {
  Object.assign(stack.emu.delays, { ...o.delays, restoreMs: o.delays.snapshotMs });
  const { taskQueue, worker } = await quotaWorker(stack, 'interactive', o.quota);
  stack.emu.state.upsertWorkspace({ id: 'ws_bench_urgent', status: 'running', files: { a: 'x' } });
  try {
    const soloMs = await onDemandSnapshot(stack, taskQueue, 'ws_bench_urgent', 'solo');
    const fleet = await startFleet(stack, taskQueue, addWorkspaces(stack, 'ws_load_', o.fleetSize));
    await sleep(o.startAfterMs);
    const loadedMs = await onDemandSnapshot(stack, taskQueue, 'ws_bench_urgent', 'loaded');
    await fleet.terminate('bench: measured').catch(() => undefined);
    return {
      fleetSize: o.fleetSize,
      quota: o.quota,
      soloMs: Math.round(soloMs),
      loadedMs: Math.round(loadedMs),
      ratio: Math.round((loadedMs / soloMs) * 100) / 100,
    };
  } finally {
    await worker.stop('SIGTERM');
  }
}

/** 13. Two teams' fleets at weights 1 and 3 under one quota: each one's share of the Rigbox calls over `windowMs` while both run. */
export async function benchFairness(
  stack: BenchStack,
  o: { fleetSize: number; quota: number; windowMs: number; delays: { stopMs: number; snapshotMs: number; startMs: number } },
) {
  Object.assign(stack.emu.delays, { ...o.delays, restoreMs: o.delays.snapshotMs });
  const { taskQueue, worker } = await quotaWorker(stack, 'fairness', o.quota);
  try {
    const light = await startFleet(stack, taskQueue, addWorkspaces(stack, 'ws_team_a_', o.fleetSize), 'team-a', 1);
    const heavy = await startFleet(stack, taskQueue, addWorkspaces(stack, 'ws_team_b_', o.fleetSize), 'team-b', 3);
    const since = stack.emu.arrivals.length;
    await sleep(o.windowMs);
    const calls = stack.emu.arrivals.slice(since);
    await Promise.all([light.terminate('bench: measured'), heavy.terminate('bench: measured')].map((p) => p.catch(() => undefined)));
    const a = calls.filter((c) => c.workspaceId?.startsWith('ws_team_a_')).length;
    const b = calls.filter((c) => c.workspaceId?.startsWith('ws_team_b_')).length;
    const share = (n: number) => Math.round((n / Math.max(1, a + b)) * 1000) / 10;
    return { fleetSize: o.fleetSize, quota: o.quota, windowSeconds: o.windowMs / 1000, callsA: a, callsB: b, sharePercentA: share(a), sharePercentB: share(b) };
  } finally {
    await worker.stop('SIGTERM');
  }
}
