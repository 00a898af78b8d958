import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import type { SnapshotWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator, type EmulatorDelays } from '../../emulator/index.js';
import { RigsnapClient, RigsnapError } from '../../client/index.js';
import { reportError } from '../../cli/main.js';
import { loadRunDeps } from '../../cli/run-deps.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { changesFor, eventually, expectCancelledAfterChange, testWorkflowId } from '../helpers/workflows.js';

/**
 * Issue 18.2: a run cancelled after its change landed in Rigbox says what landed (CancelledAfterChange),
 * the client and the CLI print it (a restore's safety snapshot, the only way back), and the same request
 * run again adopts the snapshot its cancelled run made instead of making a second one.
 */

let temporal: TestTemporal;

beforeAll(async () => {
  // reportError below is called as main would, after the command's run-time modules loaded.
  await loadRunDeps();
  temporal = await connectTestTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const BASE: EmulatorDelays = { stopMs: 300, startMs: 300, snapshotMs: 100, restoreMs: 100, latencyMs: 0 };

async function withStack<T>(delays: Partial<EmulatorDelays>, fn: (emu: Emulator, taskQueue: string) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ token: TEST_TOKEN, delays: { ...BASE, ...delays } });
  const taskQueue = uniqueTaskQueue('truth');
  try {
    const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
    return await worker.runUntil(() => fn(emu, taskQueue));
  } finally {
    await emu.close();
  }
}

const arrived = (emu: Emulator, workflowId: string, route: string) =>
  emu.arrivals.some((a) => a.origin === workflowId && a.method === 'POST' && a.route === route);

/** What the CLI prints for an error (stderr lines). */
function cliLines(err: unknown): string[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    lines.push(String(s));
    return true;
  });
  try {
    expect(reportError(err, false)).toBe(1);
  } finally {
    spy.mockRestore();
  }
  return lines.join('').split('\n');
}

describe('cancelled after the change landed', () => {
  it('a snapshot cancelled during its copy names the snapshot; the same request again adopts it: one snapshot, workspace running', async () => {
    await withStack({ snapshotMs: 2500 }, async (emu, taskQueue) => {
      const workspaceId = `ws_truth_rerun_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: 'current' } });
      const workflowId = testWorkflowId('snapshot');
      const input = { workspaceId, name: 'before-migration' };
      const first = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId, args: [input] });
      await eventually(() => arrived(emu, workflowId, '/workspaces/:id/snapshots'), 30_000, 'the create request');
      await first.cancel();

      const landed = await expectCancelledAfterChange(first.result());
      const named = () => emu.state.snapshotsOf(workspaceId).filter((s) => s.name === 'before-migration');
      expect(named().map((s) => s.id)).toEqual([landed.snapshot?.id]);
      expect(landed.snapshot?.name).toBe('before-migration');
      expect(emu.state.workspace(workspaceId)!.status).toBe('running');

      // The same request again: the same workflow id (what the client's --request-key gives), a new run.
      const since = emu.calls.length;
      const again = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId, args: [input] });
      expect(again.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
      const r = (await again.result()) as SnapshotWorkspaceResult;
      expect(r.adopted).toBe(true);
      expect(r.snapshot.id).toBe(landed.snapshot?.id);
      expect(named().map((s) => s.id)).toEqual([landed.snapshot?.id]);
      expect(emu.state.workspace(workspaceId)!.status).toBe('running');
      // Adopting took no downtime: the re-run neither stopped the workspace nor copied anything.
      expect(changesFor(emu, workspaceId, since)).toEqual([]);
    });
  });

  it('a new request with the same name (another workflow id) still makes its own snapshot', async () => {
    await withStack({ snapshotMs: 2000 }, async (emu, taskQueue) => {
      const workspaceId = `ws_truth_other_${process.pid}`;
      emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      const input = { workspaceId, name: 'nightly' };
      const first = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId: testWorkflowId('snapshot'), args: [input] });
      await eventually(() => arrived(emu, first.workflowId, '/workspaces/:id/snapshots'), 30_000, 'the create request');
      await first.cancel();
      const landed = await expectCancelledAfterChange(first.result());
      const other = await temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId: testWorkflowId('snapshot'), args: [input] });
      const r = other as SnapshotWorkspaceResult;
      expect(r.adopted).toBe(false);
      expect(r.snapshot.id).not.toBe(landed.snapshot?.id);
      expect(emu.state.snapshotsOf(workspaceId).filter((s) => s.name === 'nightly')).toHaveLength(2);
    });
  });

  it('a prune cancelled while it deletes says how many it deleted, and which', async () => {
    await withStack({ routeLatencyMs: { 'DELETE /workspaces/:id/snapshots/:sid': 400 } }, async (emu, taskQueue) => {
      const workspaceId = `ws_truth_prune_${process.pid}`;
      const ws = emu.state.upsertWorkspace({ id: workspaceId, status: 'running' });
      for (let i = 0; i < 40; i++) emu.state.addSnapshot(ws, `daily-backup-${String(i).padStart(2, '0')}`);
      const before = new Set(emu.state.snapshotsOf(workspaceId).map((s) => s.id));
      const h = await temporal.client.workflow.start(WORKFLOW_TYPES.prune, {
        taskQueue,
        workflowId: testWorkflowId('prune'),
        args: [{ workspaceId, namePrefix: 'daily-backup-', retention: { keepLast: 1 } }],
      });
      await eventually(() => emu.calls.some((c) => c.workspaceId === workspaceId && c.method === 'DELETE'), 30_000, 'the first deletion');
      await h.cancel();
      const landed = await expectCancelledAfterChange(h.result());
      const gone = [...before].filter((id) => !emu.state.snapshotsOf(workspaceId).some((s) => s.id === id));
      expect(gone.length).toBeGreaterThan(0);
      expect(landed.deleted?.count).toBe(gone.length);
      expect([...(landed.deleted?.snapshotIds ?? [])].sort()).toEqual(gone.slice(0, 50).sort());
    });
  });

  it('the client and the CLI name the safety snapshot of a restore cancelled after it overwrote the disk', async () => {
    await withStack({ restoreMs: 2500 }, async (emu, taskQueue) => {
      const workspaceId = `ws_truth_restore_${process.pid}`;
      const ws = emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: 'old' } });
      const good = emu.state.addSnapshot(ws, 'known-good');
      emu.state.data.workspaces[workspaceId]!.files = { v: 'current' };
      const rig = await RigsnapClient.connect({ address: temporal.address, taskQueue, env: {} });
      try {
        const started = await rig.startRestore({ workspaceId, snapshotId: good.id, keepCurrent: true });
        await eventually(() => arrived(emu, started.workflowId, '/workspaces/:id/snapshots/:sid/restore'), 30_000, 'the restore request');
        await rig.cancel(started.workflowId);
        const err = await started.result().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RigsnapError);
        const failure = err as RigsnapError;
        expect(failure.type).toBe('CancelledAfterChange');
        const safety = emu.state.snapshotsOf(workspaceId).find((s) => s.name.startsWith('pre-restore-'))!;
        expect(failure.landed).toMatchObject({ workspaceId, safetySnapshot: { id: safety.id }, restored: { snapshotId: good.id } });
        // The disk was overwritten, and the safety snapshot holds what it was.
        expect(emu.state.workspace(workspaceId)!.files).toEqual({ v: 'old' });
        expect(emu.state.data.snapshots[safety.id]?.files).toEqual({ v: 'current' });
        expect(failure.advice).toContain(`rigsnap restore ${workspaceId} ${safety.id}`);

        const lines = cliLines(failure);
        expect(lines[0]).toContain('CancelledAfterChange');
        expect(lines[0]).toContain(safety.id);
        expect(lines.join('\n')).not.toContain('left as it began');
        expect(lines.find((l) => l.includes('what to do'))).toContain(`rigsnap restore ${workspaceId} ${safety.id}`);
      } finally {
        await rig.close();
      }
    });
  });
});
