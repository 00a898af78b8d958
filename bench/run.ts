#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { WORKFLOW_TYPES } from '../contract/index.js';
import {
  workflowIds,
  type BackupFleetResult,
  type SnapshotWorkspaceResult,
} from '../domain/index.js';
import type { CallRecord } from '../emulator/index.js';
import { projectRoot } from '../dev/temporal-server.js';
import { BENCH_TOKEN, percentile, startBenchStack, type BenchStack, type WorkerProcess } from './stack.js';

/**
 * `npm run bench`: what a user choosing between rigsnap and a cron script would want to know,
 * measured side by side in one run on the local stack (dev server + emulator with fixed delays).
 * Every figure is a ratio or a count; goals are reported, never asserted.
 */

interface Sizes {
  snapshotRuns: number;
  snapshotDelays: { stopMs: number; snapshotMs: number; startMs: number };
  stopDurationsMs: number[];
  fleetSize: number;
  fleetConcurrency: number;
  fleetDelays: { stopMs: number; snapshotMs: number; startMs: number };
  sequentialSample: number;
}

const FULL: Sizes = {
  snapshotRuns: 20,
  snapshotDelays: { stopMs: 1500, snapshotMs: 1000, startMs: 1500 },
  stopDurationsMs: [1_000, 10_000, 30_000, 60_000],
  fleetSize: 1000,
  fleetConcurrency: 50,
  fleetDelays: { stopMs: 1000, snapshotMs: 500, startMs: 1000 },
  sequentialSample: 20,
};

const QUICK: Sizes = {
  snapshotRuns: 5,
  snapshotDelays: { stopMs: 500, snapshotMs: 300, startMs: 500 },
  stopDurationsMs: [1_000, 3_000],
  fleetSize: 100,
  fleetConcurrency: 20,
  fleetDelays: { stopMs: 500, snapshotMs: 200, startMs: 500 },
  sequentialSample: 5,
};

/** Rigbox call latency the emulator adds to every request (counted against rigsnap). */
const LATENCY_MS = 5;
/** The docs' python loop sleeps 2 s between status checks. */
const DOCS_POLL_MS = 2000;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  figure: string;
  measured: string;
  goal: string;
  met: boolean | null;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function setDelays(stack: BenchStack, d: { stopMs: number; snapshotMs: number; startMs: number }) {
  Object.assign(stack.emu.delays, { stopMs: d.stopMs, startMs: d.startMs, snapshotMs: d.snapshotMs, restoreMs: d.snapshotMs, latencyMs: LATENCY_MS });
}

async function snapshot(stack: BenchStack, workspaceId: string, name: string, restart: 'previous' | 'always' | 'never' = 'previous') {
  const workflowId = workflowIds.snapshot(workspaceId, name, `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
  const handle = await stack.client.workflow.start(WORKFLOW_TYPES.snapshot, {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ workspaceId, name, restart }],
  });
  const result = (await handle.result()) as SnapshotWorkspaceResult;
  return { handle, result, workflowId };
}

async function historyLength(stack: BenchStack, workflowId: string, runId?: string): Promise<number> {
  return (await stack.client.workflow.getHandle(workflowId, runId).describe()).historyLength;
}

/** 1. One snapshot workflow end to end against the emulator's intrinsic time. */
async function benchSnapshot(stack: BenchStack, s: Sizes) {
  setDelays(stack, s.snapshotDelays);
  stack.emu.state.upsertWorkspace({ id: 'ws_bench_one', status: 'running', files: { a: 'x' } });
  const intrinsic = s.snapshotDelays.stopMs + s.snapshotDelays.snapshotMs + s.snapshotDelays.startMs;
  const ratios: number[] = [];
  for (let i = 0; i < s.snapshotRuns; i++) {
    const { ms } = await timed(() => snapshot(stack, 'ws_bench_one', `bench-${i}`));
    ratios.push(ms / intrinsic);
  }
  log(`snapshot: ratios ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
  return { intrinsicMs: intrinsic, runs: ratios.length, median: round(percentile(ratios, 50)), p95: round(percentile(ratios, 95)), first: round(ratios[0]!) };
}

/** Calls of one stop: the GETs from the POST to the first GET that saw "stopped", and the detection delay. */
function analyseStop(calls: CallRecord[], workspaceId: string, endsAt: number) {
  const mine = calls.filter((c) => c.workspaceId === workspaceId);
  const post = mine.find((c) => c.method === 'POST' && c.route.endsWith('/stop') && c.outcome === 'ok');
  if (!post) throw new Error(`no stop call seen for ${workspaceId}`);
  const gets = mine.filter((c) => c.method === 'GET' && c.route === '/api/workspaces/:id' && c.at >= post.at);
  const seenIdx = gets.findIndex((c) => c.workspaceStatus === 'stopped');
  if (seenIdx < 0) throw new Error(`no GET saw ${workspaceId} stopped`);
  return { getsAfterStop: seenIdx + 1, detectionDelayMs: Math.max(0, gets[seenIdx]!.at - endsAt), elapsedMs: endsAt - post.at };
}

/** 2 and 4. Await-stopped: calls and detection delay per stop duration, cold and warm; history size. */
async function benchAwaitStopped(stack: BenchStack, s: Sizes) {
  const out: Array<{ stopMs: number; worker: 'cold' | 'warm'; getsAfterStop: number; detectionDelayMs: number; historyEvents: number }> = [];
  for (const stopMs of s.stopDurationsMs) {
    // A fresh worker knows nothing of how long stops take (cold); its second stop of the same length is warm.
    await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
    await stack.startWorker();
    Object.assign(stack.emu.delays, { stopMs, startMs: 200, snapshotMs: 100, latencyMs: LATENCY_MS });
    for (const phase of ['cold', 'warm'] as const) {
      const ws = `ws_bench_stop_${stopMs}_${phase}`;
      stack.emu.state.upsertWorkspace({ id: ws, status: 'running' });
      const since = stack.emu.calls.length;
      const { workflowId } = await snapshot(stack, ws, `stop-${stopMs}`, 'never');
      const endsAt = stack.emu.state.data.workspaces[ws]!.lastSettledAt.stopped!;
      const a = analyseStop(stack.emu.calls.slice(since), ws, endsAt);
      const historyEvents = await historyLength(stack, workflowId);
      out.push({ stopMs, worker: phase, getsAfterStop: a.getsAfterStop, detectionDelayMs: Math.round(a.detectionDelayMs), historyEvents });
      log(`stop ${stopMs} ms (${phase}): ${a.getsAfterStop} GETs, seen ${Math.round(a.detectionDelayMs)} ms late, ${historyEvents} events`);
    }
  }
  return out;
}

/** The docs' approach: a sequential script doing stop → poll until stopped → snapshot → start per workspace. */
async function docsScript(baseUrl: string, ids: string[]): Promise<number> {
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`docs script: ${method} ${url} answered ${res.status}`);
    return res.status === 204 ? null : ((await res.json()));
  };
  const t0 = performance.now();
  for (const id of ids) {
    await call('POST', `${baseUrl}/workspaces/${id}/stop`);
    for (;;) {
      const r = (await call('GET', `${baseUrl}/workspaces/${id}`)) as { status: string };
      if (r.status === 'stopped') break;
      await sleep(DOCS_POLL_MS);
    }
    await call('POST', `${baseUrl}/workspaces/${id}/snapshots`, { name: 'daily-backup-docs' });
    await call('POST', `${baseUrl}/workspaces/${id}/start`);
  }
  return performance.now() - t0;
}

/** 3 and 5. Fleet: backupFleet against the ideal fan-out and the docs' sequential script; worker peak RSS; largest history. */
async function benchFleet(stack: BenchStack, s: Sizes) {
  setDelays(stack, s.fleetDelays);
  const intrinsic = s.fleetDelays.stopMs + s.fleetDelays.snapshotMs + s.fleetDelays.startMs;
  const ids = Array.from({ length: s.fleetSize }, (_, i) => `ws_fleet_${String(i).padStart(5, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running', files: { id } });
  const sample = Array.from({ length: s.sequentialSample }, (_, i) => `ws_docs_${i}`);
  for (const id of sample) stack.emu.state.upsertWorkspace({ id, status: 'running' });

  // A fresh worker for the fleet, so its peak memory is the fleet's.
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const worker: WorkerProcess = await stack.startWorker();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, worker.peakRssMiB() ?? 0)), 500);

  const since = stack.emu.calls.length;
  const fleetId = workflowIds.fleetBackup(Date.now().toString(36));
  const { ms: fleetMs, value: result } = await timed(async () =>
    (await stack.client.workflow.execute(WORKFLOW_TYPES['fleet-backup'], {
      taskQueue: stack.taskQueue,
      workflowId: fleetId,
      args: [{ workspaceIds: ids, concurrency: s.fleetConcurrency }],
    })) as BackupFleetResult,
  );
  clearInterval(sampler);
  peak = Math.max(peak, worker.peakRssMiB() ?? 0);
  const fleetCalls = stack.emu.calls.slice(since).filter((c) => c.workspaceId?.startsWith('ws_fleet_')).length;
  log(`fleet: ${result.succeeded}/${result.total} in ${(fleetMs / 1000).toFixed(1)} s over ${result.runs} run(s); peak RSS ${peak.toFixed(0)} MiB`);

  // Largest history: every run of the fleet workflow and every child.
  log('measuring history sizes');
  let largestFleetRun = 0;
  for await (const ex of stack.client.workflow.list({ query: `WorkflowId = '${fleetId}'` })) {
    largestFleetRun = Math.max(largestFleetRun, await historyLength(stack, fleetId, ex.runId));
  }
  let largestChild = 0;
  for (let i = 0; i < ids.length; i += 50) {
    const lengths = await Promise.all(ids.slice(i, i + 50).map((id) => historyLength(stack, workflowIds.fleetChild(fleetId, id))));
    largestChild = Math.max(largestChild, ...lengths);
  }

  log(`running the docs' sequential script on ${sample.length} workspaces`);
  const docsMs = await docsScript(stack.emu.url, sample);
  const perWorkspaceDocsMs = docsMs / sample.length;
  const projectedDocsMs = perWorkspaceDocsMs * ids.length;
  const idealMs = (ids.length / s.fleetConcurrency) * intrinsic;
  log(`docs script: ${sample.length} workspaces in ${(docsMs / 1000).toFixed(1)} s → ${(projectedDocsMs / 1000).toFixed(0)} s projected for ${ids.length}`);
  return {
    workspaces: ids.length,
    concurrency: s.fleetConcurrency,
    succeeded: result.succeeded,
    failed: result.failedCount,
    runs: result.runs,
    wallMs: Math.round(fleetMs),
    idealMs: Math.round(idealMs),
    vsIdeal: round(fleetMs / idealMs),
    docsSampleWorkspaces: sample.length,
    docsSampleMs: Math.round(docsMs),
    docsProjectedMs: Math.round(projectedDocsMs),
    speedupVsDocs: round(projectedDocsMs / fleetMs, 1),
    workflowsPerSecond: round(ids.length / (fleetMs / 1000), 2),
    rigboxCallsPerWorkspace: round(fleetCalls / ids.length, 2),
    largestFleetRunEvents: largestFleetRun,
    largestChildEvents: largestChild,
    workerPeakRssMiB: Math.round(peak),
  };
}

function markdown(rows: Row[]): string {
  const lines = ['| figure | measured | goal | met |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.figure} | ${r.measured} | ${r.goal} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

async function main() {
  const program = new Command()
    .name('bench')
    .description('Benchmarks rigsnap on the local stack and writes bench/results.json')
    .option('--quick', 'a small version that runs in under two minutes')
    .option('--out <file>', 'where to write the results', path.join(projectRoot(), 'bench', 'results.json'))
    .parse();
  const opts = program.opts<{ quick?: boolean; out: string }>();
  const s = opts.quick ? QUICK : FULL;
  const started = Date.now();
  const stack = await startBenchStack({
    emulator: { delays: { latencyMs: LATENCY_MS }, recordCalls: true },
    // The fleet-wide Rigbox rate limit is raised so it does not cap the fan-out being measured.
    workerEnv: { RIGSNAP_ACTIVITIES_PER_SECOND: '2000', RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '400' },
    inMemory: true,
    log,
  });
  try {
    await stack.startWorker();
    const one = await benchSnapshot(stack, s);
    const stops = await benchAwaitStopped(stack, s);
    const fleet = await benchFleet(stack, s);

    const rows: Row[] = [
      {
        figure: `1. snapshot workflow end to end ÷ intrinsic ${one.intrinsicMs} ms (median of ${one.runs})`,
        measured: `${one.median}× (p95 ${one.p95}×, first ${one.first}×)`,
        goal: '≤ 1.15×',
        met: one.median <= 1.15,
      },
    ];
    for (const st of stops) {
      const goalDelay = Math.max(250, st.stopMs * 0.2);
      rows.push({
        figure: `2. await-stopped, ${st.stopMs / 1000} s stop, ${st.worker} worker`,
        measured: `${st.getsAfterStop} GETs, seen ${st.detectionDelayMs} ms late`,
        goal: `${st.stopMs === 30_000 ? '≤ 15 GETs; ' : ''}delay ≤ ${goalDelay} ms`,
        met: st.detectionDelayMs <= goalDelay && (st.stopMs !== 30_000 || st.getsAfterStop <= 15),
      });
    }
    for (const st of stops.filter((x) => x.worker === 'cold')) {
      rows.push({ figure: `4. history events, snapshot with a ${st.stopMs / 1000} s stop`, measured: String(st.historyEvents), goal: '≤ 40', met: st.historyEvents <= 40 });
    }
    rows.push(
      {
        figure: `3. fleet of ${fleet.workspaces} at concurrency ${fleet.concurrency} ÷ ideal fan-out (${(fleet.idealMs / 1000).toFixed(1)} s)`,
        measured: `${fleet.vsIdeal}× (${(fleet.wallMs / 1000).toFixed(1)} s, ${fleet.succeeded} ok, ${fleet.failed} failed, ${fleet.runs} run(s))`,
        goal: '≤ 1.5×',
        met: fleet.vsIdeal <= 1.5,
      },
      {
        figure: `3. fleet vs the docs' sequential script (measured on ${fleet.docsSampleWorkspaces}, projected to ${fleet.workspaces})`,
        measured: `${fleet.speedupVsDocs}× faster (${(fleet.docsProjectedMs / 1000).toFixed(0)} s vs ${(fleet.wallMs / 1000).toFixed(1)} s)`,
        goal: '≥ 10×',
        met: fleet.speedupVsDocs >= 10,
      },
      { figure: '3. fleet throughput', measured: `${fleet.workflowsPerSecond} workspaces/s, ${fleet.rigboxCallsPerWorkspace} Rigbox calls per workspace`, goal: '—', met: null },
      {
        figure: '4. largest history in the fleet run (fleet run / child)',
        measured: `${fleet.largestFleetRunEvents} / ${fleet.largestChildEvents} events`,
        goal: '—',
        met: null,
      },
      { figure: '5. worker peak RSS during the fleet run', measured: `${fleet.workerPeakRssMiB} MiB`, goal: '≤ 400 MB', met: fleet.workerPeakRssMiB * 1.048576 <= 400 },
    );

    const results = {
      mode: opts.quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: { sizes: s, emulatorLatencyMs: LATENCY_MS, docsPollMs: DOCS_POLL_MS, activitiesPerSecond: 2000 },
      snapshot: one,
      awaitStopped: stops,
      fleet,
      table: rows,
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\n${markdown(rows)}\n\n(${results.mode} run, ${results.wallSeconds} s; results in ${path.relative(process.cwd(), opts.out)})\n`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
