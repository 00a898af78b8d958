import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, progressQuery, releaseUpdate, rollbackUpdate } from '../../contract/index.js';
import {
  MEMO_KEYS,
  isoDate,
  type BackupFleetResult,
  type BackupWorkspaceResult,
  type CheckpointWorkspaceResult,
  type PruneSnapshotsResult,
} from '../../domain/index.js';
import { startEmulator, type Emulator, type EmulatedSnapshot } from '../../emulator/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/** Backups with retention, fleets, checkpoint sessions and failure notifications, on the dev server. */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let receiver: WebhookReceiver | undefined;
const taskQueue = uniqueTaskQueue('backup');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 },
  });
  // A local webhook receiver for failure notifications.
  receiver = await startWebhookReceiver();
  const notifyUrl = receiver.url;
  worker = await createTestWorker({
    temporal,
    taskQueue,
    rigboxUrl: emu.url,
    env: { RIGSNAP_NOTIFY_URL: notifyUrl, RIGSNAP_UI_URL: 'http://ui.example:8233' },
    deps: { notifyUrl, uiUrl: 'http://ui.example:8233' },
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

function execute<T>(type: string, input: unknown, opts: { memo?: Record<string, unknown>; id?: string } = {}): Promise<T> {
  return temporal.client.workflow.execute<(i: unknown) => Promise<T>>(type, {
    taskQueue,
    workflowId: opts.id ?? testWorkflowId(type),
    args: [input],
    ...(opts.memo ? { memo: opts.memo } : {}),
  });
}

/** Old backups and hand-made snapshots, with created_at spread over past days. */
function seedHistory(workspaceId: string, days: number, extra: Array<{ name: string; daysAgo: number }> = []): EmulatedSnapshot[] {
  const ws = emu.state.workspace(workspaceId)!;
  const out: EmulatedSnapshot[] = [];
  const make = (name: string, daysAgo: number) => {
    const s = emu.state.addSnapshot(ws, name);
    s.created_at = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    out.push(s);
  };
  for (let d = days; d >= 1; d--) make(`daily-backup-${isoDate(new Date(Date.now() - d * 86_400_000), 'UTC')}`, d);
  for (const e of extra) make(e.name, e.daysAgo);
  return out;
}

describe('backupWorkspace', () => {
  it('snapshots daily-backup-<date>-<time> (a manual run: its start time) and prunes with the policy, never touching hand-made snapshots', async () => {
    emu.state.upsertWorkspace({ id: 'ws_bk', status: 'running', files: { db: 'rows' } });
    seedHistory('ws_bk', 6, [
      { name: 'before-migration', daysAgo: 30 },
      { name: 'pre-restore-20260101T000000Z', daysAgo: 20 },
      { name: 'pre-restore-20260111T000000Z', daysAgo: 10 },
    ]);
    const r = await execute<BackupWorkspaceResult>(WORKFLOW_TYPES.backup, { workspaceId: 'ws_bk', retention: { keepLast: 3 } });
    const today = isoDate(new Date(), 'UTC');
    expect(r.snapshot!.name).toMatch(new RegExp(`^daily-backup-${today}-\\d{4,6}$`));
    expect(r.workspaceStatus).toBe('running');
    const names = emu.state.snapshotsOf('ws_bk').map((s) => s.name);
    expect(names).toContain('before-migration');
    // Safety snapshots have their own retention (retention-2026-12): 14 days by default, so the 20-day-old one went.
    expect(names).not.toContain('pre-restore-20260101T000000Z');
    expect(names).toContain('pre-restore-20260111T000000Z');
    expect(r.prune!.expired).toMatchObject({ count: 1, snapshots: [expect.objectContaining({ name: 'pre-restore-20260101T000000Z' })] });
    expect(names.filter((n) => n.startsWith('daily-backup-'))).toHaveLength(3);
    expect(names).toContain(r.snapshot!.name);
    expect(r.prune!.deleted).toHaveLength(4);
    expect(r.prune!.kept.map((k) => k.reasons)).toContainEqual(expect.arrayContaining(['newest', 'last']));
    expect(r.prune!.ignored).toBe(3);
  });

  it('names the backup by the given backup time in the schedule timezone, not the wall clock', async () => {
    emu.state.upsertWorkspace({ id: 'ws_tz', status: 'stopped' });
    // 23:30 UTC on New Year's Eve is already January 1st in Berlin.
    const r = await execute<BackupWorkspaceResult>(
      WORKFLOW_TYPES.backup,
      { workspaceId: 'ws_tz', namePrefix: 'nightly-' },
      { memo: { [MEMO_KEYS.backupTime]: '2026-12-31T23:30:00Z', [MEMO_KEYS.timezone]: 'Europe/Berlin' } },
    );
    expect(r.snapshot!.name).toBe('nightly-2027-01-01-0030');
    expect(r.prune).toBeNull();
    expect(emu.state.workspace('ws_tz')!.status).toBe('stopped');
  });

  it('two backups of one workspace with the same name (started in the same second): the second makes its own snapshot even when its first create fails', async () => {
    emu.state.upsertWorkspace({ id: 'ws_twin', status: 'running' });
    const memo = { [MEMO_KEYS.backupTime]: '2026-11-30T09:39:34Z', [MEMO_KEYS.timezone]: 'UTC' };
    const first = testWorkflowId('backup-twin-1');
    const second = testWorkflowId('backup-twin-2');
    // The second backup's first create meets a maintenance page (a retryable BadResponse): its retry must
    // not take the first backup's snapshot, made moments before under the same name, for its own.
    let failed = false;
    emu.hooks.onArrival = (a) => {
      if (!failed && a.origin === second && a.method === 'POST' && a.route === '/workspaces/:id/snapshots') {
        failed = true;
        emu.faults.maintenance = true;
      }
    };
    emu.hooks.onCall = (c) => {
      if (c.origin === second && c.outcome === 'unavailable') emu.faults.maintenance = false;
    };
    try {
      const a = execute<BackupWorkspaceResult>(WORKFLOW_TYPES.backup, { workspaceId: 'ws_twin', namePrefix: 'twin-' }, { memo, id: first });
      await eventually(() => emu.calls.some((c) => c.origin === first), 10_000);
      const b = execute<BackupWorkspaceResult>(WORKFLOW_TYPES.backup, { workspaceId: 'ws_twin', namePrefix: 'twin-' }, { memo, id: second });
      const [ra, rb] = await Promise.all([a, b]);
      expect(failed).toBe(true);
      expect(ra.snapshot!.name).toBe('twin-2026-11-30-093934');
      expect(rb.snapshot!.name).toBe(ra.snapshot!.name);
      expect(rb.snapshot!.id).not.toBe(ra.snapshot!.id);
      expect(rb.adopted).toBe(false);
      expect(emu.state.snapshotsOf('ws_twin').filter((s) => s.name === 'twin-2026-11-30-093934')).toHaveLength(2);
    } finally {
      emu.hooks.onArrival = undefined;
      emu.hooks.onCall = undefined;
      emu.faults.maintenance = false;
    }
  });

  it('a failed backup prunes nothing and posts a notification with a link to the workflow', async () => {
    emu.state.upsertWorkspace({ id: 'ws_fail', status: 'running' });
    const before = seedHistory('ws_fail', 5)
      .map((s) => s.id)
      .sort();
    emu.forbidden.add('ws_fail'); // every call for it now answers 403
    const id = testWorkflowId('backup');
    try {
      const failure = await workflowFailure(
        temporal.client.workflow
          .start(WORKFLOW_TYPES.backup, { taskQueue, workflowId: id, args: [{ workspaceId: 'ws_fail', retention: { keepLast: 1 } }] })
          .then((h) => h.result()),
      );
      expect(failure.type).toBe('Unauthorized');
    } finally {
      emu.forbidden.delete('ws_fail');
    }
    expect(
      emu.state
        .snapshotsOf('ws_fail')
        .map((s) => s.id)
        .sort(),
    ).toEqual(before);
    await eventually(() => receiver!.received.some((m) => m.workflowId === id), 10_000, 'the notification');
    const message = receiver!.received.find((m) => m.workflowId === id)!;
    expect(message).toMatchObject({ workspaceId: 'ws_fail', errorType: 'Unauthorized', workflowType: WORKFLOW_TYPES.backup });
    expect(String(message.text)).toContain('backup of ws_fail failed');
    expect(String(message.uiUrl)).toContain(`http://ui.example:8233/namespaces/default/workflows/${id}/`);
    expect(JSON.stringify(message)).not.toContain(TEST_TOKEN);
  });
});

describe('pruneSnapshots', () => {
  it('a dry run deletes nothing and says what it would delete and why it keeps the rest', async () => {
    emu.state.upsertWorkspace({ id: 'ws_dry', status: 'stopped' });
    seedHistory('ws_dry', 10, [{ name: 'stable-model-v2', daysAgo: 3 }]);
    const before = emu.state.snapshotsOf('ws_dry').length;
    const r = await execute<PruneSnapshotsResult>(WORKFLOW_TYPES.prune, {
      workspaceId: 'ws_dry',
      namePrefix: 'daily-backup-',
      retention: { keepDaily: 2, keepWeekly: 2 },
      dryRun: true,
    });
    expect(emu.state.snapshotsOf('ws_dry')).toHaveLength(before);
    expect(r.dryRun).toBe(true);
    expect(r.kept.length + r.deleted.length).toBe(10);
    expect(r.deleted.length).toBeGreaterThan(0);
    expect(r.kept[0]!.reasons).toEqual(expect.arrayContaining(['newest', 'daily']));
    expect(r.kept.every((k) => k.reasons.length > 0)).toBe(true);
    expect([...r.kept.map((k) => k.snapshot.name), ...r.deleted.map((d) => d.name)]).not.toContain('stable-model-v2');

    // The same policy for real deletes exactly what the dry run listed.
    const real = await execute<PruneSnapshotsResult>(WORKFLOW_TYPES.prune, {
      workspaceId: 'ws_dry',
      namePrefix: 'daily-backup-',
      retention: { keepDaily: 2, keepWeekly: 2 },
    });
    expect(real.deleted.map((d) => d.id).sort()).toEqual(r.deleted.map((d) => d.id).sort());
    expect(emu.state.snapshotsOf('ws_dry')).toHaveLength(before - r.deleted.length);
  });
});

describe('backupFleet', () => {
  it('backs up 200 workspaces with 10% injected 503s, then fails with PartialFailure carrying a correct summary', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `ws_fleet${String(i).padStart(3, '0')}`);
    for (const [i, id] of ids.entries()) emu.state.upsertWorkspace({ id, status: i % 4 === 0 ? 'stopped' : 'running', files: { id } });
    // Three workspaces this token may not touch: their backups fail for good, the rest succeed.
    const forbidden = [ids[7]!, ids[70]!, ids[170]!];
    forbidden.forEach((id) => emu.forbidden.add(id));
    Object.assign(emu.faults, { unavailableRate: 0.1, seed: 4242 });
    const id = testWorkflowId('fleet');
    try {
      // Failed workspaces fail the fleet (alerts on failed workflows and pause-on-failure see it), after
      // every workspace ran; the summary is the failure's details.
      const failure = await workflowFailure(
        execute<BackupFleetResult>(WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ids, concurrency: 20, retention: { keepLast: 2 } }, { id }),
      );
      expect(failure.type).toBe('PartialFailure');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('3 of 200 workspaces could not be backed up');
      const r = failure.details?.[0] as BackupFleetResult;
      expect(r.total).toBe(200);
      expect(r.succeeded).toBe(197);
      expect(r.failedCount).toBe(3);
      expect(r.failed.map((f) => f.workspaceId).sort()).toEqual([...forbidden].sort());
      expect(r.failed.every((f) => f.errorType === 'Unauthorized')).toBe(true);
    } finally {
      emu.faults.unavailableRate = 0;
      forbidden.forEach((x) => emu.forbidden.delete(x));
    }
    expect(emu.calls.some((c) => c.outcome === 'unavailable')).toBe(true);
    for (const [i, wsId] of ids.entries()) {
      if (forbidden.includes(wsId)) continue;
      const snaps = emu.state.snapshotsOf(wsId);
      expect(snaps, wsId).toHaveLength(1);
      expect(snaps[0]!.files).toEqual({ id: wsId });
      expect(emu.state.workspace(wsId)!.status).toBe(i % 4 === 0 ? 'stopped' : 'running');
    }
    await eventually(() => receiver!.received.some((m) => m.workflowId === id), 10_000, 'the fleet notification');
    const note = receiver!.received.find((m) => m.workflowId === id)!;
    expect(String(note.text)).toContain('3 of 200 workspaces failed');
  }, 300_000);
});

describe('backupFleet continues as new', () => {
  it('splits a fleet over several runs and still reports one summary', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `ws_can${i}`);
    ids.forEach((id) => emu.state.upsertWorkspace({ id, status: 'stopped' }));
    const h = await temporal.client.workflow.start(WORKFLOW_TYPES['fleet-backup'], {
      taskQueue,
      workflowId: testWorkflowId('fleet'),
      // The second argument is the internal continue-as-new state; a small run size forces three runs.
      args: [
        { workspaceIds: ids, concurrency: 3, namePrefix: 'can-' },
        { offset: 0, succeeded: 0, failed: [], failedCount: 0, runs: 1, backupTime: '2026-11-28T03:00:00Z', timeZone: 'UTC', childrenPerRun: 5 },
      ],
    });
    const r = (await h.result()) as BackupFleetResult;
    expect(r).toMatchObject({ total: 12, succeeded: 12, failedCount: 0, runs: 3 });
    // Every child is named by the fleet's one backup time, across the runs.
    for (const id of ids) expect(emu.state.snapshotsOf(id).map((s) => s.name)).toEqual(['can-2026-11-28-0300']);
    const firstRun = await temporal.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
  });
});

describe('checkpointWorkspace', () => {
  it('checkpoint → rollback brings the content back; release ends the session', async () => {
    emu.state.upsertWorkspace({ id: 'ws_demo_cp', status: 'running', files: { 'demo.js': 'works' } });
    const h = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
      taskQueue,
      workflowId: testWorkflowId('checkpoint'),
      args: [{ workspaceId: 'ws_demo_cp', name: 'pre-demo', ttl: '1h' }],
    });
    await eventually(async () => ((await h.query(progressQuery)).detail?.state ?? '') === 'active', 30_000, 'the checkpoint to be active');
    expect(emu.state.workspace('ws_demo_cp')!.status).toBe('running');

    // The demo breaks the workspace…
    emu.state.data.workspaces.ws_demo_cp!.files = { 'demo.js': 'broken' };
    const rolled = await h.executeUpdate(rollbackUpdate);
    expect(rolled.rollbacks).toBe(1);
    expect(rolled.workspaceStatus).toBe('running');
    expect(emu.state.workspace('ws_demo_cp')!.files).toEqual({ 'demo.js': 'works' });
    expect(emu.state.workspace('ws_demo_cp')!.status).toBe('running');

    const released = await h.executeUpdate(releaseUpdate, {
      args: [{ deleteSnapshot: true }],
    });
    expect(released).toEqual({ released: true, snapshotDeleted: true });
    const result = (await h.result()) as Promise<CheckpointWorkspaceResult>;
    expect(result).toMatchObject({ endedBy: 'release', rollbacks: 1, snapshotDeleted: true });
    expect(emu.state.snapshotsOf('ws_demo_cp')).toHaveLength(0);
  });

  it('a second rollback while one runs is rejected, and the TTL releases the session keeping the snapshot', async () => {
    emu.state.upsertWorkspace({ id: 'ws_ttl', status: 'running', files: { f: '1' } });
    const h = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
      taskQueue,
      workflowId: testWorkflowId('checkpoint'),
      args: [{ workspaceId: 'ws_ttl', name: 'experiment', ttl: '4s' }],
    });
    await eventually(async () => ((await h.query(progressQuery)).detail?.state ?? '') === 'active', 30_000, 'the checkpoint to be active');
    emu.delays.restoreMs = 1000;
    try {
      const first = h.executeUpdate(rollbackUpdate);
      await awaitStep(temporal.client, h.workflowId, 'restore');
      const second = await h.executeUpdate(rollbackUpdate).then(
        () => null,
        (e: unknown) => e as WorkflowUpdateFailedError,
      );
      expect(second).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(second!.cause).toMatchObject({ type: 'Conflict', message: 'a rollback is already running' });
      expect((await first).rollbacks).toBe(1);
    } finally {
      emu.delays.restoreMs = 50;
    }
    const result = (await h.result()) as Promise<CheckpointWorkspaceResult>;
    expect(result).toMatchObject({ endedBy: 'ttl', rollbacks: 1, snapshotDeleted: false });
    expect(emu.state.snapshotsOf('ws_ttl').map((s) => s.name)).toEqual(['experiment']);
    expect(emu.state.workspace('ws_ttl')!.status).toBe('running');
  });
});
