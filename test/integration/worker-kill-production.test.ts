/**
 * A worker SIGKILLed in the middle of a scheduled backup's snapshot copy, at production timing: the
 * built worker with no timing setting of its own, a batch run's heartbeats (every 45 s against a 60 s
 * timeout: workflows/profiles.ts BATCH_HEARTBEAT_TIMEOUT, activities/heartbeat.ts) and a copy longer than
 * that timeout. The copy must live past the minute on its first worker (its heartbeat keeps it), the dead
 * worker must be noticed by the heartbeat timeout, and the next worker's retried attempt must adopt the
 * snapshot Rigbox finished meanwhile: one snapshot, one create, the workspace running again.
 */
import { decodeTimeoutType } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, operationKey, workspaceIdKey } from '../../contract/index.js';
import { PRIORITY, type BackupWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/** Longer than the batch heartbeat timeout (60 s), shorter than the first beat plus that timeout (105 s). */
const COPY_MS = 90_000;
/** How long the first worker runs the copy before it is killed: past the heartbeat timeout, before the copy ends. */
const KILL_AFTER_MS = 65_000;
const WS = `ws_killcopy_${process.pid}`;

let temporal: TestTemporal;
let emu: Emulator;
const taskQueue = uniqueTaskQueue('kill-copy');
const workers: WorkerProcess[] = [];
let workflowId = '';

/** Production settings: only where Temporal and Rigbox are, and the test's own task queue. */
const productionEnv = () => ({ TEMPORAL_ADDRESS: temporal.address, RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: taskQueue });

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 2000, startMs: 2000, snapshotMs: COPY_MS, restoreMs: 500, latencyMs: 5 },
    seedWorkspaces: [{ id: WS, status: 'running', files: { 'db.sql': 'rows' } }],
  });
});

afterAll(async () => {
  if (workflowId)
    await temporal.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await emu?.close();
  await temporal?.close();
});

const isCreate = (c: { method: string; route: string; workspaceId: string | null }) =>
  c.method === 'POST' && c.route.endsWith('/workspaces/:id/snapshots') && c.workspaceId === WS;

describe('a worker SIGKILLed mid-copy of a scheduled backup, at production timing', () => {
  it('the copy outlives the heartbeat timeout on its worker; after the kill the next worker adopts the snapshot: one create, workspace running', async () => {
    const first = await startWorkerProcess(productionEnv());
    workers.push(first);
    workflowId = testWorkflowId('backup-kill-copy');
    // As its schedule starts it (client/schedule-definition.ts): priority 3 makes it a batch run.
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
      taskQueue,
      workflowId,
      args: [{ workspaceId: WS, retention: { keepLast: 7 } }],
      priority: { priorityKey: PRIORITY.scheduledBackup },
      typedSearchAttributes: [
        { key: operationKey, value: 'backup' },
        { key: workspaceIdKey, value: WS },
      ],
    });
    await eventually(() => emu.arrivals.some(isCreate), 120_000, 'the copy to start');
    const copyStartedAt = Date.now();
    await new Promise((r) => setTimeout(r, KILL_AFTER_MS));

    // Past the 60 s heartbeat timeout, the first attempt still runs on the first worker: its beat kept it.
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const copy = pending.find((a) => a.activityType?.name === 'createSnapshot');
    expect(copy, JSON.stringify(pending)).toBeDefined();
    expect(copy!.attempt).toBe(1);
    expect(copy!.lastHeartbeatTime, 'a heartbeat reached the server').toBeTruthy();
    expect(emu.calls.filter(isCreate), 'the copy is still in flight').toHaveLength(0);

    first.child.kill('SIGKILL');
    await new Promise<void>((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r() : first.child.once('exit', () => r())));
    console.log(`first worker SIGKILLed ${Date.now() - copyStartedAt} ms into a ${COPY_MS} ms copy`);
    const second = await startWorkerProcess(productionEnv());
    workers.push(second);

    const r = (await handle.result()) as BackupWorkspaceResult;
    console.log(`backup done ${Date.now() - copyStartedAt} ms after the copy began; create requests: ${emu.arrivals.filter(isCreate).length}`);

    // What a user checks: one backup with this name, the one the run reports; the workspace runs.
    expect(r.snapshot!.name).toMatch(/^daily-backup-/);
    expect(r.adopted).toBe(true);
    expect(emu.state.snapshotsOf(WS).map((s) => s.id)).toEqual([r.snapshot!.id]);
    expect(emu.calls.filter((c) => isCreate(c) && c.status === 201)).toHaveLength(1);
    expect(emu.arrivals.filter(isCreate), 'the retried attempt made no second create').toHaveLength(1);
    expect(emu.state.workspace(WS)!.status).toBe('running');

    // The history: the copy's recorded attempt is a retry after a heartbeat timeout, on the second worker.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduledIds = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createSnapshot').map((e) => String(e.eventId)),
    );
    expect(scheduledIds.size).toBe(1);
    const started = events.filter((e) => scheduledIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)));
    expect(started).toHaveLength(1);
    const a = started[0]!.activityTaskStartedEventAttributes!;
    expect(a.attempt).toBeGreaterThanOrEqual(2);
    expect(decodeTimeoutType(a.lastFailure?.timeoutFailureInfo?.timeoutType)).toBe('HEARTBEAT');
    expect(a.identity).toMatch(new RegExp(`^${second.child.pid}@`));
  }, 330_000);
});
