import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOP_NOTICE_EVENT, WORKFLOW_TYPES, noticeQuery } from '../../contract/index.js';
import { MEMO_KEYS, parseDuration, type BackupWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';

/**
 * The recommended production notice, 10 minutes, at its real length. Why real time: @temporalio/testing's
 * time-skipping environment needs the Java test server, which cannot be downloaded here, and the dev
 * server (Temporal 1.29.1) ignores the per-workflow `timeSkippingConfig` of newer APIs (tried: a
 * 10-minute notice did not skip). The worker sits idle on a durable timer meanwhile, and vitest runs
 * another file beside this one (two at once), so it costs wall time, not CPU.
 */

const PRODUCTION_NOTICE = '10m';

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let receiver: WebhookReceiver;
const taskQueue = uniqueTaskQueue('notice-prod');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 1000, startMs: 1000, snapshotMs: 500, restoreMs: 500, latencyMs: 5 } });
  receiver = await startWebhookReceiver();
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, productionDefaults: true, deps: { notifyUrl: receiver.url } });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
  await receiver?.close();
});

describe('the production notice', () => {
  it(
    '10 minutes: the notice arrives at once, the workspace runs untouched for 10 minutes, then the backup stops it',
    async () => {
      const workspaceId = 'ws_prod_notice';
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
      const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
        taskQueue,
        workflowId: testWorkflowId('backup-prod-notice'),
        args: [{ workspaceId, notice: PRODUCTION_NOTICE }],
        memo: { [MEMO_KEYS.timezone]: 'UTC' },
      });
      await eventually(() => receiver.received.some((b) => b.event === STOP_NOTICE_EVENT && b.workspaceId === workspaceId), 60_000, 'the notice');
      const view = (await handle.query(noticeQuery))!;
      expect(Date.parse(view.stopAt) - Date.parse(view.noticeSentAt!)).toBe(parseDuration(PRODUCTION_NOTICE));
      const r = (await handle.result()) as BackupWorkspaceResult;
      expect(r.snapshot?.workspace_id).toBe(workspaceId);
      const stop = emu.calls.find((c) => c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop'))!;
      expect(stop.at).toBeGreaterThanOrEqual(Date.parse(view.stopAt));
      expect(emu.state.workspace(workspaceId)!.status).toBe('running');
    },
    15 * 60_000,
  );
});
