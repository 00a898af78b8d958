/**
 * Who goes first under a tight Rigbox quota: an on-demand snapshot started while a large fleet runs
 * (its time against its time alone), and two teams' fleets at weights 1 and 3 (their shares of the
 * Rigbox calls while both run). The fleets are terminated once measured: their end is not the point.
 */
import { WORKFLOW_TYPES } from '../contract/index.js';
import { freePort } from '../dev/worker-process.js';
import { PRIORITY, priorityFor, workflowIds } from '../domain/index.js';
import type { BenchStack } from './stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function addWorkspaces(stack: BenchStack, prefix: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running' });
  return ids;
}

async function startFleet(stack: BenchStack, taskQueue: string, ids: string[], team?: string, weight?: number, concurrency = 50) {
  const workflowId = workflowIds.fleetBackup(`${team ?? 'load'}-${Date.now().toString(36)}`);
  return stack.client.workflow.start(WORKFLOW_TYPES['fleet-backup'], {
    taskQueue,
    workflowId,
    args: [{ workspaceIds: ids, concurrency }],
    priority: priorityFor('fleet', { ...(team ? { team } : {}), ...(weight ? { weight } : {}) }, workflowId),
  });
}

type History = Awaited<ReturnType<ReturnType<BenchStack['client']['workflow']['getHandle']>['fetchHistory']>>;

/** Where a run's time went, from its history (ms): waiting for a worker and running, for activities and workflow tasks. */
export interface TimeProfile {
  totalMs: number;
  activityQueuedMs: number;
  activityRunningMs: number;
  workflowTaskQueuedMs: number;
  workflowTaskRunningMs: number;
  timersMs: number;
}

function timeProfile(history: History): TimeProfile {
  const at = (e: NonNullable<History['events']>[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const times = new Map<number, number>();
  const p: TimeProfile = { totalMs: 0, activityQueuedMs: 0, activityRunningMs: 0, workflowTaskQueuedMs: 0, workflowTaskRunningMs: 0, timersMs: 0 };
  const events = history.events ?? [];
  for (const e of events) {
    const t = at(e);
    times.set(Number(e.eventId), t);
    const since = (id: unknown) => t - (times.get(Number(id)) ?? t);
    if (e.activityTaskStartedEventAttributes) p.activityQueuedMs += since(e.activityTaskStartedEventAttributes.scheduledEventId);
    else if (e.activityTaskCompletedEventAttributes) p.activityRunningMs += since(e.activityTaskCompletedEventAttributes.startedEventId);
    else if (e.activityTaskFailedEventAttributes) p.activityRunningMs += since(e.activityTaskFailedEventAttributes.startedEventId);
    else if (e.workflowTaskStartedEventAttributes) p.workflowTaskQueuedMs += since(e.workflowTaskStartedEventAttributes.scheduledEventId);
    else if (e.workflowTaskCompletedEventAttributes) p.workflowTaskRunningMs += since(e.workflowTaskCompletedEventAttributes.startedEventId);
    else if (e.timerFiredEventAttributes) p.timersMs += since(e.timerFiredEventAttributes.startedEventId);
  }
  if (events.length) p.totalMs = at(events.at(-1)!) - at(events[0]!);
  return p;
}

/** A snapshot as the CLI starts it (priority 1); its wall time, and where its time went. */
async function onDemandSnapshot(stack: BenchStack, taskQueue: string, workspaceId: string, name: string): Promise<{ ms: number; profile: TimeProfile }> {
  const t0 = performance.now();
  const handle = await stack.client.workflow.start(WORKFLOW_TYPES.snapshot, {
    taskQueue,
    workflowId: workflowIds.snapshot(workspaceId, name, Date.now().toString(36)),
    args: [{ workspaceId, name }],
    priority: { priorityKey: PRIORITY.onDemand },
  });
  await handle.result();
  const ms = performance.now() - t0;
  return { ms, profile: timeProfile(await handle.fetchHistory()) };
}

/** The mean of each figure of `profiles`, rounded to the millisecond. */
function meanProfile(profiles: TimeProfile[]): TimeProfile {
  const keys = Object.keys(profiles[0]!) as (keyof TimeProfile)[];
  return Object.fromEntries(keys.map((k) => [k, Math.round(profiles.reduce((s, p) => s + p[k], 0) / profiles.length)])) as unknown as TimeProfile;
}

/** A worker alone on a task queue of its own with this quota (the stack's other workers stopped), its metrics on `metricsPort`. */
async function quotaWorker(stack: BenchStack, suffix: string, quota: number, metricsPort = 0) {
  await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
  const taskQueue = `${stack.taskQueue}-${suffix}`;
  const worker = await stack.startWorker({
    RIGSNAP_RIGBOX_CALLS_PER_SECOND: String(quota),
    RIGSNAP_TASK_QUEUE: taskQueue,
    RIGSNAP_METRICS_PORT: String(metricsPort),
    RIGSNAP_METRICS_HOST: '127.0.0.1',
  });
  return { taskQueue, worker };
}

/**
 * The worker's free activity and workflow-task slots (`temporal_worker_task_slots_available`), sampled
 * every 2 s until `until` settles: whether the slots, rather than the quota, held the teams' calls back.
 */
async function sampleSlots(metricsPort: number, until: Promise<unknown>): Promise<Record<string, { min: number; mean: number }>> {
  const samples: Record<string, number[]> = {};
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    for (const line of text.split('\n')) {
      if (!line.startsWith('temporal_worker_task_slots_available{')) continue;
      const type = /worker_type="([^"]*)"/.exec(line)?.[1] ?? '';
      (samples[type] ??= []).push(Number(line.trim().split(/\s+/).at(-1)));
    }
    await Promise.race([sleep(2000), until]);
  }
  return Object.fromEntries(
    Object.entries(samples).map(([type, xs]) => [type, { min: Math.min(...xs), mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) }]),
  );
}

/** The worker's `rigsnap_rigbox_calls_dispatched_total` by fairness key, contended turns only (0 before its endpoint answers). */
async function contendedDispatches(metricsPort: number): Promise<Record<string, number>> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('rigsnap_rigbox_calls_dispatched_total{') || !line.includes('contended="true"')) continue;
    const key = /fairness_key="([^"]*)"/.exec(line)?.[1] ?? '';
    counts[key] = (counts[key] ?? 0) + Number(line.trim().split(/\s+/)[1]);
  }
  return counts;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * 12. An on-demand snapshot 10 s into a fleet of `fleetSize` at `quota` calls/s, against the same snapshot
 * alone. One snapshot first, unmeasured: a fresh worker's first workflow pays for its start-up (10.7 s
 * against 7.7 s under load, once). Then `runs` alone and `runs` under load, one after another (the fleet
 * runs for minutes), and the medians compared: a single run is at the mercy of where its status polls
 * fall against the emulator's transitions.
 */
export async function benchInteractive(
  stack: BenchStack,
  o: { fleetSize: number; quota: number; startAfterMs: number; runs?: number; delays: { stopMs: number; snapshotMs: number; startMs: number } },
) {
  Object.assign(stack.emu.delays, { ...o.delays, restoreMs: o.delays.snapshotMs });
  const { taskQueue, worker } = await quotaWorker(stack, 'interactive', o.quota);
  const runs = o.runs ?? 3;
  stack.emu.state.upsertWorkspace({ id: 'ws_bench_urgent', status: 'running', files: { a: 'x' } });
  try {
    // Its own Rigbox calls per run: the same count alone and under load, or the comparison is off.
    const urgentCalls: { solo: number[]; loaded: number[] } = { solo: [], loaded: [] };
    const profiles: { solo: TimeProfile[]; loaded: TimeProfile[] } = { solo: [], loaded: [] };
    const measured = async (as: 'solo' | 'loaded', name: string) => {
      const from = stack.emu.arrivals.length;
      const { ms, profile } = await onDemandSnapshot(stack, taskQueue, 'ws_bench_urgent', name);
      urgentCalls[as].push(stack.emu.arrivals.slice(from).filter((a) => a.workspaceId === 'ws_bench_urgent').length);
      profiles[as].push(profile);
      return ms;
    };
    await onDemandSnapshot(stack, taskQueue, 'ws_bench_urgent', 'warm-up');
    const solo: number[] = [];
    for (let i = 0; i < runs; i++) solo.push(await measured('solo', `solo-${i}`));
    const fleet = await startFleet(stack, taskQueue, addWorkspaces(stack, 'ws_load_', o.fleetSize));
    await sleep(o.startAfterMs);
    const loaded: number[] = [];
    const callsBefore = stack.emu.arrivals.length;
    for (let i = 0; i < runs; i++) loaded.push(await measured('loaded', `loaded-${i}`));
    // The fleet's pace meanwhile: the quota was in use (else "under load" means nothing).
    const fleetCalls = stack.emu.arrivals.slice(callsBefore).filter((a) => a.workspaceId !== 'ws_bench_urgent').length;
    const fleetCallsPerSecond = fleetCalls / (loaded.reduce((a, b) => a + b, 0) / 1000);
    await fleet.terminate('bench: measured').catch(() => undefined);
    const [soloMs, loadedMs] = [median(solo), median(loaded)];
    return {
      fleetSize: o.fleetSize,
      quota: o.quota,
      soloMs: Math.round(soloMs),
      loadedMs: Math.round(loadedMs),
      ratio: Math.round((loadedMs / soloMs) * 100) / 100,
      soloRunsMs: solo.map(Math.round),
      loadedRunsMs: loaded.map(Math.round),
      callsPerSecondUnderLoad: Math.round(fleetCallsPerSecond * 10) / 10,
      urgentCalls,
      // Where the time went (means over the runs): the history's activity and workflow-task waits and runs.
      profileSolo: meanProfile(profiles.solo),
      profileLoaded: meanProfile(profiles.loaded),
    };
  } finally {
    await worker.stop('SIGTERM');
  }
}

/**
 * 13. Two teams' fleets at weights 1 and 3 under one quota: each one's share of the Rigbox calls over
 * `windowMs` while both run (from the emulator), and its share of the limiter's contended turns (from
 * the worker's dispatch counter): the turns the weights decide, when both teams had calls waiting.
 * The first share can only reach the weights' when each team asks for at least its part of the quota.
 */
export async function benchFairness(
  stack: BenchStack,
  o: { fleetSize: number; quota: number; windowMs: number; concurrency?: number; delays: { stopMs: number; snapshotMs: number; startMs: number } },
) {
  Object.assign(stack.emu.delays, { ...o.delays, restoreMs: o.delays.snapshotMs });
  const metricsPort = await freePort();
  const concurrency = o.concurrency ?? 50;
  const { taskQueue, worker } = await quotaWorker(stack, `fairness-${concurrency}`, o.quota, metricsPort);
  try {
    const light = await startFleet(stack, taskQueue, addWorkspaces(stack, `ws_team_a${concurrency}_`, o.fleetSize), 'team-a', 1, concurrency);
    const heavy = await startFleet(stack, taskQueue, addWorkspaces(stack, `ws_team_b${concurrency}_`, o.fleetSize), 'team-b', 3, concurrency);
    const since = stack.emu.arrivals.length;
    const before = await contendedDispatches(metricsPort);
    const window = sleep(o.windowMs);
    const freeSlots = await sampleSlots(metricsPort, window);
    const after = await contendedDispatches(metricsPort);
    const calls = stack.emu.arrivals.slice(since);
    await Promise.all([light.terminate('bench: measured'), heavy.terminate('bench: measured')].map((p) => p.catch(() => undefined)));
    const a = calls.filter((c) => c.workspaceId?.startsWith(`ws_team_a${concurrency}_`)).length;
    const b = calls.filter((c) => c.workspaceId?.startsWith(`ws_team_b${concurrency}_`)).length;
    const turnsA = (after['team-a'] ?? 0) - (before['team-a'] ?? 0);
    const turnsB = (after['team-b'] ?? 0) - (before['team-b'] ?? 0);
    const share = (n: number, total: number) => Math.round((n / Math.max(1, total)) * 1000) / 10;
    return {
      fleetSize: o.fleetSize,
      concurrency,
      quota: o.quota,
      windowSeconds: o.windowMs / 1000,
      callsA: a,
      callsB: b,
      sharePercentA: share(a, a + b),
      sharePercentB: share(b, a + b),
      contendedTurnsA: turnsA,
      contendedTurnsB: turnsB,
      contendedSharePercentA: share(turnsA, turnsA + turnsB),
      contendedSharePercentB: share(turnsB, turnsA + turnsB),
      contendedPercentOfCalls: share(turnsA + turnsB, a + b),
      callsPerSecond: Math.round(((a + b) / (o.windowMs / 1000)) * 10) / 10,
      freeSlots,
    };
  } finally {
    await worker.stop('SIGTERM');
  }
}
