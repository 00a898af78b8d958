import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { WORKFLOW_TYPES, progressQuery, releaseUpdate, rollbackUpdate } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Records test/replay/histories/2026-12-06-cross-release (issue 18.5), never as part of `npm test`:
 *  - histories that span an upgrade: a checkpoint started on the previous release's worker (snapshot,
 *    active) and rolled back and released on this one;
 *  - the paths of the truth-2026-12 patch: inputs validated once (a checkpoint, a fleet that takes the
 *    default concurrency, which test/replay/schema-change.test.ts replays after made-up schema changes),
 *    a snapshot cancelled after its copy landed, its re-run that adopts the snapshot, a restore cancelled
 *    after it overwrote the disk.
 *
 * The previous release is a built checkout at RIGSNAP_PREV_CHECKOUT (default /tmp/prev):
 * `git worktree add /tmp/prev 9302d4b && ln -s "$PWD/node_modules" /tmp/prev/ && (cd /tmp/prev && npm run build)`,
 * then `npm run record-cross-release`.
 */

const OUT = path.resolve('test/replay/histories/2026-12-06-cross-release');
const PREV_WORKER = path.join(process.env.RIGSNAP_PREV_CHECKOUT ?? '/tmp/prev', 'dist', 'worker', 'main.js');
let temporal: TestTemporal;
let emu: Emulator;
const taskQueue = uniqueTaskQueue('cross-release');
const index: Record<string, string> = {};

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 300, startMs: 300, snapshotMs: 100, restoreMs: 100, latencyMs: 0 },
    seedWorkspaces: [
      { id: 'ws_xr_cp', status: 'running', files: { v: 'good' } },
      { id: 'ws_xr_new', status: 'running' },
      { id: 'ws_xr_f1', status: 'running' },
      { id: 'ws_xr_f2', status: 'running' },
      { id: 'ws_xr_cx', status: 'running' },
      { id: 'ws_xr_rs', status: 'running', files: { v: 'old' } },
    ],
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

const active = (h: { query: (q: typeof progressQuery) => Promise<{ detail?: Record<string, unknown> }> }) =>
  eventually(
    () =>
      h.query(progressQuery).then(
        (p) => p.detail?.state === 'active',
        () => false,
      ),
    60_000,
    'the checkpoint to be active',
  );

const createArrived = (workflowId: string, route: string) => () =>
  emu.arrivals.some((a) => a.origin === workflowId && a.method === 'POST' && a.route === route);

it('records histories that span the upgrade, and the new paths', async () => {
  fs.mkdirSync(OUT, { recursive: true });
  // Started on the previous release: the checkpoint's snapshot, up to its active state.
  const previous = await startWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, RIGSNAP_TASK_QUEUE: taskQueue, RIGBOX_API_URL: emu.url }, PREV_WORKER);
  const cp = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
    taskQueue,
    workflowId: 'record-checkpoint-cross-release',
    args: [{ workspaceId: 'ws_xr_cp', name: 'pre-demo', ttl: '1h' }],
  });
  try {
    await active(cp);
  } finally {
    await previous.stop();
  }

  const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  await worker.runUntil(async () => {
    // Continued on this release: a rollback and a release with deletion.
    emu.state.data.workspaces.ws_xr_cp!.files = { v: 'broken' };
    await cp.executeUpdate(rollbackUpdate);
    expect(emu.state.workspace('ws_xr_cp')!.files).toEqual({ v: 'good' });
    await cp.executeUpdate(releaseUpdate, { args: [{ deleteSnapshot: true }] });
    await cp.result();
    save('checkpoint-cross-release', cp.workflowId);

    const np = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
      taskQueue,
      workflowId: 'record-checkpoint-validated-input',
      args: [{ workspaceId: 'ws_xr_new', name: 'pre-demo' }],
    });
    await active(np);
    await np.executeUpdate(rollbackUpdate);
    await np.executeUpdate(releaseUpdate, { args: [{}] });
    await np.result();
    save('checkpoint-validated-input', np.workflowId);

    await temporal.client.workflow.execute(WORKFLOW_TYPES['fleet-backup'], {
      taskQueue,
      workflowId: 'record-fleet-default-concurrency',
      args: [{ workspaceIds: ['ws_xr_f1', 'ws_xr_f2'] }],
    });
    save('fleet-default-concurrency', 'record-fleet-default-concurrency');

    await temporal.client.workflow
      .execute(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId: 'record-invalid-input-checked', args: [{ workspaceId: 'nope', name: 'x' }] })
      .catch(() => undefined);
    save('invalid-input-checked', 'record-invalid-input-checked');

    // Cancelled during the copy, then the same request again: it adopts the snapshot.
    emu.delays.snapshotMs = 2500;
    emu.delays.restoreMs = 2500;
    const input = { workspaceId: 'ws_xr_cx', name: 'before-migration' };
    const cx = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: 'record-snapshot-cancelled-after-change',
      args: [input],
    });
    await eventually(createArrived(cx.workflowId, '/workspaces/:id/snapshots'), 30_000, 'the create request');
    await cx.cancel();
    await cx.result().catch(() => undefined);
    save('snapshot-cancelled-after-change', cx.workflowId);
    await temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId: cx.workflowId, args: [input] });
    save('snapshot-rerun-adopted', cx.workflowId);
    expect(emu.state.snapshotsOf('ws_xr_cx')).toHaveLength(1);

    const target = emu.state.addSnapshot(emu.state.workspace('ws_xr_rs')!, 'known-good');
    const rs = await temporal.client.workflow.start(WORKFLOW_TYPES.restore, {
      taskQueue,
      workflowId: 'record-restore-cancelled-after-change',
      args: [{ workspaceId: 'ws_xr_rs', snapshotId: target.id, keepCurrent: true }],
    });
    await eventually(createArrived(rs.workflowId, '/workspaces/:id/snapshots/:sid/restore'), 30_000, 'the restore request');
    await rs.cancel();
    await rs.result().catch(() => undefined);
    save('restore-cancelled-after-change', rs.workflowId);
  });
  fs.writeFileSync(path.join(OUT, 'workflow-ids.json'), `${JSON.stringify(index, null, 2)}\n`);
});
