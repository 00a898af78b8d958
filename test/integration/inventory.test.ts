import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, cliJson, runCli } from '../helpers/cli.js';
import { RigsnapClient } from '../../client/index.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { scheduleIds, type ReportBackupsResult } from '../../domain/index.js';
import { REPORT_CSV_COLUMNS, type BackupReport, type InventoryWorkspacesResult, type PruneOrphansResult, type UsageView } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { eventually, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * Knowing every workspace, on emulated workspaces through the real CLI (dist/cli/main.js) and a worker
 * on the run's dev server: `discover` (what Rigbox reveals through GET /api/snapshots, minus the
 * protected), `usage` (kinds, totals equal to the sum of size_bytes in Rigbox), `report` (CSV columns
 * and exit codes, `pending` for a new schedule), and orphans after a workspace is deleted in the
 * emulator: listed by usage, then pruned by `prune --orphans` (dry run first, then exactly those).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MIB = 1024 ** 2;
let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
let receiver: WebhookReceiver | undefined;
const taskQueue = uniqueTaskQueue('inventory');

const WS = {
  prot: 'ws_inv_prot', // a schedule with keep-last 3, daily backups, a safety and a hand-made snapshot
  loose: 'ws_inv_loose', // snapshots, no schedule: discovered
  gone: 'ws_inv_gone', // snapshots, then deleted in the emulator: orphans
  fresh: 'ws_inv_fresh', // a schedule created just now, no backup yet: pending
} as const;

function snapshotAgo(workspaceId: string, name: string, ms: number, bytes: number): string {
  const s = emu.state.addSnapshot(emu.state.workspace(workspaceId)!, name);
  s.created_at = new Date(Date.now() - ms).toISOString();
  s.size_bytes = bytes;
  return s.id;
}

type Run = CliRun;

const rigsnap = (args: string[]): Promise<Run> => runCli(args, taskQueue);

const json = cliJson;

/** What Rigbox itself says: the sum of size_bytes over GET /api/snapshots. */
async function rigboxTotalBytes(): Promise<number> {
  const res = await fetch(`${emu.url}/snapshots`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  const list = (await res.json()) as Array<{ size_bytes: number }>;
  return list.reduce((a, s) => a + s.size_bytes, 0);
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 50, startMs: 50, snapshotMs: 20, restoreMs: 20, latencyMs: 0 } });
  for (const id of Object.values(WS)) emu.state.upsertWorkspace({ id, status: 'running', files: { 'f.txt': id } });
  for (let d = 5; d >= 1; d--) snapshotAgo(WS.prot, `daily-backup-d${d}`, d * DAY - HOUR, (100 + (5 - d) * 10) * MIB);
  snapshotAgo(WS.prot, 'pre-restore-20260101T000000Z', 2 * DAY, 7 * MIB);
  snapshotAgo(WS.prot, 'before-migration', 3 * DAY, 11 * MIB);
  snapshotAgo(WS.loose, 'scratch', 10 * HOUR, 13 * MIB);
  snapshotAgo(WS.loose, 'scratch-2', 9 * HOUR, 17 * MIB);
  snapshotAgo(WS.gone, 'daily-backup-old', 40 * DAY, 19 * MIB);
  snapshotAgo(WS.gone, 'daily-backup-older', 45 * DAY, 23 * MIB);
  snapshotAgo(WS.gone, 'daily-backup-young', 2 * DAY, 29 * MIB);

  receiver = await startWebhookReceiver();
  const notifyUrl = receiver.url;
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_NOTIFY_URL: notifyUrl }, deps: { notifyUrl } });
  running = worker.run();
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
  await rig.schedules.create({ workspaceId: WS.prot, paused: true, retention: { keepLast: 3 } });
  await rig.schedules.create({ workspaceId: WS.fresh, paused: true });
});

afterAll(async () => {
  for (const workspaceId of [WS.prot, WS.fresh]) await rig?.schedules.delete(workspaceId).catch(() => undefined);
  await rig?.deleteReportSchedule().catch(() => undefined);
  await receiver?.close();
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

describe('discover', () => {
  it('lists the workspaces Rigbox reveals through their snapshots that no schedule protects, with count and size', async () => {
    const r = await rigsnap(['discover', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ workspaces: Array<{ workspaceId: string; snapshotCount: number; snapshotBytes: number }> }>(r);
    // Not ws_inv_prot (scheduled), not ws_inv_fresh (scheduled, no snapshots); biggest first.
    expect(out.workspaces.map((w) => [w.workspaceId, w.snapshotCount, w.snapshotBytes])).toEqual([
      [WS.gone, 3, (19 + 23 + 29) * MIB],
      [WS.loose, 2, 30 * MIB],
    ]);

    // Once deleted, a workspace is an orphan (usage and prune --orphans), not a discovery.
    emu.state.deleteWorkspace(WS.gone);
    const after = json<{ workspaces: Array<{ workspaceId: string }> }>(await rigsnap(['discover', '--json']));
    expect(after.workspaces.map((w) => w.workspaceId)).toEqual([WS.loose]);

    const plain = await rigsnap(['discover']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('1 workspace with snapshots, not enrolled and with no rigsnap schedule (of 4 known)');
    expect(plain.stdout).toMatch(new RegExp(`${WS.loose}\\s+2\\s+30\\.0 MiB`));
  });
});

describe('usage', () => {
  it('splits GiB by kind, finds the orphans, and its totals equal the sum of size_bytes in Rigbox', async () => {
    const r = await rigsnap(['usage', '--price-per-gib-month', '0.5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = json<UsageView>(r);
    expect(v.totals.bytes).toBe(await rigboxTotalBytes());
    expect(v.totals.snapshotCount).toBe(emu.state.snapshotsOf().length);
    const prot = v.workspaces.find((w) => w.workspaceId === WS.prot)!;
    const gib = (mib: number) => Math.round((mib / 1024) * 1000) / 1000;
    expect(prot).toMatchObject({ exists: true, protected: true, snapshotCount: 7 });
    expect(prot.gib).toMatchObject({ backup: gib(100 + 110 + 120 + 130 + 140), safety: gib(7), manual: gib(11), checkpoint: 0, held: 0 });
    // Its schedule is paused, so no new backups: in 30 days keep-last 3 has pruned to the three newest, the others stay.
    // (The growth of a running schedule's backups is forecast in test/unit/inventory.test.ts.)
    expect(prot.forecastGib).toBeCloseTo(gib(120 + 130 + 140 + 7 + 11), 2);
    expect(prot.monthlyCost).toBeCloseTo(prot.gib.total * 0.5, 2);
    expect(v.orphans).toMatchObject({ workspaceIds: [WS.gone], count: 3, gib: gib(19 + 23 + 29) });
    expect(v.workspaces.find((w) => w.workspaceId === WS.gone)).toMatchObject({ exists: false });

    // The audit lists them too.
    const audit = await rigsnap(['audit', '--json']);
    expect(json<{ result: { orphans: unknown } }>(audit).result.orphans).toEqual({ workspaceIds: [WS.gone], count: 3, bytes: (19 + 23 + 29) * MIB });

    const plain = await rigsnap(['usage']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('3 orphan snapshots');
    expect(plain.stdout).toContain('rigsnap prune --orphans --older-than 30d');
  });

  it('refuses a price that is not a number (exit 2)', async () => {
    const r = await rigsnap(['usage', '--price-per-gib-month', 'cheap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--price-per-gib-month');
  });
});

describe('report', () => {
  it('CSV with the documented columns; a schedule created a minute ago is pending; exit 1 once a protected workspace misses the RPO', async () => {
    // ws_inv_prot's newest backup is 23 h old: within 26 h. ws_inv_fresh has no backup but its schedule is new: pending.
    const ok = await rigsnap(['report', '--since', '24h', '--format', 'csv']);
    expect(ok.code, ok.stderr).toBe(0);
    const lines = ok.stdout.split('\r\n');
    expect(lines[0]!.split(',')).toEqual([...REPORT_CSV_COLUMNS]);
    const byId = Object.fromEntries(lines.slice(1, -1).map((l) => [l.split(',')[0], l.split(',')]));
    expect(Object.keys(byId).sort()).toEqual(['TOTAL', WS.fresh, WS.loose, WS.prot].sort());
    expect(byId[WS.prot]!.slice(0, 4)).toEqual([WS.prot, 'true', 'ok', `rigsnap-backup-${WS.prot}`]);
    expect(byId[WS.prot]![7]).toBe('true');
    expect(byId[WS.fresh]!.slice(0, 3)).toEqual([WS.fresh, 'true', 'pending']);
    expect(byId[WS.loose]!.slice(0, 3)).toEqual([WS.loose, 'false', 'unprotected']);
    expect(byId.TOTAL!.slice(0, 3)).toEqual(['TOTAL', '2', 'ok']);

    // With a 1 min RPO the 23 h old backup is stale, however new its schedule: exit 1.
    const bad = await rigsnap(['report', '--rpo', '1m', '--format', 'json']);
    expect(bad.code, bad.stderr).toBe(1);
    const report = json<BackupReport>(bad);
    expect(report.ok).toBe(false);
    const status = Object.fromEntries(report.workspaces.map((w) => [w.workspaceId, w.status]));
    expect(status[WS.prot]).toBe('stale');
    expect(status[WS.loose]).toBe('unprotected');
    // ws_inv_fresh: pending while its schedule is younger than 1 min, missing after (the test may run either side of that).
    expect(['pending', 'missing']).toContain(status[WS.fresh]);
    expect(report.totals).toMatchObject({ workspaces: 3, protected: 2 });
  });

  it('schedule create-report: each run posts the report to the webhook and keeps it as its result', async () => {
    const created = await rigsnap(['schedule', 'create-report', '--every', '24h', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(json<{ scheduleId: string; every: string; since: string }>(created)).toMatchObject({ scheduleId: 'rigsnap-report', every: '24h', since: '24h' });
    const handle = temporal.client.schedule.getHandle(scheduleIds.report());
    const desc = await handle.describe();
    expect(desc.action).toMatchObject({ workflowType: WORKFLOW_TYPES.report, args: [{ since: '24h', rpo: '26h', notify: true }] });

    const before = receiver!.received.length;
    await handle.trigger();
    let workflowId = '';
    await eventually(
      async () => {
        const d = await handle.describe();
        workflowId = d.info.recentActions.at(-1)?.action.workflow.workflowId ?? '';
        return workflowId !== '';
      },
      20_000,
      'the scheduled report to start',
    );
    const result = (await temporal.client.workflow.getHandle(workflowId).result()) as ReportBackupsResult;
    expect(result.notified).toBe(true);
    expect(Object.fromEntries(result.workspaces.map((w) => [w.workspaceId, w.status]))).toMatchObject({
      [WS.prot]: 'ok',
      [WS.fresh]: 'pending',
      [WS.loose]: 'unprotected',
    });
    await eventually(() => receiver!.received.length > before, 10_000, 'the report on the webhook');
    const sent = receiver!.received.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ workflowType: WORKFLOW_TYPES.report, errorType: null });
    expect(sent[0]!.report).toEqual(Object.fromEntries(Object.entries(result).filter(([k]) => k !== 'notified')));
    expect(String(sent[0]!.text)).toContain('2 of 3 workspaces protected');
  });

  it('counts a failed backup run of the period', async () => {
    emu.forbidden.add(WS.prot);
    try {
      const f = await workflowFailure(
        temporal.client.workflow.execute(WORKFLOW_TYPES.backup, { taskQueue, workflowId: testWorkflowId('backup'), args: [{ workspaceId: WS.prot }] }),
      );
      expect(f.type).toBe('Unauthorized');
    } finally {
      emu.forbidden.delete(WS.prot);
    }
    const inv = await rig.inventory({ since: '1h' });
    expect(inv.workspaces.find((w) => w.workspaceId === WS.prot)!.runs).toEqual({ completed: 0, failed: 1, skipped: 0 });
    const r = await rigsnap(['report', '--format', 'json']);
    const report = json<BackupReport>(r);
    expect(report.workspaces.find((w) => w.workspaceId === WS.prot)).toMatchObject({ status: 'failed', failed: 1 });
    expect(r.code).toBe(0); // a failed run with a backup within the RPO: attention, not a miss
  });
});

describe('a typo in schedule create and fleet', () => {
  it('is refused (exit 2, nothing created) with the nearest known ids; --allow-missing creates it anyway', async () => {
    const typo = await rigsnap(['schedule', 'create', 'ws_inv_prto', '--keep-last', '7']);
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toContain('ws_inv_prto does not exist in Rigbox (did you mean ws_inv_prot?)');
    expect(typo.stderr).toContain('--allow-missing');
    await expect(temporal.client.schedule.getHandle('rigsnap-backup-ws_inv_prto').describe()).rejects.toThrow();

    const fleet = await rigsnap(['fleet', 'backup', WS.loose, 'ws_inv_lose']);
    expect(fleet.code, fleet.stderr).toBe(2);
    expect(fleet.stderr).toContain('ws_inv_lose does not exist in Rigbox (did you mean ws_inv_loose?)');
    expect(fleet.stderr).toContain('Nothing was started');

    const forced = await rigsnap(['schedule', 'create', 'ws_inv_prto', '--keep-last', '7', '--paused', '--allow-missing', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    await rig.schedules.delete('ws_inv_prto');

    const real = await rigsnap(['fleet', 'schedule', 'create', 'inv-check', WS.loose, '--paused', '--json']);
    expect(real.code, real.stderr).toBe(0);
    await rig.schedules.delete('rigsnap-fleet-inv-check');
  });
});

describe('orphans', () => {
  it('prune --orphans --dry-run lists the orphans older than 30d and deletes nothing', async () => {
    const r = await rigsnap(['prune', '--orphans', '--older-than', '30d', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { result } = json<{ result: PruneOrphansResult }>(r);
    expect(result).toMatchObject({ dryRun: true, selectedCount: 2, selectedBytes: (19 + 23) * MIB, deletedCount: 0, tooRecent: 1, held: 0 });
    expect(result.selected.map((s) => s.name)).toEqual(['daily-backup-older', 'daily-backup-old']);
    expect(emu.state.snapshotsOf(WS.gone)).toHaveLength(3);
  });

  it('without a terminal and without --yes it refuses (exit 2) after the dry run, and deletes nothing', async () => {
    const r = await rigsnap(['prune', '--orphans']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('dry run: would delete 2 orphan snapshots older than 30d, freeing 42.0 MiB');
    expect(emu.state.snapshotsOf(WS.gone)).toHaveLength(3);
  });

  it('with --yes deletes exactly the old orphans; the young one and every live workspace’s snapshots stay', async () => {
    const before = emu.state
      .snapshotsOf()
      .filter((s) => s.workspace_id !== WS.gone)
      .map((s) => s.id);
    const r = await rigsnap(['prune', '--orphans', '--older-than', '30d', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deleted 2 orphan snapshots older than 30d');
    expect(emu.state.snapshotsOf(WS.gone).map((s) => s.name)).toEqual(['daily-backup-young']);
    expect(
      emu.state
        .snapshotsOf()
        .filter((s) => s.workspace_id !== WS.gone)
        .map((s) => s.id),
    ).toEqual(before);
    const inv: InventoryWorkspacesResult = await rig.inventory();
    expect(inv.orphans).toMatchObject({ count: 1, bytes: 29 * MIB });
  });

  it('refuses a workspace or a prefix with --orphans, and --older-than without it (exit 2, nothing started)', async () => {
    for (const args of [
      ['prune', '--orphans', WS.prot],
      ['prune', '--orphans', '--prefix', 'daily-backup-'],
      ['prune', WS.prot, '--prefix', 'daily-backup-', '--keep-last', '1', '--older-than', '1d'],
      ['prune', '--orphans', '--older-than', 'a month'],
    ]) {
      const r = await rigsnap(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('leaves an orphan its workspace’s entity still holds: a deleted workspace’s hold outlives it', async () => {
    const ws = 'ws_inv_heldgone';
    emu.state.upsertWorkspace({ id: ws, status: 'running', files: { 'f.txt': ws } });
    const kept = snapshotAgo(ws, 'evidence', 60 * DAY, 5 * MIB);
    const loose = snapshotAgo(ws, 'daily-backup-stale', 60 * DAY, 3 * MIB);
    await rig.hold(ws, kept, { reason: 'legal hold' });
    emu.state.deleteWorkspace(ws);
    const dry = await rigsnap(['prune', '--orphans', '--older-than', '30d', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = json<{ result: PruneOrphansResult }>(dry).result;
    expect(planned.selected.map((s) => s.id)).toEqual([loose]);
    expect(planned.held).toBe(1);
    const r = await rigsnap(['prune', '--orphans', '--older-than', '30d', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(emu.state.snapshotsOf(ws).map((s) => s.id)).toEqual([kept]);
  });
});
