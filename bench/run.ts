#!/usr/bin/env node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { WORKFLOW_TYPES } from '../contract/index.js';
import { workflowIds, type BackupFleetResult, type SnapshotWorkspaceResult } from '../domain/index.js';
import type { CallRecord } from '../emulator/index.js';
import { projectRoot } from '../dev/temporal-server.js';
import { actionsPerBackup, type BackupActions } from './actions.js';
import { benchCliStartup } from './cli-startup.js';
import { benchFairness, benchInteractive } from './contention.js';
import { benchGroupDowntime } from './group.js';
import { lockCostPerBackup, type ProtocolCost } from './lock-cost.js';
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
  /** Workspaces of the fleet run under a tight quota. */
  quotaFleetSize: number;
  /** The quota of the quota row: well under what the fleet would call without it. */
  tightQuota: number;
  /** Workflows created to measure what one costs. */
  instantiations: number;
  /** Also measure a backup's actions at realistic Rigbox timings (a 30 s stop, a 60 s copy, a 30 s start: 2 min). */
  realisticActions: boolean;
  /** Backups in sequence on one workspace, per lock protocol (entity, old lock): the first, then the steady state. */
  lockCostBackups: number;
}

const FULL: Sizes = {
  snapshotRuns: 20,
  snapshotDelays: { stopMs: 1500, snapshotMs: 1000, startMs: 1500 },
  stopDurationsMs: [1_000, 10_000, 30_000, 60_000],
  fleetSize: 1000,
  fleetConcurrency: 50,
  fleetDelays: { stopMs: 1000, snapshotMs: 500, startMs: 1000 },
  sequentialSample: 20,
  quotaFleetSize: 100,
  tightQuota: 40,
  instantiations: 300,
  realisticActions: true,
  lockCostBackups: 5,
};

const QUICK: Sizes = {
  snapshotRuns: 5,
  snapshotDelays: { stopMs: 500, snapshotMs: 300, startMs: 500 },
  stopDurationsMs: [1_000, 3_000],
  fleetSize: 100,
  fleetConcurrency: 20,
  fleetDelays: { stopMs: 500, snapshotMs: 200, startMs: 500 },
  sequentialSample: 5,
  quotaFleetSize: 20,
  tightQuota: 10,
  instantiations: 50,
  realisticActions: false,
  lockCostBackups: 3,
};

/** The Rigbox quota while the fan-out is measured: high enough not to be what limits it. */
const FAN_OUT_QUOTA = 2000;

/** Rigbox call latency the emulator adds to every request (counted against rigsnap). */
const LATENCY_MS = 5;
/** The docs' python loop sleeps 2 s between status checks. */
const DOCS_POLL_MS = 2000;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time a process has used so far (user + system, all its threads), in ms; Linux /proc. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) / CLOCK_TICKS) * 1000;
}

/** Rigbox calls per operation, by the workflow that asked (X-Rigsnap-Workflow-Id). */
function callsByKind(
  calls: CallRecord[],
  kindOf: (origin: string) => string | undefined,
): Record<string, { operations: number; calls: number; perOperation: number }> {
  const byOrigin = new Map<string, number>();
  for (const c of calls) if (c.origin) byOrigin.set(c.origin, (byOrigin.get(c.origin) ?? 0) + 1);
  const out: Record<string, { operations: number; calls: number; perOperation: number }> = {};
  for (const [origin, n] of byOrigin) {
    const kind = kindOf(origin);
    if (!kind) continue;
    const k = (out[kind] ??= { operations: 0, calls: 0, perOperation: 0 });
    k.operations++;
    k.calls += n;
  }
  for (const k of Object.values(out)) k.perOperation = round(k.calls / k.operations, 2);
  return out;
}

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

/** The dev server's `action` counter, summed: the operations Temporal Cloud bills as Actions. */
async function temporalActions(stack: BenchStack): Promise<number | undefined> {
  try {
    const text = await (await fetch(stack.serverMetricsUrl)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^action(?:\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
      if (m) sum += Number(m[1]);
    }
    return sum;
  } catch {
    return undefined;
  }
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
    return res.status === 204 ? null : await res.json();
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
/** The fleet's workspaces and the docs script's sample in the emulator, and a fresh worker for the fleet. */
async function prepareFleet(stack: BenchStack, s: Sizes) {
  setDelays(stack, s.fleetDelays);
  const ids = Array.from({ length: s.fleetSize }, (_, i) => `ws_fleet_${String(i).padStart(5, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running', files: { id } });
  const sample = Array.from({ length: s.sequentialSample }, (_, i) => `ws_docs_${i}`);
  for (const id of sample) stack.emu.state.upsertWorkspace({ id, status: 'running' });

  // A fresh worker for the fleet with the default settings (only the quota raised: the fan-out is what
  // is measured), so its peak memory and CPU are the fleet's.
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const worker: WorkerProcess = await stack.startWorker({ RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(FAN_OUT_QUOTA) });
  return { ids, sample, worker };
}

/**
 * Runs the fleet workflow over `ids`: its wall time and result, the CPU each process used (worker,
 * Temporal, this process), Temporal's actions, the worker's peak memory and the Rigbox calls it made.
 */
async function runFleet(stack: BenchStack, s: Sizes, ids: string[], worker: WorkerProcess) {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, worker.peakRssMiB() ?? 0)), 500);

  const since = stack.emu.calls.length;
  const fleetId = workflowIds.fleetBackup(Date.now().toString(36));
  const cpu0 = { worker: cpuMs(worker.pid), server: cpuMs(stack.server.pid), bench: process.cpuUsage() };
  const actions0 = await temporalActions(stack);
  const { ms: fleetMs, value: result } = await timed(
    async () =>
      (await stack.client.workflow
        .execute(WORKFLOW_TYPES['fleet-backup'], {
          taskQueue: stack.taskQueue,
          workflowId: fleetId,
          // A scheduled backup's prune too (nothing old to delete in a fresh fleet: one listing).
          args: [{ workspaceIds: ids, concurrency: s.fleetConcurrency, retention: { keepLast: 7 } }],
        })
        .catch((err: { cause?: { details?: unknown[] } }) => {
          // A fleet with failed workspaces fails with its summary (PartialFailure).
          if (err.cause?.details?.[0]) return err.cause.details[0];
          throw err;
        })) as BackupFleetResult,
  );
  const benchCpu = process.cpuUsage(cpu0.bench);
  const cpu = { worker: cpuMs(worker.pid) - cpu0.worker, server: cpuMs(stack.server.pid) - cpu0.server, bench: (benchCpu.user + benchCpu.system) / 1000 };
  const actions1 = await temporalActions(stack);
  clearInterval(sampler);
  peak = Math.max(peak, worker.peakRssMiB() ?? 0);
  const calls = stack.emu.calls.slice(since).filter((c) => c.workspaceId?.startsWith('ws_fleet_'));
  const actions = actions0 !== undefined && actions1 !== undefined ? actions1 - actions0 : undefined;
  return { fleetId, fleetMs, result, cpu, actions, peakRssMiB: peak, calls };
}

/** The largest history of the fleet: over every run of the fleet workflow, and over every child. */
async function largestHistories(stack: BenchStack, fleetId: string, ids: string[]) {
  let fleetRun = 0;
  for await (const ex of stack.client.workflow.list({ query: `WorkflowId = '${fleetId}'` })) {
    fleetRun = Math.max(fleetRun, await historyLength(stack, fleetId, ex.runId));
  }
  let child = 0;
  for (let i = 0; i < ids.length; i += 50) {
    const lengths = await Promise.all(ids.slice(i, i + 50).map((id) => historyLength(stack, workflowIds.fleetChild(fleetId, id))));
    child = Math.max(child, ...lengths);
  }
  return { fleetRun, child };
}

/** Rigbox calls per workspace by route (`GET /workspaces/{id}`: 3.1). */
function callsPerWorkspaceByRoute(calls: CallRecord[], workspaces: number): Record<string, number> {
  const routeOf = (c: CallRecord) => `${c.method} ${c.route.replace('/api', '')}`;
  return Object.fromEntries([...new Set(calls.map(routeOf))].map((r) => [r, round(calls.filter((c) => routeOf(c) === r).length / workspaces, 2)]));
}

async function benchFleet(stack: BenchStack, s: Sizes) {
  const { ids, sample, worker } = await prepareFleet(stack, s);
  const run = await runFleet(stack, s, ids, worker);
  const { fleetId, fleetMs, result, cpu, calls } = run;
  log(`fleet: ${result.succeeded}/${result.total} in ${(fleetMs / 1000).toFixed(1)} s over ${result.runs} run(s); peak RSS ${run.peakRssMiB.toFixed(0)} MiB`);

  log('measuring history sizes');
  const largest = await largestHistories(stack, fleetId, ids);

  log(`running the docs' sequential script on ${sample.length} workspaces`);
  const docsMs = await docsScript(stack.emu.url, sample);
  const perWorkspaceDocsMs = docsMs / sample.length;
  const projectedDocsMs = perWorkspaceDocsMs * ids.length;
  log(`docs script: ${sample.length} workspaces in ${(docsMs / 1000).toFixed(1)} s → ${(projectedDocsMs / 1000).toFixed(0)} s projected for ${ids.length}`);

  // Ideal: the larger of the fan-out time and the calls the fleet needs at the quota.
  const intrinsic = s.fleetDelays.stopMs + s.fleetDelays.snapshotMs + s.fleetDelays.startMs;
  const idealMs = Math.max((ids.length / s.fleetConcurrency) * intrinsic, (calls.length / FAN_OUT_QUOTA) * 1000);
  // What the machine could do at best: every CPU-millisecond the run took (worker, Temporal, and this
  // process, which is the emulator and the client) spread over all cores.
  const cores = os.availableParallelism();
  const cpuFloorMs = (cpu.worker + cpu.server + cpu.bench) / cores;
  const kindOf = (origin: string) =>
    origin.startsWith(`${fleetId}-`) ? 'scheduled backup (snapshot + prune)' : origin.startsWith('rigsnap-lock-') ? 'workspace lock' : undefined;
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
    rigboxCallsPerWorkspace: round(calls.length / ids.length, 2),
    callsByKind: callsByKind(calls, kindOf),
    callsByRoute: callsPerWorkspaceByRoute(calls, ids.length),
    workerCpuMsPerWorkspace: round(cpu.worker / ids.length, 1),
    serverCpuMsPerWorkspace: round(cpu.server / ids.length, 1),
    benchCpuMsPerWorkspace: round(cpu.bench / ids.length, 1),
    cores,
    cpuFloorMs: Math.round(cpuFloorMs),
    cpuFloorVsIdeal: round(cpuFloorMs / idealMs),
    cpuUsedShare: round(cpuFloorMs / fleetMs),
    temporalActionsPerWorkspace: run.actions !== undefined ? round(run.actions / ids.length, 1) : null,
    largestFleetRunEvents: largest.fleetRun,
    largestChildEvents: largest.child,
    workerPeakRssMiB: Math.round(run.peakRssMiB),
  };
}

/**
 * A fleet under a tight Rigbox quota (one worker): the calls per second the emulator saw, in every
 * one-second window of the run, against the quota; and how much of the quota the run used.
 */
async function benchQuota(stack: BenchStack, s: Sizes, sharedBy = 1) {
  setDelays(stack, s.fleetDelays);
  const quota = s.tightQuota;
  const prefix = sharedBy === 1 ? 'ws_quota_' : `ws_quota${sharedBy}_`;
  const ids = Array.from({ length: s.quotaFleetSize }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running' });
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  // A task queue of its own: the workers just stopped still count as pollers of the bench's queue for
  // up to 90 s, and this worker would take only its share of the quota (worker/quota.ts).
  const taskQueue = `${stack.taskQueue}-quota${sharedBy}`;
  // Several workers: started together, each with few activity slots, so that every one is saturated
  // (all slots busy, no activity polls) for the whole run.
  const env = {
    RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(quota),
    RIGSNAP_TASK_QUEUE: taskQueue,
    ...(sharedBy > 1 ? { RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '8' } : {}),
  };
  await Promise.all(Array.from({ length: sharedBy }, () => stack.startWorker(env)));
  await stack.client.workflow
    .execute(WORKFLOW_TYPES['fleet-backup'], {
      taskQueue,
      workflowId: workflowIds.fleetBackup(`q${sharedBy}${Date.now().toString(36)}`),
      args: [{ workspaceIds: ids, concurrency: 50 }],
    })
    .catch(() => undefined);
  // Time the call arrived at Rigbox, not answered: the quota spaces requests as they are sent.
  const arrivals = stack.emu.arrivals
    .filter((a) => a.workspaceId?.startsWith(prefix))
    .map((a) => a.at)
    .sort((a, b) => a - b);
  let maxPerSecond = 0;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while (arrivals[j]! < arrivals[i]! - 999) j++;
    maxPerSecond = Math.max(maxPerSecond, i - j + 1);
  }
  // As a per-second quota counts: each whole second of the clock.
  const perClockSecond = new Map<number, number>();
  for (const t of arrivals) perClockSecond.set(Math.floor(t / 1000), (perClockSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const maxPerClockSecond = Math.max(0, ...perClockSecond.values());
  const gaps = arrivals
    .slice(1)
    .map((a, i) => a - arrivals[i]!)
    .sort((a, b) => a - b);
  log(
    `quota gaps: min ${gaps[0]?.toFixed(1)} ms, p1 ${gaps[Math.floor(gaps.length / 100)]?.toFixed(1)} ms, p50 ${gaps[Math.floor(gaps.length / 2)]?.toFixed(1)} ms`,
  );
  const spanS = (arrivals.at(-1)! - arrivals[0]!) / 1000;
  // n calls spaced 1/quota apart span (n - 1)/quota seconds: that is full use.
  const usedShare = (arrivals.length - 1) / (spanS * quota);
  log(
    `quota ${quota}/s, ${sharedBy} worker(s): ${arrivals.length} calls over ${spanS.toFixed(1)} s, at most ${maxPerSecond} in a second ` +
      `(${maxPerClockSecond} in a clock second), ${(usedShare * 100).toFixed(0)}% of the quota used`,
  );
  return {
    quota,
    workers: sharedBy,
    workspaces: ids.length,
    calls: arrivals.length,
    spanSeconds: round(spanS, 1),
    maxPerSecond,
    maxPerClockSecond,
    usedShare: round(usedShare),
  };
}

/**
 * The workflow bundle's size, and what creating a workflow costs: replays of a recorded history whose
 * workflow fails at its input check (one workflow task) and of the lock's, on the built bundle.
 */
async function benchBundle(s: Sizes) {
  const bundle = path.join(projectRoot(), 'dist', 'workflow-bundle.js');
  const sizeKiB = Math.round(fs.statSync(bundle).size / 1024);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = path.join(projectRoot(), 'test', 'replay', 'histories');
  const ids = JSON.parse(fs.readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
  const perWorkflow = async (file: string) => {
    const history: unknown = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const n = s.instantiations;
    async function* histories() {
      for (let i = 0; i < n; i++) yield { workflowId: ids[file]!, history };
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: bundle }, replayName: `bench-${file}` }, histories())) {
      if (r.error) throw r.error;
    }
    const cpu = process.cpuUsage(cpu0);
    return { wallMs: round((performance.now() - t0) / n, 2), cpuMs: round((cpu.user + cpu.system) / 1000 / n, 2) };
  };
  const created = await perWorkflow('invalid-input.json');
  const backup = await perWorkflow('backup-with-prune.json');
  log(`bundle ${sizeKiB} KiB; a workflow created and failing at its input check: ${created.cpuMs} ms CPU; a backup replayed: ${backup.cpuMs} ms CPU`);
  return { sizeKiB, instantiationCpuMs: created.cpuMs, backupReplayCpuMs: backup.cpuMs };
}

/** Realistic Rigbox timings: a 30 s stop, a 60 s copy, a 30 s start. */
const REALISTIC = { stopMs: 30_000, snapshotMs: 60_000, startMs: 30_000 };

/**
 * 10. Temporal actions of one scheduled backup (snapshot + prune), at short and (full run) realistic
 * timings; and the same backup under the workspace entity against the old lock, side by side.
 */
/** Row 10's backups on one worker (this build's, or `entry`'s): a workspace's first, a later one, a realistic one. */
async function backupActionsOn(stack: BenchStack, s: Sizes, label: string, entry?: string) {
  const taskQueue = `${stack.taskQueue}-actions-${label}`;
  // Unversioned: a versioned worker's first task queue makes Temporal's deployment workflows register it
  // (continue-as-new, updates, activities) while the backup runs, 30-odd actions that are not the backup's.
  const worker = await stack.startWorker({ RIGSNAP_TASK_QUEUE: taskQueue, RIGSNAP_WORKER_VERSIONING: 'off' }, [], entry);
  const onQueue = { ...stack, taskQueue };
  const report = (what: string, r: BackupActions) => {
    log(`${label}: actions per backup, ${what}: ${r.actions} (${r.heartbeats} heartbeats; ${r.historyActions} in the histories) ${JSON.stringify(r.byType)}`);
    for (const p of r.profile) log(`  ${p.history} · ${p.kind} · ${p.what}${p.count > 1 ? ` ×${p.count}` : ''}`);
  };
  try {
    // The first backup of a workspace also starts its entity; a daily backup finds it running (later).
    const short = await actionsPerBackup(onQueue, s.fleetDelays, `ws_bench_actions_${label}_short`);
    report('short timings, first backup of the workspace', short);
    const steady = await actionsPerBackup(onQueue, s.fleetDelays, `ws_bench_actions_${label}_short`);
    report('short timings, a later backup', steady);
    // Every day after the first week, keep-last 7 deletes one: the entity authorises it and hears it settled.
    const steadyPrune = await actionsPerBackup(onQueue, s.fleetDelays, `ws_bench_actions_${label}_short`, { prunesOne: true });
    report('short timings, a later backup that prunes one', steadyPrune);
    let realistic: BackupActions | null = null;
    let realisticPrune: BackupActions | null = null;
    if (s.realisticActions) {
      await actionsPerBackup(onQueue, s.fleetDelays, `ws_bench_actions_${label}_real`);
      realistic = await actionsPerBackup(onQueue, REALISTIC, `ws_bench_actions_${label}_real`);
      report('realistic timings, a later backup', realistic);
      realisticPrune = await actionsPerBackup(onQueue, REALISTIC, `ws_bench_actions_${label}_real`, { prunesOne: true });
      report('realistic timings, a later backup that prunes one', realisticPrune);
    }
    return { short, steady, steadyPrune, realistic, realisticPrune };
  } finally {
    await worker.stop('SIGTERM');
  }
}

/**
 * 10. Temporal actions of one scheduled backup (snapshot + prune), at short and (full run) realistic
 * timings, this build's and (given `--before <checkout>`, a built checkout) that build's, in one run;
 * and the same backup under the workspace entity against the old lock, side by side.
 */
async function benchActions(stack: BenchStack, s: Sizes, o: { withLockCost: boolean; before?: string }) {
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const before = o.before ? await backupActionsOn(stack, s, 'before', path.resolve(o.before, 'dist', 'worker', 'main.js')) : null;
  const now = await backupActionsOn(stack, s, 'now');
  const lockCost = o.withLockCost ? await lockCostPerBackup(stack, s.fleetDelays, s.lockCostBackups, log) : null;
  return { ...now, before, lockCost };
}

type ActionFigures = Awaited<ReturnType<typeof benchActions>>;

function actionRows(a: ActionFigures): Row[] {
  const t = (x: { stopMs: number; snapshotMs: number; startMs: number }) =>
    `${x.stopMs / 1000} s stop, ${x.snapshotMs / 1000} s copy, ${x.startMs / 1000} s start`;
  const figure = (r: BackupActions | null | undefined) => (r ? `${r.actions} (${r.heartbeats} heartbeats)` : '—');
  const measured = (now: BackupActions, before: BackupActions | null | undefined) => (a.before ? `${figure(before)} → **${figure(now)}**` : figure(now));
  const rows: Row[] = [
    {
      figure: `10. Temporal actions per scheduled backup (snapshot + prune; the server's \`action\` counter${a.before ? '; before → now' : ''}), first backup of a workspace (starts its entity), ${t(a.short.timings)}`,
      measured: measured(a.short, a.before?.short),
      goal: '—',
      met: null,
    },
    {
      figure: `10. Temporal actions per scheduled backup, a later backup (its entity running), ${t(a.steady.timings)}`,
      measured: measured(a.steady, a.before?.steady),
      goal: '—',
      met: null,
    },
    {
      figure: `10. Temporal actions per scheduled backup, a later backup that prunes one (keep-last 7 after a week), ${t(a.steadyPrune.timings)}`,
      measured: measured(a.steadyPrune, a.before?.steadyPrune),
      goal: '—',
      met: null,
    },
  ];
  if (a.realisticPrune)
    rows.push({
      figure: `10. Temporal actions per scheduled backup, a later backup that prunes one, realistic timings (${t(a.realisticPrune.timings)})`,
      measured: measured(a.realisticPrune, a.before?.realisticPrune),
      goal: '≤ 12',
      met: a.realisticPrune.actions <= 12,
    });
  rows.push(
    a.realistic
      ? {
          figure: `10. Temporal actions per scheduled backup, a later backup, realistic timings (${t(a.realistic.timings)})`,
          measured: measured(a.realistic, a.before?.realistic),
          goal: '≤ 12',
          met: a.realistic.actions <= 12,
        }
      : { figure: '10. Temporal actions per scheduled backup, realistic timings', measured: 'full run only (2 min)', goal: '≤ 12', met: null },
  );
  return [...rows, ...(a.lockCost ? lockCostRows(a.lockCost, t(a.lockCost.timings)) : [])];
}

/** Row 10 under the workspace entity against the old lock: backup 1 on a fresh workspace, then the mean of the rest. */
function lockCostRows(c: NonNullable<ActionFigures['lockCost']>, timings: string): Row[] {
  const later = c.backupsPerProtocol === 2 ? 'backup 2' : `mean of backups 2–${c.backupsPerProtocol}`;
  const actions = (p: ProtocolCost) => `${p.first.actions} / ${p.steady.actions}`;
  const events = (p: ProtocolCost) =>
    `${p.first.events} (${p.first.backupEvents} + ${p.first.coordinatorEvents}) / ${p.steady.events} (${p.steady.backupEvents} + ${p.steady.coordinatorEvents})`;
  return [
    {
      figure: `10. Temporal actions per scheduled backup, entity vs old lock (${timings}; backup 1 on a fresh workspace / ${later})`,
      measured: `entity ${actions(c.entity)}; old lock ${actions(c.lock)}`,
      goal: '—',
      met: null,
    },
    {
      figure: `10. history events per scheduled backup, entity vs old lock (the backup's + the entity's added / the old lock's runs; same backups)`,
      measured: `entity ${events(c.entity)}; old lock ${events(c.lock)}`,
      goal: '—',
      met: null,
    },
  ];
}

type InteractiveFigures = Awaited<ReturnType<typeof benchInteractive>>;
type FairnessFigures = Awaited<ReturnType<typeof benchFairness>>;

/** 12 and 13: an on-demand snapshot under a fleet's load, and two teams' shares of the quota. */
function contentionRows(i: InteractiveFigures | null, fairness: FairnessFigures[]): Row[] {
  const rows: Row[] = [];
  if (i)
    rows.push({
      figure: `12. on-demand snapshot started 10 s into a fleet of ${i.fleetSize} at ${i.quota} calls/s ÷ the same snapshot alone (medians of ${i.soloRunsMs.length}, after a warm-up)`,
      measured: `${i.ratio}× (${(i.loadedMs / 1000).toFixed(1)} s loaded, ${(i.soloMs / 1000).toFixed(1)} s solo; fleet at ${i.callsPerSecondUnderLoad} calls/s meanwhile)`,
      goal: '≤ 1.2×',
      met: i.ratio <= 1.2,
    });
  for (const f of fairness)
    rows.push({
      figure: `13. two fleets (weights 1 and 3, ${f.fleetSize} workspaces each, concurrency ${f.concurrency}) at ${f.quota} calls/s: shares of the Rigbox calls over ${f.windowSeconds} s while both run`,
      measured:
        `${f.sharePercentA} % / ${f.sharePercentB} % (${f.callsA} / ${f.callsB} calls); of the turns both teams waited for ` +
        `(${f.contendedPercentOfCalls} % of the calls): ${f.contendedSharePercentA} % / ${f.contendedSharePercentB} %; ` +
        `${f.callsPerSecond} calls/s; fewest free slots: ${f.freeSlots.ActivityWorker?.min ?? '?'} activity, ${f.freeSlots.WorkflowWorker?.min ?? '?'} workflow-task`,
      goal: '25 % / 75 % ± 5',
      met: Math.abs(f.sharePercentA - 25) <= 5,
    });
  return rows;
}

type CliFigures = Awaited<ReturnType<typeof benchCliStartup>>;

/** 11. The CLI's start-up when it needs no server, against a bare `node -e ''`. */
function cliRows(c: CliFigures): Row[] {
  const ratio = (ms: number) => Math.round((ms / c.bareNodeMs) * 10) / 10;
  return [
    {
      figure: `11. \`./rigsnap --help\` / a usage error ÷ a bare \`node -e ''\` (${c.bareNodeMs} ms; medians of ${c.runs})`,
      measured: `${ratio(c.helpMs)}× / ${ratio(c.usageErrorMs)}× (${c.helpMs} ms / ${c.usageErrorMs} ms)`,
      goal: '≤ 3×',
      met: ratio(c.helpMs) <= 3 && ratio(c.usageErrorMs) <= 3,
    },
  ];
}

function markdown(rows: Row[]): string {
  const lines = ['| figure | measured | goal | met |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.figure} | ${r.measured} | ${r.goal} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

type SnapshotFigures = Awaited<ReturnType<typeof benchSnapshot>>;
type StopFigures = Awaited<ReturnType<typeof benchAwaitStopped>>;
type FleetFigures = Awaited<ReturnType<typeof benchFleet>>;
type QuotaFigures = Awaited<ReturnType<typeof benchQuota>>;
type BundleFigures = Awaited<ReturnType<typeof benchBundle>>;

/** Rows 1, 2 and 4: one snapshot end to end, the await-stopped waits, and their histories. */
function snapshotRows(one: SnapshotFigures, stops: StopFigures): Row[] {
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
    rows.push({
      figure: `4. history events, snapshot with a ${st.stopMs / 1000} s stop`,
      measured: String(st.historyEvents),
      goal: '≤ 40',
      met: st.historyEvents <= 40,
    });
  }
  return rows;
}

/** Rows 3 to 6: the fleet against the ideal, the docs script and the machine's floor; its histories, memory, CPU and calls. */
function fleetRows(fleet: FleetFigures): Row[] {
  return [
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
    {
      figure: `3. the machine's floor: all CPU of the run (worker, Temporal, emulator and client) ÷ ${fleet.cores} cores, ÷ the ideal`,
      measured: `${fleet.cpuFloorVsIdeal}× (${(fleet.cpuFloorMs / 1000).toFixed(1)} s; the cores were ${Math.round(fleet.cpuUsedShare * 100)}% busy during the fleet)`,
      goal: '—',
      met: null,
    },
    {
      figure: '3. fleet throughput',
      measured: `${fleet.workflowsPerSecond} workspaces/s, ${fleet.rigboxCallsPerWorkspace} Rigbox calls per workspace`,
      goal: '—',
      met: null,
    },
    {
      figure: '4. largest history in the fleet run (fleet run / child)',
      measured: `${fleet.largestFleetRunEvents} / ${fleet.largestChildEvents} events`,
      goal: '—',
      met: null,
    },
    {
      figure: '5. worker peak RSS during the fleet run (default settings)',
      measured: `${fleet.workerPeakRssMiB} MiB`,
      goal: '≤ 400 MiB',
      met: fleet.workerPeakRssMiB <= 400,
    },
    {
      figure: '5. CPU per fleet workspace: worker (server beside it)',
      measured: `${fleet.workerCpuMsPerWorkspace} ms (Temporal dev server ${fleet.serverCpuMsPerWorkspace} ms, emulator and client ${fleet.benchCpuMsPerWorkspace} ms)`,
      goal: 'worker ≤ 30 ms',
      met: fleet.workerCpuMsPerWorkspace <= 30,
    },
    ...Object.entries(fleet.callsByKind).map(([kind, k]) => ({
      figure: `6. Rigbox calls per ${kind}`,
      measured: `${k.perOperation} (${k.operations} operations; by route per workspace: ${Object.entries(fleet.callsByRoute)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')})`,
      goal: kind.startsWith('scheduled backup') ? '≤ 9' : kind === 'workspace lock' ? '0' : '—',
      met: kind.startsWith('scheduled backup') ? k.perOperation <= 9 : kind === 'workspace lock' ? k.calls === 0 : null,
    })),
  ];
}

/** Rows 7 to 9: the quota, Temporal's actions, the bundle and what a workflow costs to create. */
function quotaAndBundleRows(fleet: FleetFigures, quota: QuotaFigures, shared: QuotaFigures, bundle: BundleFigures): Row[] {
  return [
    {
      figure: `7. fleet under a quota of ${quota.quota} Rigbox calls/s (${quota.workspaces} workspaces, measured at the emulator)`,
      measured: `at most ${quota.maxPerSecond} calls in any second; ${Math.round(quota.usedShare * 100)}% of the quota used over ${quota.spanSeconds} s`,
      goal: `≤ ${quota.quota} in any second; ≥ 90% used`,
      met: quota.maxPerSecond <= quota.quota && quota.usedShare >= 0.9,
    },
    {
      figure: `7. two saturated workers (8 activity slots each, started together) under one quota of ${shared.quota} calls/s (${shared.workspaces} workspaces)`,
      measured:
        `at most ${shared.maxPerSecond} calls in any second (${shared.maxPerClockSecond} in a clock second); ` +
        `${Math.round(shared.usedShare * 100)}% of the quota used over ${shared.spanSeconds} s`,
      goal: `≤ ${shared.quota} (100 %) in every second`,
      met: shared.maxPerSecond <= shared.quota,
    },
    {
      figure: "9. Temporal actions per fleet workspace (the dev server's `action` counter: what Temporal Cloud bills)",
      measured: fleet.temporalActionsPerWorkspace === null ? 'not available' : String(fleet.temporalActionsPerWorkspace),
      goal: '—',
      met: null,
    },
    { figure: '8. workflow bundle size', measured: `${bundle.sizeKiB} KiB`, goal: '≤ 1536 KiB', met: bundle.sizeKiB <= 1536 },
    {
      figure: '8. creating a workflow (replay of one that fails its input check) / replaying a whole backup',
      measured: `${bundle.instantiationCpuMs} ms / ${bundle.backupReplayCpuMs} ms CPU`,
      goal: '—',
      met: null,
    },
  ];
}

/** The group snapshot's downtime against its slowest member alone (all members are alike here: the emulator's delays are global). */
function groupRow(g: Awaited<ReturnType<typeof benchGroupDowntime>>): Row {
  return {
    figure: `group snapshot of ${g.members} workspaces: downtime (first stop → last running) ÷ one member's stop + snapshot + start alone`,
    measured: `${g.ratio}× (${g.groupMs} ms ÷ ${g.aloneMs} ms)`,
    goal: '≤ 1.2×',
    met: g.ratio <= 1.2,
  };
}

function parseOptions() {
  const program = new Command()
    .name('bench')
    .description('Benchmarks rigsnap on the local stack and writes bench/results.json')
    .option('--quick', 'a small version that runs in under two minutes')
    .option('--only <parts>', 'only these parts, comma-separated: actions, backup-actions (without the lock comparison), interactive, fairness, cli, group')
    .option('--out <file>', 'where to write the results', path.join(projectRoot(), 'bench', 'results.json'))
    .option('--before <checkout>', 'also measure row 10 (actions per backup) on this built checkout of rigsnap (its dist/), e.g. main')
    .parse();
  return program.opts<{ quick?: boolean; out: string; only?: string; before?: string }>();
}

/** The classic rows (1 to 9): snapshot, waits, fleet, quota, bundle. */
async function classicPart(stack: BenchStack, s: Sizes, bundle: BundleFigures) {
  await stack.startWorker();
  const one = await benchSnapshot(stack, s);
  const stops = await benchAwaitStopped(stack, s);
  const fleet = await benchFleet(stack, s);
  const quota = await benchQuota(stack, s);
  const sharedQuota = await benchQuota(stack, s, 2);
  const rows = [...snapshotRows(one, stops), ...fleetRows(fleet), ...quotaAndBundleRows(fleet, quota, sharedQuota, bundle)];
  return { rows, figures: { snapshot: one, awaitStopped: stops, fleet, quota, sharedQuota, bundle } };
}

async function main() {
  const opts = parseOptions();
  const s = opts.quick ? QUICK : FULL;
  const only = opts.only ? new Set(opts.only.split(',').map((p) => p.trim())) : null;
  const wants = (part: string) => !only || only.has(part);
  const started = Date.now();
  // Measured first, alone: what a workflow costs to create, the bundle, and the CLI's start-up.
  const bundle = only ? null : await benchBundle(s);
  const cli = wants('cli') ? await benchCliStartup() : null;
  const stack = await startBenchStack({
    emulator: { delays: { latencyMs: LATENCY_MS }, recordCalls: true },
    // Every worker runs with the default settings, the Rigbox quota raised so that it does not cap what
    // is measured (the quota row runs under a tight one).
    workerEnv: { RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(FAN_OUT_QUOTA) },
    inMemory: true,
    log,
  });
  try {
    const classic = bundle ? await classicPart(stack, s, bundle) : null;
    const actions = wants('actions') || wants('backup-actions') ? await benchActions(stack, s, { withLockCost: wants('actions'), before: opts.before }) : null;
    // Minutes of a loaded fleet each: the full run only (or --only interactive,fairness).
    const heavy = (part: string) => (only ? only.has(part) : !opts.quick);
    const interactive = heavy('interactive')
      ? await benchInteractive(stack, { fleetSize: 1000, quota: 40, startAfterMs: 10_000, delays: FULL.snapshotDelays })
      : null;
    if (interactive) log(`interactive: ${JSON.stringify(interactive)}`);
    // At the fleets' usual concurrency (50), then at 200, where each team alone asks for more than the quota.
    const fairness: FairnessFigures[] = [];
    for (const concurrency of heavy('fairness') ? [50, 200] : []) {
      fairness.push(await benchFairness(stack, { fleetSize: 200, quota: 40, windowMs: 60_000, concurrency, delays: FULL.fleetDelays }));
      log(`fairness: ${JSON.stringify(fairness.at(-1))}`);
    }
    const group = wants('group') ? await benchGroupDowntime(stack, 10, s.snapshotDelays) : null;
    if (group) log(`group: ${JSON.stringify(group)}`);
    const rows = [
      ...(classic?.rows ?? []),
      ...(actions ? actionRows(actions) : []),
      ...contentionRows(interactive, fairness),
      ...(cli ? cliRows(cli) : []),
      ...(group ? [groupRow(group)] : []),
    ];
    const results = {
      mode: opts.quick ? 'quick' : 'full',
      ...(only ? { only: [...only] } : {}),
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: { sizes: s, emulatorLatencyMs: LATENCY_MS, docsPollMs: DOCS_POLL_MS, rigboxCallsPerSecond: FAN_OUT_QUOTA, tightQuota: s.tightQuota },
      ...(classic?.figures ?? {}),
      ...(actions ? { actions } : {}),
      ...(interactive ? { interactive } : {}),
      ...(fairness.length ? { fairness } : {}),
      ...(cli ? { cli } : {}),
      ...(group ? { group } : {}),
      table: rows,
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    // A partial run (--only) does not replace the full results.
    const out = only ? opts.out.replace(/\.json$/, '.partial.json') : opts.out;
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\n${markdown(rows)}\n\n(${results.mode} run, ${results.wallSeconds} s; results in ${path.relative(process.cwd(), out)})\n`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
