import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { WORKFLOW_TYPES, progressQuery, releaseUpdate, rollbackUpdate } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import { RigsnapClient } from '../../client/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Records one history per workflow path into test/replay/histories, for the replay test. Run with
 * `npm run record-histories` after a deliberate, patched() change (first move the current files into a
 * dated folder beside them, so the old code's histories keep replaying); never as part of `npm test`.
 */

const OUT = path.resolve('test/replay/histories');
let temporal: TestTemporal;
let emu: Emulator;
const taskQueue = uniqueTaskQueue('record');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 300, startMs: 300, snapshotMs: 100, restoreMs: 100, latencyMs: 0 },
    seedWorkspaces: [
      { id: 'ws_rec', status: 'running', files: { a: '1' } },
      { id: 'ws_rec_cold', status: 'stopped' },
      { id: 'ws_rec_cp', status: 'running' },
      { id: 'ws_rec_fail', status: 'running' },
      { id: 'ws_rec_f1', status: 'running' },
      { id: 'ws_rec_f2', status: 'running' },
      { id: 'ws_rec_f3', status: 'running' },
      { id: 'ws_rec_lock', status: 'running' },
      { id: 'ws_rec_revoke', status: 'running' },
      { id: 'ws_rec_g1', status: 'running' },
      { id: 'ws_rec_g2', status: 'running' },
    ],
  });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

/** Which workflow id each history belongs to (histories of earlier code live in dated folders beside these). */
const index: Record<string, string> = {};

/** The history in proto3 JSON, as the temporal CLI writes it (the format historyFromJSON reads). */
function save(name: string, workflowId: string) {
  index[`${name}.json`] = workflowId;
  const json = execFileSync(inject('temporalCliPath'), ['workflow', 'show', '--workflow-id', workflowId, '--address', temporal.address, '--output', 'json'], {
    encoding: 'utf8',
  });
  fs.writeFileSync(path.join(OUT, `${name}.json`), json);
}

it('records histories of every workflow', async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_MAX_WAIT_MS: '1000' } });
  await worker.runUntil(async () => {
    const run = async (name: string, type: string, input: unknown) => {
      const workflowId = `record-${name}`;
      await temporal.client.workflow.execute(type, { taskQueue, workflowId, args: [input] }).catch(() => undefined);
      save(name, workflowId);
    };
    await run('snapshot-running', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_rec', name: 'rec' });
    await run('snapshot-stopped', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_rec_cold', name: 'rec' });
    // A snapshot asked for with a notice (manual-notice-2026-12): announce, wait it out, then the usual.
    await run('snapshot-notice', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_rec_cold', name: 'rec-notice', notice: '2s' });
    const snap = emu.state.snapshotsOf('ws_rec')[0]!;
    await run('restore-keep-current', WORKFLOW_TYPES.restore, { workspaceId: 'ws_rec', snapshotId: snap.id, keepCurrent: true });
    await run('restore-foreign', WORKFLOW_TYPES.restore, { workspaceId: 'ws_rec', snapshotId: emu.state.snapshotsOf('ws_rec_cold')[0]!.id });
    await run('invalid-input', WORKFLOW_TYPES.snapshot, { workspaceId: 'nope', name: 'x' });
    await run('list', WORKFLOW_TYPES.list, { workspaceId: 'ws_rec' });
    await run('prune-dry-run', WORKFLOW_TYPES.prune, { workspaceId: 'ws_rec', namePrefix: 'pre-restore-', retention: { keepLast: 1 }, dryRun: true });
    await run('backup-with-prune', WORKFLOW_TYPES.backup, { workspaceId: 'ws_rec', namePrefix: 'rec', retention: { keepLast: 1 } });
    await run('delete', WORKFLOW_TYPES.delete, { workspaceId: 'ws_rec', snapshotId: emu.state.snapshotsOf('ws_rec')[0]!.id });
    await run('fleet', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_rec', 'ws_rec_cold', 'ws_missing'], concurrency: 2 });
    // The audit of the workspaces named here (no schedule on this queue): its inventory activity and verdicts.
    await run('audit', WORKFLOW_TYPES.audit, { workspaceIds: ['ws_rec', 'ws_rec_cold'], rpo: '26h' });

    // A stop that outlasts the maximum wait: Timeout, then the restart compensation.
    emu.delays.stopMs = 1500;
    await run('snapshot-timeout-compensated', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_rec_fail', name: 'slow' });
    emu.delays.stopMs = 300;

    // A checkpoint session with a rollback and a release.
    const cp = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
      taskQueue,
      workflowId: 'record-checkpoint',
      args: [{ workspaceId: 'ws_rec_cp', name: 'cp', ttl: '1h' }],
    });
    await eventually(async () => (await cp.query(progressQuery)).detail?.state === 'active');
    await cp.executeUpdate(rollbackUpdate);
    await cp.executeUpdate(releaseUpdate, { args: [{ deleteSnapshot: true }] });
    await cp.result();
    save('checkpoint-rollback-release', 'record-checkpoint');

    // Cancelled mid-snapshot.
    emu.delays.snapshotMs = 1500;
    const c = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: 'record-snapshot-cancelled',
      args: [{ workspaceId: 'ws_rec', name: 'cancel-me' }],
    });
    await eventually(async () => (await c.query(progressQuery)).currentStep === 'snapshot');
    await c.cancel();
    await c.result().catch(() => undefined);
    save('snapshot-cancelled', 'record-snapshot-cancelled');
    emu.delays.snapshotMs = 100;

    // Cancelled during a rollback: the handler restarts the workspace, then the workflow ends Cancelled.
    emu.delays.restoreMs = 1500;
    const cr = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
      taskQueue,
      workflowId: 'record-checkpoint-cancelled',
      args: [{ workspaceId: 'ws_rec_cp', name: 'cp2', ttl: '1h' }],
    });
    await eventually(async () => (await cr.query(progressQuery)).detail?.state === 'active');
    const rollback = cr.executeUpdate(rollbackUpdate).catch(() => undefined);
    await eventually(() => emu.state.data.workspaces.ws_rec_cp!.busyUntil !== null);
    await cr.cancel();
    await rollback;
    await cr.result().catch(() => undefined);
    save('checkpoint-cancelled-during-rollback', 'record-checkpoint-cancelled');
    emu.delays.restoreMs = 100;

    // A fleet cancelled while its children copy.
    emu.delays.snapshotMs = 1500;
    const fc = await temporal.client.workflow.start(WORKFLOW_TYPES['fleet-backup'], {
      taskQueue,
      workflowId: 'record-fleet-cancelled',
      args: [{ workspaceIds: ['ws_rec_f1', 'ws_rec_f2', 'ws_rec_f3'], concurrency: 2 }],
    });
    await eventually(() => emu.state.data.workspaces.ws_rec_f1!.busyUntil !== null || emu.state.data.workspaces.ws_rec_f2!.busyUntil !== null);
    await fc.cancel();
    await fc.result().catch(() => undefined);
    save('fleet-cancelled', 'record-fleet-cancelled');
    emu.delays.snapshotMs = 100;

    // The workspace entity terminated while an operation holds the workspace: the next operation recovers it.
    emu.delays.snapshotMs = 1500;
    const held = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: 'record-held',
      args: [{ workspaceId: 'ws_rec_lock', name: 'held' }],
    });
    await eventually(async () => (await held.query(progressQuery)).currentStep === 'snapshot');
    await temporal.client.workflow.getHandle(workflowIds.workspace('ws_rec_lock')).terminate('record: operator');
    emu.delays.snapshotMs = 100;
    await run('snapshot-after-lock-terminated', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_rec_lock', name: 'next' });
    await held.result();
    save('workspace-entity-recovered', workflowIds.workspace('ws_rec_lock'));

    // A restart that keeps failing (the token refused for a while): rounds, an alert, then success.
    emu.hooks.onCall = (call) => {
      if (call.workspaceId === 'ws_rec_revoke' && call.method === 'POST' && call.route.endsWith('/stop') && call.outcome === 'ok') emu.token = 'revoked';
    };
    const rv = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: 'record-snapshot-restart-retried',
      args: [{ workspaceId: 'ws_rec_revoke', name: 'revoked' }],
    });
    await eventually(async () => ((await rv.query(progressQuery)).alert ?? '') !== '', 120_000);
    emu.token = TEST_TOKEN;
    emu.hooks.onCall = undefined;
    await rv.result().catch(() => undefined);
    save('snapshot-restart-retried', 'record-snapshot-restart-retried');

    // A group of two: a group snapshot, a group restore of its set, a group checkpoint with a rollback and a release, and the group's entity.
    const rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
    await rig.createGroup('rec', ['ws_rec_g1', 'ws_rec_g2'], { startOrder: ['ws_rec_g2', 'ws_rec_g1'] });
    await run('group-snapshot', WORKFLOW_TYPES['group-snapshot'], { group: 'rec', name: 'set1' });
    await run('group-restore', WORKFLOW_TYPES['group-restore'], { group: 'rec', set: 'set1' });
    const gc = await temporal.client.workflow.start(WORKFLOW_TYPES['group-checkpoint'], {
      taskQueue,
      workflowId: 'record-group-checkpoint',
      args: [{ group: 'rec', name: 'gcp', ttl: '1h' }],
    });
    await eventually(async () => (await gc.query(progressQuery)).detail?.state === 'active');
    await gc.executeUpdate(rollbackUpdate);
    await gc.executeUpdate(releaseUpdate, { args: [{ deleteSnapshot: true }] });
    await gc.result();
    save('group-checkpoint-rollback-release', 'record-group-checkpoint');
    await run('group-backup', WORKFLOW_TYPES['group-backup'], { group: 'rec', retention: { keepLast: 1 } });
    save('group-entity', workflowIds.group('rec'));
  });
  // The entity of the busiest workspace, after its runs (still open: fetch what it has).
  save('workspace-entity', workflowIds.workspace('ws_rec'));
  // Which workflow id each history belongs to: replay needs it where the code derives ids from it.
  fs.writeFileSync(path.join(OUT, 'workflow-ids.json'), `${JSON.stringify(index, null, 2)}\n`);
}, 600_000);
