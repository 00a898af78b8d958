import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';

/**
 * What a person sees of a running operation in the Temporal Web UI (the one the tests' dev server
 * runs): its Current details as the UI renders them, and its pending activity's heartbeat details.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueTaskQueue('ui');
const ui = () => inject('temporalUiUrl');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
    seedWorkspaces: [{ id: 'ws_ui', status: 'running' }],
  });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

describe('an operation in the Temporal UI', () => {
  it('shows its steps as a list in Current details, and its heartbeat times as ISO text', async () => {
    emu.delays.stopMs = 5000; // long enough to look at the stop while it runs
    const workflowId = testWorkflowId('ui-snapshot');
    try {
      const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId,
        args: [{ workspaceId: 'ws_ui', name: 'looked-at' }],
      });
      // The pending stop's heartbeat, as the UI's API serves it.
      let details = '';
      await eventually(
        async () => {
          const res = await fetch(`${ui()}/api/v1/namespaces/default/workflows/${workflowId}?execution.runId=${handle.firstExecutionRunId}`);
          const body = (await res.json()) as { pendingActivities?: Array<{ heartbeatDetails?: { payloads?: Array<{ data: string }> } }> };
          const payload = body.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
          details = payload ? Buffer.from(payload, 'base64').toString('utf8') : '';
          return /"polls"/.test(details);
        },
        30_000,
        'a heartbeat of the stop',
      );
      const heartbeat = JSON.parse(details) as Record<string, unknown>;
      expect(heartbeat.waitStartedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(details).not.toMatch(/\d{13}/); // no epoch milliseconds anywhere

      // Current details, rendered by the UI's own Markdown renderer.
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      const page = await (await fetch(`${ui()}/render?content=${encodeURIComponent(metadata.currentDetails ?? '')}&theme=light`)).text();
      const main = /<main>([\s\S]*)<\/main>/.exec(page)?.[1] ?? page;
      expect(main).toMatch(/<p><strong>snapshot<\/strong> of <code>ws_ui<\/code>: running<\/p>/);
      expect(main).toMatch(
        /<ul>\s*<li>✓ waiting for other operations on this workspace<\/li>\s*<li>✓ checking workspace<\/li>\s*<li>… stopping workspace and waiting for it to stop<\/li>\s*<\/ul>/,
      );
      await handle.cancel();
      await handle.result().catch(() => undefined);
    } finally {
      emu.delays.stopMs = 100;
    }
  });
});
