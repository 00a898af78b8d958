import { DefaultLogger, Runtime } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { routeTemplate } from '../../activities/rigbox-routes.js';
import { HISTOGRAM_BUCKETS, RIGSNAP_METRICS as M, ReportsSeen, RigsnapMetrics, prometheusTelemetry } from '../../worker/metrics.js';
import { Scrape, freePort, parsePrometheusText } from '../helpers/worker-process.js';

/**
 * The worker-side metrics on the SDK runtime's real Prometheus exporter (this test file is its own
 * process, so it installs a runtime with metrics): names as exported, gauges that only move forward,
 * paused schedules, and what an audit sets.
 */

let metrics: RigsnapMetrics;
let url: string;
const scrape = async () => new Scrape(parsePrometheusText(await (await fetch(url)).text()));

beforeAll(async () => {
  const port = await freePort();
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: prometheusTelemetry({ RIGSNAP_METRICS_HOST: '127.0.0.1', RIGSNAP_METRICS_PORT: port }),
  });
  url = `http://127.0.0.1:${port}/metrics`;
  metrics = new RigsnapMetrics(Runtime.instance().metricMeter);
});

describe('RigsnapMetrics on the runtime’s Prometheus endpoint', () => {
  it('exports the names as given (no temporal_ prefix, no unit suffix) with rigsnap’s buckets in seconds', async () => {
    metrics.operationEnded({ operation: 'backup', outcome: 'completed', errorType: 'none', durationSeconds: 42 });
    metrics.downtime('backup', 7.5);
    metrics.lockWait(0.1);
    metrics.pruned(3);
    metrics.rigboxRequest('GET /workspaces/:id', '200');
    const s = await scrape();
    expect(s.value(M.operations, { operation: 'backup', outcome: 'completed', error_type: 'none' })).toBe(1);
    expect(s.value(`${M.duration}_sum`, { operation: 'backup' })).toBe(42);
    const buckets = s.find(`${M.downtime}_bucket`, { operation: 'backup' }).map((b) => b.labels.le);
    expect(buckets).toEqual([...HISTOGRAM_BUCKETS[M.downtime]!.map(String), '+Inf']);
    expect(s.value(`${M.downtime}_bucket`, { operation: 'backup', le: '5' })).toBe(0);
    expect(s.value(`${M.downtime}_bucket`, { operation: 'backup', le: '10' })).toBe(1);
    expect(s.value(`${M.lockWait}_count`)).toBe(1);
    expect(s.value(M.pruned)).toBe(3);
    expect(s.value(M.rigboxRequests, { endpoint: 'GET /workspaces/:id', status: '200' })).toBe(1);
    expect([...s.names()].filter((n) => n.startsWith('temporal_rigsnap'))).toEqual([]);
  });

  it('moves the backup timestamps only forward, whoever reports them and in whatever order', async () => {
    metrics.backupSucceeded('ws_a', 2000);
    metrics.backupSucceeded('ws_a', 1000); // an older report (an audit's view, a late restoration)
    metrics.backupSucceeded('ws_b', 0); // protected, never backed up
    metrics.backupFailed('ws_a', 1500);
    metrics.backupFailed('ws_a', 1400);
    const s = await scrape();
    expect(s.value(M.lastSuccess, { workspace: 'ws_a' })).toBe(2000);
    expect(s.value(M.lastSuccess, { workspace: 'ws_b' })).toBe(0);
    expect(s.value(M.lastFailure, { workspace: 'ws_a' })).toBe(1500);
  });

  it('tells a schedule paused by a failed run from one paused by hand, and zeroes deleted ones', async () => {
    metrics.schedules([
      { scheduleId: 'rigsnap-backup-ws_a', paused: true, note: 'paused due to workflow failure: rigsnap-backup-ws_a-2026: boom' },
      { scheduleId: 'rigsnap-backup-ws_b', paused: true, note: 'migration until Friday' },
      { scheduleId: 'rigsnap-backup-ws_c', paused: false, note: null },
    ]);
    let s = await scrape();
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_a', reason: 'failure' })).toBe(1);
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_b', reason: 'manual' })).toBe(1);
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_c', reason: 'manual' })).toBe(0);
    // ws_a unpaused by hand, ws_b deleted.
    metrics.schedules([
      { scheduleId: 'rigsnap-backup-ws_a', paused: false, note: 'unpaused with rigsnap' },
      { scheduleId: 'rigsnap-backup-ws_c', paused: false, note: null },
    ]);
    s = await scrape();
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_a', reason: 'failure' })).toBe(0);
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_a', reason: 'manual' })).toBe(0);
    expect(s.value(M.schedulePaused, { schedule: 'rigsnap-backup-ws_b', reason: 'manual' })).toBe(0);
  });

  it('sets the backup gauges and snapshot inventory from an audit', async () => {
    const snap = (id: string, at: string) => ({ id, workspace_id: 'ws_x', name: 'daily-backup-x', size_bytes: 5, created_at: at });
    metrics.audited({
      workspaces: [
        {
          workspaceId: 'ws_x',
          verdict: 'failed',
          schedules: [],
          paused: false,
          namePrefixes: ['daily-backup-'],
          newestBackup: snap('snap_1', '2026-04-07T00:00:00Z'),
          ageSeconds: 1,
          lastRunFailed: true,
          lastRun: { workflowId: 'w', status: 'failed', closedAt: '2026-04-07T01:00:00Z' },
          snapshotCount: 4,
          snapshotBytes: 20,
        },
        {
          workspaceId: 'ws_y',
          verdict: 'missing',
          schedules: [],
          paused: false,
          namePrefixes: ['daily-backup-'],
          newestBackup: null,
          ageSeconds: null,
          lastRunFailed: null,
          lastRun: null,
          snapshotCount: 0,
          snapshotBytes: 0,
        },
      ],
      unprotected: [{ workspaceId: 'ws_u', snapshotCount: 2, snapshotBytes: 9, newestSnapshot: null }],
    });
    const s = await scrape();
    expect(s.value(M.lastSuccess, { workspace: 'ws_x' })).toBe(Date.parse('2026-04-07T00:00:00Z') / 1000);
    expect(s.value(M.lastFailure, { workspace: 'ws_x' })).toBe(Date.parse('2026-04-07T01:00:00Z') / 1000);
    expect(s.value(M.lastSuccess, { workspace: 'ws_y' })).toBe(0);
    expect(s.find(M.lastSuccess, { workspace: 'ws_u' })).toEqual([]);
    expect(s.value(M.snapshots, { workspace: 'ws_u' })).toBe(2);
    expect(s.value(M.snapshotBytes, { workspace: 'ws_x' })).toBe(20);
  });
});

describe('the sink counts each report of a run once', () => {
  /** The worker's lockWait sink, as the SDK calls it (only the run id of the workflow info matters). */
  const lockWaitSink = (m: RigsnapMetrics) => {
    const entry = m.sinks().rigsnapMetrics.lockWait;
    return async (info: { runId: string }, seconds: number, requestId: string) => {
      await entry.fn(info as Parameters<typeof entry.fn>[0], seconds, requestId);
    };
  };

  it('a workflow task run again reports the same lock wait with other figures: counted once; another request or run counts', async () => {
    const before = (await scrape()).value(`${M.lockWait}_count`) ?? 0;
    const sink = lockWaitSink(metrics);
    await sink({ runId: 'run-a' }, 0.5, 'wf/run-a/1');
    await sink({ runId: 'run-a' }, 10.5, 'wf/run-a/1'); // the task's second run, later
    await sink({ runId: 'run-a' }, 0.2, 'wf/run-a/2'); // a second acquisition of the same run (a checkpoint's rollback)
    await sink({ runId: 'run-b' }, 0.3, 'wf/run-a/1'); // another run
    expect((await scrape()).value(`${M.lockWait}_count`)).toBe(before + 3);
  });

  it('remembers a bounded number of reports, forgetting the oldest', () => {
    const seen = new ReportsSeen(2);
    expect(seen.first('r', 'lockWait', '1')).toBe(true);
    expect(seen.first('r', 'lockWait', '1')).toBe(false);
    expect(seen.first('r', 'operationEnded')).toBe(true);
    expect(seen.first('r', 'pruned', 'round 1')).toBe(true); // the third: the first is forgotten
    expect(seen.first('r', 'lockWait', '1')).toBe(true);
    expect(seen.first('r', 'pruned', 'round 1')).toBe(false);
  });
});

describe('routeTemplate', () => {
  it.each([
    ['GET', 'workspaces/ws_a', 'GET /workspaces/:id'],
    ['POST', 'workspaces/ws_a/stop', 'POST /workspaces/:id/stop'],
    ['GET', 'workspaces/ws_a/snapshots', 'GET /workspaces/:id/snapshots'],
    ['POST', 'workspaces/ws_a/snapshots/snap_1/restore', 'POST /workspaces/:id/snapshots/:snapshot_id/restore'],
    ['DELETE', 'workspaces/ws_a/snapshots/snap_1', 'DELETE /workspaces/:id/snapshots/:snapshot_id'],
    ['GET', 'snapshots', 'GET /snapshots'],
  ])('%s %s → %s', (method, path, route) => {
    expect(routeTemplate(method, path)).toBe(route);
  });
});
