import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient, RigsnapError } from '../../client/index.js';
import { WORKFLOW_TYPES, progressQuery } from '../../contract/index.js';
import { type DeleteSnapshotResult, type SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, historyJson, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * Terminal conditions end (issue 18.1): a workspace deleted in Rigbox while rigsnap waits for its stop,
 * or while it keeps trying to start it again, ends the operation with WorkspaceGone and frees the
 * workspace's lock; an endless restart (a revoked token) is ended by an operator's `abandon`, recorded,
 * and the lock is released. Production timing throughout (productionDefaults): the real poll schedule,
 * heartbeats, compensation rounds.
 */

let temporal: TestTemporal;
let emu: Emulator;
let taskQueue: string;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 3000, startMs: 300, snapshotMs: 200, restoreMs: 200, latencyMs: 0 } });
  taskQueue = uniqueTaskQueue('terminal');
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, productionDefaults: true });
  running = worker.run();
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await rig?.close();
  await emu?.close();
  await temporal?.close();
});

type Snap = (i: unknown) => Promise<SnapshotWorkspaceResult>;
const startSnapshot = (workspaceId: string, name: string, restart?: string) =>
  temporal.client.workflow.start<Snap>(WORKFLOW_TYPES.snapshot, {
    taskQueue,
    workflowId: testWorkflowId('snapshot'),
    args: [{ workspaceId, name, ...(restart ? { restart } : {}) }],
  });

/** Nobody holds the workspace and nobody waits: no lock runs, or it answers free. */
async function lockIsFree(workspaceId: string): Promise<boolean> {
  const state = await rig.lockState(workspaceId);
  return state === null || (state.holder === null && state.queue.length === 0 && (state.blockedBy ?? []).length === 0);
}

describe('a workspace deleted mid-operation ends the operation (WorkspaceGone)', () => {
  it('deleted while rigsnap waits for its stop: WorkspaceGone, the lock is free, the next operations are not blocked', async () => {
    const workspaceId = `ws_gone_stop_${process.pid}`;
    const other = `ws_gone_other_${process.pid}`;
    const ws = emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    const old = emu.state.addSnapshot(ws, 'older');
    emu.state.upsertWorkspace({ id: other, status: 'running' });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') {
        setTimeout(() => emu.state.deleteWorkspace(workspaceId), 500);
      }
    };
    try {
      const h = await startSnapshot(workspaceId, 'doomed');
      const failure = await workflowFailure(h.result());
      expect(failure.type).toBe('WorkspaceGone');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(workspaceId);
      // It did not try to start a workspace that is gone, round after round.
      expect(emu.calls.filter((c) => c.workspaceId === workspaceId && c.route.endsWith('/start'))).toHaveLength(0);
      expect((await h.query(progressQuery)).state).toBe('failed');
      await eventually(() => lockIsFree(workspaceId), 30_000, 'the lock of the gone workspace to be free');

      // Not blocked: another workspace, and the gone workspace's own snapshot delete, go ahead at once.
      const next = await startSnapshot(other, 'after-gone');
      expect((await next.result()).snapshot.workspace_id).toBe(other);
      const del = await temporal.client.workflow.start<(i: unknown) => Promise<DeleteSnapshotResult>>(WORKFLOW_TYPES.delete, {
        taskQueue,
        workflowId: testWorkflowId('delete'),
        args: [{ workspaceId, snapshotId: old.id }],
      });
      const outcome = await del.result().then(
        () => 'completed',
        (e: unknown) => (e as { cause?: { type?: string } }).cause?.type ?? 'failed',
      );
      expect(['completed', 'NotFound']).toContain(outcome);
      const again = await workflowFailure((await startSnapshot(workspaceId, 'again')).result());
      expect(again.type).toBe('NotFound');
    } finally {
      emu.hooks.onCall = undefined;
    }
  }, 180_000);

  it('deleted while rigsnap keeps trying to start it again (token revoked): the loop ends with WorkspaceGone and frees the lock', async () => {
    const workspaceId = `ws_gone_loop_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.token = 'rotated-elsewhere';
    };
    try {
      const h = await startSnapshot(workspaceId, 'loop');
      await eventually(async () => /keeps trying/.test((await h.query(progressQuery)).alert ?? ''), 90_000, 'the restart loop');
      emu.hooks.onCall = undefined;
      emu.state.deleteWorkspace(workspaceId);
      emu.token = TEST_TOKEN;
      const failure = await workflowFailure(h.result());
      expect(failure.type).toBe('WorkspaceGone');
      expect(failure.nonRetryable).toBe(true);
      await eventually(() => lockIsFree(workspaceId), 30_000, 'the lock to be free');
    } finally {
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
    }
  }, 240_000);
});

describe('the lock repairing a terminated holder whose workspace is gone', () => {
  it('treats WorkspaceGone as settled: the lock frees the workspace, and the next operation is not blocked', async () => {
    const workspaceId = `ws_gone_repair_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.token = 'rotated-elsewhere';
    };
    try {
      const h = await startSnapshot(workspaceId, 'terminated');
      await eventually(async () => /keeps trying/.test((await h.query(progressQuery)).alert ?? ''), 90_000, 'the restart loop');
      // The old runbook: terminate it. The lock then owes the workspace a restart, which finds it gone.
      await h.terminate('test: an operator terminates the stuck operation');
      emu.hooks.onCall = undefined;
      emu.state.deleteWorkspace(workspaceId);
      emu.token = TEST_TOKEN;
      await eventually(() => lockIsFree(workspaceId), 150_000, 'the lock to settle the repair and be free');
      const next = await workflowFailure((await startSnapshot(workspaceId, 'after-repair')).result());
      expect(next.type).toBe('NotFound'); // its preflight ran: the lock granted it
    } finally {
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
    }
  }, 300_000);
});

describe('the workspace entity repairing a terminated holder', () => {
  it('its endless restart has an operator’s way out: abandon on the entity leaves the workspace stopped, settles the repair and grants the next', async () => {
    const workspaceId = `ws_entity_abandon_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.token = 'rotated-elsewhere';
    };
    try {
      const h = await startSnapshot(workspaceId, 'terminated');
      await eventually(async () => /keeps trying/.test((await h.query(progressQuery)).alert ?? ''), 90_000, 'the restart loop');
      // Terminated: the entity owes the workspace a restart, which keeps failing (the token is still wrong).
      await h.terminate('test: an operator terminates the stuck operation');
      emu.hooks.onCall = undefined;
      const entityId = `rigsnap-workspace-${workspaceId}`;
      let answer: unknown;
      await eventually(
        async () => {
          answer = await rig.abandon(entityId, { reason: 'workspace retired', by: 'ops-test' }).catch((e: unknown) => e);
          return !(answer instanceof Error);
        },
        150_000,
        'the entity’s repair loop to accept the abandon',
      );
      expect(answer).toMatchObject({ outcome: 'abandoned', by: 'ops-test', reason: 'workspace retired', workspaceId });
      await eventually(() => lockIsFree(workspaceId), 30_000, 'the entity to be free');
      expect(emu.state.workspace(workspaceId)!.status).toBe('stopped'); // left as it was, on purpose
      expect((await temporal.client.workflow.getHandle(entityId).describe()).status.name).toBe('RUNNING');
      // The next operation is granted (its preflight runs and, with the token back, it completes).
      emu.token = TEST_TOKEN;
      const next = await (await startSnapshot(workspaceId, 'after-abandon')).result();
      expect(next.snapshot.name).toBe('after-abandon');
    } finally {
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
    }
  }, 300_000);
});

describe('abandon', () => {
  it('ends a run stuck restarting its workspace: refused before the loop, then answered, recorded, the lock released', async () => {
    const workspaceId = `ws_abandon_${process.pid}`;
    emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === workspaceId && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.token = 'rotated-elsewhere';
    };
    try {
      const h = await startSnapshot(workspaceId, 'stuck');
      await awaitStep(temporal.client, h.workflowId, 'stop', 60_000);
      // Not in the restart loop yet (or no round failed): refused, nothing changes.
      const early = await rig.abandon(h.workflowId, { reason: 'too early', by: 'ops-test' }).catch((e: unknown) => e);
      expect(early).toBeInstanceOf(RigsnapError);
      expect((early as RigsnapError).type).toBe('Conflict');
      const noReason = await rig.abandon(h.workflowId, { reason: '  ' }).catch((e: unknown) => e);
      expect((noReason as RigsnapError).type).toBe('InvalidInput');

      await eventually(async () => /keeps trying/.test((await h.query(progressQuery)).alert ?? ''), 90_000, 'the restart loop');
      const answer = await rig.abandon(h.workflowId, { reason: 'token revoked on purpose', by: 'ops-test' });
      expect(answer.outcome).toBe('abandoned');
      expect(answer).toMatchObject({ by: 'ops-test', reason: 'token revoked on purpose', workspaceId });

      const failure = await workflowFailure(h.result());
      expect(failure.type).toBe('Abandoned');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('token revoked on purpose');
      const details = failure.details?.[0] as { abandoned: { by: string; at: string; reason: string }; lastError: string };
      expect(details.abandoned).toMatchObject({ by: 'ops-test', reason: 'token revoked on purpose' });
      expect(details.lastError).toMatch(/Unauthorized/);
      const progress = await h.query(progressQuery);
      expect(progress.abandoned).toMatchObject({ by: 'ops-test', reason: 'token revoked on purpose' });
      expect((await h.describe()).status.name).toBe('FAILED');
      expect(emu.state.workspace(workspaceId)!.status).toBe('stopped'); // left as it was, on purpose
      expect(await historyJson(h)).not.toContain(TEST_TOKEN);

      // The lock was released by the run itself: the next operation goes ahead (and no repair runs).
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
      await eventually(() => lockIsFree(workspaceId), 30_000, 'the lock to be free');
      const next = await (await startSnapshot(workspaceId, 'after-abandon', 'always')).result();
      expect(next.workspaceStatus).toBe('running');
      const closed = await rig.abandon(h.workflowId, { reason: 'again' }).catch((e: unknown) => e);
      expect((closed as RigsnapError).type).toBe('Rejected');
    } finally {
      emu.hooks.onCall = undefined;
      emu.token = TEST_TOKEN;
    }
  }, 240_000);
});
