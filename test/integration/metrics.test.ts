import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { isoDate, type BackupWorkspaceResult, type RestoreWorkspaceResult, type SnapshotWorkspaceResult } from '../../domain/index.js';
import { RigsnapClient } from '../../client/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RIGSNAP_METRICS } from '../../worker/metrics.js';
import { connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, testWorkflowId, workflowFailure } from '../helpers/workflows.js';
import { alertRules, dashboardTargets, metricNames, startPrometheus, tool, type PrometheusServer } from '../helpers/prometheus.js';
import { startWorkerProcess, type Scrape, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * rigsnap's metrics on a real worker process (dist/worker/main.js) and the run's dev server: a backup,
 * a failure and the other operations, then a scrape; a worker killed in the middle of an operation and
 * another that finishes it (a replay: nothing counts twice); and the backup gauges restored at start-up
 * from Rigbox and Temporal, before any new backup.
 */

const M = RIGSNAP_METRICS;
let temporal: TestTemporal;
let emu: Emulator;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('metrics');
const workers: WorkerProcess[] = [];
const prometheusBinary = tool('prometheus');
let prometheus: PrometheusServer | undefined;
const OK = 'ws_met_ok';
const FAIL = 'ws_met_fail';
const SNAP = 'ws_met_snap';
const RESTORE = 'ws_met_restore';

/** Environment of every worker of this file. */
function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporal.address,
    RIGBOX_API_URL: emu.url,
    RIGSNAP_TASK_QUEUE: taskQueue,
    // The emulator's transitions take 200 ms; polling at the production 250 ms first delay is fine, but
    // a 15 s cap would make the waits in this file needlessly slow on a loaded machine.
    RIGSNAP_POLL_MAX_MS: '500',
    RIGSNAP_SHUTDOWN_GRACE_MS: '2000',
    ...extra,
  };
}

async function startWorker(extra: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = await startWorkerProcess(workerEnv(extra));
  workers.push(w);
  return w;
}

function execute<T>(type: string, input: unknown, id = testWorkflowId(type)): Promise<T> {
  return temporal.client.workflow.execute<(i: unknown) => Promise<T>>(type, { taskQueue, workflowId: id, args: [input] });
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: 'test-token-7f3a9c1e5b', delays: { stopMs: 200, startMs: 200, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
  for (const id of [OK, FAIL, SNAP, RESTORE]) emu.state.upsertWorkspace({ id, status: 'running', files: { 'data.txt': id } });
  // Three older daily backups of OK: a keep-last-2 backup deletes two of them.
  const ok = emu.state.workspace(OK)!;
  for (const d of [3, 2, 1]) {
    const s = emu.state.addSnapshot(ok, `daily-backup-${isoDate(new Date(Date.now() - d * 86_400_000), 'UTC')}`);
    s.created_at = new Date(Date.now() - d * 86_400_000).toISOString();
  }
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
  // OK and FAIL are under protection (paused: the test runs their backups itself).
  for (const workspaceId of [OK, FAIL]) await rig.schedules.create({ workspaceId, paused: true });
});

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  for (const workspaceId of [OK, FAIL]) await rig?.schedules.delete(workspaceId).catch(() => undefined);
  await emu?.close();
  await temporal?.close();
});

describe('metrics of a worker', () => {
  let first: WorkerProcess;
  let backup: BackupWorkspaceResult;
  let failedAt: number;

  it('count each operation once by outcome and error type, even when the cache evicts workflows mid-run', async () => {
    // A cache of 2 for 6 concurrent workflows (3 operations and their locks): workflows are evicted and
    // replayed from history between their tasks, and must not report anything twice.
    first = await startWorker({ RIGSNAP_MAX_CACHED_WORKFLOWS: '2' });
    const restoreTo = emu.state.addSnapshot(emu.state.workspace(RESTORE)!, 'known-good');
    const [b] = await Promise.all([
      execute<BackupWorkspaceResult>(WORKFLOW_TYPES.backup, { workspaceId: OK, retention: { keepLast: 2 } }),
      execute<SnapshotWorkspaceResult>(WORKFLOW_TYPES.snapshot, { workspaceId: SNAP, name: 'before-upgrade' }),
      execute<RestoreWorkspaceResult>(WORKFLOW_TYPES.restore, { workspaceId: RESTORE, snapshotId: restoreTo.id }),
    ]);
    backup = b!;
    emu.forbidden.add(FAIL);
    try {
      const failure = await workflowFailure(execute(WORKFLOW_TYPES.backup, { workspaceId: FAIL }));
      expect(failure.type).toBe('Unauthorized');
    } finally {
      emu.forbidden.delete(FAIL);
    }
    failedAt = Date.now() / 1000;

    const s = await first.scrape();
    expect(s.sum('temporal_sticky_cache_total_forced_eviction'), 'the cache really evicted workflows').toBeGreaterThan(0);
    expect(s.value(M.operations, { operation: 'backup', outcome: 'completed', error_type: 'none' })).toBe(1);
    expect(s.value(M.operations, { operation: 'backup', outcome: 'failed', error_type: 'Unauthorized' })).toBe(1);
    expect(s.value(M.operations, { operation: 'snapshot', outcome: 'completed', error_type: 'none' })).toBe(1);
    expect(s.value(M.operations, { operation: 'restore', outcome: 'completed', error_type: 'none' })).toBe(1);
    expect(s.sum(M.operations)).toBe(4);
    expect(s.value(`${M.duration}_count`, { operation: 'backup' })).toBe(2);
    // Downtime: one stop-to-running per operation that stopped a workspace; at least the emulated stop and start.
    for (const operation of ['backup', 'snapshot', 'restore']) {
      expect(s.value(`${M.downtime}_count`, { operation }), operation).toBe(1);
      expect(s.value(`${M.downtime}_sum`, { operation }), operation).toBeGreaterThanOrEqual(0.4);
      expect(s.value(`${M.downtime}_sum`, { operation })).toBeLessThanOrEqual(s.value(`${M.duration}_sum`, { operation }));
    }
    // Four lock acquisitions: the checks run under the lock, so the backup refused by Rigbox queued too.
    expect(s.value(`${M.lockWait}_count`)).toBe(4);
    expect(s.value(M.pruned)).toBe(2);
    expect(emu.state.snapshotsOf(OK).filter((x) => x.name.startsWith('daily-backup-'))).toHaveLength(2);
    // Backup gauges: the new backup's creation time; the failure at its end (workflow time).
    expect(s.value(M.lastSuccess, { workspace: OK })).toBeCloseTo(seconds(backup.snapshot!.created_at), 3);
    expect(s.value(M.lastFailure, { workspace: FAIL })).toBeGreaterThan(failedAt - 30);
    expect(s.value(M.lastFailure, { workspace: FAIL })).toBeLessThanOrEqual(failedAt + 1);
    // Rigbox requests by route template: never an id in a label.
    expect(s.sum(M.rigboxRequests, { endpoint: 'GET /workspaces/:id', status: '200' })).toBeGreaterThan(0);
    expect(s.sum(M.rigboxRequests, { endpoint: 'POST /workspaces/:id/snapshots', status: '201' })).toBe(2);
    expect(s.sum(M.rigboxRequests, { status: '403' })).toBeGreaterThan(0);
    for (const r of s.find(M.rigboxRequests))
      expect(r.labels.endpoint).toMatch(/^(GET|POST|DELETE) (\/(workspaces|snapshots|:id|:snapshot_id|stop|start|restore))+$/);
    // A held snapshot, present: a restarted worker's tamper check sets its gauge to 0 (issue 20).
    await rig.hold(SNAP, emu.state.snapshotsOf(SNAP)[0]!.id, { reason: 'kept for the metrics test' });
  });

  it('a workflow resumed by another worker after a crash reports its end once, and what it did before the crash never', async () => {
    emu.delays.stopMs = 3000;
    const id = testWorkflowId('snapshot');
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: id,
      args: [{ workspaceId: SNAP, name: 'across-a-crash' }],
    });
    await awaitStep(temporal.client, id, 'stop');
    await first.stop('SIGKILL');
    emu.delays.stopMs = 200;
    const second = await startWorker();
    await handle.result();
    const s = await second.scrape();
    expect(s.value(M.operations, { operation: 'snapshot', outcome: 'completed', error_type: 'none' })).toBe(1);
    expect(s.sum(M.operations)).toBe(1);
    // The lock was waited for on the first worker: the second replayed that part without reporting it.
    expect(s.sum(`${M.lockWait}_count`)).toBe(0);
    // The stop was asked on the first worker, the start on the second: one downtime, measured in workflow time.
    expect(s.value(`${M.downtime}_count`, { operation: 'snapshot' })).toBe(1);
    expect(s.value(`${M.downtime}_sum`, { operation: 'snapshot' })).toBeGreaterThanOrEqual(0.4);
    await second.stop('SIGTERM');
  });

  let third: WorkerProcess;

  it('a restarted worker restores the backup gauges from Rigbox and Temporal before any backup runs', async () => {
    third = await startWorker();
    let s: Scrape | undefined;
    await eventually(
      async () => {
        s = await third.scrape();
        // The inventory first, then the schedules' paused state: both from the worker's first refresh.
        return (
          s.find(M.lastSuccess, { workspace: OK }).length > 0 &&
          s.find(M.lastFailure, { workspace: FAIL }).length > 0 &&
          s.find(M.schedulePaused, { schedule: `rigsnap-backup-${OK}` }).length > 0 &&
          s.find(M.heldMissing, { workspace: SNAP }).length > 0
        );
      },
      30_000,
      'the restored gauges',
    );
    expect(s!.sum(M.operations), 'no operation ran on this worker').toBe(0);
    // The newest backup in Rigbox, not a reset value that would fire the RPO alert.
    expect(s!.value(M.lastSuccess, { workspace: OK })).toBeCloseTo(seconds(backup.snapshot!.created_at), 3);
    // Protected but never backed up: 0, so "no backup within the RPO" fires for it too.
    expect(s!.value(M.lastSuccess, { workspace: FAIL })).toBe(0);
    // The failed run, from visibility (its close time).
    expect(s!.value(M.lastFailure, { workspace: FAIL })).toBeGreaterThan(failedAt - 30);
    expect(s!.value(M.lastFailure, { workspace: FAIL })).toBeLessThanOrEqual(failedAt + 1);
    expect(s!.find(M.lastFailure, { workspace: OK })).toEqual([]);
    expect(s!.value(M.snapshots, { workspace: OK })).toBe(2);
    expect(s!.value(M.snapshotBytes, { workspace: OK })).toBeGreaterThan(0);
    expect(s!.value(M.schedulePaused, { schedule: `rigsnap-backup-${OK}`, reason: 'manual' })).toBe(1);
    expect(s!.value(M.heldMissing, { workspace: SNAP })).toBe(0);
  });

  it('exports every metric the shipped alerts and dashboard use (scraped after a backup)', async () => {
    await execute<BackupWorkspaceResult>(WORKFLOW_TYPES.backup, { workspaceId: OK, retention: { keepLast: 2 } });
    const exported = (await third.scrape()).names();
    const used = new Set<string>();
    for (const g of alertRules().groups) for (const r of g.rules) for (const n of metricNames(r.expr)) used.add(n);
    for (const t of dashboardTargets()) for (const n of metricNames(t.expr)) used.add(n);
    // Recording rules (rigsnap:…) are Prometheus's; `up` is the scrape's.
    const fromWorker = [...used].filter((n) => !n.includes(':') && n !== 'up').sort();
    expect(fromWorker.length).toBeGreaterThanOrEqual(10);
    expect(
      fromWorker.filter((n) => !exported.has(n)),
      'used but not exported',
    ).toEqual([]);
  });

  it('follow every change of the snapshots: a delete brings rigsnap_snapshots and the size down, without an audit or a restart', async () => {
    const before = emu.state.snapshotsOf(OK);
    const oldest = before.at(-1)!;
    await execute(WORKFLOW_TYPES.delete, { workspaceId: OK, snapshotId: oldest.id });
    const left = emu.state.snapshotsOf(OK);
    expect(left).toHaveLength(before.length - 1);
    let s: Scrape | undefined;
    await eventually(
      async () => {
        s = await third.scrape();
        return s.find(M.snapshots, { workspace: OK })[0]?.value === left.length;
      },
      15_000,
      'the snapshot gauge to follow the delete',
    );
    expect(s!.value(M.snapshotBytes, { workspace: OK })).toBe(left.reduce((sum, x) => sum + x.size_bytes, 0));
  });

  (prometheusBinary ? it : it.skip)(
    'on a real Prometheus with the shipped rules, a failed backup fires RigsnapLastBackupFailed; every dashboard query evaluates',
    async () => {
      // Scraping and evaluating every second (the shipped config: 15 s and 30 s) so the test waits seconds, not minutes.
      prometheus = await startPrometheus(prometheusBinary!, [`127.0.0.1:${third.metricsPort}`], { scrape: '1s', evaluation: '1s' });
      const p = prometheus;
      const firing = async (workspace: string) =>
        (await p.alerts()).some((a) => a.labels.alertname === 'RigsnapLastBackupFailed' && a.labels.workspace === workspace && a.state === 'firing');
      // FAIL's gauges were restored at start-up: a failed run and no good backup.
      await eventually(() => firing(FAIL), 30_000, 'RigsnapLastBackupFailed for the workspace whose backup failed before the restart');
      expect(await firing(OK)).toBe(false);

      for (const t of dashboardTargets()) {
        const r = await p.query(t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h'));
        expect(r.status, `${t.panel}: ${t.expr}: ${r.error ?? ''}`).toBe('success');
      }
      const age = await p.query('rigsnap:backup_age_seconds');
      expect(age.data!.result.map((x) => x.metric.workspace)).toEqual(expect.arrayContaining([OK, FAIL]));

      emu.forbidden.add(OK);
      try {
        const failure = await workflowFailure(execute(WORKFLOW_TYPES.backup, { workspaceId: OK }));
        expect(failure.type).toBe('Unauthorized');
      } finally {
        emu.forbidden.delete(OK);
      }
      await eventually(() => firing(OK), 30_000, 'RigsnapLastBackupFailed for the workspace whose backup just failed');
    },
  );
});
