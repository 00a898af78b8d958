import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import type { PruneSnapshotsResult, SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * A worker stopped (SIGTERM) while its Rigbox call limiter is saturated exits within its shutdown grace
 * time plus a bound, and what it was doing finishes on another worker. A bench run saw such a worker
 * linger 11 to 45 minutes: changes (here a prune's deletions) waiting for their turn under the quota
 * ignored the cancellation the SDK sends at the end of the grace time, and the SDK waits for every
 * running activity. The quota here is the smallest the configuration allows (one call per ~10 s), so
 * the deletions queued at the SIGTERM would take minutes to drain.
 */

const GRACE_MS = 2_000;
/** A correctness bound, not a speed goal: the worker must not wait for the queue to drain. */
const EXIT_BOUND_MS = GRACE_MS + 30_000;
const WORKSPACES = ['ws_shutdown_a', 'ws_shutdown_b', 'ws_shutdown_c'];
const OLD_SNAPSHOTS = 12;

let temporal: TestTemporal;
let emu: Emulator;
const taskQueue = uniqueTaskQueue('shutdown');
const workers: WorkerProcess[] = [];
const ids: string[] = [];

function workerEnv(extra: Record<string, string>): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporal.address,
    RIGBOX_API_URL: emu.url,
    RIGSNAP_TASK_QUEUE: taskQueue,
    RIGSNAP_POLL_MAX_MS: '500',
    RIGSNAP_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    ...extra,
  };
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: 'test-token-7f3a9c1e5b', delays: { stopMs: 200, startMs: 200, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
  for (const id of WORKSPACES) {
    const ws = emu.state.upsertWorkspace({ id, status: 'running' });
    for (let i = 0; i < OLD_SNAPSHOTS; i++) {
      const s = emu.state.addSnapshot(ws, `old-${String(i).padStart(2, '0')}`);
      s.created_at = new Date(Date.now() - (OLD_SNAPSHOTS - i) * 60_000).toISOString();
    }
  }
});

afterAll(async () => {
  await Promise.all(
    ids.map((id) =>
      temporal.client.workflow
        .getHandle(id)
        .terminate('shutdown test over')
        .catch(() => undefined),
    ),
  );
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await emu?.close();
  await temporal?.close();
});

/** Sends SIGTERM and resolves with how long the process took to exit (Infinity past `boundMs`) and its exit code. */
async function stopAndTime(w: WorkerProcess, boundMs: number): Promise<{ ms: number; code: number | null }> {
  const sentAt = Date.now();
  const exited = new Promise<{ ms: number; code: number | null }>((resolve) => w.child.once('exit', (code) => resolve({ ms: Date.now() - sentAt, code })));
  w.child.kill('SIGTERM');
  return Promise.race([exited, new Promise<{ ms: number; code: null }>((r) => setTimeout(() => r({ ms: Infinity, code: null }), boundMs))]);
}

describe('a worker stopped with a saturated Rigbox quota', () => {
  it('exits within its grace time plus a bound, and another worker finishes its work', async () => {
    const slow = await startWorkerProcess(workerEnv({ RIGSNAP_RIGBOX_CALLS_PER_SECOND: '0.2', RIGSNAP_LOG_LEVEL: 'INFO' }));
    workers.push(slow);
    const handles = await Promise.all(
      WORKSPACES.map((workspaceId) => {
        const workflowId = testWorkflowId('prune-shutdown');
        ids.push(workflowId);
        return temporal.client.workflow.start(WORKFLOW_TYPES.prune, {
          taskQueue,
          workflowId,
          args: [{ workspaceId, namePrefix: 'old-', retention: { keepLast: 1 } }],
        });
      }),
    );
    // Both prunes have listed their snapshots: their deletions (four at a time each) now queue for the quota.
    const listed = (id: string) => emu.calls.some((c) => c.method === 'GET' && c.route === '/api/workspaces/:id/snapshots' && c.workspaceId === id);
    await eventually(() => WORKSPACES.every(listed), 150_000, 'the prunes to list their snapshots');
    await new Promise((r) => setTimeout(r, 1000));
    const deletedBefore = emu.calls.filter((c) => c.method === 'DELETE').length;
    expect(deletedBefore, 'deletions still queued at the SIGTERM').toBeLessThan(4);

    const exit = await stopAndTime(slow, EXIT_BOUND_MS);
    console.log(
      `worker exited ${exit.ms} ms after SIGTERM (grace ${GRACE_MS} ms); it made ${emu.calls.filter((c) => c.method === 'DELETE').length - deletedBefore} deletions meanwhile`,
    );
    expect(exit.ms, `the worker's exit after SIGTERM:\n${slow.output.join('').slice(-3000)}`).toBeLessThanOrEqual(EXIT_BOUND_MS);
    // A graceful stop: the queued deletions gave up their turns, nothing had to be forced.
    expect(exit.code, slow.output.join('').slice(-3000)).toBe(0);

    // What it left undone is retried on another worker: each prune ends with only the newest snapshot kept.
    workers.push(await startWorkerProcess(workerEnv({ RIGSNAP_RIGBOX_CALLS_PER_SECOND: '1000' })));
    const results = await Promise.all(handles.map((h) => h.result() as Promise<PruneSnapshotsResult>));
    for (const [i, workspaceId] of WORKSPACES.entries()) {
      expect(results[i]!.deletedCount ?? results[i]!.deleted.length).toBe(OLD_SNAPSHOTS - 1);
      expect(emu.state.snapshotsOf(workspaceId).map((s) => s.name)).toEqual([`old-${String(OLD_SNAPSHOTS - 1).padStart(2, '0')}`]);
    }
  }, 300_000);
});

describe('a worker stopped during a change in flight', () => {
  it('exits after its force time, and another worker finishes the operation', async () => {
    const FORCE_MS = GRACE_MS + 4_000;
    const workspaceId = 'ws_shutdown_copy';
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { 'data.txt': 'kept' } });
    // A copy that outlasts the force time: the create is a change in flight, never abandoned by the worker.
    // Rigbox finishes it anyway; the retried attempt on the next worker adopts it.
    emu.delays.snapshotMs = 40_000;
    // A task queue of its own: the first test's workers are still polling theirs.
    const queue = uniqueTaskQueue('shutdown-copy');
    const w = await startWorkerProcess(
      workerEnv({ RIGSNAP_TASK_QUEUE: queue, RIGSNAP_RIGBOX_CALLS_PER_SECOND: '1000', RIGSNAP_SHUTDOWN_FORCE_MS: String(FORCE_MS) }),
    );
    workers.push(w);
    const workflowId = testWorkflowId('snapshot-shutdown');
    ids.push(workflowId);
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue: queue,
      workflowId,
      args: [{ workspaceId, name: 'during-shutdown' }],
    });
    await eventually(
      () => emu.arrivals.some((a) => a.method === 'POST' && a.route.endsWith('/workspaces/:id/snapshots') && a.workspaceId === workspaceId),
      60_000,
      'the copy to start',
    );

    const exit = await stopAndTime(w, FORCE_MS + 30_000);
    console.log(`worker exited ${exit.ms} ms after SIGTERM (grace ${GRACE_MS} ms, force ${FORCE_MS} ms), code ${exit.code}`);
    expect(exit.ms, w.output.join('').slice(-3000)).toBeLessThanOrEqual(FORCE_MS + 30_000);
    // Forced: it says so and exits non-zero, so a supervisor sees a shutdown that did not drain.
    expect(exit.code).not.toBe(0);
    expect(w.output.join('')).toContain(`activities still running ${FORCE_MS} ms after the stop signal (RIGSNAP_SHUTDOWN_FORCE_MS)`);

    workers.push(await startWorkerProcess(workerEnv({ RIGSNAP_TASK_QUEUE: queue, RIGSNAP_RIGBOX_CALLS_PER_SECOND: '1000' })));
    const result = (await handle.result()) as { snapshot: { id: string; name: string } };
    expect(result.snapshot.name).toBe('during-shutdown');
    expect(emu.state.snapshotsOf(workspaceId).map((s) => s.id)).toEqual([result.snapshot.id]);
    expect(emu.state.workspace(workspaceId)?.status).toBe('running');
  }, 300_000);
});

describe('a worker stopped during a change in flight, at the production defaults', () => {
  it('exits non-zero naming RIGSNAP_SHUTDOWN_FORCE_MS no sooner than its 40 s force time; the next worker adopts the snapshot', async () => {
    // No grace or force setting: grace 30 s, force = grace + 10 s (worker/config.ts shutdownForceMs).
    const DEFAULT_FORCE_MS = 40_000;
    const workspaceId = 'ws_shutdown_default';
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { 'data.txt': 'kept' } });
    // Outlasts the force time; Rigbox ends it before the retried attempt (force + an on-demand run's 10 s heartbeat timeout) looks.
    emu.delays.snapshotMs = DEFAULT_FORCE_MS + 5_000;
    const queue = uniqueTaskQueue('shutdown-default');
    const env = { TEMPORAL_ADDRESS: temporal.address, RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: queue };
    const w = await startWorkerProcess(env);
    workers.push(w);
    const workflowId = testWorkflowId('snapshot-shutdown-default');
    ids.push(workflowId);
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue: queue,
      workflowId,
      args: [{ workspaceId, name: 'at-defaults' }],
    });
    const isCreate = (c: { method: string; route: string; workspaceId: string | null }) =>
      c.method === 'POST' && c.route.endsWith('/workspaces/:id/snapshots') && c.workspaceId === workspaceId;
    await eventually(() => emu.arrivals.some(isCreate), 60_000, 'the copy to start');

    const exit = await stopAndTime(w, DEFAULT_FORCE_MS + 30_000);
    const output = w.output.join('');
    console.log(`worker exited ${exit.ms} ms after SIGTERM at the defaults, code ${exit.code}`);
    expect(exit.ms, output.slice(-3000)).toBeGreaterThanOrEqual(DEFAULT_FORCE_MS);
    expect(exit.ms, output.slice(-3000)).toBeLessThanOrEqual(DEFAULT_FORCE_MS + 30_000);
    expect(exit.code).not.toBe(0);
    expect(output).toMatch(/activities still running 40000 ms after the stop signal \(RIGSNAP_SHUTDOWN_FORCE_MS\)/);

    const next = await startWorkerProcess(env);
    workers.push(next);
    const result = (await handle.result()) as SnapshotWorkspaceResult;
    expect(result.snapshot.name).toBe('at-defaults');
    expect(result.adopted).toBe(true);
    expect(emu.state.snapshotsOf(workspaceId).map((s) => s.id)).toEqual([result.snapshot.id]);
    expect(emu.calls.filter((c) => isCreate(c) && c.status === 201)).toHaveLength(1);
    expect(emu.arrivals.filter(isCreate), 'the next worker made no second create').toHaveLength(1);
    expect(emu.state.workspace(workspaceId)?.status).toBe('running');
  }, 180_000);
});

describe('a second stop signal', () => {
  it('kills a stopping worker at once (Node’s default), as docs/operations.md says', async () => {
    const workspaceId = 'ws_shutdown_twice';
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
    // A copy in flight keeps the first signal's stop waiting (until the 40 s force time at the defaults).
    emu.delays.snapshotMs = 30_000;
    const queue = uniqueTaskQueue('shutdown-twice');
    const w = await startWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: queue });
    workers.push(w);
    const workflowId = testWorkflowId('snapshot-shutdown-twice');
    ids.push(workflowId);
    await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue: queue, workflowId, args: [{ workspaceId, name: 'twice' }] });
    await eventually(
      () => emu.arrivals.some((a) => a.method === 'POST' && a.route.endsWith('/workspaces/:id/snapshots') && a.workspaceId === workspaceId),
      60_000,
      'the copy to start',
    );
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => w.child.once('exit', (code, signal) => resolve(signal ?? code)));
    w.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    w.child.kill('SIGTERM');
    const how = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 70_000))]);
    // Killed by the second signal, not the forced exit's code 1 forty seconds later.
    expect(how, w.output.join('').slice(-3000)).toBe('SIGTERM');
  }, 120_000);
});
