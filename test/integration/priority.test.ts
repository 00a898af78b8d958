import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { PRIORITY } from '../../domain/index.js';
import { startEmulator, type CallRecord, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';

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
});
