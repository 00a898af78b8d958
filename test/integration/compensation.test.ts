import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, progressQuery } from '../../contract/index.js';
import { type SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { eventually, historyJson, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * Compensation never gives up (issue 10.10): a workspace rigsnap stopped is started again whatever the
 * error (a revoked token, a maintenance page), with the reason in the workflow's current details and one
 * notification while it keeps trying. Production timing throughout (productionDefaults).
 */

let temporal: TestTemporal;
let emu: Emulator;
let hook: WebhookReceiver;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 300, startMs: 300, snapshotMs: 200, restoreMs: 200, latencyMs: 0 } });
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await hook?.close();
  await emu?.close();
  await temporal?.close();
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueTaskQueue('compensation');
  const worker: Worker = await createTestWorker({
    temporal,
    taskQueue,
    rigboxUrl: emu.url,
    productionDefaults: true,
    env: { RIGSNAP_NOTIFY_URL: hook.url },
  });
  return worker.runUntil(() => fn(taskQueue));
}

describe('compensation never gives up', () => {
  it('token revoked right after the stop: keeps trying to start the workspace, says why, notifies once, and starts it once the token works', async () => {
    const workspaceId = `ws_revoked_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.token = 'rotated-elsewhere';
    };
    try {
      await withWorker(async (taskQueue) => {
        const h = await temporal.client.workflow.start<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          workflowId: testWorkflowId('snapshot'),
          args: [{ workspaceId, name: 'revoked' }],
        });
        // The restart fails with Unauthorized; the workflow says so while it keeps trying.
        await eventually(async () => /Unauthorized/.test((await h.query(progressQuery)).alert ?? ''), 60_000, 'the alert');
        const progress = await h.query(progressQuery);
        expect(progress.alert).toMatch(/could not be started again .*Unauthorized.*keeps trying/);
        expect((await h.describe()).status.name).toBe('RUNNING');
        expect(emu.state.workspace(workspaceId)!.status).toBe('stopped');
        await eventually(() => hook.received.some((m) => m.workflowId === h.workflowId), 10_000, 'the notification');
        // The token is fixed (the worker's token works again): the next round starts the workspace.
        emu.token = TEST_TOKEN;
        const failure = await workflowFailure(h.result());
        expect(failure.type).toBe('Unauthorized');
        expect(emu.state.workspace(workspaceId)!.status).toBe('running');
        const notes = hook.received.filter((m) => m.workflowId === h.workflowId);
        expect(notes).toHaveLength(1);
        expect(String(notes[0]!.text)).toContain('could not be started again');
        expect(JSON.stringify(notes)).not.toContain(TEST_TOKEN);
        expect(await historyJson(h)).not.toContain(TEST_TOKEN);
      });
    } finally {
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
    }
  }, 180_000);

  it('a 20-second maintenance page (HTTP 200, HTML) right after the stop: the snapshot completes, once, and the workspace runs', async () => {
    const workspaceId = `ws_maint_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: 'data' } });
    let maintenanceFrom = 0;
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok' && !maintenanceFrom) {
        maintenanceFrom = Date.now();
        emu.faults.maintenance = true;
        setTimeout(() => (emu.faults.maintenance = false), 20_000);
      }
    };
    try {
      await withWorker(async (taskQueue) => {
        const r = await temporal.client.workflow.execute<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          workflowId: testWorkflowId('snapshot'),
          args: [{ workspaceId, name: 'through-maintenance' }],
        });
        expect(r.workspaceStatus).toBe('running');
        expect(emu.state.snapshotsOf(workspaceId).map((s) => s.id)).toEqual([r.snapshot.id]);
        expect(emu.state.data.snapshots[r.snapshot.id]!.files).toEqual({ v: 'data' });
      });
      const pages = emu.calls.filter((c) => c.at >= maintenanceFrom && c.status === 200 && c.outcome === 'unavailable');
      expect(pages.length).toBeGreaterThan(0); // the maintenance page was really served
      expect(emu.state.workspace(workspaceId)!.status).toBe('running');
    } finally {
      emu.hooks.onCall = undefined;
      emu.faults.maintenance = false;
    }
  }, 180_000);
});
