import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RIGSNAP_METRICS } from '../../worker/metrics.js';
import { connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId } from '../helpers/workflows.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * Two worker processes (dist/worker/main.js) under one Rigbox quota, both saturated: every activity slot
 * holds a stop that never ends and polls the workspace's status as fast as it may. In every one-second
 * window of the run, Rigbox (the emulator) sees at most the quota, from the first call to past the point
 * where a worker with busy activity slots used to drop out of the count (its activity poller unseen for
 * 90 s). Production timing for the quota: the default refresh, join and "recent poller" values.
 */

const QUOTA = 6;
const WORKSPACES = 16;
/** Past the 90 s after which a saturated worker's activity poller is no longer "recent". */
const SATURATED_MS = 110_000;

let temporal: TestTemporal;
let emu: Emulator;
const taskQueue = uniqueTaskQueue('quota');
const workers: WorkerProcess[] = [];
const ids: string[] = [];

beforeAll(async () => {
  temporal = await connectTestTemporal();
  // Stops that outlast the test: each holds an activity slot and polls.
  emu = await startEmulator({ token: 'test-token-7f3a9c1e5b', delays: { stopMs: 3_600_000, startMs: 200, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
  for (let i = 0; i < WORKSPACES; i++) emu.state.upsertWorkspace({ id: `ws_quota_${i}`, status: 'running' });
});

afterAll(async () => {
  await Promise.all(
    ids.map((id) =>
      temporal.client.workflow
        .getHandle(id)
        .terminate('quota test over')
        .catch(() => undefined),
    ),
  );
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await emu?.close();
  await temporal?.close();
});

/**
 * The most arrivals at Rigbox in one second, as a per-second quota counts them (each whole second of the
 * clock). Sliding windows are printed too: on a loaded machine a process stalled for a few hundred ms
 * sends (or takes in) its calls in a burst, more jitter than the limiter's 100 ms allowance covers.
 */
function maxInClockSecond(times: number[]): number {
  const perSecond = new Map<number, number>();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return Math.max(0, ...perSecond.values());
}

/** The most arrivals at Rigbox in any window [t, t + 1 s) that starts at an arrival. */
function maxPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    max = Math.max(max, j - i);
  }
  return max;
}

describe('the Rigbox quota shared by saturated workers', () => {
  it(
    'two workers with every activity slot busy stay within the quota in every second, and each counts two workers',
    async () => {
      const env = {
        TEMPORAL_ADDRESS: temporal.address,
        RIGBOX_API_URL: emu.url,
        RIGSNAP_TASK_QUEUE: taskQueue,
        RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(QUOTA),
        // Few slots, and polls as dense as allowed: each worker wants far more than its share.
        RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '3',
        RIGSNAP_POLL_MIN_MS: '50',
        RIGSNAP_POLL_MAX_MS: '100',
        RIGSNAP_MAX_WAIT_MS: String(30 * 60_000),
        RIGSNAP_LOG_LEVEL: 'INFO',
      };
      // Started together: the case where each used to see nobody and take the whole quota.
      workers.push(...(await Promise.all([startWorkerProcess(env), startWorkerProcess(env)])));
      const t0 = Date.now();
      for (let i = 0; i < WORKSPACES; i++) {
        const id = testWorkflowId(`quota-${i}`);
        ids.push(id);
        await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId: id, args: [{ workspaceId: `ws_quota_${i}`, name: 'q' }] });
      }
      // Both workers saturated: each runs three stops (six workspaces stopping at once).
      await eventually(() => emu.calls.filter((c) => c.route.endsWith('/stop')).length >= 6, 60_000, 'six stops requested');
      await new Promise((r) => setTimeout(r, SATURATED_MS - (Date.now() - t0)));

      const arrivals = emu.arrivals.filter((a) => a.workspaceId?.startsWith('ws_quota_')).map((a) => a.at);
      const max = maxInClockSecond(arrivals);
      const spanS = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
      console.log(
        `quota ${QUOTA}/s: ${arrivals.length} calls over ${spanS.toFixed(1)} s, at most ${max} in a second (${maxPerSecond(arrivals)} in a sliding one)`,
      );
      expect(max).toBeLessThanOrEqual(QUOTA);
      // Saturated: the workers made calls all along (well over half the quota over the run).
      expect(arrivals.length).toBeGreaterThan(0.5 * QUOTA * spanS);
      for (const w of workers) {
        const scrape = await w.scrape();
        expect(scrape.sum(RIGSNAP_METRICS.rigboxRequests)).toBeGreaterThan(0);
        expect(w.output.join('')).toContain('Rigbox quota shared by 2 workers');
      }
    },
    SATURATED_MS + 120_000,
  );
});
