import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { MAX_LISTED_SNAPSHOTS, type PruneSnapshotsResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventCount, historyPayloadBytes, testWorkflowId } from '../helpers/workflows.js';

/**
 * Prune in bounded history (issue 10.11): 10,000 backups pruned to keep-last 5 in one workflow, far
 * below Temporal's history limits (the old one-activity-per-deletion prune needed ~60,000 events),
 * with a result that stays small (lists capped, counts complete).
 */

let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 }, recordCalls: false });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

describe('prune at scale', () => {
  it('prunes 10,000 backups to keep-last 5 in under 2,000 history events, never touching a hand-made snapshot', async () => {
    const taskQueue = uniqueTaskQueue('prunescale');
    const workspaceId = 'ws_hoarder';
    const ws = emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
    const base = Date.parse('2025-01-01T00:00:00Z');
    for (let i = 0; i < 10_000; i++) {
      const s = emu.state.addSnapshot(ws, `daily-backup-${i}`);
      s.created_at = new Date(base + i * 3_600_000).toISOString();
    }
    const handMade = emu.state.addSnapshot(ws, 'before-migration');
    const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
    const { r, events, bytes } = await worker.runUntil(async () => {
      const h = await temporal.client.workflow.start<(i: unknown) => Promise<PruneSnapshotsResult>>(WORKFLOW_TYPES.prune, {
        taskQueue,
        workflowId: testWorkflowId('prune'),
        args: [{ workspaceId, namePrefix: 'daily-backup-', retention: { keepLast: 5 } }],
      });
      return { r: await h.result(), events: await eventCount(h), bytes: await historyPayloadBytes(h) };
    });
    expect(events).toBeLessThan(2000);
    // Each round records its batch (500 snapshots) and the ids its authorisation, deletion and settling
    // carry (2.8 MB measured in all), not the full list of what is deletable, which only a dry run
    // shows: with it, 4.4 MB, and the first page of history exceeded gRPC's 4 MB message limit.
    expect(bytes).toBeLessThan(3_500_000);
    expect(r.deletedCount).toBe(9995);
    expect(r.keptCount).toBe(5);
    expect(r.deleted.length).toBe(MAX_LISTED_SNAPSHOTS);
    const left = emu.state.snapshotsOf(workspaceId).map((s) => s.name);
    expect(left.sort()).toEqual(
      ['before-migration', 'daily-backup-9995', 'daily-backup-9996', 'daily-backup-9997', 'daily-backup-9998', 'daily-backup-9999'].sort(),
    );
    expect(emu.state.data.snapshots[handMade.id]).toBeDefined();
    process.stdout.write(`[prune-scale] 10,000 snapshots → 5 kept in ${events} history events, ${(bytes / 1e6).toFixed(2)} MB of payloads\n`);
  }, 300_000);
});
