import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, lockStateQuery, progressQuery } from '../../contract/index.js';
import { workflowIds, type LockState, type SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, UNVERSIONED_ON_SHARED_SERVER, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, testWorkflowId } from '../helpers/workflows.js';

/** Faults, crashes, cancellation and contention: nothing lost, nothing duplicated, no workspace left down. */

let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 200, startMs: 200, snapshotMs: 100, restoreMs: 100, latencyMs: 0 },
  });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

function resetFaults() {
  Object.assign(emu.faults, { unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0, retryAfterSeconds: 1, routes: [] });
}

async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  return worker.runUntil(fn);
}

describe('Rigbox faults', () => {
  it('a create whose answer is lost is adopted on retry, not made twice', async () => {
    const taskQueue = uniqueTaskQueue('lost');
    emu.state.upsertWorkspace({ id: 'ws_lost', status: 'running', files: { a: '1' } });
    Object.assign(emu.faults, { lostResponseRate: 1, routes: ['POST /workspaces/:id/snapshots'] });
    try {
      const r = await withWorker(taskQueue, () =>
        temporal.client.workflow.execute<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          workflowId: testWorkflowId('snapshot'),
          args: [{ workspaceId: 'ws_lost', name: 'nightly' }],
        }),
      );
      expect(r.adopted).toBe(true);
      const snaps = emu.state.snapshotsOf('ws_lost');
      expect(snaps.map((s) => s.id)).toEqual([r.snapshot.id]);
      expect(emu.state.workspace('ws_lost')!.status).toBe('running');
      // Exactly one create reached Rigbox: the retry found it instead of asking again.
      expect(emu.calls.filter((c) => c.workspaceId === 'ws_lost' && c.method === 'POST' && c.route.endsWith('/snapshots'))).toHaveLength(1);
    } finally {
      resetFaults();
    }
  });

  it('with 15% 503s, 5% 429s and 15% lost answers, every request ends with exactly one snapshot', async () => {
    const taskQueue = uniqueTaskQueue('faults');
    const ids = Array.from({ length: 6 }, (_, i) => `ws_fault${i}`);
    for (const [i, id] of ids.entries()) emu.state.upsertWorkspace({ id, status: i % 3 === 0 ? 'stopped' : 'running', files: { f: id } });
    Object.assign(emu.faults, { unavailableRate: 0.15, rateLimitRate: 0.05, lostResponseRate: 0.15, retryAfterSeconds: 1, seed: 20261128 });
    const before = emu.calls.length;
    try {
      const results = await withWorker(taskQueue, () =>
        Promise.all(
          ids.map((workspaceId) =>
            temporal.client.workflow.execute<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
              taskQueue,
              workflowId: testWorkflowId('snapshot'),
              args: [{ workspaceId, name: 'faulty-day' }],
            }),
          ),
        ),
      );
      const injected = emu.calls.slice(before).filter((c) => c.outcome !== 'ok' && c.outcome !== 'error');
      expect(injected.length).toBeGreaterThan(5); // the faults really happened
      for (const [i, id] of ids.entries()) {
        expect(emu.state.snapshotsOf(id).map((s) => s.id)).toEqual([results[i]!.snapshot.id]);
        expect(emu.state.workspace(id)!.status).toBe(i % 3 === 0 ? 'stopped' : 'running');
        expect(emu.state.data.snapshots[results[i]!.snapshot.id]!.files).toEqual({ f: id });
      }
    } finally {
      resetFaults();
    }
  }, 180_000);
});

describe('cancellation', () => {
  it('cancelling mid-snapshot leaves the workspace running', async () => {
    const taskQueue = uniqueTaskQueue('cancel');
    emu.state.upsertWorkspace({ id: 'ws_cancel', status: 'running' });
    emu.delays.snapshotMs = 1500;
    try {
      await withWorker(taskQueue, async () => {
        const h = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          workflowId: testWorkflowId('snapshot'),
          args: [{ workspaceId: 'ws_cancel', name: 'to-cancel' }],
        });
        await awaitStep(temporal.client, h.workflowId, 'snapshot');
        expect(emu.state.workspace('ws_cancel')!.status).toBe('stopped');
        await h.cancel();
        const err = await h.result().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowFailedError);
        // Cancelled during the copy: the copy landed, and the failure says which snapshot it made (issue 18.2).
        const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
        expect(cause).toBeInstanceOf(ApplicationFailure);
        expect(cause.type).toBe('CancelledAfterChange');
        expect((cause.details?.[0] as { snapshot?: { id: string } }).snapshot?.id).toBe(emu.state.snapshotsOf('ws_cancel')[0]!.id);
        // The workflow ended only after starting the workspace again.
        expect(emu.state.workspace('ws_cancel')!.status).toBe('running');
        const progress = await h.query(progressQuery);
        expect(progress.steps.map((s) => s.step)).toEqual(['wait-for-lock', 'preflight', 'stop', 'snapshot', 'start']);
      });
    } finally {
      emu.delays.snapshotMs = 100;
    }
  });
});

describe('serialized per workspace', () => {
  it('four operations on one workspace run one at a time, in order of arrival', async () => {
    const taskQueue = uniqueTaskQueue('serial');
    emu.state.upsertWorkspace({ id: 'ws_busy', status: 'running', files: { v: '0' } });
    const ws = emu.state.workspace('ws_busy')!;
    const restorable = emu.state.addSnapshot(ws, 'known-good');
    const deletable = emu.state.addSnapshot(ws, 'old');
    // The first operation's copy outlasts the time the others take to queue, even on a loaded machine.
    emu.delays.snapshotMs = 8000;
    const since = emu.calls.length;
    const lock = temporal.client.workflow.getHandle(workflowIds.workspace('ws_busy'));
    const queued = async (n: number) =>
      eventually(
        async () => (await lock.query(lockStateQuery).catch(() => ({ queue: [] }) as unknown as LockState)).queue.length === n,
        30_000,
        `${n} queued on the lock`,
      );
    try {
      await withWorker(taskQueue, async () => {
        const start = (type: string, input: unknown) => temporal.client.workflow.start(type, { taskQueue, workflowId: testWorkflowId(type), args: [input] });
        const first = await start(WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_busy', name: 'first' });
        await awaitStep(temporal.client, first.workflowId, 'snapshot');
        const second = await start(WORKFLOW_TYPES.restore, { workspaceId: 'ws_busy', snapshotId: restorable.id });
        await queued(1);
        const third = await start(WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_busy', name: 'third' });
        await queued(2);
        const fourth = await start(WORKFLOW_TYPES.delete, { workspaceId: 'ws_busy', snapshotId: deletable.id });
        await queued(3);
        emu.delays.snapshotMs = 100; // the later snapshot need not be slow
        await Promise.all([first.result(), second.result(), third.result(), fourth.result()]);
        const state = await lock.query(lockStateQuery);
        expect(state.holder).toBeNull();
        expect(state.queue).toEqual([]);
      });
    } finally {
      emu.delays.snapshotMs = 100;
    }
    const mutations = emu.calls
      .slice(since)
      .filter((c) => c.workspaceId === 'ws_busy' && c.method !== 'GET' && c.outcome === 'ok')
      .map((c) => `${c.method} ${c.route.replace('/api/workspaces/:id', '')}`);
    expect(mutations).toEqual([
      'POST /stop',
      'POST /snapshots',
      'POST /start',
      'POST /stop',
      'POST /snapshots/:sid/restore',
      'POST /start',
      'POST /stop',
      'POST /snapshots',
      'POST /start',
      'DELETE /snapshots/:sid',
    ]);
    expect(emu.state.workspace('ws_busy')!.status).toBe('running');
    expect(
      emu.state
        .snapshotsOf('ws_busy')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['first', 'known-good', 'third']);
  });
});

describe('a worker killed mid-workflow', () => {
  it('completes the workflow after a restart, with no duplicate snapshot', async () => {
    const taskQueue = uniqueTaskQueue('crash');
    emu.state.upsertWorkspace({ id: 'ws_crash', status: 'running', files: { a: 'precious' } });
    emu.delays.snapshotMs = 2500;
    const workerEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      RIGBOX_API_URL: emu.url,
      RIGBOX_TOKEN: TEST_TOKEN,
      RIGSNAP_TASK_QUEUE: taskQueue,
      RIGSNAP_METRICS_PORT: '0',
      RIGSNAP_POLL_MAX_MS: '500',
      RIGSNAP_LOG_LEVEL: 'WARN',
      ...UNVERSIONED_ON_SHARED_SERVER,
    };
    const spawnWorker = (): ChildProcess =>
      spawn(process.execPath, [path.resolve('dist/worker/main.js')], { env: workerEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let child = spawnWorker();
    try {
      const h = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId: testWorkflowId('snapshot'),
        args: [{ workspaceId: 'ws_crash', name: 'survives-crash' }],
      });
      // Kill the worker while Rigbox is copying the disk: the create's answer never reaches anyone.
      await eventually(() => emu.state.data.workspaces.ws_crash!.busyUntil !== null, 30_000, 'the snapshot copy to begin');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await eventually(() => emu.state.snapshotsOf('ws_crash').length === 1, 30_000, 'Rigbox to finish the copy');
      child = spawnWorker();
      const r = await h.result();
      expect(r.adopted).toBe(true);
      expect(emu.state.snapshotsOf('ws_crash').map((s) => s.id)).toEqual([r.snapshot.id]);
      expect(emu.state.workspace('ws_crash')!.status).toBe('running');
      expect(emu.state.data.snapshots[r.snapshot.id]!.files).toEqual({ a: 'precious' });
      // The replayed run released the lock it took before the crash: the next operation need not wait.
      const lock = temporal.client.workflow.getHandle(workflowIds.workspace('ws_crash'));
      await eventually(async () => (await lock.query(lockStateQuery)).holder === null, 10_000, 'the lock to be free');
    } finally {
      emu.delays.snapshotMs = 100;
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  }, 120_000);
});
