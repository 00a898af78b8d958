import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { unholdSnapshotUpdate } from '../../contract/index.js';
import { usageView, workflowIds, type InventoriedWorkspace } from '../../domain/index.js';
import type { Hold } from '../../domain/holds.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RigsnapClient } from '../../client/index.js';
import { runCli } from '../helpers/cli.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Retention of checkpoint and restore safety snapshots (issue 22, item 6) against a real dev server and
 * the emulator: after a checkpoint release and restores, a prune past the retention age deletes exactly
 * the released checkpoint's and the unheld safety snapshot, keeps a held one, an open checkpoint's (its
 * automatic hold ended, so only its session keeps it) and the hand-made one; `usage` shows them due
 * before, and gone after.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('expiry');
const ws = 'ws_expiry';
const DAY = 86_400_000;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 30, startMs: 30, snapshotMs: 10, restoreMs: 10, latencyMs: 0 },
    seedWorkspaces: [{ id: ws, status: 'running', files: { 'a.txt': 'one' } }],
  });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  rig = await RigsnapClient.connect({ address: temporal.address, taskQueue, env: { RIGSNAP_IDENTITY: 'ann@test' } });
});

afterAll(async () => {
  await rig?.close();
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

const ids = () => emu.state.snapshotsOf(ws).map((s) => s.id);

/** Ends an automatic hold as its own time would (a checkpoint's TTL, a safety snapshot's 24 h), through the entity's update. */
async function endAutomaticHold(snapshotId: string): Promise<void> {
  // A checkpoint is active a workflow task before its hold is placed (a full run here once looked in between).
  let hold: Hold | undefined;
  await eventually(
    async () => {
      hold = (await rig.holds(ws)).holds.find((h) => h.snapshotId === snapshotId && h.kind !== 'manual');
      return hold !== undefined;
    },
    30_000,
    `the automatic hold of ${snapshotId}`,
  );
  await rig.temporal.workflow
    .getHandle(workflowIds.workspace(ws))
    .executeUpdate(unholdSnapshotUpdate, { args: [{ snapshotId, by: 'test', kind: hold!.kind!, ...(hold!.owner ? { owner: hold!.owner } : {}) }] });
}

async function usageRow(): Promise<InventoriedWorkspace> {
  const inv = await rig.inventory({});
  const row = inv.workspaces.find((w) => w.workspaceId === ws);
  expect(row).toBeDefined();
  // The view the CLI prints carries the same numbers.
  expect(usageView(inv, null).workspaces.find((w) => w.workspaceId === ws)!.expiring.checkpoint.count).toBe(row!.expiring!.checkpoint.count);
  return row!;
}

async function checkpoint(name: string, release: boolean): Promise<{ workflowId: string; snapshotId: string }> {
  const started = await rig.startCheckpoint({ workspaceId: ws, name, ttl: '2h' });
  const { snapshotId } = await rig.awaitCheckpointActive(started.workflowId);
  if (release) await rig.release(started.workflowId);
  return { workflowId: started.workflowId, snapshotId };
}

describe('retention of checkpoint and safety snapshots', () => {
  it('a prune past the retention age deletes exactly the released checkpoint and the unheld safety snapshot; usage shows them before and after', async () => {
    const hand = (await rig.snapshot({ workspaceId: ws, name: 'hand-made' })).snapshot;
    const released = await checkpoint('pre-demo', true);
    const evidence = await checkpoint('evidence', true);
    await rig.hold(ws, evidence.snapshotId, { reason: 'release evidence' });
    const open = await checkpoint('live-demo', false);
    // Only the open session keeps it now: visibility and holds are not what protects it.
    await endAutomaticHold(open.snapshotId);

    const first = await rig.restore({ workspaceId: ws, snapshotId: hand.id }, { requestKey: 'first' });
    const oldSafety = first.safetySnapshot!;
    await endAutomaticHold(oldSafety.id); // as if its 24 h had passed
    const second = await rig.restore({ workspaceId: ws, snapshotId: hand.id }, { requestKey: 'second' });
    const heldSafety = second.safetySnapshot!; // still under its 24 h hold

    // Before: with the default retention (7d after a checkpoint ended, 14d after a restore) both are due later.
    const before = await usageRow();
    expect(before.byKind.held.count).toBe(2); // the evidence and the held safety snapshot
    expect(before.expiring!.checkpoint).toMatchObject({ count: 1, dueNowCount: 0 });
    // Both safety snapshots will expire: the held one once its 24 h hold and its 14 days have passed.
    expect(before.expiring!.safety).toMatchObject({ count: 2, bytes: oldSafety.size_bytes + heldSafety.size_bytes, dueNowCount: 0 });
    const cpDue = Date.parse(before.expiring!.checkpoint.firstDueAt!) - Date.now();
    expect(cpDue).toBeGreaterThan(7 * DAY - 3_600_000);
    expect(cpDue).toBeLessThanOrEqual(7 * DAY);
    const safeDue = Date.parse(before.expiring!.safety.firstDueAt!) - Date.parse(oldSafety.created_at);
    expect(safeDue).toBe(14 * DAY);

    // What a person reads (the built CLI): what is due to expire, and when.
    const shown = await runCli(['usage'], taskQueue);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Due to expire .*1 checkpoint snapshot, .*2 safety snapshots/);
    expect(shown.stdout).toMatch(new RegExp(`  ${ws}: 1 checkpoint snapshot, [0-9.]+ GiB: 1 by \\d{4}-\\d{2}-\\d{2}`));

    // The defaults: a prune now expires nothing (everything is younger than its retention).
    const byDefault = await rig.prune({ workspaceId: ws, namePrefix: 'daily-backup-', retention: { keepLast: 7 } });
    expect(byDefault.expired).toMatchObject({ count: 0, waitingCount: 5 });
    expect(ids()).toHaveLength(6);

    // Past the retention age ("0s": every ended one is): the dry run lists them and deletes nothing.
    const retention = { keepLast: 7, expireCheckpointsAfter: '0s', expireSafetyAfter: '0s' };
    const dry = await rig.prune({ workspaceId: ws, namePrefix: 'daily-backup-', retention, dryRun: true });
    expect(dry.expired!.snapshots.map((s) => s.id).sort()).toEqual([released.snapshotId, oldSafety.id].sort());
    expect(ids()).toHaveLength(6);
    const dryCli = await runCli(
      ['prune', ws, '--prefix', 'daily-backup-', '--keep-last', '7', '--expire-checkpoints-after', '0s', '--expire-safety-after', '0s', '--dry-run'],
      taskQueue,
    );
    expect(dryCli.code).toBe(0);
    expect(dryCli.stdout).toMatch(/would expire 2 checkpoint and safety snapshots .*; 3 more kept for now/);
    // Expiry settings without a keep rule are refused, naming the keep options: never silently dropped.
    const alone = await runCli(['prune', ws, '--prefix', 'daily-backup-', '--expire-safety-after', '0s', '--dry-run'], taskQueue);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/keepLast/);
    expect(ids()).toHaveLength(6);

    const real = await rig.prune({ workspaceId: ws, namePrefix: 'daily-backup-', retention });
    expect(real.expired).toMatchObject({ count: 2, waitingCount: 3 });
    expect(real.expired!.snapshots.map((s) => s.id).sort()).toEqual([released.snapshotId, oldSafety.id].sort());
    expect(ids().sort()).toEqual([hand.id, evidence.snapshotId, open.snapshotId, heldSafety.id].sort());

    const after = await usageRow();
    expect(after.expiring!.checkpoint.count).toBe(0);
    expect(after.expiring!.safety).toMatchObject({ count: 1, dueNowCount: 0 });
    expect(Date.parse(after.expiring!.safety.firstDueAt!)).toBe(Date.parse(heldSafety.created_at) + 14 * DAY);
    expect(after.snapshotCount).toBe(4);
    expect(after.byKind.held.count).toBe(2);
    expect((await runCli(['usage'], taskQueue)).stdout).toMatch(new RegExp(`  ${ws}: 1 safety snapshot, [0-9.]+ GiB: 1 by `));

    await rig.release(open.workflowId);
  });
});
