import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import type { Dispatch } from '../../activities/call-limiter.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { PRIORITY } from '../../domain/index.js';
import { startEmulator, type CallRecord, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';
import type { WorkerConfig } from '../../worker/config.js';
import { rigboxCallLimiter } from '../../worker/worker.js';

/**
 * Task-queue priority and fairness in Temporal's own dispatch, on the dev server the project runs (with
 * matching.useNewMatcher and matching.enableFairness, dev/temporal-server.ts). A worker with one activity
 * slot makes the activity queue the bottleneck: which task it gets next is the server's choice. What a
 * user would see is measured at the Rigbox emulator: whose stop, snapshot and start calls come when.
 */

let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 150, startMs: 150, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

/** A worker that runs one activity at a time (workflow tasks and local activities as usual). */
async function oneSlotWorker(taskQueue: string): Promise<{ worker: Worker; running: Promise<void> }> {
  const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '1' } });
  return { worker, running: worker.run() };
}

/** The state-changing Rigbox calls (one per stop, snapshot or start activity) made for these workspaces. */
const changesOf = (calls: CallRecord[], prefix: string) => calls.filter((c) => c.method === 'POST' && c.workspaceId?.startsWith(prefix));

function addWorkspaces(prefix: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  for (const id of ids) emu.state.upsertWorkspace({ id, status: 'running', files: { id } });
  return ids;
}

/** How many of these runs have an activity waiting (pending). */
async function pendingActivities(workflowIds: string[]): Promise<number> {
  const pending = await Promise.all(
    workflowIds.map((id) =>
      temporal.client.workflow
        .getHandle(id)
        .describe()
        .then((d) => d.raw.pendingActivities?.length ?? 0)
        .catch(() => 0),
    ),
  );
  return pending.filter((n) => n > 0).length;
}

/** When each activity of a run started (its ActivityTaskStarted events). */
async function activityStarts(workflowId: string): Promise<Array<{ workflowId: string; at: number }>> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => ({ workflowId, at: Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6) }));
}

describe('priority', () => {
  it('a priority-1 snapshot overtakes a queued fleet: its stop, snapshot and start are dispatched before the fleet’s waiting tasks', async () => {
    const taskQueue = uniqueTaskQueue('priority');
    const rig = await RigsnapClient.connect({ client: temporal.client, taskQueue, env: {} });
    const { worker, running } = await oneSlotWorker(taskQueue);
    try {
      const fleetIds = addWorkspaces('ws_prio_fleet_', 12);
      emu.state.upsertWorkspace({ id: 'ws_prio_urgent', status: 'running', files: { a: 'precious' } });
      const fleet = await rig.startFleetBackup({ workspaceIds: fleetIds, concurrency: 12 });
      // The fleet's children have queued their stops behind the one slot.
      await eventually(() => changesOf(emu.calls, 'ws_prio_fleet_').length >= 2, 60_000, 'the fleet’s first stops');
      const since = emu.calls.length;
      const urgent = await rig.startSnapshot({ workspaceId: 'ws_prio_urgent', name: 'before-demo' });
      const result = await urgent.result();
      expect(result.snapshot.name).toBe('before-demo');
      expect(emu.state.data.workspaces.ws_prio_urgent!.status).toBe('running');

      const during = emu.calls.slice(since);
      const mine = changesOf(during, 'ws_prio_urgent');
      expect(mine.map((c) => c.route)).toEqual(['/api/workspaces/:id/stop', '/api/workspaces/:id/snapshots', '/api/workspaces/:id/start']);
      // Fleet changes from the snapshot's start to its last change: the fleet tasks that held the slot when
      // each of its tasks was queued, and what ran while its workflow tasks went (more on a loaded machine:
      // 0 to 4 seen here). In arrival order its stop alone waits behind the ~10 queued fleet stops: 34 seen
      // with the snapshot at the fleet's own level and key.
      const last = during.indexOf(mine.at(-1)!);
      const fleetChangesMeanwhile = changesOf(during.slice(0, last), 'ws_prio_fleet_').length;
      expect(fleetChangesMeanwhile, 'fleet changes while the snapshot ran').toBeLessThanOrEqual(10);

      // What the server recorded: the snapshot at 1 (its activities inherit it), the fleet and its
      // children at 4 with the fleet's fairness key.
      const urgentDesc = await urgent.handle.describe();
      expect(urgentDesc.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(PRIORITY.onDemand);
      const fleetDesc = await fleet.handle.describe();
      expect(fleetDesc.raw.workflowExecutionInfo?.priority).toMatchObject({ priorityKey: PRIORITY.fleet, fairnessKey: fleet.workflowId });
      expect(await fleet.result()).toMatchObject({ succeeded: 12 });
      const child = await temporal.client.workflow.getHandle(`${fleet.workflowId}-${fleetIds[0]}`).describe();
      expect(child.raw.workflowExecutionInfo?.priority).toMatchObject({ priorityKey: PRIORITY.fleet, fairnessKey: fleet.workflowId });
    } finally {
      worker.shutdown();
      await running;
      await rig.close();
    }
  });

  it('in rigsnap’s Rigbox call limiter too: at 3 calls/s with slots to spare, a priority-1 snapshot lets far fewer fleet calls go first than one at the fleet’s level and key', async () => {
    const taskQueue = uniqueTaskQueue('prio-limiter');
    const rig = await RigsnapClient.connect({ client: temporal.client, taskQueue, env: {} });
    // Plenty of activity slots: Temporal dispatches everything at once, and the calls queue in the limiter.
    const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_RIGBOX_CALLS_PER_SECOND: '3' } });
    const running = worker.run();
    /** A fleet of 12 fills the limiter; then a snapshot at `priority` (with the fleet's fairness key or not): the fleet calls made while it ran. */
    const fleetCallsDuring = async (round: string, priority: number, sameKey: boolean) => {
      const prefix = `ws_lim_${round}_`;
      const fleetIds = addWorkspaces(prefix, 12);
      const urgentId = `ws_lim_${round}_urgent`;
      emu.state.upsertWorkspace({ id: urgentId, status: 'running', files: { a: 'precious' } });
      const fleet = await rig.startFleetBackup({ workspaceIds: fleetIds, concurrency: 12 });
      await eventually(() => changesOf(emu.calls, prefix).length >= 2, 60_000, 'the fleet’s first stops');
      const since = emu.calls.length;
      const urgent = await rig.startSnapshot({ workspaceId: urgentId, name: 'before-demo' }, { priority, ...(sameKey ? { team: fleet.workflowId } : {}) });
      expect((await urgent.result()).snapshot.name).toBe('before-demo');
      const during = emu.calls.slice(since);
      const mine = changesOf(during, urgentId);
      expect(mine.map((c) => c.route)).toEqual(['/api/workspaces/:id/stop', '/api/workspaces/:id/snapshots', '/api/workspaces/:id/start']);
      const last = during.indexOf(mine.at(-1)!);
      const meanwhile = during.slice(0, last).filter((c) => c.workspaceId?.startsWith(prefix) && c.workspaceId !== urgentId).length;
      process.stdout.write(
        `[dbg] ${round} meanwhile=${meanwhile} last=${last} during=${during.length} after=${emu.calls.slice(since + last).filter((c) => c.workspaceId?.startsWith(prefix) && c.workspaceId !== urgentId).length}\n`,
      );
      expect(await fleet.result()).toMatchObject({ succeeded: 12 });
      // Ahead of the fleet, the snapshot ends while the fleet still has calls to make: it competed the whole
      // time. At the fleet's level, in arrival order, it takes about one turn in 13 and ends with the fleet.
      if (priority !== PRIORITY.fleet)
        expect(emu.calls.slice(since + last).filter((c) => c.workspaceId?.startsWith(prefix) && c.workspaceId !== urgentId).length).toBeGreaterThan(0);
      return meanwhile;
    };
    try {
      // At the fleet's level and fairness key, its calls take their turn in arrival order.
      const level = await fleetCallsDuring('same', PRIORITY.fleet, true);
      const first = await fleetCallsDuring('first', PRIORITY.onDemand, false);
      process.stdout.write(`[priority] limiter: fleet calls while a snapshot ran: ${first} at priority 1, ${level} at the fleet's level 4\n`);
      expect(first * 2, `${first} fleet calls at priority 1 against ${level} at the fleet's level`).toBeLessThanOrEqual(level);
    } finally {
      worker.shutdown();
      await running;
      await rig.close();
    }
  }, 300_000);

  it('local activities (a preflight’s status read) queue in the limiter at their workflow’s priority and fairness key, not at the default', async () => {
    const taskQueue = uniqueTaskQueue('la-priority');
    // A quota no other test uses: a limiter of this test's own.
    const rate = 997;
    const seen: Dispatch[] = [];
    const off = rigboxCallLimiter({ RIGSNAP_RIGBOX_CALLS_PER_SECOND: rate } as WorkerConfig).onDispatch((d) => seen.push(d));
    const since = emu.calls.length;
    const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(rate) } });
    const running = worker.run();
    try {
      emu.state.upsertWorkspace({ id: 'ws_prio_la', status: 'running', files: { a: 'x' } });
      const workflowId = `snapshot-ws_prio_la-${Date.now().toString(36)}`;
      await temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId,
        args: [{ workspaceId: 'ws_prio_la', name: 'la' }],
        priority: { priorityKey: 2, fairnessKey: 'team-la', fairnessWeight: 2 },
      });
      // Every call the run made (its origin), the preflight's read (a local activity) first; none at another place.
      const calls = emu.calls.slice(since).filter((c) => c.origin === workflowId);
      expect(calls[0]).toMatchObject({ method: 'GET', route: '/api/workspaces/:id' });
      expect(seen.filter((d) => d.fairnessKey === 'team-la' && d.priorityKey === 2).length).toBe(calls.length);
      // The worker's own reads (its snapshot gauges at start-up) have no workflow: the default place.
      expect(seen.filter((d) => d.fairnessKey !== 'team-la').length).toBe(emu.calls.slice(since).filter((c) => !c.origin).length);
    } finally {
      off();
      worker.shutdown();
      await running;
    }
  });

  it('fairness: two teams’ fleets at the same level share dispatch by weight (1 : 3) while both wait', async () => {
    const taskQueue = uniqueTaskQueue('fairness');
    const rig = await RigsnapClient.connect({ client: temporal.client, taskQueue, env: {} });
    const light = addWorkspaces('ws_fair_a_', 16);
    const heavy = addWorkspaces('ws_fair_b_', 16);
    // Each workspace's entity first checks, with an activity, that no old lock workflow still runs: done
    // here with a full worker (a dry-run prune takes and releases each workspace).
    const warm = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
    await warm.runUntil(
      Promise.all([...light, ...heavy].map((workspaceId) => rig.prune({ workspaceId, namePrefix: 'none-', retention: { keepLast: 1 }, dryRun: true }))),
    );
    // A worker without activity slots takes every child up to its first activity (the request to its
    // workspace's entity): 32 activity tasks wait in the queue, the light team's queued first (arrival
    // order would serve all of them first).
    const workflowsOnly = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, enableNonLocalActivities: false });
    const workflowsRunning = workflowsOnly.run();
    let activities: { worker: Worker; running: Promise<void> } | undefined;
    try {
      const a = await rig.startFleetBackup({ workspaceIds: light, concurrency: 16 }, { team: 'team-a', weight: 1 });
      await eventually(() => pendingActivities(light.map((id) => `${a.workflowId}-${id}`)).then((n) => n === 16), 60_000, 'team a’s tasks queued');
      const b = await rig.startFleetBackup({ workspaceIds: heavy, concurrency: 16 }, { team: 'team-b', weight: 3 });
      const childIds = [...light.map((id) => `${a.workflowId}-${id}`), ...heavy.map((id) => `${b.workflowId}-${id}`)];
      await eventually(() => pendingActivities(childIds).then((n) => n === 32), 60_000, 'every child’s first activity queued');
      // One worker per task queue and process: the one-slot worker replaces it.
      workflowsOnly.shutdown();
      await workflowsRunning;
      activities = await oneSlotWorker(taskQueue);
      await Promise.all([a.result(), b.result()]);
      // The order in which the one slot took the children's activities (their start times, one at a time).
      const starts = (await Promise.all(childIds.map((id) => activityStarts(id)))).flat().sort((x, y) => x.at - y.at);
      const order = starts.map((s) => (s.workflowId.startsWith(b.workflowId) ? 'b' : 'a')).join('');
      // While both teams have tasks waiting (the first 16 dispatched), about 4 of team a's and 12 of team b's.
      const heavyShare = [...order.slice(0, 16)].filter((t) => t === 'b').length / 16;
      process.stdout.write(`[fairness] dispatch order ${order}: team b (weight 3) had ${heavyShare * 100}% of the first 16\n`);
      expect(heavyShare, `dispatch order ${order}`).toBeGreaterThanOrEqual(0.6);
      expect(heavyShare, `dispatch order ${order}`).toBeLessThanOrEqual(0.9);
      // The weights reached the server on every child.
      const child = await temporal.client.workflow.getHandle(`${b.workflowId}-${heavy[0]}`).describe();
      expect(child.raw.workflowExecutionInfo?.priority).toMatchObject({ priorityKey: PRIORITY.fleet, fairnessKey: 'team-b', fairnessWeight: 3 });
    } finally {
      if (workflowsOnly.getState() === 'RUNNING') workflowsOnly.shutdown();
      activities?.worker.shutdown();
      await Promise.all([workflowsRunning, activities?.running]);
      await rig.close();
    }
  }, 300_000);
});
