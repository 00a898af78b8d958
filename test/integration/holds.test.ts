import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { workflowIds } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RigsnapClient, RigsnapError } from '../../client/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';

/**
 * Holds (issue 20) against a real dev server and the emulator: what prune keeps, what delete refuses,
 * what a forced delete records, and that holds outlive the worker and a terminated entity.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('holds');

async function startWorker(): Promise<void> {
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 50, startMs: 50, snapshotMs: 20, restoreMs: 20, latencyMs: 0 },
    seedWorkspaces: [
      { id: 'ws_hold_prune', status: 'running', files: { 'a.txt': 'one' } },
      { id: 'ws_hold_del', status: 'running', files: { 'a.txt': 'one' } },
      { id: 'ws_hold_restart', status: 'running', files: { 'a.txt': 'one' } },
      { id: 'ws_hold_cp', status: 'running', files: { 'a.txt': 'one' } },
      { id: 'ws_hold_restore', status: 'running', files: { 'model.txt': 'v2' } },
      { id: 'ws_hold_base', status: 'running', files: { 'data.csv': 'known-good' } },
    ],
  });
  await startWorker();
  rig = await RigsnapClient.connect({ address: temporal.address, taskQueue, env: { RIGSNAP_IDENTITY: 'ann@test' } });
});

afterAll(async () => {
  await rig?.close();
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

const ids = (ws: string) => emu.state.snapshotsOf(ws).map((s) => s.id);

describe('holds', () => {
  it('a held snapshot is kept by prune (dry run and real) with the reason "hold: <reason>"', async () => {
    const ws = 'ws_hold_prune';
    const made = [];
    for (const n of [1, 2, 3, 4]) made.push((await rig.snapshot({ workspaceId: ws, name: `daily-${n}` })).snapshot);
    const oldest = made[0]!;
    await rig.hold(ws, oldest.id, { reason: 'audit evidence' });

    const dry = await rig.prune({ workspaceId: ws, namePrefix: 'daily-', retention: { keepLast: 1 }, dryRun: true });
    expect(dry.kept.find((k) => k.snapshot.id === oldest.id)?.reasons).toContain('hold: audit evidence');
    expect(dry.deleted.map((s) => s.id)).not.toContain(oldest.id);

    const real = await rig.prune({ workspaceId: ws, namePrefix: 'daily-', retention: { keepLast: 1 } });
    expect(real.deletedCount).toBe(2);
    expect(ids(ws)).toContain(oldest.id);
    expect(ids(ws)).toContain(made[3]!.id);
    expect(ids(ws)).not.toContain(made[1]!.id);
  });

  it('a delete of a held snapshot is refused with Held naming the hold; forced with a reason it goes and the override is recorded', async () => {
    const ws = 'ws_hold_del';
    const snap = (await rig.snapshot({ workspaceId: ws, name: 'known-good' })).snapshot;
    await rig.hold(ws, snap.id, { reason: 'known-good for the release', until: '7d' });

    const refused = await rig.deleteSnapshot({ workspaceId: ws, snapshotId: snap.id }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RigsnapError);
    expect(refused).toMatchObject({ type: 'Held' });
    expect((refused as Error).message).toMatch(/known-good for the release/);
    expect((refused as Error).message).toMatch(/rigsnap unhold ws_hold_del/);
    expect(ids(ws)).toContain(snap.id);

    // A forced delete without a reason is bad input: nothing is started.
    const noReason = await rig.startDeleteSnapshot({ workspaceId: ws, snapshotId: snap.id, force: true }).catch((e: unknown) => e);
    expect(noReason).toMatchObject({ type: 'InvalidInput', fields: ['reason'] });

    const forced = await rig.deleteSnapshot({ workspaceId: ws, snapshotId: snap.id, force: true, reason: 'disk quota, approved by ops' });
    expect(forced.override).toMatchObject({ snapshotId: snap.id, reason: 'disk quota, approved by ops', by: 'ann@test' });
    expect(ids(ws)).not.toContain(snap.id);
    const view = await rig.holds(ws);
    expect(view.holds.filter((h) => h.snapshotId === snap.id)).toEqual([]);
    expect(view.overrides).toEqual([expect.objectContaining({ snapshotId: snap.id, reason: 'disk quota, approved by ops', by: 'ann@test' })]);
    expect(view.overrides[0]!.overridden[0]).toMatchObject({ reason: 'known-good for the release' });
    // A snapshot rigsnap deleted cannot be held again (the entity remembers it).
    await expect(rig.hold(ws, snap.id, { reason: 'too late' })).rejects.toMatchObject({ type: 'Rejected' });

    // Unheld, a snapshot deletes without force.
    const other = (await rig.snapshot({ workspaceId: ws, name: 'scratch' })).snapshot;
    await rig.hold(ws, other.id, { reason: 'for a moment' });
    expect((await rig.unhold(ws, other.id)).released).toHaveLength(1);
    await rig.deleteSnapshot({ workspaceId: ws, snapshotId: other.id });
    expect(ids(ws)).not.toContain(other.id);
  });

  it('holds survive a worker restart and a terminated entity (recovered with its holds)', async () => {
    const ws = 'ws_hold_restart';
    const snap = (await rig.snapshot({ workspaceId: ws, name: 'keep-me' })).snapshot;
    await rig.hold(ws, snap.id, { reason: 'survives restarts' });

    worker.shutdown();
    await running;
    await startWorker();
    expect((await rig.holds(ws)).holds.map((h) => h.reason)).toEqual(['survives restarts']);

    await rig.temporal.workflow.getHandle(workflowIds.workspace(ws)).terminate('test: an operator terminates the entity');
    // The next delete recovers the entity from its closed run's state: the hold is still there.
    await expect(rig.deleteSnapshot({ workspaceId: ws, snapshotId: snap.id })).rejects.toMatchObject({ type: 'Held' });
    expect(ids(ws)).toContain(snap.id);
    const desc = await rig.temporal.workflow.getHandle(workflowIds.workspace(ws)).describe();
    expect(desc.status.name).toBe('RUNNING');
    expect((await rig.holds(ws)).holds.map((h) => h.reason)).toEqual(['survives restarts']);
  });

  it("a checkpoint's snapshot is held while the checkpoint is open: delete is refused; release ends the hold", async () => {
    const ws = 'ws_hold_cp';
    const started = await rig.startCheckpoint({ workspaceId: ws, name: 'pre-demo', ttl: '2h' });
    const active = await rig.awaitCheckpointActive(started.workflowId);
    const snapshotId = active.snapshotId;
    const held = await rig.holds(ws);
    expect(held.holds).toEqual([expect.objectContaining({ snapshotId, kind: 'checkpoint', owner: started.workflowId })]);
    expect(Date.parse(held.holds[0]!.until!)).toBeGreaterThan(Date.now() + 3600_000);

    await expect(rig.deleteSnapshot({ workspaceId: ws, snapshotId })).rejects.toMatchObject({ type: 'Held' });
    expect(ids(ws)).toContain(snapshotId);

    await rig.release(started.workflowId);
    expect((await rig.holds(ws)).holds).toEqual([]);
    await rig.deleteSnapshot({ workspaceId: ws, snapshotId });
    expect(ids(ws)).not.toContain(snapshotId);
  });

  it('release --delete-snapshot of a snapshot deleted outside rigsnap succeeds', async () => {
    const ws = 'ws_hold_cp';
    const started = await rig.startCheckpoint({ workspaceId: ws, name: 'gone-demo', ttl: '2h' });
    const active = await rig.awaitCheckpointActive(started.workflowId);
    emu.state.deleteSnapshot(active.snapshotId);
    const released = await rig.release(started.workflowId, { deleteSnapshot: true });
    expect(released).toMatchObject({ released: true });
    expect(ids(ws)).not.toContain(active.snapshotId);
  });

  it('a restore takes a safety snapshot by default (client), held for 24 h; a snapshot name unique in the workspace is accepted', async () => {
    const ws = 'ws_hold_restore';
    const good = (await rig.snapshot({ workspaceId: ws, name: 'stable-model-v2' })).snapshot;
    emu.state.data.workspaces[ws]!.files = { 'model.txt': 'broken' };
    const id = await rig.resolveSnapshot(ws, 'stable-model-v2');
    expect(id).toBe(good.id);
    const restored = await rig.restore({ workspaceId: ws, snapshotId: id });
    expect(restored.safetySnapshot).not.toBeNull();
    expect(emu.state.workspace(ws)!.files).toEqual({ 'model.txt': 'v2' });
    const safety = (await rig.holds(ws)).holds.find((h) => h.snapshotId === restored.safetySnapshot!.id);
    expect(safety).toMatchObject({ kind: 'safety' });
    const hours = (Date.parse(safety!.until!) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);

    // Two snapshots with one name: the candidates are listed.
    await rig.snapshot({ workspaceId: ws, name: 'twice' });
    await rig.snapshot({ workspaceId: ws, name: 'twice' });
    const err = await rig.resolveSnapshot(ws, 'twice').catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'InvalidInput' });
    expect((err as Error).message).toMatch(/2 snapshots of ws_hold_restore are named "twice"; name one by id: snap_/);
  });

  it('baseline: set holds it; reset restores it with a held safety snapshot first; the content is back', async () => {
    const ws = 'ws_hold_base';
    const good = (await rig.snapshot({ workspaceId: ws, name: 'team-baseline' })).snapshot;
    await expect(rig.startReset(ws)).rejects.toMatchObject({ type: 'InvalidInput' });
    const set = await rig.setBaseline(ws, good.id);
    expect(set).toMatchObject({ status: 'set', previous: null, baseline: { snapshotId: good.id, by: 'ann@test' } });
    expect((await rig.holds(ws)).holds).toEqual([expect.objectContaining({ snapshotId: good.id, kind: 'baseline' })]);
    await expect(rig.deleteSnapshot({ workspaceId: ws, snapshotId: good.id })).rejects.toMatchObject({ type: 'Held' });

    emu.state.data.workspaces[ws]!.files = { 'data.csv': 'experiment gone wrong', 'junk.log': 'x' };
    const reset = await rig.reset(ws);
    expect(reset.restored.id).toBe(good.id);
    expect(emu.state.workspace(ws)!.files).toEqual({ 'data.csv': 'known-good' });
    expect(emu.state.workspace(ws)!.status).toBe('running');
    const safety = reset.safetySnapshot!;
    expect(emu.state.data.snapshots[safety.id]!.files).toEqual({ 'data.csv': 'experiment gone wrong', 'junk.log': 'x' });
    expect((await rig.holds(ws)).holds.map((h) => [h.snapshotId, h.kind]).sort()).toEqual(
      [
        [good.id, 'baseline'],
        [safety.id, 'safety'],
      ].sort(),
    );
  });
});
