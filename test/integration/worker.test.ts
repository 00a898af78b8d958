import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { ensureSearchAttributes } from '../../worker/temporal.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 200, startMs: 200, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
    seedWorkspaces: [{ id: 'ws_int', status: 'running', files: { 'f.txt': 'data' } }],
  });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

it('registers the search attributes on a namespace that lacks them, idempotently', async () => {
  const namespace = `rigsnap-sa-${Date.now().toString(36)}`;
  await temporal.connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const list = async () => Object.keys((await temporal.nativeConnection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {});
  // The namespace can take a moment to be visible to the operator API.
  for (
    let i = 0;
    i < 50 &&
    !(await list().then(
      () => true,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  expect(await list()).not.toContain(SEARCH_ATTRIBUTES.workspaceId);

  const added = await ensureSearchAttributes(temporal.nativeConnection, namespace);
  expect(added.sort()).toEqual([SEARCH_ATTRIBUTES.operation, SEARCH_ATTRIBUTES.workspaceId, SEARCH_ATTRIBUTES.labels].sort());
  expect(await list()).toEqual(expect.arrayContaining([SEARCH_ATTRIBUTES.workspaceId, SEARCH_ATTRIBUTES.operation, SEARCH_ATTRIBUTES.labels]));
  expect(await ensureSearchAttributes(temporal.nativeConnection, namespace)).toEqual([]);
});

it('a worker on the real dev server runs a workflow whose activity reaches the emulator over HTTP', async () => {
  const taskQueue = uniqueTaskQueue('worker');
  const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  const client: Client = temporal.client;
  const result = await worker.runUntil(
    client.workflow.execute(WORKFLOW_TYPES.list, {
      taskQueue,
      workflowId: `list-ws_int-${Date.now()}`,
      args: [{ workspaceId: 'ws_int' }],
    }),
  );
  expect(result).toMatchObject({ workspaceId: 'ws_int', count: 0, totalSizeBytes: 0 });
  expect(emu.calls.some((c) => c.route === '/api/workspaces/:id/snapshots' && c.outcome === 'ok')).toBe(true);
});
