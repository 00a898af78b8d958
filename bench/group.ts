/**
 * A group snapshot's downtime (issue 23): how long the application is down when a 10-member group is
 * snapshotted as one set (from its first stop to its last member running again), against the slowest
 * member's own stop + snapshot + start alone (a single snapshot of it). Both read from the emulator's
 * call log, so worker and server overhead count, as a user would see it.
 */
import { WORKFLOW_TYPES } from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import type { CallRecord } from '../emulator/index.js';
import type { BenchStack } from './stack.js';

export interface GroupDelays {
  stopMs: number;
  snapshotMs: number;
  startMs: number;
}

/** From a run's first POST stop to its last POST start plus the start's duration (when the emulator says it runs). */
function downtimeOf(calls: readonly CallRecord[], origin: string, startMs: number): number {
  const posts = calls.filter((c) => c.origin === origin && c.method === 'POST' && c.outcome === 'ok');
  const stops = posts.filter((c) => c.route.endsWith('/stop')).map((c) => c.at);
  const starts = posts.filter((c) => c.route.endsWith('/start')).map((c) => c.at);
  if (!stops.length || !starts.length) throw new Error(`no stop or start seen for ${origin}`);
  return Math.max(...starts) + startMs - Math.min(...stops);
}

/**
 * One group snapshot of `members` workspaces, and a single snapshot of one of them; their downtimes. On a
 * task queue of its own with a worker of its own (the stack's others stopped), so that other parts do not
 * weigh on it and it runs with `--only group` too.
 */
export async function benchGroupDowntime(stack: BenchStack, members: number, delays: GroupDelays) {
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const taskQueue = `${stack.taskQueue}-group`;
  const worker = await stack.startWorker({ RIGSNAP_TASK_QUEUE: taskQueue });
  try {
    return await measure({ ...stack, taskQueue }, members, delays);
  } finally {
    await worker.stop('SIGTERM');
  }
}

async function measure(stack: BenchStack, members: number, delays: GroupDelays) {
  const ids = Array.from({ length: members }, (_, i) => `ws_bench_group_${String(i).padStart(2, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running', files: { a: id } });
  Object.assign(stack.emu.delays, delays);
  const key = Date.now().toString(36);
  const single = workflowIds.snapshot(ids[0]!, 'alone', key);
  await stack.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
    taskQueue: stack.taskQueue,
    workflowId: single,
    args: [{ workspaceId: ids[0]!, name: 'alone' }],
  });
  const group = workflowIds.groupSnapshot(undefined, members, 'together', key);
  await stack.client.workflow.execute(WORKFLOW_TYPES['group-snapshot'], {
    taskQueue: stack.taskQueue,
    workflowId: group,
    args: [{ workspaceIds: ids, name: 'together' }],
  });
  const aloneMs = downtimeOf(stack.emu.calls, single, delays.startMs);
  const groupMs = downtimeOf(stack.emu.calls, group, delays.startMs);
  return { members, delays, aloneMs: Math.round(aloneMs), groupMs: Math.round(groupMs), ratio: Math.round((groupMs / aloneMs) * 100) / 100 };
}
