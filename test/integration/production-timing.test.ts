import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { DEFAULT_POLL_SCHEDULE, pollTimes, type SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { testWorkflowId } from '../helpers/workflows.js';

/**
 * The production defaults, unchanged (issue 10.6): poll cap 15 s, heartbeat timeout 10 s, maximum wait
 * 10 min. A 60-second stop must finish on its first attempt, with no heartbeat timeout, polling on the
 * documented schedule.
 */

let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 60_000, startMs: 1000, snapshotMs: 500, restoreMs: 500, latencyMs: 5 } });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

describe('production timing', () => {
  it('a 60 s stop finishes on attempt 1 with no heartbeat timeout and the documented number of polls', async () => {
    const taskQueue = uniqueTaskQueue('prodtiming');
    const workspaceId = 'ws_slow_stop';
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, productionDefaults: true });
    const since = emu.calls.length;
    const h = await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId: testWorkflowId('snapshot'),
        args: [{ workspaceId, name: 'after-a-slow-stop' }],
      });
      const r = await handle.result();
      expect(r.workspaceStatus).toBe('running');
      return handle;
    });
    const events = (await h.fetchHistory()).events ?? [];
    const scheduled = new Map<string, string>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    }
    const stopStarted = events.filter(
      (e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'stopWorkspace',
    );
    expect(stopStarted).toHaveLength(1);
    expect(stopStarted[0]!.activityTaskStartedEventAttributes!.attempt).toBe(1);
    expect(events.some((e) => e.activityTaskTimedOutEventAttributes)).toBe(false);
    // Status reads while stopping: the schedule's count for 60 s, plus the read that saw it stopped.
    const stopAt = emu.calls.findIndex((c, i) => i >= since && c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop'));
    const stoppedAt = emu.calls.findIndex((c, i) => i > stopAt && c.workspaceId === workspaceId && c.workspaceStatus === 'stopped');
    const gets = emu.calls.slice(stopAt, stoppedAt + 1).filter((c) => c.workspaceId === workspaceId && c.method === 'GET').length;
    expect(gets).toBeLessThanOrEqual(pollTimes(60_000, DEFAULT_POLL_SCHEDULE).length + 1);
    expect(emu.state.workspace(workspaceId)!.status).toBe('running');
  }, 180_000);
});
