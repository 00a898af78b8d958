import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOP_NOTICE_EVENT, WORKFLOW_TYPES, noticeQuery, progressQuery, skipUpdate, snoozeUpdate } from '../../contract/index.js';
import { MEMO_KEYS, type BackupWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { changesFor, commandsOfRun, eventually, expectCancelled, historyText, testWorkflowId } from '../helpers/workflows.js';

/**
 * A stop announced in advance (issue 21) on the dev server: the notice's timing and body, snoozes up to
 * the cap, a skip, a window that closes, a cancellation during the wait. Notices here are seconds long
 * (the dev server has no time skipping; see the production-default test for 10 minutes); snoozes are
 * at their one-minute floor, so the snooze test takes a little over a minute.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let receiver: WebhookReceiver;
const taskQueue = uniqueTaskQueue('notice');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
  receiver = await startWebhookReceiver();
  worker = await createTestWorker({
    temporal,
    taskQueue,
    rigboxUrl: emu.url,
    env: { RIGSNAP_NOTIFY_URL: receiver.url },
    deps: { notifyUrl: receiver.url },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
  await receiver?.close();
});

function start(input: Record<string, unknown>): Promise<WorkflowHandle> {
  return temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
    taskQueue,
    workflowId: testWorkflowId('backup-notice'),
    args: [input],
    memo: { [MEMO_KEYS.timezone]: 'UTC' },
  });
}

const noticesFor = (workspaceId: string) => receiver.received.filter((b) => b.event === STOP_NOTICE_EVENT && b.workspaceId === workspaceId);
const stopCalls = (workspaceId: string) => emu.calls.filter((c) => c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop'));

async function awaitPhase(handle: WorkflowHandle, phase: string): Promise<void> {
  await eventually(async () => (await handle.query(noticeQuery).catch(() => null))?.phase === phase, 30_000, `phase ${phase}`);
}

describe('a notice before the stop', () => {
  it('posts stop.notice with the fields and commands, shows it in current details, and stops no earlier than stopAt', async () => {
    emu.state.upsertWorkspace({ id: 'ws_notice1', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_notice1', notice: '4s' });
    await awaitPhase(handle, 'notice');
    const view = (await handle.query(noticeQuery))!;
    expect(stopCalls('ws_notice1')).toEqual([]);
    const progress = await handle.query(progressQuery);
    expect(progress.currentStep).toBe('notice');
    expect(String(progress.detail?.notice)).toMatch(/^notice sent \d\d:\d\d, stop at \d\d:\d\d UTC$/);
    // The UI's current details read the same line.
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`notice: ${String(progress.detail?.notice)}`);
    expect(metadata.currentDetails).toContain('waiting out the stop notice');

    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r.snapshot?.workspace_id).toBe('ws_notice1');
    expect(r.skipped).toBeUndefined();
    const [notice] = noticesFor('ws_notice1');
    expect(notice).toMatchObject({
      event: 'stop.notice',
      workspaceId: 'ws_notice1',
      stopAt: view.stopAt,
      operation: 'backup',
      workflowId: handle.workflowId,
      snooze: 'rigsnap snooze ws_notice1 --for 1h',
      skip: 'rigsnap skip ws_notice1',
    });
    expect(notice!.expectedDowntimeSeconds).toEqual(expect.any(Number));
    expect(String(notice!.text)).toContain('ws_notice1 will be stopped');
    // The notice came 4 s before the stop was due, and the stop came no earlier.
    expect(Date.parse(view.stopAt) - Date.parse(view.noticeSentAt!)).toBe(4000);
    const [stop] = stopCalls('ws_notice1');
    expect(stop!.at).toBeGreaterThanOrEqual(Date.parse(view.stopAt));
    expect(r.steps.map((s) => s.step)).toEqual(['notice', 'wait-for-lock', 'preflight', 'stop', 'snapshot', 'start']);
    // What the test without a notice looks for is there when there is one.
    // (A run today records actions-2026-12, which stands for notice-2026-12 and every earlier patch.)
    expect(await commandsOfRun(handle)).toEqual(expect.arrayContaining(['patch actions-2026-12', 'local expectedDowntime', 'activity sendStopNotice']));
  });

  it('notice 0 (and no window, no quiet hours): no notice, no new commands, no patch marker', async () => {
    emu.state.upsertWorkspace({ id: 'ws_notice0', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_notice0', notice: '0s' });
    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r.snapshot).not.toBeNull();
    expect(noticesFor('ws_notice0')).toEqual([]);
    // Read as commands: the history's JSON carries patch ids and activity types base64-encoded, where a text search cannot see them.
    const commands = await commandsOfRun(handle);
    expect(commands).toContain('activity createSnapshot');
    expect(commands).not.toContain('patch notice-2026-12');
    expect(commands.filter((c) => /expectedDowntime|sendStopNotice/.test(c))).toEqual([]);
  });

  it('skip: ends as skipped (not failed), nothing stopped; the answer names who; the memo carries it for the audit', async () => {
    emu.state.upsertWorkspace({ id: 'ws_skip', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_skip', notice: '10m' });
    await awaitPhase(handle, 'notice');
    const answer = await handle.executeUpdate(skipUpdate, { args: [{ reason: 'demo at 3', by: 'ana@laptop' }] });
    expect(answer).toMatchObject({ phase: 'skipped', skipped: { kind: 'manual', reason: 'demo at 3', by: 'ana@laptop' } });
    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r).toMatchObject({ snapshot: null, skipped: { kind: 'manual', reason: 'demo at 3', by: 'ana@laptop' } });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect((await handle.describe()).memo?.[MEMO_KEYS.skipped]).toEqual({ kind: 'manual', reason: 'demo at 3', by: 'ana@laptop' });
    expect(changesFor(emu, 'ws_skip')).toEqual([]);
    expect(emu.state.workspace('ws_skip')!.status).toBe('running');
  });

  it('snooze twice up to the cap (the third is refused by the validator), a new notice before the new stop time, the stop at it', async () => {
    emu.state.upsertWorkspace({ id: 'ws_snooze', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_snooze', notice: '3s', maxSnooze: '2m30s' });
    await awaitPhase(handle, 'notice');
    const first = (await handle.query(noticeQuery))!;
    const a = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '1m', by: 'ana@laptop' }] });
    expect(Date.parse(a.stopAt) - Date.parse(first.stopAt)).toBe(60_000);
    const b = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '1m', by: 'ben@desk' }] });
    expect(Date.parse(b.stopAt) - Date.parse(first.stopAt)).toBe(120_000);
    expect(b.summary).toMatch(/\(snoozed 2m by ana@laptop, ben@desk\)$/);
    const refused = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '1m', by: 'cy@host' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refused as WorkflowUpdateFailedError).cause?.message)).toContain('capped at 2m30s in total (--max-snooze); 30s left');
    const tooShort = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '20s', by: 'cy@host' }] }).catch((e: unknown) => e);
    expect(String((tooShort as WorkflowUpdateFailedError).cause?.message)).toContain('at least 1m');
    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r.snapshot).not.toBeNull();
    // One notice for the first stop time, one before the new one (both snoozes came before it was due).
    expect(noticesFor('ws_snooze').map((n) => n.stopAt)).toEqual([first.stopAt, b.stopAt]);
    expect(stopCalls('ws_snooze')[0]!.at).toBeGreaterThanOrEqual(Date.parse(b.stopAt));
    // Refused updates leave no trace in history.
    const text = await historyText(handle);
    expect(text).toContain('ben@desk');
    expect(text).not.toContain('cy@host');
  }, 200_000);

  it('a window that closes: quiet hours now and a window shorter than them skip at once with reason window', async () => {
    emu.state.upsertWorkspace({ id: 'ws_window', status: 'running', files: {} });
    const now = new Date();
    const hh = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const quiet = `${hh(new Date(now.getTime() - 3_600_000))}-${hh(new Date(now.getTime() + 3 * 3_600_000))}`;
    const handle = await start({ workspaceId: 'ws_window', window: '1h', quietHours: [quiet] });
    const r = (await handle.result()) as BackupWorkspaceResult;
    expect(r).toMatchObject({ snapshot: null, skipped: { kind: 'window', reason: 'window', by: 'rigsnap' } });
    expect(changesFor(emu, 'ws_window')).toEqual([]);
  });

  it('a snooze past the window becomes a skip', async () => {
    emu.state.upsertWorkspace({ id: 'ws_snoozeskip', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_snoozeskip', notice: '2m', window: '20m' });
    await awaitPhase(handle, 'notice');
    const answer = await handle.executeUpdate(snoozeUpdate, { args: [{ for: '1h', by: 'ana@laptop' }] });
    expect(answer).toMatchObject({ phase: 'skipped', skipped: { kind: 'window', by: 'ana@laptop' } });
    expect(await handle.result()).toMatchObject({ snapshot: null, skipped: { kind: 'window' } });
    expect(changesFor(emu, 'ws_snoozeskip')).toEqual([]);
  });

  it('cancelled during the notice wait: nothing was stopped, so nothing is started', async () => {
    emu.state.upsertWorkspace({ id: 'ws_cancelnotice', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_cancelnotice', notice: '10m' });
    await awaitPhase(handle, 'notice');
    await handle.cancel();
    await expectCancelled(handle.result());
    expect(changesFor(emu, 'ws_cancelnotice')).toEqual([]);
    expect(emu.state.workspace('ws_cancelnotice')!.status).toBe('running');
  });

  it('snooze or skip to a run that announces no stop is refused with a message that says so', async () => {
    emu.state.upsertWorkspace({ id: 'ws_plain', status: 'running', files: {} });
    const handle = await start({ workspaceId: 'ws_plain' });
    const refused = await handle.executeUpdate(skipUpdate, { args: [{ by: 'ana@laptop' }] }).catch((e: unknown) => e);
    await handle.result();
    // Either the validator refused it (announces no stop) or the run had already ended.
    expect(String((refused as Error).message) + String((refused as WorkflowUpdateFailedError).cause?.message)).toMatch(/announces no stop|completed/);
  });
});

describe('the notice wait survives its worker', () => {
  it('a worker killed during the notice wait: a new one sends no second notice and stops at stopAt; a skip counts in rigsnap_backup_skipped_total', async () => {
    const queue = uniqueTaskQueue('notice-restart');
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      RIGBOX_API_URL: emu.url,
      RIGSNAP_TASK_QUEUE: queue,
      RIGSNAP_NOTIFY_URL: receiver.url,
      RIGSNAP_POLL_MAX_MS: '500',
      RIGSNAP_SHUTDOWN_GRACE_MS: '2000',
    };
    emu.state.upsertWorkspace({ id: 'ws_restart', status: 'running', files: {} });
    emu.state.upsertWorkspace({ id: 'ws_restart_skip', status: 'running', files: {} });
    const first = await startWorkerProcess(env);
    let second: WorkerProcess | undefined;
    try {
      const startOn = (workspaceId: string, notice: string) =>
        temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
          taskQueue: queue,
          workflowId: testWorkflowId('backup-restart'),
          args: [{ workspaceId, notice }],
          memo: { [MEMO_KEYS.timezone]: 'UTC' },
        });
      const handle = await startOn('ws_restart', '8s');
      await awaitPhase(handle, 'notice');
      const view = (await handle.query(noticeQuery))!;
      await first.stop('SIGKILL');
      second = await startWorkerProcess(env);
      const r = (await handle.result()) as BackupWorkspaceResult;
      expect(r.snapshot?.workspace_id).toBe('ws_restart');
      expect(noticesFor('ws_restart').map((n) => n.stopAt)).toEqual([view.stopAt]);
      expect(stopCalls('ws_restart')[0]!.at).toBeGreaterThanOrEqual(Date.parse(view.stopAt));

      const skipped = await startOn('ws_restart_skip', '10m');
      await awaitPhase(skipped, 'notice');
      await skipped.executeUpdate(skipUpdate, { args: [{ by: 'ana@laptop' }] });
      await skipped.result();
      await eventually(async () => (await second!.scrape()).sum('rigsnap_backup_skipped_total', { workspace: 'ws_restart_skip', reason: 'manual' }) === 1);
    } finally {
      await first.stop('SIGKILL');
      await second?.stop();
    }
  }, 120_000);
});
