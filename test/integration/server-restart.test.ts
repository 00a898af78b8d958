import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBenchStack, type BenchStack } from '../../bench/stack.js';
import { RigsnapClient } from '../../client/index.js';
import { STOP_NOTICE_EVENT, WORKFLOW_TYPES, noticeQuery, snoozeUpdate } from '../../contract/index.js';
import { MEMO_KEYS, type BackupWorkspaceResult } from '../../domain/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';

/**
 * What lives in Temporal survives a restart of the Temporal server (issues 20 and 21): the holds and
 * baseline in a workspace's entity, and a backup waiting out its notice. Runs on a stack of its own
 * (a dev server on a SQLite file, restarted on the same file and port; the global one cannot be
 * restarted) with the built worker as a separate process (`npm run build`, which `npm test`'s pretest runs).
 */

let stack: BenchStack;
let rig: RigsnapClient;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startBenchStack({
    emulator: { delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } },
    workerEnv: { RIGSNAP_NOTIFY_URL: receiver.url, RIGSNAP_POLL_MAX_MS: '500', RIGSNAP_SHUTDOWN_GRACE_MS: '2000' },
    inMemory: false,
  });
  await stack.startWorker();
  rig = await RigsnapClient.connect({ address: stack.address, taskQueue: stack.taskQueue, env: { RIGSNAP_IDENTITY: 'ops@test' } });
}, 180_000);
afterAll(async () => {
  await rig?.close();
  await stack?.close();
  await receiver?.close();
});

const ids = (ws: string) => stack.emu.state.snapshotsOf(ws).map((s) => s.id);

describe('a Temporal server restart', () => {
  it('keeps holds and the baseline: after it, a delete is refused, prune keeps the held one, the baseline is the same', async () => {
    const ws = 'ws_srv_hold';
    stack.emu.state.upsertWorkspace({ id: ws, status: 'running', files: { 'data.csv': 'known-good' } });
    const made = [];
    for (const n of [1, 2, 3]) made.push((await rig.snapshot({ workspaceId: ws, name: `daily-${n}` })).snapshot);
    const base = (await rig.snapshot({ workspaceId: ws, name: 'team-baseline' })).snapshot;
    await rig.hold(ws, made[0]!.id, { reason: 'audit evidence' });
    await rig.setBaseline(ws, base.id);
    const before = await rig.holds(ws);

    await stack.restartServer(2000);

    const after = await rig.holds(ws);
    expect(after.holds).toEqual(before.holds);
    expect(after.baseline).toEqual(before.baseline);
    expect(after.baseline).toMatchObject({ snapshotId: base.id, by: 'ops@test' });
    await expect(rig.deleteSnapshot({ workspaceId: ws, snapshotId: made[0]!.id })).rejects.toMatchObject({ type: 'Held' });
    await expect(rig.deleteSnapshot({ workspaceId: ws, snapshotId: base.id })).rejects.toMatchObject({ type: 'Held' });
    const pruned = await rig.prune({ workspaceId: ws, namePrefix: 'daily-', retention: { keepLast: 1 } });
    expect(pruned.deletedCount).toBe(1);
    expect(ids(ws)).toEqual(expect.arrayContaining([made[0]!.id, made[2]!.id, base.id]));
    expect(ids(ws)).not.toContain(made[1]!.id);
  }, 180_000);

  it('during a notice wait: no second notice, a snooze after it moves the stop, which comes at the new time', async () => {
    const ws = 'ws_srv_notice';
    stack.emu.state.upsertWorkspace({ id: ws, status: 'running', files: { a: '1' } });
    const handle: WorkflowHandle = await stack.client.workflow.start(WORKFLOW_TYPES.backup, {
      taskQueue: stack.taskQueue,
      workflowId: testWorkflowId('backup-srv-notice'),
      args: [{ workspaceId: ws, notice: '20s' }],
      memo: { [MEMO_KEYS.timezone]: 'UTC' },
    });
    await eventually(async () => (await handle.query(noticeQuery).catch(() => null))?.phase === 'notice', 60_000, 'the notice phase');
    const first = (await handle.query(noticeQuery))!;

    await stack.restartServer(2000);

    // The stop time survives the restart, to within the workflow clock of a replay: the worker may replay the
    // run from history, and there the time of the step after a local activity (the expected downtime) is
    // the workflow task's, where the live run read it a few ms later (seen: 43 ms earlier once).
    const kept = (await handle.query(noticeQuery))!;
    expect(Math.abs(Date.parse(kept.stopAt) - Date.parse(first.stopAt))).toBeLessThan(2_000);
    const snoozed = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '1m', by: 'ops@test' }] });
    expect(Date.parse(snoozed.stopAt) - Date.parse(kept.stopAt)).toBe(60_000);
    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r.snapshot?.workspace_id).toBe(ws);
    const notices = receiver.received.filter((b) => b.event === STOP_NOTICE_EVENT && b.workspaceId === ws);
    // One notice for the first stop time (not sent again after the restart), one before the new one.
    expect(notices.map((n) => n.stopAt)).toEqual([first.stopAt, snoozed.stopAt]);
    const stops = stack.emu.calls.filter((c) => c.workspaceId === ws && c.method === 'POST' && c.route.endsWith('/stop'));
    expect(stops).toHaveLength(1);
    expect(stops[0]!.at).toBeGreaterThanOrEqual(Date.parse(snoozed.stopAt));
    expect(stack.emu.state.workspace(ws)!.status).toBe('running');
  }, 240_000);
});
