/**
 * What a scheduled backup costs in Temporal actions and history events under the workspace entity
 * (today's protocol) against the old per-workspace lock (issue 19.7), measured side by side in one run:
 * two workers on the same dev server and emulator, each on its own task queue, one with today's
 * workflow bundle and one with a bundle in which `patched('entity-2026-12')` answers false
 * (bench/legacy-lock-workflow.ts): the path that runs started before the entity still take.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import webpack from 'webpack';
import { WORKFLOW_TYPES } from '../contract/index.js';
import { PRIORITY, workflowIds, type BackupWorkspaceResult } from '../domain/index.js';
import { projectRoot } from '../dev/temporal-server.js';
import { bundleOptions } from '../worker/bundle.js';
import { loadWorkerConfig } from '../worker/config.js';
import { createRigsnapWorker } from '../worker/worker.js';
import { quietActions, totalActions, type BackupTimings } from './actions.js';
import { BENCH_TOKEN, until, type BenchStack } from './stack.js';

export type LockProtocol = 'entity' | 'lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? 'ts' : 'js';
const here = (file: string) => fileURLToPath(new URL(`./${file}.${ext}`, import.meta.url));

/**
 * Today's workflows (built or source, as this file runs) with '@temporalio/workflow' answered by
 * bench/legacy-lock-workflow.ts for every import from the workflows' own folder.
 */
export async function bundleLegacyLockWorkflows(): Promise<{ code: string }> {
  const workflowsPath = ext === 'js' ? path.join(projectRoot(), 'dist', 'workflows', 'index.js') : path.join(projectRoot(), 'workflows', 'index.ts');
  const workflowsDir = path.dirname(workflowsPath) + path.sep;
  const replacement = here('legacy-lock-workflow');
  const options = bundleOptions(workflowsPath);
  const bundle = await bundleWorkflowCode({
    ...options,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    webpackConfigHook: (config) => {
      const base = options.webpackConfigHook!(config);
      const swap = new webpack.NormalModuleReplacementPlugin(/^@temporalio\/workflow$/, (resource: { request: string; contextInfo?: { issuer?: string } }) => {
        if (resource.contextInfo?.issuer?.startsWith(workflowsDir)) resource.request = replacement;
      });
      return { ...base, plugins: [...(base.plugins ?? []), swap] };
    },
  });
  if (!bundle.code.includes('legacy-lock-workflow')) throw new Error('the old-lock bundle does not carry bench/legacy-lock-workflow: the swap did not apply');
  return bundle;
}

/** A worker in this process on its own task queue, with the given workflow code and otherwise default settings. */
async function startInProcessWorker(stack: BenchStack, taskQueue: string, workflowBundle: WorkerOptions['workflowBundle']) {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed already (the bundle's part of the bench did): the worker uses that one.
  }
  const connection = await NativeConnection.connect({ address: stack.address });
  const config = loadWorkerConfig({
    RIGBOX_API_URL: stack.emu.url,
    RIGBOX_TOKEN: BENCH_TOKEN,
    RIGSNAP_TASK_QUEUE: taskQueue,
    RIGSNAP_METRICS_PORT: '0',
    RIGSNAP_LOG_LEVEL: 'WARN',
    // Unversioned, both alike: the stack's other workers own the deployment's current version.
    RIGSNAP_WORKER_VERSIONING: 'off',
    RIGSNAP_RIGBOX_CALLS_PER_SECOND: '2000',
  });
  const worker = await createRigsnapWorker({ connection, namespace: 'default', config, client: stack.client, workflowBundle });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** The id of the workflow that serialises operations on the workspace under each protocol. */
const coordinatorId = (protocol: LockProtocol, workspaceId: string) =>
  protocol === 'entity' ? workflowIds.workspace(workspaceId) : workflowIds.lock(workspaceId);

async function exists(stack: BenchStack, workflowId: string): Promise<boolean> {
  try {
    await stack.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Every run of `workflowId` with its history length (describe, per run). Runs are found by a list (this
 * counts events, it decides nothing), which must include the latest run that describe sees.
 */
async function runsOf(stack: BenchStack, workflowId: string): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  if (!(await exists(stack, workflowId))) return runs;
  const latest = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
  for (let attempt = 0; ; attempt++) {
    const ids: string[] = [];
    for await (const ex of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) ids.push(ex.runId);
    if (ids.includes(latest) || attempt >= 100) {
      for (const runId of new Set([...ids, latest])) runs.set(runId, (await stack.client.workflow.getHandle(workflowId, runId).describe()).historyLength);
      return runs;
    }
    await sleep(100);
  }
}

/**
 * Waits until the coordinator has dealt with the backup's release: the old lock's run has ended (an
 * idle lock exits at once); the entity has no workflow task pending and its history stopped growing.
 */
async function settle(stack: BenchStack, protocol: LockProtocol, workspaceId: string): Promise<void> {
  const handle = stack.client.workflow.getHandle(coordinatorId(protocol, workspaceId));
  let last = -1;
  await until(
    async () => {
      const d = await handle.describe();
      if (protocol === 'lock') return d.status.name !== 'RUNNING';
      const quiet = !d.raw.pendingWorkflowTask && d.historyLength === last;
      last = d.historyLength;
      if (!quiet) await sleep(200);
      return quiet;
    },
    30_000,
    `${coordinatorId(protocol, workspaceId)} to settle after a backup`,
  );
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

export interface BackupCost {
  actions: number;
  byType: Record<string, number>;
  /** The backup's own history. */
  backupEvents: number;
  /** Events the coordinator wrote for it: the old lock's run(s), or what the entity added. */
  coordinatorEvents: number;
  /** Runs of the coordinator that wrote events for this backup (the old lock starts one per idle-to-busy). */
  coordinatorRuns: number;
  /** Runs of the coordinator started during this backup. */
  coordinatorRunsStarted: number;
  wallMs: number;
}

/**
 * One scheduled backup (snapshot + prune keep-last 7, priority 3) on `taskQueue`, and what it cost.
 * `before` is the quiet action counter before it (the previous backup's `counter`); `counter` is after it.
 */
async function oneBackup(
  stack: BenchStack,
  at: { taskQueue: string; protocol: LockProtocol; workspaceId: string; n: number },
  before: Record<string, number>,
): Promise<{ cost: BackupCost; counter: Record<string, number> }> {
  const { taskQueue, protocol, workspaceId, n } = at;
  const coordinator = coordinatorId(protocol, workspaceId);
  const runsBefore = await runsOf(stack, coordinator);
  const workflowId = workflowIds.fleetChild(`bench-cost-${protocol}-${n}-${Date.now().toString(36)}`, workspaceId);
  const t0 = performance.now();
  const result = (await stack.client.workflow.execute(WORKFLOW_TYPES.backup, {
    taskQueue,
    workflowId,
    args: [{ workspaceId, retention: { keepLast: 7 } }],
    priority: { priorityKey: PRIORITY.scheduledBackup },
  })) as BackupWorkspaceResult;
  const wallMs = Math.round(performance.now() - t0);
  if (!result.snapshot) throw new Error(`${workflowId} took no snapshot: ${JSON.stringify(result)}`);
  await settle(stack, protocol, workspaceId);
  const counter = await quietActions(stack);
  const byType = diff(counter, before);
  const runsAfter = await runsOf(stack, coordinator);
  let coordinatorEvents = 0;
  let coordinatorRuns = 0;
  for (const [runId, length] of runsAfter) {
    const added = length - (runsBefore.get(runId) ?? 0);
    if (added > 0) coordinatorRuns++;
    coordinatorEvents += added;
  }
  const backupEvents = (await stack.client.workflow.getHandle(workflowId).describe()).historyLength;
  const coordinatorRunsStarted = [...runsAfter.keys()].filter((r) => !runsBefore.has(r)).length;
  return { cost: { actions: totalActions(byType), byType, backupEvents, coordinatorEvents, coordinatorRuns, coordinatorRunsStarted, wallMs }, counter };
}

/**
 * Fails the bench unless the protocol that ran is the one meant: its coordinator exists and took part
 * in every backup, and the other protocol's does not exist for this workspace.
 */
async function checkProtocol(stack: BenchStack, protocol: LockProtocol, workspaceId: string, costs: BackupCost[]): Promise<void> {
  const other: LockProtocol = protocol === 'entity' ? 'lock' : 'entity';
  const problems: string[] = [];
  if (!(await exists(stack, coordinatorId(protocol, workspaceId)))) problems.push(`no ${coordinatorId(protocol, workspaceId)} ran`);
  if (await exists(stack, coordinatorId(other, workspaceId))) problems.push(`${coordinatorId(other, workspaceId)} exists`);
  costs.forEach((c, i) => {
    if (c.coordinatorEvents === 0) problems.push(`backup ${i + 1} left no events in ${coordinatorId(protocol, workspaceId)}`);
    if (protocol === 'lock' && c.coordinatorRunsStarted === 0) problems.push(`backup ${i + 1} started no run of the old lock`);
  });
  if (protocol === 'entity' && costs.slice(1).some((c) => c.coordinatorRunsStarted > 0)) problems.push('the entity started a new run after the first backup');
  if (problems.length > 0)
    throw new Error(`the ${protocol === 'entity' ? 'entity' : 'old-lock'} measurement did not run that protocol: ${problems.join('; ')}`);
}

export interface CostFigures {
  actions: number;
  /** backupEvents + coordinatorEvents. */
  events: number;
  backupEvents: number;
  coordinatorEvents: number;
}

export interface ProtocolCost {
  backups: BackupCost[];
  first: CostFigures;
  /** Means over the backups after the first (the entity already running, or the old lock's last run ended). */
  steady: CostFigures;
}

const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;

function figures(costs: BackupCost[]): CostFigures {
  const backupEvents = mean(costs.map((c) => c.backupEvents));
  const coordinatorEvents = mean(costs.map((c) => c.coordinatorEvents));
  return { actions: mean(costs.map((c) => c.actions)), events: mean(costs.map((c) => c.backupEvents + c.coordinatorEvents)), backupEvents, coordinatorEvents };
}

function summarise(backups: BackupCost[]): ProtocolCost {
  return { backups, first: figures(backups.slice(0, 1)), steady: figures(backups.slice(1)) };
}

/**
 * `backups` scheduled backups in sequence on one fresh workspace per protocol: the entity's on today's
 * bundle, the old lock's on the bundle that never takes the entity's patch. Each backup is measured
 * from a quiet server until its coordinator has settled.
 */
export async function lockCostPerBackup(stack: BenchStack, timings: BackupTimings, backups: number, log: (line: string) => void) {
  const started = performance.now();
  Object.assign(stack.emu.delays, { ...timings, restoreMs: timings.snapshotMs });
  log('bundling the workflows with the old lock (patched entity-2026-12 answers false)');
  const legacy = await bundleLegacyLockWorkflows();
  const queues = { entity: `${stack.taskQueue}-cost-entity`, lock: `${stack.taskQueue}-cost-lock` };
  const workers = [
    await startInProcessWorker(stack, queues.entity, { codePath: path.join(projectRoot(), 'dist', 'workflow-bundle.js') }),
    await startInProcessWorker(stack, queues.lock, legacy),
  ];
  try {
    const out: Partial<Record<LockProtocol, ProtocolCost>> = {};
    let counter = await quietActions(stack);
    for (const protocol of ['entity', 'lock'] as const) {
      const workspaceId = `ws_bench_cost_${protocol}`;
      stack.emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { a: 'x' } });
      const costs: BackupCost[] = [];
      for (let i = 0; i < backups; i++) {
        const r = await oneBackup(stack, { taskQueue: queues[protocol], protocol, workspaceId, n: i }, counter);
        const c = r.cost;
        counter = r.counter;
        log(
          `${protocol} backup ${i + 1}: ${c.actions} actions, ${c.backupEvents} + ${c.coordinatorEvents} events ` +
            `(${c.coordinatorRuns} coordinator run(s)), ${c.wallMs} ms ${JSON.stringify(c.byType)}`,
        );
        costs.push(c);
      }
      await checkProtocol(stack, protocol, workspaceId, costs);
      out[protocol] = summarise(costs);
    }
    const wallSeconds = Math.round((performance.now() - started) / 1000);
    log(`entity against the old lock: measured in ${wallSeconds} s (bundling included)`);
    return { timings, backupsPerProtocol: backups, wallSeconds, entity: out.entity!, lock: out.lock! };
  } finally {
    for (const w of workers) await w.stop();
  }
}
