import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, workspaceAcquireUpdate } from '../../contract/index.js';
import { workflowIds, type SnapshotWorkspaceResult } from '../../domain/index.js';
import { createActivities } from '../../activities/index.js';
import { startEmulator, type Emulator, type EmulatorDelays } from '../../emulator/index.js';
import { activityDepsFromConfig } from '../../worker/worker.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, testConfig, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, changesFor, eventually, lockStateOf, testWorkflowId } from '../helpers/workflows.js';

/**
 * The per-workspace lock on the paths that used to break it: the lock terminated (or its checks failing)
 * while an operation holds the workspace, a holder terminated mid-operation, many waiters on a small
 * worker. The invariant: never two operations on one workspace at once, in arrival order, and nobody
 * waits forever.
 */

let temporal: TestTemporal;

beforeAll(async () => {
  temporal = await connectTestTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const BASE: EmulatorDelays = { stopMs: 200, startMs: 200, snapshotMs: 100, restoreMs: 100, latencyMs: 0 };

async function withEmulator<T>(delays: Partial<EmulatorDelays>, fn: (emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ token: TEST_TOKEN, delays: { ...BASE, ...delays } });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

/**
 * The changes each operation made, in the order Rigbox saw them, must never interleave: between an
 * operation's first and last change on the workspace, no other operation changed it.
 */
function expectNoOverlap(emu: Emulator, workspaceId: string): void {
  const changes = changesFor(emu, workspaceId).filter((c) => c.outcome === 'ok' && c.origin);
  const spans = new Map<string, { first: number; last: number }>();
  changes.forEach((c, i) => {
    const s = spans.get(c.origin!) ?? { first: i, last: i };
    s.last = i;
    spans.set(c.origin!, s);
  });
  for (const [origin, { first, last }] of spans) {
    const others = changes.slice(first, last + 1).filter((c) => c.origin !== origin);
    expect(others, `changes by others while ${origin} held ${workspaceId}`).toEqual([]);
  }
}

/** How many acquire updates the workspace's current entity run got from a workflow (asking again shows here). */
async function acquiresFrom(workspaceId: string, workflowId: string): Promise<number> {
  const events = (await temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId)).fetchHistory()).events ?? [];
  return events.filter((e) => {
    const accepted = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (accepted?.name !== workspaceAcquireUpdate.name) return false;
    const data = accepted.args?.payloads?.[0]?.data;
    return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { workflowId?: string }).workflowId === workflowId : false;
  }).length;
}

const start = (taskQueue: string, type: string, input: unknown, workflowId = testWorkflowId(type)) =>
  temporal.client.workflow.start<(i: unknown) => Promise<SnapshotWorkspaceResult>>(type, { taskQueue, workflowId, args: [input] });

/** Two snapshots of one workspace: `first` holds its lock (copying the disk), `second` is queued behind it. */
async function holderAndWaiter(taskQueue: string, workspaceId: string) {
  const first = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'first' });
  await awaitStep(temporal.client, first.workflowId, 'snapshot');
  const second = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'second' });
  await eventually(async () => (await lockStateOf(temporal.client, workspaceId))?.queue.length === 1, 30_000, 'second queued');
  return { first, second };
}

describe('a lock that cannot be fooled (issue 10.4)', () => {
  it('entity terminated while an operation holds the workspace: the next operation recovers it from the closed run, holder kept, and waits', async () => {
    await withEmulator({ snapshotMs: 4000 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('lockterm');
      const workspaceId = `ws_lockterm_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
      await worker.runUntil(async () => {
        const first = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'first' });
        await awaitStep(temporal.client, first.workflowId, 'snapshot');
        // An operator terminates the workspace entity while `first` copies the disk.
        await temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId)).terminate('operator test');
        emu.delays.snapshotMs = 100;
        const second = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'second' });
        // The recovered run kept `first` as its holder (from the closed run's state) and queued `second` behind it.
        await eventually(async () => (await lockStateOf(temporal.client, workspaceId))?.holder?.workflowId === first.workflowId, 30_000, 'the rebuilt holder');
        expect((await lockStateOf(temporal.client, workspaceId))?.queue.map((r) => r.workflowId)).toEqual([second.workflowId]);
        await Promise.all([first.result(), second.result()]);
        const byOrigin = changesFor(emu, workspaceId).filter((c) => c.outcome === 'ok');
        // `second` did not stop the workspace until `first` had started it again.
        const firstStart = byOrigin.findIndex((c) => c.origin === first.workflowId && c.call === 'POST /start');
        const secondStop = byOrigin.findIndex((c) => c.origin === second.workflowId && c.call === 'POST /stop');
        expect(firstStart).toBeGreaterThanOrEqual(0);
        expect(secondStop).toBeGreaterThan(firstStart);
        expectNoOverlap(emu, workspaceId);
        expect(emu.state.workspace(workspaceId)!.status).toBe('running');
      });
    });
  });

  it('entity terminated while an operation waits: the holder, finding it closed, recovers it to release, and the recovered run serves the waiter at once', async () => {
    await withEmulator({ snapshotMs: 3000 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('lockwait');
      const workspaceId = `ws_lockwait_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
      await worker.runUntil(async () => {
        const { first, second } = await holderAndWaiter(taskQueue, workspaceId);
        // The lock dies with `second` in its queue; `first` then finds no lock to release.
        await temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId)).terminate('operator test');
        await first.result();
        const r = await second.result();
        expect(r.workspaceStatus).toBe('running');
        expectNoOverlap(emu, workspaceId);
        // The recovered run had `second` in its queue already: `second` never had to ask again.
        expect(await acquiresFrom(workspaceId, second.workflowId)).toBe(0);
      });
    });
  });

  it('entity and holder both terminated while an operation waits: the waiter asks again (after 60 s, the production value), recovering the entity, which starts the workspace the holder left stopped, then serves it', async () => {
    await withEmulator({ snapshotMs: 4000 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('lockboth');
      const workspaceId = `ws_lockboth_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
      await worker.runUntil(async () => {
        const { first, second } = await holderAndWaiter(taskQueue, workspaceId);
        await temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId)).terminate('operator test');
        await first.terminate('operator test');
        await eventually(() => emu.state.workspace(workspaceId)!.busyUntil === null, 30_000, 'the copy to end');
        expect(emu.state.workspace(workspaceId)!.status).toBe('stopped');
        const r = await second.result();
        expect(r.workspaceStatus).toBe('running');
        expect(emu.state.workspace(workspaceId)!.status).toBe('running');
        expect(await acquiresFrom(workspaceId, second.workflowId)).toBe(1); // it asked again
        // The new lock started the workspace before `second` stopped it: `second` began on a running workspace.
        const changes = changesFor(emu, workspaceId).filter((c) => c.outcome === 'ok');
        const repair = changes.findIndex((c) => c.origin === workflowIds.workspace(workspaceId) && c.call === 'POST /start');
        const secondStop = changes.findIndex((c) => c.origin === second.workflowId && c.call === 'POST /stop');
        expect(repair).toBeGreaterThan(0);
        expect(secondStop).toBeGreaterThan(repair);
        expectNoOverlap(emu, workspaceId);
      });
    });
  }, 150_000);

  it('a holder check that keeps failing never fails the entity, and never frees a holder that still works', async () => {
    await withEmulator({ snapshotMs: 3000 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('lockcheck');
      const workspaceId = `ws_lockcheck_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      const config = testConfig({ RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: taskQueue });
      const real = createActivities({ ...activityDepsFromConfig(config, temporal.client), lockTiming: { holderCheckMs: 300 } });
      let checks = 0;
      // The lock's check of its holder fails every time (as with no worker able to reach Temporal for a while).
      const activities = {
        ...real,
        describeWorkflowRun: () => {
          checks++;
          return Promise.reject(new Error('injected: cannot reach Temporal'));
        },
      };
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, activities });
      await worker.runUntil(async () => {
        const first = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'first' });
        await awaitStep(temporal.client, first.workflowId, 'snapshot');
        const second = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'second' });
        await eventually(() => checks >= 2, 60_000, 'two failed holder checks');
        const lock = await temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId)).describe();
        expect(lock.status.name).toBe('RUNNING');
        expect((await lockStateOf(temporal.client, workspaceId))?.holder?.workflowId).toBe(first.workflowId);
        await Promise.all([first.result(), second.result()]);
        expectNoOverlap(emu, workspaceId);
      });
    });
  }, 120_000);
});

describe('a holder terminated mid-operation (issue 10.10: a re-run repairs what the failed run left)', () => {
  it('the entity starts the workspace again before anyone else gets it, and re-running the same request completes (production timing: 60 s holder check)', async () => {
    await withEmulator({ snapshotMs: 4000 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('holderterm');
      const workspaceId = `ws_holderterm_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: 'precious' } });
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, productionDefaults: true });
      await worker.runUntil(async () => {
        const workflowId = testWorkflowId('snapshot');
        const first = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'nightly' }, workflowId);
        await awaitStep(temporal.client, first.workflowId, 'snapshot');
        // An operator terminates the operation while the workspace is stopped for its copy.
        await first.terminate('operator gave up on it');
        await eventually(() => emu.state.workspace(workspaceId)!.busyUntil === null, 30_000, 'the copy to end');
        expect(emu.state.workspace(workspaceId)!.status).toBe('stopped');
        // The same request again (same workflow id: a terminated run may be re-run).
        emu.delays.snapshotMs = 100;
        const rerun = await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: 'nightly' }, workflowId);
        const r = await rerun.result();
        expect(r.workspaceStatus).toBe('running');
        expect(emu.state.workspace(workspaceId)!.status).toBe('running');
        // The workspace was started by the lock's repair before the re-run took it.
        const changes = changesFor(emu, workspaceId).filter((c) => c.outcome === 'ok');
        const repair = changes.findIndex((c) => c.origin === workflowIds.workspace(workspaceId) && c.call === 'POST /start');
        expect(repair).toBeGreaterThan(0);
        expect(changes.slice(repair + 1).some((c) => c.origin === workflowId && c.call === 'POST /stop')).toBe(true);
      });
    });
  }, 180_000);
});

describe('waiting costs nothing (issue 10.5)', () => {
  it('six operations on one workspace complete in order on a worker with two activity slots; waiters hold no activity', async () => {
    await withEmulator({ snapshotMs: 500 }, async (emu) => {
      const taskQueue = uniqueTaskQueue('slots');
      const workspaceId = `ws_slots_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '2' } });
      await worker.runUntil(async () => {
        const handles = [];
        for (let i = 0; i < 6; i++) {
          handles.push(await start(taskQueue, WORKFLOW_TYPES.snapshot, { workspaceId, name: `n${i}` }));
          // One at a time, so that the order of arrival at the lock is the order of these starts.
          if (i === 0) await awaitStep(temporal.client, handles[0]!.workflowId, 'snapshot');
          else await eventually(async () => (await lockStateOf(temporal.client, workspaceId))?.queue.length === i, 30_000, `${i} waiting`);
        }
        for (const h of handles.slice(1)) {
          const d = await h.describe();
          expect(d.raw.pendingActivities ?? [], `${h.workflowId} holds no activity while it waits`).toEqual([]);
        }
        const results = await Promise.all(handles.map((h) => h.result()));
        expect(results.every((r) => r.workspaceStatus === 'running')).toBe(true);
        const stops = changesFor(emu, workspaceId)
          .filter((c) => c.outcome === 'ok' && c.call === 'POST /stop')
          .map((c) => c.origin);
        expect(stops).toEqual(handles.map((h) => h.workflowId));
        expectNoOverlap(emu, workspaceId);
      });
    });
  }, 120_000);
});
