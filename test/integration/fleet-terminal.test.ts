import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { WORKFLOW_TYPES, progressQuery } from '../../contract/index.js';
import { workflowIds, type BackupFleetResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * A fleet is never held by one child (issue 18.1, fleet part): a workspace deleted mid-run fails its
 * child with WorkspaceGone and the fleet ends (PartialFailure naming it), so its schedule's next run
 * (overlap SKIP) is not skipped; and a child stuck restarting its workspace is handed over across
 * continue-as-new while the rest of the fleet goes on, until an operator abandons it. Production timing
 * (productionDefaults) for every rigsnap setting.
 */

let temporal: TestTemporal;
let emu: Emulator;
let taskQueue: string;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 1500, startMs: 300, snapshotMs: 100, restoreMs: 100, latencyMs: 0 } });
  taskQueue = uniqueTaskQueue('fleet-terminal');
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

describe('a fleet with a workspace deleted mid-run', () => {
  it('50 workspaces, one deleted while its backup waits for the stop: the fleet ends PartialFailure naming it (WorkspaceGone) and the next scheduled run starts', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `ws_fg${process.pid}_${String(i).padStart(2, '0')}`);
    ids.forEach((id) => emu.state.upsertWorkspace({ id, status: 'running', files: { id } }));
    const doomed = ids[3]!;
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === doomed && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') {
        setTimeout(() => emu.state.deleteWorkspace(doomed), 300);
      }
    };
    const scheduleId = `test-fleet-gone-${process.pid}-${Date.now().toString(36)}`;
    // Every 90 s, the first run due a few seconds from now (intervals are aligned to the epoch; the offset moves them).
    const everyMs = 90_000;
    const offsetMs = (Date.now() + 5000) % everyMs;
    const schedule = await temporal.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: everyMs, offset: offsetMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPES['fleet-backup'],
        taskQueue,
        workflowId: scheduleId,
        args: [{ workspaceIds: ids, concurrency: 10 }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    const describe = () => schedule.describe().catch(() => null); // a transient error is asked again
    try {
      let firstId = '';
      await eventually(
        async () => {
          firstId = (await describe())?.info.recentActions[0]?.action.workflow.workflowId ?? '';
          return firstId !== '';
        },
        60_000,
        'the first fleet run',
      );
      const first = temporal.client.workflow.getHandle(firstId);
      const failure = await workflowFailure(first.result());
      expect(failure.type).toBe('PartialFailure');
      expect(failure.message).toContain(doomed);
      expect(failure.message).toContain('WorkspaceGone');
      const summary = failure.details?.[0] as BackupFleetResult;
      expect(summary).toMatchObject({ total: 50, succeeded: 49, failedCount: 1, failedByType: { WorkspaceGone: 1 } });
      expect(summary.failed).toEqual([expect.objectContaining({ workspaceId: doomed, errorType: 'WorkspaceGone' })]);
      for (const id of ids.filter((x) => x !== doomed)) {
        expect(
          emu.state.snapshotsOf(id).map((x) => x.name),
          `${id}: ${JSON.stringify(emu.state.created.filter((c) => c.workspace_id === id))}`,
        ).toHaveLength(1);
        expect(emu.state.workspace(id)!.status).toBe('running');
      }
      const closedAt = (await first.describe()).closeTime!.getTime();

      // The schedule goes on: its next run starts after the first one closed (overlap SKIP skips nothing).
      // (On a fleet held by a stuck child, every later run is skipped: the first never closes.)
      await eventually(
        async () => (await describe())?.info.recentActions.some((a) => a.action.workflow.workflowId !== firstId && a.takenAt.getTime() >= closedAt) ?? false,
        200_000,
        'the next scheduled fleet run',
      );
    } finally {
      emu.hooks.onCall = undefined;
      await schedule.delete();
    }
  }, 360_000);
});

describe('a fleet is never held by one child', () => {
  it('a child stuck restarting its workspace is handed over across continue-as-new; the rest are backed up; abandoning it ends the fleet', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `ws_fh${process.pid}_${String(i).padStart(2, '0')}`);
    ids.forEach((id) => emu.state.upsertWorkspace({ id, status: 'running', files: { id } }));
    const stuck = ids[0]!;
    // After its stop, this token may no longer touch the workspace: its backup keeps trying to start it.
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === stuck && c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok') emu.forbidden.add(stuck);
    };
    try {
      const h = await temporal.client.workflow.start(WORKFLOW_TYPES['fleet-backup'], {
        taskQueue,
        workflowId: testWorkflowId('fleet'),
        // A small run size (the internal continue-as-new state) forces runs of 4 children.
        args: [
          { workspaceIds: ids, concurrency: 3 },
          { offset: 0, succeeded: 0, failed: [], failedCount: 0, runs: 1, backupTime: '2026-12-06T03:00:00Z', timeZone: 'UTC', childrenPerRun: 4 },
        ],
      });
      const child = workflowIds.fleetChild(h.workflowId, stuck);
      const alertOf = (id: string) =>
        temporal.client.workflow
          .getHandle(id)
          .query(progressQuery)
          .then((p) => p.alert ?? '')
          .catch(() => ''); // not started yet
      await eventually(async () => /keeps trying/.test(await alertOf(child)), 90_000, 'the stuck child');
      // Every other workspace is backed up while the stuck child runs: the fleet moved on without it.
      await eventually(() => ids.slice(1).every((id) => emu.state.snapshotsOf(id).length === 1), 200_000, 'the other backups');
      await eventually(
        async () => {
          const detail = (await h.query(progressQuery)).detail ?? {};
          return detail.running === 1 && detail.succeeded === 11;
        },
        60_000,
        'the fleet to count the other backups',
      );
      const d = await h.describe();
      expect(d.runId).not.toBe(h.firstExecutionRunId); // it continued as new while the child ran
      expect((await temporal.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');

      const answer = await rig.abandon(child, { reason: 'workspace access revoked', by: 'fleet-test' });
      expect(answer.outcome).toBe('abandoned');
      const failure = await workflowFailure(h.result());
      expect(failure.type).toBe('PartialFailure');
      const summary = failure.details?.[0] as BackupFleetResult;
      expect(summary).toMatchObject({ total: 12, succeeded: 11, failedCount: 1, failedByType: { Abandoned: 1 } });
      expect(summary.failed[0]).toMatchObject({ workspaceId: stuck, errorType: 'Abandoned' });
      expect(summary.runs).toBeGreaterThanOrEqual(3);
    } finally {
      emu.hooks.onCall = undefined;
      emu.forbidden.delete(stuck);
    }
  }, 420_000);
});
