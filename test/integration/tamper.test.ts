import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from '../helpers/cli.js';
import { RigsnapClient } from '../../client/index.js';
import type { AuditBackupsResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RIGSNAP_METRICS } from '../../worker/metrics.js';
import { TEST_TOKEN, connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Tamper detection (issue 20, item 3) against the run's dev server, the emulator and a real worker
 * process (dist/): a held snapshot, then the baseline, deleted directly in the emulator (not through
 * rigsnap) make `rigsnap audit` (the real CLI) answer `tampered`, exit 1, naming each with its hold and
 * when an audit last saw it; the worker's `rigsnap_held_snapshot_missing` counts them, also after a
 * worker restart; a snapshot rigsnap deleted with --force never counts.
 */

const M = RIGSNAP_METRICS;
const WS = 'ws_tamper';
const CALM = 'ws_tamper_calm';
const DEMO = 'ws_tamper_demo';
const taskQueue = uniqueTaskQueue('tamper');
let temporal: TestTemporal;
let emu: Emulator;
let rig: RigsnapClient;
let worker: WorkerProcess;

type Run = CliRun;

const rigsnap = (args: string[]): Promise<Run> => runCli(args, taskQueue, { NO_COLOR: '1' });

async function auditJson(): Promise<{ code: number | null; result: AuditBackupsResult }> {
  const r = await rigsnap(['audit', '--json']);
  try {
    return { code: r.code, result: (JSON.parse(r.stdout) as { result: AuditBackupsResult }).result };
  } catch {
    throw new Error(`stdout is not the audit's JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

const rowOf = (r: AuditBackupsResult, ws: string) => r.workspaces.find((w) => w.workspaceId === ws);

function startWorker(): Promise<WorkerProcess> {
  return startWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: taskQueue, RIGSNAP_POLL_MAX_MS: '500' });
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 50, startMs: 50, snapshotMs: 20, restoreMs: 20, latencyMs: 0 },
    seedWorkspaces: [
      { id: WS, status: 'running', files: { 'a.txt': 'one' } },
      { id: CALM, status: 'running', files: { 'a.txt': 'one' } },
      { id: DEMO, status: 'running', files: { 'app.txt': 'demo-ready' } },
    ],
  });
  worker = await startWorker();
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
});

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await emu?.close();
  await temporal?.close();
});

describe('tamper detection', () => {
  it('a held snapshot and the baseline deleted outside rigsnap: audit says tampered (exit 1) naming them; the metric counts them; a forced delete does not count', async () => {
    const good = (await rig.snapshot({ workspaceId: WS, name: 'known-good' })).snapshot;
    const base = (await rig.snapshot({ workspaceId: WS, name: 'team-baseline' })).snapshot;
    const forced = (await rig.snapshot({ workspaceId: WS, name: 'forced-away' })).snapshot;
    const calm = (await rig.snapshot({ workspaceId: CALM, name: 'calm' })).snapshot;
    await rig.hold(WS, good.id, { reason: 'known-good for the release' });
    await rig.setBaseline(WS, base.id);
    await rig.hold(WS, forced.id, { reason: 'until quota runs out' });
    await rig.hold(CALM, calm.id, { reason: 'nothing happens to it' });

    // All present: ok, exit 0, the gauge at 0 for both, and each entity learns when its snapshots were seen.
    const before = await auditJson();
    expect(before.code).toBe(0);
    expect(before.result.counts.tampered).toBe(0);
    expect(before.result.heldChecked).toEqual(expect.arrayContaining([WS, CALM]));
    expect((await rig.holds(WS)).seen?.[good.id]).toMatchObject({ name: 'known-good' });
    const seenAt = (await rig.holds(WS)).seen![good.id]!.at;
    let s = await worker.scrape();
    expect(s.value(M.heldMissing, { workspace: WS })).toBe(0);
    expect(s.value(M.heldMissing, { workspace: CALM })).toBe(0);

    // rigsnap deletes one held snapshot (forced, recorded); someone deletes another in Rigbox directly.
    await rig.deleteSnapshot({ workspaceId: WS, snapshotId: forced.id, force: true, reason: 'quota' });
    emu.state.deleteSnapshot(good.id);
    expect(emu.state.snapshotsOf(WS).map((x) => x.id)).not.toContain(good.id);

    const one = await auditJson();
    expect(one.code).toBe(1);
    expect(one.result.ok).toBe(false);
    expect(one.result.counts.tampered).toBe(1);
    expect(rowOf(one.result, WS)).toMatchObject({
      verdict: 'tampered',
      missingHeld: [
        {
          snapshotId: good.id,
          name: 'known-good',
          guardedBy: [expect.objectContaining({ kind: 'manual', reason: 'known-good for the release' })],
          lastSeen: seenAt,
        },
      ],
    });
    expect(rowOf(one.result, CALM)).toBeUndefined();
    s = await worker.scrape();
    expect(s.value(M.heldMissing, { workspace: WS })).toBe(1);
    expect(s.value(M.heldMissing, { workspace: CALM })).toBe(0);

    // The baseline goes the same way: both are named, in the text output too.
    emu.state.deleteSnapshot(base.id);
    const text = await rigsnap(['audit']);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/1 workspace TAMPERED/);
    expect(text.stdout).toContain(good.id);
    expect(text.stdout).toContain(base.id);
    expect(text.stdout).toMatch(/known-good for the release/);
    expect(text.stdout).toMatch(new RegExp(`${base.id}\\s+team-baseline\\s+baseline`));
    expect(text.stdout).not.toContain(forced.id);
    s = await worker.scrape();
    expect(s.value(M.heldMissing, { workspace: WS })).toBe(2);
  });

  it('a restarted worker restores the count before any audit runs', async () => {
    await worker.stop('SIGTERM');
    worker = await startWorker();
    let value: number | undefined;
    await eventually(
      async () => (value = (await worker.scrape()).find(M.heldMissing, { workspace: WS })[0]?.value) !== undefined,
      30_000,
      'the restored held-missing gauge',
    );
    expect(value).toBe(2);
  });

  it('unholding the missing snapshot and setting a new baseline clear the verdict and the gauge', async () => {
    const missing = rowOf((await auditJson()).result, WS)!.missingHeld!.map((m) => m.snapshotId);
    const fresh = (await rig.snapshot({ workspaceId: WS, name: 'new-baseline' })).snapshot;
    await rig.setBaseline(WS, fresh.id);
    for (const id of missing) await rig.unhold(WS, id);
    const after = await auditJson();
    expect(after.code).toBe(0);
    expect(after.result.counts.tampered).toBe(0);
    expect((await worker.scrape()).value(M.heldMissing, { workspace: WS })).toBe(0);
  });

  it('a checkpoint whose snapshot was deleted outside rigsnap: rollback is refused (SnapshotGone) before anything stops; its status says so; release still ends it', async () => {
    const started = await rig.startCheckpoint({ workspaceId: DEMO, name: 'pre-demo', ttl: '2h' });
    const active = await rig.awaitCheckpointActive(started.workflowId);
    emu.state.deleteSnapshot(active.snapshotId);
    emu.state.data.workspaces[DEMO]!.files = { 'app.txt': 'mid-demo work' };
    const since = emu.calls.length;

    const refused = await rig.rollback(started.workflowId).catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'SnapshotGone' });
    expect((refused as Error).message).toContain(`the checkpoint's snapshot ${active.snapshotId} ("pre-demo") is gone from Rigbox`);
    expect((refused as Error).message).toMatch(/Nothing was stopped/);
    // The workspace was not touched: running, its work there, and no stop, restore or start was asked.
    const calls = emu.calls.slice(since).filter((c) => c.workspaceId === DEMO && c.method === 'POST');
    expect(calls).toEqual([]);
    expect(emu.state.workspace(DEMO)!.status).toBe('running');
    expect(emu.state.workspace(DEMO)!.files).toEqual({ 'app.txt': 'mid-demo work' });

    // A second rollback is refused at once, with the same reason.
    await expect(rig.rollback(started.workflowId)).rejects.toMatchObject({ type: 'SnapshotGone' });

    // Its status says so, and no step is left running.
    const status = await rig.status(started.workflowId);
    expect(status.progress?.detail).toMatchObject({ state: 'active', snapshotId: active.snapshotId, snapshotGoneAt: expect.any(String) });
    expect(status.progress?.steps.filter((st) => st.finishedAt === null)).toEqual([]);
    const text = await rigsnap(['status', started.workflowId]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/snapshot GONE from Rigbox \(deleted outside rigsnap/);

    const released = await rig.release(started.workflowId, { deleteSnapshot: true });
    expect(released).toMatchObject({ released: true });
  });
});
