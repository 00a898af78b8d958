import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { WORKFLOW_TYPES, lockStateQuery } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Records test/replay/intermediate-2026-11-30 (issue 18.5, `npm run record-intermediate`): histories of
 * the build just before 0f5e47b (7535bf7), which changed the lock's commands under the same patch id
 * core-2026-11. Built checkout at RIGSNAP_MID_CHECKOUT (default /tmp/mid). Never part of `npm test`.
 */

const OUT = path.resolve('test/replay/intermediate-2026-11-30');
const MID_WORKER = path.join(process.env.RIGSNAP_MID_CHECKOUT ?? '/tmp/mid', 'dist', 'worker', 'main.js');
let temporal: TestTemporal;
let emu: Emulator;
const index: Record<string, string> = {};

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 300, startMs: 300, snapshotMs: 100, restoreMs: 100, latencyMs: 0 },
    seedWorkspaces: [{ id: 'ws_mid', status: 'running' }],
  });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

function save(name: string, workflowId: string) {
  index[`${name}.json`] = workflowId;
  const json = execFileSync(inject('temporalCliPath'), ['workflow', 'show', '--workflow-id', workflowId, '--address', temporal.address, '--output', 'json'], {
    encoding: 'utf8',
  });
  fs.writeFileSync(path.join(OUT, `${name}.json`), json);
}

it('records a snapshot and its workspace lock on the intermediate build', async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const taskQueue = uniqueTaskQueue('intermediate');
  const mid = await startWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, RIGSNAP_TASK_QUEUE: taskQueue, RIGBOX_API_URL: emu.url }, MID_WORKER);
  try {
    await temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: 'record-mid-snapshot',
      args: [{ workspaceId: 'ws_mid', name: 'mid' }],
    });
    save('snapshot', 'record-mid-snapshot');
    // The lock, free again: that build waits 10 minutes idle before it ends (a timer in its history).
    const lock = temporal.client.workflow.getHandle(workflowIds.lock('ws_mid'));
    await eventually(
      () =>
        lock.query(lockStateQuery).then(
          (s) => s.holder === null && s.queue.length === 0,
          () => false,
        ),
      30_000,
      'the lock to be free',
    );
    save('workspace-lock', workflowIds.lock('ws_mid'));
  } finally {
    await mid.stop();
  }
  fs.writeFileSync(path.join(OUT, 'workflow-ids.json'), `${JSON.stringify(index, null, 2)}\n`);
});
