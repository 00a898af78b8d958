import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { MEMO_KEYS, backupName, isoDate, scheduleIds } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RigsnapClient, RigsnapError, TemporalConnectionError } from '../../client/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('client');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
    seedWorkspaces: [
      { id: 'ws_client', status: 'running', files: { 'a.txt': 'one' } },
      { id: 'ws_idem', status: 'running' },
      { id: 'ws_watch', status: 'running' },
      { id: 'ws_cp', status: 'running', files: { 'state.txt': 'before' } },
      { id: 'ws_sched', status: 'running' },
    ],
  });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  // env: {} so the machine's TEMPORAL_* variables cannot redirect the test.
  rig = await RigsnapClient.connect({ address: temporal.address, taskQueue, env: { RIGSNAP_IDENTITY: 'ann@laptop' } });
});

afterAll(async () => {
  await rig?.close();
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

const snapshotsOf = (ws: string) => emu.state.snapshotsOf(ws);

describe('typed errors', () => {
  it('rejects invalid input with InvalidInput naming the field, before sending anything', async () => {
    // A client whose server does not exist: any RPC would fail, so an InvalidInput proves none was made.
    const nowhere = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const offline = await RigsnapClient.connect({ client: nowhere, taskQueue, env: {} });
    const err = await offline.startSnapshot({ workspaceId: 'bad-id', name: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RigsnapError);
    expect(err).toMatchObject({ type: 'InvalidInput', fields: ['workspaceId'] });
    expect((err as Error).message).toMatch(/workspaceId: must be "ws_"/);

    const prune = await offline.startPrune({ workspaceId: 'ws_client', namePrefix: 'daily-', retention: { keepLast: 0 } }).catch((e: unknown) => e);
    expect(prune).toMatchObject({ type: 'InvalidInput', fields: ['retention.keepLast'] });
    const key = await offline.startSnapshot({ workspaceId: 'ws_client', name: 'x' }, { requestKey: 'has space' }).catch((e: unknown) => e);
    expect(key).toMatchObject({ type: 'InvalidInput', fields: ['requestKey'] });
  });

  it('surfaces a workflow failure as RigsnapError NotFound with the workflow id, not a generic WorkflowFailedError', async () => {
    const err = await rig.snapshot({ workspaceId: 'ws_missing', name: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RigsnapError);
    expect(err).not.toBeInstanceOf(WorkflowFailedError);
    const e = err as RigsnapError;
    expect(e.type).toBe('NotFound');
    expect(e.workflowId).toMatch(/^snapshot-ws_missing-nope-/);
    expect(e.message).toContain('ws_missing');
    expect(e.advice).toContain('rigsnap list');

    const status = await rig.status(e.workflowId!);
    expect(status.status).toBe('FAILED');
    expect(status.error).toMatchObject({ type: 'NotFound' });
    // Who asked travels with the operation (issue 19.6).
    expect(status.requestedBy).toBe('ann@laptop');
  });

  it('names the address it tried when Temporal cannot be reached', async () => {
    const err = await RigsnapClient.connect({ address: '127.0.0.1:1', connectTimeoutMs: 500, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalConnectionError);
    expect((err as TemporalConnectionError).address).toBe('127.0.0.1:1');
    expect((err as Error).message).toContain('127.0.0.1:1');
  });

  it('reports an unknown workflow id as WorkflowNotFound', async () => {
    await expect(rig.status('no-such-workflow-id')).rejects.toMatchObject({ type: 'WorkflowNotFound' });
    await expect(rig.rollback('no-such-checkpoint')).rejects.toMatchObject({ type: 'WorkflowNotFound' });
  });
});

describe('operations', () => {
  it('a start with the same request key finds the same workflow instead of starting a second operation', async () => {
    const input = { workspaceId: 'ws_idem', name: 'idempotent' };
    const [a, b] = await Promise.all([rig.startSnapshot(input, { requestKey: 'retry-1' }), rig.startSnapshot(input, { requestKey: 'retry-1' })]);
    expect(b.workflowId).toBe(a.workflowId);
    expect(b.runId).toBe(a.runId);
    expect(a.url).toBe(`http://localhost:8233/namespaces/default/workflows/${a.workflowId}/${a.runId}/history`);
    const result = await a.result();

    // After completion, the same key returns that run and its result: still one snapshot.
    const again = await rig.startSnapshot(input, { requestKey: 'retry-1' });
    expect(again).toMatchObject({ workflowId: a.workflowId, runId: a.runId, existing: true });
    expect(await again.result()).toEqual(result);
    expect(snapshotsOf('ws_idem').filter((s) => s.name === 'idempotent')).toHaveLength(1);

    // Search attributes and summary are set by the client at start.
    const desc = await temporal.client.workflow.getHandle(a.workflowId).describe();
    expect(desc.searchAttributes).toMatchObject({ RigboxWorkspaceId: ['ws_idem'], RigboxOperation: ['snapshot'] });
    expect(await desc.staticSummary()).toBe('snapshot ws_idem as "idempotent", asked by ann@laptop');
  });

  it('reads the progress query and the heartbeat of the running activity while an operation runs', async () => {
    const stopMs = emu.delays.stopMs;
    emu.delays.stopMs = 2500; // a stop long enough to be watched
    try {
      const started = await rig.startSnapshot({ workspaceId: 'ws_watch', name: 'watched' });
      const seen: Array<{ step: string | null; phase: string | undefined }> = [];
      for (;;) {
        const report = await rig.progress(started.workflowId);
        seen.push({ step: report.progress?.currentStep ?? null, phase: report.activity?.heartbeat?.phase });
        if (report.status !== 'RUNNING' || (report.progress?.currentStep === 'stop' && report.activity?.heartbeat?.phase)) {
          expect(report.progress).toMatchObject({ operation: 'snapshot', workspaceId: 'ws_watch', state: 'running' });
          expect(report.activity).toMatchObject({ activityType: 'stopWorkspace' });
          expect(report.activity?.heartbeat?.phase).toMatch(/stop/);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const result = await started.result();
      expect(result.snapshot.name).toBe('watched');
      const after = await rig.progress(started.workflowId);
      expect(after.status).toBe('COMPLETED');
      expect(after.progress?.state).toBe('completed');
      expect(after.progress?.steps.map((s) => s.step)).toEqual(['wait-for-lock', 'preflight', 'stop', 'snapshot', 'start']);
    } finally {
      emu.delays.stopMs = stopMs;
    }
  });

  it('lists snapshots and prunes with a dry run that deletes nothing', async () => {
    const ws = emu.state.workspace('ws_client')!;
    for (const day of ['2026-04-01', '2026-04-02', '2026-04-03']) {
      emu.state.addSnapshot(ws, `daily-backup-${day}`).created_at = `${day}T03:00:00.000Z`;
    }
    emu.state.addSnapshot(ws, 'before-migration');
    const list = await rig.listSnapshots({ workspaceId: 'ws_client' });
    expect(list.count).toBe(4);

    const dry = await rig.prune({ workspaceId: 'ws_client', namePrefix: 'daily-backup-', retention: { keepLast: 1 }, dryRun: true });
    expect(dry.kept.map((k) => [k.snapshot.name, k.reasons])).toEqual([['daily-backup-2026-04-03', ['newest', 'last']]]);
    expect(dry.deleted.map((s) => s.name)).toEqual(['daily-backup-2026-04-02', 'daily-backup-2026-04-01']);
    expect(snapshotsOf('ws_client')).toHaveLength(4);
  });

  it('runs a checkpoint session: active, rollback brings the content back, release ends it', async () => {
    const started = await rig.startCheckpoint({ workspaceId: 'ws_cp', name: 'pre-demo', ttl: '1h' });
    const active = await rig.awaitCheckpointActive(started.workflowId);
    expect(active.snapshotName).toBe('pre-demo');
    expect(snapshotsOf('ws_cp').map((s) => s.id)).toContain(active.snapshotId);

    const during = await rig.progress(started.workflowId);
    expect(during.status).toBe('RUNNING');
    expect(during.progress?.detail).toMatchObject({ state: 'active', snapshotId: active.snapshotId });

    emu.state.workspace('ws_cp')!.files['state.txt'] = 'after';
    const rolled = await rig.rollback(started.workflowId);
    expect(rolled).toMatchObject({ rollbacks: 1, workspaceStatus: 'running' });
    expect(emu.state.workspace('ws_cp')!.files['state.txt']).toBe('before');

    const released = await rig.release(started.workflowId, { deleteSnapshot: true });
    expect(released).toMatchObject({ released: true, snapshotDeleted: true, alreadyReleased: false });
    const result = await started.result();
    expect(result).toMatchObject({ endedBy: 'release', rollbacks: 1, snapshotDeleted: true });
    expect(snapshotsOf('ws_cp').map((s) => s.id)).not.toContain(active.snapshotId);
    await expect(rig.rollback(started.workflowId)).rejects.toMatchObject({ type: 'Rejected' });
    // Releasing it again changes nothing and is no error.
    expect(await rig.release(started.workflowId, { deleteSnapshot: true })).toMatchObject({ released: true, alreadyReleased: true, snapshotDeleted: true });
  });
});

describe('schedules', () => {
  it('create (refusing an existing one), update, describe, pause, unpause, trigger and delete a workspace backup schedule', async () => {
    const created = await rig.schedules.create({
      workspaceId: 'ws_sched',
      at: '03:00',
      timezone: 'Europe/Berlin',
      retention: { keepLast: 7 },
      jitter: '5m',
      note: 'owner: tests',
    });
    expect(created).toMatchObject({
      created: true,
      scheduleId: scheduleIds.backup('ws_sched'),
      workspaceId: 'ws_sched',
      at: ['03:00'],
      timezone: 'Europe/Berlin',
      jitter: '5m',
      catchupWindow: '1h',
      overlap: 'SKIP',
      namePrefix: 'daily-backup-',
      retention: { keepLast: 7, timezone: 'Europe/Berlin' },
      paused: false,
      note: 'owner: tests',
    });
    expect(created.nextRuns.length).toBeGreaterThan(0);

    // Creating it again is refused and changes nothing; update changes what it is given.
    await expect(rig.schedules.create({ workspaceId: 'ws_sched', at: '04:15' })).rejects.toMatchObject({
      type: 'ScheduleExists',
      scheduleId: scheduleIds.backup('ws_sched'),
    });
    expect(await rig.schedules.describe('ws_sched')).toMatchObject({ at: ['03:00'], jitter: '5m', note: 'owner: tests', retention: { keepLast: 7 } });
    const again = await rig.schedules.update('ws_sched', { at: '04:15', jitter: null, note: null });
    expect(again).toMatchObject({ at: ['04:15'], jitter: null, note: null, timezone: 'Europe/Berlin', retention: { keepLast: 7, timezone: 'Europe/Berlin' } });

    // What Temporal holds: calendar in the timezone, the memo the backup reads, the action's id and input.
    const raw = await temporal.client.schedule.getHandle(scheduleIds.backup('ws_sched')).describe();
    expect(raw.spec.timezone).toBe('Europe/Berlin');
    expect(raw.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 4, end: 4, step: 1 }], minute: [{ start: 15, end: 15, step: 1 }] });
    expect(raw.action).toMatchObject({
      workflowType: WORKFLOW_TYPES.backup,
      workflowId: 'rigsnap-backup-ws_sched',
      taskQueue,
      memo: { [MEMO_KEYS.timezone]: 'Europe/Berlin' },
    });
    expect(raw.action.args).toEqual([{ workspaceId: 'ws_sched', namePrefix: 'daily-backup-', retention: { keepLast: 7, timezone: 'Europe/Berlin' } }]);
    expect(raw.policies.catchupWindow).toBe(3_600_000);

    const updated = await rig.schedules.update('ws_sched', { note: 'updated', jitter: '10m' });
    expect(updated).toMatchObject({ at: ['04:15'], jitter: '10m', note: 'updated', retention: { keepLast: 7 } });

    await rig.schedules.pause('ws_sched', 'maintenance');
    expect(await rig.schedules.describe('ws_sched')).toMatchObject({ paused: true, note: 'maintenance' });
    await rig.schedules.unpause('ws_sched', 'back');
    expect(await rig.schedules.describe('ws_sched')).toMatchObject({ paused: false, note: 'back' });

    // Ten older daily backups and a hand-made snapshot: the triggered run must prune to keepLast 7.
    const ws = emu.state.workspace('ws_sched')!;
    for (let d = 10; d >= 1; d--) {
      const old = emu.state.addSnapshot(ws, `daily-backup-${isoDate(new Date(Date.now() - d * 86_400_000), 'UTC')}`);
      old.created_at = new Date(Date.now() - d * 86_400_000).toISOString();
    }
    emu.state.addSnapshot(ws, 'before-migration').created_at = new Date(Date.now() - 40 * 86_400_000).toISOString();

    // A fleet backup first, then the schedule's run, the same day: two backups, two names.
    const fleet = await rig.startFleetBackup({ workspaceIds: ['ws_sched'], retention: { keepLast: 7 } });
    await fleet.result();
    const fleetStarted = (await fleet.handle.describe()).startTime;
    const fleetName = backupName('daily-backup-', fleetStarted, 'UTC'); // a manual fleet run: its start time, UTC by default
    expect(snapshotsOf('ws_sched').map((s) => s.name)).toContain(fleetName);

    const triggered = await rig.schedules.trigger('ws_sched', { waitMs: 30_000 });
    expect(triggered.run?.workflowId).toMatch(/^rigsnap-backup-ws_sched-/);
    const backup = await rig.result<{ snapshot: { name: string; id: string } }>(triggered.run!.workflowId);
    // Named by the scheduled time (date and time of day) in the schedule's timezone.
    expect(backup.snapshot.name).toBe(backupName('daily-backup-', new Date(triggered.run!.scheduledAt), 'Europe/Berlin'));
    expect(backup.snapshot.name).toMatch(new RegExp(`^daily-backup-${isoDate(new Date(triggered.run!.scheduledAt), 'Europe/Berlin')}-\\d{4,6}$`));
    expect(backup.snapshot.name).not.toBe(fleetName);
    expect(new Set(snapshotsOf('ws_sched').map((s) => s.name)).size).toBe(snapshotsOf('ws_sched').length);
    expect(snapshotsOf('ws_sched').map((s) => s.id)).toContain(backup.snapshot.id);
    const names = snapshotsOf('ws_sched').map((s) => s.name);
    expect(names.filter((n) => n.startsWith('daily-backup-'))).toHaveLength(7);
    expect(names).toContain('before-migration');
    const described = await rig.schedules.describe('rigsnap-backup-ws_sched');
    expect(described.recentRuns[0]).toMatchObject({ workflowId: triggered.run!.workflowId, status: 'COMPLETED' });

    await rig.schedules.delete('ws_sched');
    await expect(rig.schedules.describe('ws_sched')).rejects.toMatchObject({ type: 'ScheduleNotFound' });
  });

  it('refuses schedule settings that are not valid, naming the field', async () => {
    await expect(rig.schedules.create({ workspaceId: 'ws_sched', at: '25:00' })).rejects.toMatchObject({ type: 'InvalidInput', fields: ['at'] });
    await expect(rig.schedules.create({ workspaceId: 'ws_sched', timezone: 'Mars/Olympus' })).rejects.toMatchObject({
      type: 'InvalidInput',
      fields: ['timezone'],
    });
    await expect(rig.schedules.describe('not-a-schedule')).rejects.toMatchObject({ type: 'InvalidInput' });
  });
});
