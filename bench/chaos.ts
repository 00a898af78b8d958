import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { WORKFLOW_TYPES, lockStateQuery } from '../contract/index.js';
import {
  SAFETY_SNAPSHOT_PREFIX,
  workflowIds,
  type BackupWorkspaceResult,
  type RestoreWorkspaceResult,
  type SnapshotWorkspaceResult,
  type StepRecord,
} from '../domain/index.js';
import { prng, type EmulatedSnapshot, type EmulatorDelays } from '../emulator/index.js';
import { BENCH_TOKEN, startBenchStack, type BenchStack, type BenchStackOptions, type WorkerProcess } from './stack.js';

/**
 * `npm run chaos`: many snapshot, restore and backup operations while Rigbox fails (503s, 429s,
 * lost answers), workers are SIGKILLed and the Temporal server restarts; then exact checks that
 * nothing was lost, duplicated, left down or leaked.
 *
 * Phase 1 runs most operations at once (several per workspace, serialized by the workspace lock).
 * Phase 2 runs one restore with keepCurrent per workspace once phase 1 is over, so what every
 * workspace holds before and after it is known exactly. The checks then read the emulator (the
 * ground truth of what Rigbox did) against what the operations reported.
 */

export interface ChaosOptions {
  /** All operations, phase 2's one restore per workspace included. */
  operations?: number;
  workspaces?: number;
  /** Start a new worker and SIGKILL the old one this often (0: never). */
  killEverySeconds?: number;
  /** Stop killing after this many kills. */
  maxWorkerKills?: number;
  /** Stop and start the Temporal server once, when half of phase 1 has finished. */
  serverRestarts?: 0 | 1;
  /** Worker processes alive at once (default 1); a kill SIGKILLs the oldest once its replacement polls. */
  workers?: number;
  /**
   * Where the run happens: by default a fresh dev server (SQLite file) with worker processes
   * (startBenchStack); `npm run test:cluster` passes one on the production topology (dev/cluster.ts).
   */
  startStack?: (o: BenchStackOptions) => Promise<ChaosStack>;
  /** Names that topology in the report. */
  topology?: string;
  /** Seed of the emulator's fault sequence and of the operation plan. */
  seed?: number;
  /** Share of phase-1 operations cancelled (as from the UI) at a random moment, 0-4 s after their start. */
  cancelRate?: number;
  /** Times the lock of a busy workspace is terminated (as by an operator) during phase 1. */
  lockTerminations?: number;
  faults?: { unavailableRate?: number; rateLimitRate?: number; lostResponseRate?: number; retryAfterSeconds?: number };
  delays?: Partial<EmulatorDelays>;
  /** Extra environment for every worker (on top of a poll schedule suited to the delays). */
  workerEnv?: Record<string, string>;
  /** The whole run's deadline; operations not finished by then count as not completed. */
  timeoutSeconds?: number;
  /** How long the server stays down during its restart. */
  serverDownMs?: number;
  /**
   * Where to write the evidence (every history as JSON, the emulator's call log, every result, worker
   * output) when a check fails; `always` writes it after a passing run too. Default: a new temp directory.
   */
  evidenceDir?: string;
  writeEvidence?: 'on-failure' | 'always' | 'never';
  log?: (line: string) => void;
}

/** What the chaos run needs of a stack: an emulator, a client, worker processes and a server to restart. */
export type ChaosStack = Pick<BenchStack, 'dir' | 'taskQueue' | 'client' | 'emu' | 'workers' | 'startWorker' | 'restartServer' | 'close'>;

export interface ChaosCheck {
  name: string;
  /** The measured figure ("0", "100/100"). */
  value: string;
  ok: boolean;
  details: string[];
}

export interface OperationOutcome {
  workflowId: string;
  type: 'snapshot' | 'restore' | 'backup';
  phase: 1 | 2;
  workspaceId: string;
  status: 'completed' | 'cancelled' | 'failed' | 'timed-out' | 'not-started';
  error?: string;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  settings: {
    operations: number;
    phase1Operations: number;
    phase2Operations: number;
    workspaces: number;
    stoppedWorkspaces: number;
    killEverySeconds: number;
    serverRestarts: number;
    cancelRate: number;
    workers: number;
    topology: string;
    faults: { unavailableRate: number; rateLimitRate: number; lostResponseRate: number; retryAfterSeconds: number };
    delays: Partial<EmulatorDelays>;
  };
  operations: {
    total: number;
    completed: number;
    /** Operations the run cancelled (and that ended Cancelled; one cancelled too late completes instead). */
    cancelled: number;
    cancelRequested: number;
    byType: Record<string, number>;
    notCompleted: OperationOutcome[];
  };
  faults: { apiCalls: number; unavailable: number; rateLimited: number; lost: number; lostCreates: number };
  snapshots: { created: number; handMade: number; seededBackups: number; pruned: number; adopted: number };
  workerKills: number;
  lockTerminations: number;
  workersStarted: number;
  unexpectedWorkerExits: number;
  serverRestarts: number;
  serverDownMs: number;
  historiesScanned: number;
  historyEventsScanned: number;
  /** Where the evidence went, if written. */
  evidenceDir: string | null;
  wallTimeMs: number;
  phase1Ms: number;
  /**
   * Seconds per operation from its stop to its end, and seconds a workspace sat idle between one
   * operation's end and the next one's stop (phase 1, where operations queue): what the chaos costs.
   */
  timing: { busy: Quantiles; idleBetween: Quantiles };
  phase2Ms: number;
  checks: ChaosCheck[];
}

export interface Quantiles {
  n: number;
  median: number;
  p90: number;
  max: number;
}

function quantiles(values: number[]): Quantiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] ?? Number.NaN;
  return { n: v.length, median: at(0.5), p90: at(0.9), max: v[v.length - 1] ?? Number.NaN };
}

const DEFAULTS = {
  operations: 100,
  workspaces: 20,
  killEverySeconds: 10,
  maxWorkerKills: Number.POSITIVE_INFINITY,
  serverRestarts: 1 as 0 | 1,
  seed: 20261128,
  timeoutSeconds: 1800,
  serverDownMs: 2000,
  cancelRate: 0.1,
  lockTerminations: 1,
  workers: 1,
  topology: 'Temporal dev server (SQLite file)',
};
const DEFAULT_FAULTS = { unavailableRate: 0.15, rateLimitRate: 0.05, lostResponseRate: 0.15, retryAfterSeconds: 1 };
const DEFAULT_DELAYS: Partial<EmulatorDelays> = { stopMs: 400, startMs: 400, snapshotMs: 300, restoreMs: 300, latencyMs: 5 };

/** The names hand-made snapshots get at setup: retention must never touch them. */
export const HAND_MADE_NAMES = ['before-migration', 'stable-model-v2'] as const;
export const BACKUP_PREFIX = 'bk-';
export const BACKUP_RETENTION = { keepLast: 2 } as const;

type Files = Record<string, string>;

interface PlannedOperation {
  index: number;
  phase: 1 | 2;
  type: 'snapshot' | 'restore' | 'backup';
  workspaceId: string;
  workflowId: string;
  workflowType: string;
  input: Record<string, unknown>;
  /** Restores: the snapshot restored. */
  targetSnapshotId?: string;
  /** Cancel the operation this long after it started (phase 1, ~cancelRate of them). */
  cancelAfterMs?: number;
}

interface Completed {
  op: PlannedOperation;
  result: SnapshotWorkspaceResult | RestoreWorkspaceResult | BackupWorkspaceResult;
}


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sameFiles(a: Files | undefined, b: Files | undefined): boolean {
  if (!a || !b) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function describeFiles(f: Files | undefined): string {
  if (!f) return '(unknown: snapshot gone)';
  return f['model/weights.bin'] ?? JSON.stringify(f);
}

function errorText(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    return `${err.message}: ${cause ? `${cause.name}: ${cause.message}` : 'no cause'}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Every string in a history, with every bytes field (payload data, search attributes, memo, failure
 * details) decoded as UTF-8, so a token inside a JSON payload shows in clear to a substring search.
 * A walk, not JSON.stringify: protobuf messages' toJSON would turn the bytes into base64 first.
 */
export function historyText(history: unknown): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string') out.push(`${key}=${v}`);
    else if (v instanceof Uint8Array) out.push(`${key}=${Buffer.from(v).toString('utf8')}`);
    else if (v && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const [k, child] of Object.entries(v)) walk(child, k);
    }
  };
  walk(history, '');
  return out.join('\n');
}

/** What each workspace holds at setup: distinct per workspace and per version, so a mix-up shows. */
function contentVersions(workspaceId: string, salt: string) {
  const base = { 'README.md': `# ${workspaceId}\n`, 'db/schema.sql': `-- ${workspaceId} schema v1` };
  return {
    beforeMigration: { ...base, 'model/weights.bin': `${workspaceId}:weights:v0:${salt}` },
    stableModel: { ...base, 'db/schema.sql': `-- ${workspaceId} schema v2`, 'model/weights.bin': `${workspaceId}:weights:v2:${salt}` },
    live: {
      ...base,
      'db/schema.sql': `-- ${workspaceId} schema v3`,
      'model/weights.bin': `${workspaceId}:weights:v3-live:${salt}`,
      'notes.txt': `work in progress on ${workspaceId}`,
    },
  };
}

/** The step that began the operation's time under the lock: every snapshot, restore and backup stops first. */
function stopStepAt(steps: StepRecord[]): number {
  const stop = steps.find((s) => s.step === 'stop');
  return stop ? Date.parse(stop.startedAt) : Number.NaN;
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const o = { ...DEFAULTS, ...options };
  const faults = { ...DEFAULT_FAULTS, ...(options.faults ?? {}) };
  const delays = { ...DEFAULT_DELAYS, ...(options.delays ?? {}) };
  const log = options.log ?? (() => {});
  if (o.workspaces < 1 || o.operations < o.workspaces) throw new Error('chaos: need at least one workspace and one operation per workspace');
  const random = prng(o.seed ^ 0x5eed);
  const runTag = Date.now().toString(36);
  const wallStart = Date.now();
  const deadline = wallStart + o.timeoutSeconds * 1000;

  if (!Number.isInteger(o.workers) || o.workers < 1) throw new Error('chaos: need at least one worker');
  const stack: ChaosStack = await (options.startStack ?? startBenchStack)({
    emulator: { delays, faults: { ...faults, unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0, seed: o.seed } },
    taskQueue: `chaos-${runTag}`,
    workerEnv: {
      RIGSNAP_POLL_MIN_MS: '50',
      RIGSNAP_POLL_MAX_MS: '500',
      RIGSNAP_POLL_GROWTH: '0.4',
      RIGSNAP_ACTIVITIES_PER_SECOND: '1000',
      RIGSNAP_SHUTDOWN_GRACE_MS: '2000',
      RIGSNAP_LOG_LEVEL: 'WARN',
      ...(options.workerEnv ?? {}),
    },
    log,
  });
  const { client, emu } = stack;
  let stopController = false;
  let controller: Promise<void> = Promise.resolve();
  try {
    // Rigbox deletes a snapshot's disk; keep a copy of what each deleted one held, so the content of a
    // backup that retention later removed can still be checked.
    const deletedSnapshots = new Map<string, EmulatedSnapshot>();
    emu.hooks.onArrival = (a) => {
      const s = a.method === 'DELETE' && a.snapshotId ? emu.state.data.snapshots[a.snapshotId] : undefined;
      if (s) deletedSnapshots.set(s.id, { ...s, files: { ...s.files } });
    };
    const snapshotFiles = (id: string): Files | undefined => (emu.state.data.snapshots[id] ?? deletedSnapshots.get(id))?.files;

    // ---------------------------------------------------------------- setup
    const workspaceIds = Array.from({ length: o.workspaces }, (_, i) => `ws_chaos${String(i).padStart(2, '0')}`);
    const initialStatus = new Map<string, 'running' | 'stopped'>();
    const initialFiles = new Map<string, Files>();
    const handMade = new Map<string, Array<{ id: string; name: string; files: Files }>>();
    const setupClaims = new Map<string, string>(); // snapshot id → "hand-made …" / "seeded backup …"
    let seededBackups = 0;
    for (const [i, workspaceId] of workspaceIds.entries()) {
      const status = i % 3 === 0 ? 'stopped' : 'running';
      const v = contentVersions(workspaceId, Math.floor(random() * 1e9).toString(36));
      const ws = emu.state.upsertWorkspace({ id: workspaceId, status, files: v.beforeMigration });
      const made: Array<{ id: string; name: string; files: Files }> = [];
      // Older backups under the chaos prefix, backdated: retention has something to delete from the first backup on.
      for (let d = 3; d >= 1; d--) {
        const s = emu.state.addSnapshot(ws, `${BACKUP_PREFIX}${new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10)}`);
        s.created_at = new Date(Date.now() - d * 86_400_000).toISOString();
        setupClaims.set(s.id, `seeded backup ${s.name}`);
        seededBackups++;
      }
      const first = emu.state.addSnapshot(ws, HAND_MADE_NAMES[0]);
      made.push({ id: first.id, name: first.name, files: { ...v.beforeMigration } });
      ws.files = { ...v.stableModel };
      const second = emu.state.addSnapshot(ws, HAND_MADE_NAMES[1]);
      made.push({ id: second.id, name: second.name, files: { ...v.stableModel } });
      ws.files = { ...v.live };
      for (const m of made) setupClaims.set(m.id, `hand-made ${m.name}`);
      handMade.set(workspaceId, made);
      initialStatus.set(workspaceId, status);
      initialFiles.set(workspaceId, { ...v.live });
    }
    const stoppedWorkspaces = [...initialStatus.values()].filter((s) => s === 'stopped').length;

    // ---------------------------------------------------------------- plan
    const phase2Count = o.workspaces;
    const phase1Count = o.operations - phase2Count;
    const key = (index: number) => `c${runTag}-${index}`;
    const plan: PlannedOperation[] = [];
    for (let index = 0; index < phase1Count; index++) {
      const workspaceId = workspaceIds[index % o.workspaces]!;
      const type = (['snapshot', 'restore', 'backup'] as const)[Math.floor(random() * 3)]!;
      if (type === 'snapshot') {
        const name = `chaos-${runTag}-${index}`;
        plan.push({
          index, phase: 1, type, workspaceId,
          workflowId: workflowIds.snapshot(workspaceId, name, key(index)),
          workflowType: WORKFLOW_TYPES.snapshot,
          input: { workspaceId, name },
        });
      } else if (type === 'restore') {
        const target = handMade.get(workspaceId)![Math.floor(random() * HAND_MADE_NAMES.length)]!;
        plan.push({
          index, phase: 1, type, workspaceId,
          workflowId: workflowIds.restore(workspaceId, target.id, key(index)),
          workflowType: WORKFLOW_TYPES.restore,
          input: { workspaceId, snapshotId: target.id, keepCurrent: true },
          targetSnapshotId: target.id,
        });
      } else {
        plan.push({
          index, phase: 1, type, workspaceId,
          workflowId: workflowIds.backup(workspaceId, key(index)),
          workflowType: WORKFLOW_TYPES.backup,
          input: { workspaceId, namePrefix: BACKUP_PREFIX, retention: BACKUP_RETENTION },
        });
      }
    }
    // Some operations are cancelled (as a person would from the UI) at a random moment after they start.
    for (const op of plan) if (random() < o.cancelRate) op.cancelAfterMs = Math.floor(random() * 4000);
    if (o.cancelRate > 0 && plan.length > 0 && !plan.some((op) => op.cancelAfterMs !== undefined)) {
      plan[Math.floor(random() * plan.length)]!.cancelAfterMs = Math.floor(random() * 4000); // a short run still cancels one
    }
    log(
      `chaos: seed ${o.seed}; ${o.operations} operations (${phase1Count} in phase 1, ${phase2Count} in phase 2) on ${o.workspaces} workspaces ` +
        `(${stoppedWorkspaces} stopped); faults ${faults.unavailableRate * 100}% 503, ${faults.rateLimitRate * 100}% 429 (Retry-After ${faults.retryAfterSeconds} s), ` +
        `${faults.lostResponseRate * 100}% lost answers`,
    );

    // ---------------------------------------------------------------- chaos controller
    const outcomes = new Map<string, OperationOutcome>();
    const completed: Completed[] = [];
    let finishedOps = 0;
    let cancelRequested = 0;
    let workerKills = 0;
    let lockTerminations = 0;
    let lockTerminationDue = false;
    let workersStarted = 0;
    let unexpectedWorkerExits = 0;
    let serverRestarts = 0;
    let serverDownMs = 0;
    let restartDue = false;
    const intentionallyKilled = new Set<number>();
    const live = () => stack.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

    const startWorker = async (): Promise<WorkerProcess> => {
      const w = await stack.startWorker();
      workersStarted++;
      void w.exited.then(() => {
        if (!intentionallyKilled.has(w.pid) && !stopController) {
          unexpectedWorkerExits++;
          log(`chaos: worker ${w.pid} exited on its own (${w.child.signalCode ?? `code ${w.child.exitCode}`}): ${w.output.join('').slice(-500)}`);
        }
      });
      return w;
    };

    /** True once the worker polls the task queue (its identity is pid@host). */
    const isPolling = async (w: WorkerProcess): Promise<boolean> => {
      try {
        const r = await client.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: stack.taskQueue, kind: 1 }, // NORMAL
          taskQueueType: 2, // activity pollers: the worker's last poller to start
        });
        return (r.pollers ?? []).some((p) => p.identity === `${w.pid}@${os.hostname()}`);
      } catch {
        return false;
      }
    };

    const waitUntil = async (check: () => boolean | Promise<boolean>, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end && !(await check())) await sleep(100);
    };

    const killAndReplace = async () => {
      // The oldest workers beyond the wanted count, once the fresh one is in (all of them with one worker).
      const alive = live();
      const victims = alive.slice(0, Math.max(1, alive.length - o.workers + 1));
      const fresh = await startWorker();
      // Keep a worker alive: the old one dies only once the new one polls.
      await waitUntil(() => isPolling(fresh), 15_000);
      if (!(await isPolling(fresh))) log(`chaos: worker ${fresh.pid} is not polling yet; killing the old one anyway`);
      // Kill while Rigbox copies a disk if it soon does: the answer of that create is lost with the worker.
      await waitUntil(() => Object.values(emu.state.data.workspaces).some((ws) => ws.busyUntil !== null), 3000);
      for (const v of victims) {
        intentionallyKilled.add(v.pid);
        await v.stop('SIGKILL');
        workerKills++;
        log(`chaos: SIGKILLed worker ${v.pid} (kill ${workerKills}); worker ${fresh.pid} carries on`);
      }
    };

    const restartServer = async () => {
      const t0 = Date.now();
      await stack.restartServer(o.serverDownMs);
      serverRestarts++;
      serverDownMs = Date.now() - t0;
      log(`chaos: Temporal server restarted on the same state (down ${(serverDownMs / 1000).toFixed(1)} s)`);
    };

    /** An operator terminates the lock of a workspace while an operation holds it. */
    const terminateABusyLock = async () => {
      for (const id of workspaceIds) {
        const lock = client.workflow.getHandle(workflowIds.lock(id));
        const state = await lock.query(lockStateQuery).catch(() => null);
        if (!state?.holder) continue;
        await lock.terminate('chaos: an operator terminates the lock');
        lockTerminations++;
        log(`chaos: terminated ${workflowIds.lock(id)} while ${state.holder.workflowId} held it (${state.queue.length} waiting)`);
        return;
      }
    };

    for (let i = 0; i < o.workers; i++) await startWorker();
    controller = (async () => {
      let nextKillAt = Date.now() + o.killEverySeconds * 1000;
      let nextProgressAt = Date.now() + 30_000;
      while (!stopController) {
        if (restartDue) {
          // Cleared only once the server is back: whoever waits on it (between the phases) waits for that.
          if (serverRestarts < o.serverRestarts) await restartServer().catch((err: unknown) => log(`chaos: server restart failed: ${errorText(err)}`));
          restartDue = false;
        }
        if (lockTerminationDue && lockTerminations < o.lockTerminations) {
          await terminateABusyLock().catch((err: unknown) => log(`chaos: lock termination failed: ${errorText(err)}`));
          if (lockTerminations >= o.lockTerminations) lockTerminationDue = false;
        }
        while (live().length < o.workers && !stopController) {
          log(`chaos: ${live().length} of ${o.workers} workers alive; starting one`);
          await startWorker();
        }
        if (o.killEverySeconds > 0 && workerKills < o.maxWorkerKills && Date.now() >= nextKillAt) {
          await killAndReplace().catch((err: unknown) => log(`chaos: worker kill failed: ${errorText(err)}`));
          nextKillAt = Date.now() + o.killEverySeconds * 1000;
        }
        if (Date.now() >= nextProgressAt) {
          nextProgressAt = Date.now() + 30_000;
          log(`chaos: ${finishedOps} of ${o.operations} operations finished (${completed.length} completed)`);
        }
        await sleep(200);
      }
    })();

    // ---------------------------------------------------------------- driving operations

    /** Starts (idempotently: the workflow id is the request) and waits for the result, riding out the server restart. */
    async function drive(op: PlannedOperation): Promise<void> {
      try {
        await driveUntilDone(op);
      } finally {
        finishedOps++;
      }
    }
    async function driveUntilDone(op: PlannedOperation): Promise<void> {
      const outcome: OperationOutcome = { workflowId: op.workflowId, type: op.type, phase: op.phase, workspaceId: op.workspaceId, status: 'not-started' };
      outcomes.set(op.workflowId, outcome);
      let handle: WorkflowHandle | undefined;
      let lastError = '';
      while (!handle) {
        if (Date.now() > deadline) {
          outcome.error = `could not start before the deadline: ${lastError}`;
          return;
        }
        try {
          handle = await client.workflow.start(op.workflowType, { taskQueue: stack.taskQueue, workflowId: op.workflowId, args: [op.input] });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) handle = client.workflow.getHandle(op.workflowId);
          else {
            lastError = errorText(err);
            await sleep(500);
          }
        }
      }
      outcome.status = 'timed-out';
      if (op.cancelAfterMs !== undefined) {
        const h = handle;
        setTimeout(() => {
          // As from the UI: one request; the server may be restarting, so ask until it is taken.
          void (async () => {
            for (let i = 0; i < 20 && Date.now() < deadline; i++) {
              try {
                await h.cancel();
                cancelRequested++;
                return;
              } catch (err) {
                if ((err as Error).name === 'WorkflowNotFoundError') return;
                await sleep(500);
              }
            }
          })();
        }, op.cancelAfterMs);
      }
      for (;;) {
        if (Date.now() > deadline) {
          outcome.error = `no result before the deadline${lastError ? ` (last client error: ${lastError})` : ''}`;
          return;
        }
        try {
          // result() long-polls until the workflow closes: never past the deadline.
          let timer: NodeJS.Timeout | undefined;
          const expired = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), Math.max(0, deadline - Date.now()) + 10)));
          const result = await Promise.race([handle.result() as Promise<Completed['result']>, expired]).finally(() => clearTimeout(timer));
          if (result === 'deadline') continue;
          outcome.status = 'completed';
          completed.push({ op, result });
          return;
        } catch (err) {
          if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure && op.cancelAfterMs !== undefined) {
            outcome.status = 'cancelled';
            return;
          }
          if (err instanceof WorkflowFailedError) {
            outcome.status = 'failed';
            outcome.error = errorText(err);
            log(`chaos: ${op.workflowId} FAILED: ${outcome.error}`);
            return;
          }
          // The server is down or restarting: ask again.
          lastError = errorText(err);
          await sleep(500);
        }
      }
    }

    const workspaceStateProblems: string[] = [];
    const checkWorkspaceStates = (when: string) => {
      for (const id of workspaceIds) {
        const ws = emu.state.workspace(id)!;
        const expected = initialStatus.get(id)!;
        if (ws.status !== expected || ws.busyUntil !== null) {
          workspaceStateProblems.push(`${id} is "${ws.status}"${ws.busyUntil !== null ? ' (busy)' : ''} ${when}; it began "${expected}"`);
        }
      }
    };

    Object.assign(emu.faults, { ...faults, seed: o.seed });
    const callsBefore = emu.calls.length;

    let phase1Done = 0;
    const phase1Start = Date.now();
    const phase1 = Promise.all(
      plan.map((op) =>
        drive(op).finally(() => {
          phase1Done++;
          if (phase1Done === Math.ceil(phase1Count / 4) && o.lockTerminations > 0) lockTerminationDue = true;
          if (phase1Done === Math.ceil(phase1Count / 2) && o.serverRestarts > 0) restartDue = true;
        }),
      ),
    );
    await phase1;
    const phase1Ms = Date.now() - phase1Start;
    log(`chaos: phase 1 over in ${(phase1Ms / 1000).toFixed(1)} s (${completed.length}/${phase1Count} completed)`);
    // A restart not done yet (phase 1 too short to reach its middle) happens now, before phase 2.
    if (serverRestarts < o.serverRestarts) restartDue = true;
    await waitUntil(() => !restartDue, 180_000);

    // Operations that did not finish must not touch workspaces during phase 2.
    for (const out of outcomes.values()) {
      if (out.status === 'timed-out') await client.workflow.getHandle(out.workflowId).terminate('chaos deadline').catch(() => {});
    }
    checkWorkspaceStates('after phase 1');

    // ---------------------------------------------------------------- phase 2
    const phase2Start = Date.now();
    const preRestoreFiles = new Map<string, Files>();
    const phase2Plan: PlannedOperation[] = workspaceIds.map((workspaceId, i) => {
      const files = { ...emu.state.workspace(workspaceId)!.files };
      preRestoreFiles.set(workspaceId, files);
      // A target that differs from what the workspace holds now, so a restore that did nothing shows.
      const made = handMade.get(workspaceId)!;
      const target = made.find((m) => !sameFiles(m.files, files)) ?? made[0]!;
      const index = phase1Count + i;
      return {
        index, phase: 2, type: 'restore', workspaceId,
        workflowId: workflowIds.restore(workspaceId, target.id, key(index)),
        workflowType: WORKFLOW_TYPES.restore,
        input: { workspaceId, snapshotId: target.id, keepCurrent: true },
        targetSnapshotId: target.id,
      };
    });
    await Promise.all(phase2Plan.map((op) => drive(op)));
    const phase2Ms = Date.now() - phase2Start;
    log(`chaos: phase 2 over in ${(phase2Ms / 1000).toFixed(1)} s`);
    for (const out of outcomes.values()) {
      if (out.status === 'timed-out') await client.workflow.getHandle(out.workflowId).terminate('chaos deadline').catch(() => {});
    }
    checkWorkspaceStates('at the end');

    stopController = true;
    await controller;
    Object.assign(emu.faults, { unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0 });

    // ---------------------------------------------------------------- checks
    const checks: ChaosCheck[] = [];
    const check = (name: string, value: string, ok: boolean, details: string[] = []) => checks.push({ name, value, ok, details });
    const allOps = [...plan, ...phase2Plan];
    const runWorkspaces = new Set(workspaceIds);

    // Operations completed (or, for those the run cancelled, ended Cancelled).
    const notCompleted = [...outcomes.values()].filter((x) => x.status !== 'completed' && x.status !== 'cancelled');
    const cancelledOps = allOps.filter((op) => outcomes.get(op.workflowId)?.status === 'cancelled');
    check(
      'operations completed (or cancelled as asked)',
      `${allOps.length - notCompleted.length}/${allOps.length}`,
      notCompleted.length === 0 && outcomes.size === allOps.length,
      notCompleted.map((x) => `${x.workflowId} (${x.type}, phase ${x.phase}) ${x.status}: ${x.error ?? ''}`),
    );

    // Duplicates: every snapshot Rigbox made is claimed by exactly one operation (or the setup).
    const claims = new Map<string, string[]>();
    const claim = (snapshotId: string, by: string) => claims.set(snapshotId, [...(claims.get(snapshotId) ?? []), by]);
    for (const [id, what] of setupClaims) claim(id, `setup (${what})`);
    const claimedBy = new Map<string, { op: PlannedOperation; snapshotId: string; role: 'snapshot' | 'safety' | 'backup' }[]>();
    for (const { op, result } of completed) {
      const list: { op: PlannedOperation; snapshotId: string; role: 'snapshot' | 'safety' | 'backup' }[] = [];
      if (op.type === 'snapshot') list.push({ op, snapshotId: (result as SnapshotWorkspaceResult).snapshot.id, role: 'snapshot' });
      if (op.type === 'backup') list.push({ op, snapshotId: (result as BackupWorkspaceResult).snapshot.id, role: 'backup' });
      if (op.type === 'restore') {
        const safety = (result as RestoreWorkspaceResult).safetySnapshot;
        if (safety) list.push({ op, snapshotId: safety.id, role: 'safety' });
      }
      for (const c of list) claim(c.snapshotId, `${op.workflowId} (${c.role})`);
      claimedBy.set(op.workflowId, list);
    }
    // A cancelled operation may have made its snapshot (a copy cannot be stopped): the one Rigbox made at
    // its request (X-Rigsnap-Workflow-Id) is its claim. A second one would stay unclaimed: a duplicate.
    for (const op of cancelledOps) {
      const made = emu.state.created.find((c) => c.origin === op.workflowId);
      if (!made) continue;
      const role = op.type === 'restore' ? 'safety' : op.type;
      claim(made.id, `${op.workflowId} (cancelled ${op.type}: ${role})`);
      claimedBy.set(op.workflowId, [{ op, snapshotId: made.id, role }]);
    }
    const created = emu.state.created.filter((c) => runWorkspaces.has(c.workspace_id));
    const createdIds = new Set(created.map((c) => c.id));
    const unclaimed = created.filter((c) => !claims.has(c.id));
    check(
      'duplicate snapshots (made by Rigbox, claimed by no operation)',
      String(unclaimed.length),
      unclaimed.length === 0,
      unclaimed.map((c) => `${c.id} "${c.name}" of ${c.workspace_id} at ${c.at}`),
    );
    const multiClaimed = [...claims.entries()].filter(([, by]) => by.length > 1);
    const phantom = [...claims.keys()].filter((id) => !createdIds.has(id));
    check(
      'snapshots claimed by more than one operation (or never made)',
      String(multiClaimed.length + phantom.length),
      multiClaimed.length === 0 && phantom.length === 0,
      [...multiClaimed.map(([id, by]) => `${id} claimed by ${by.join(' and ')}`), ...phantom.map((id) => `${id} claimed but never made`)],
    );

    // Deletions: only retention deletes, only candidates, and says so.
    const reportedDeleted = new Map<string, string>();
    for (const { op, result } of completed) {
      if (op.type !== 'backup') continue;
      for (const d of (result as BackupWorkspaceResult).prune?.deleted ?? []) reportedDeleted.set(d.id, op.workflowId);
    }
    // A backup cancelled while it pruned reports nothing; what Rigbox deleted at its request is its doing.
    for (const op of cancelledOps.filter((x) => x.type === 'backup')) {
      for (const c of emu.calls) {
        if (c.origin === op.workflowId && c.method === 'DELETE' && c.snapshotId && (c.outcome === 'ok' || c.outcome === 'lost')) reportedDeleted.set(c.snapshotId, op.workflowId);
      }
    }
    const gone = created.filter((c) => !emu.state.data.snapshots[c.id]);
    const unexplained = gone.filter((c) => !reportedDeleted.has(c.id) || !c.name.startsWith(BACKUP_PREFIX));
    check(
      'snapshots deleted without a prune reporting it (or not a retention candidate)',
      String(unexplained.length),
      unexplained.length === 0,
      unexplained.map((c) => `${c.id} "${c.name}" of ${c.workspace_id}`),
    );

    const handMadeGone = [...handMade.entries()].flatMap(([ws, list]) =>
      list.filter((m) => !emu.state.data.snapshots[m.id]).map((m) => `${m.id} "${m.name}" of ${ws}`),
    );
    check('hand-made snapshots deleted', String(handMadeGone.length), handMadeGone.length === 0, handMadeGone);

    // Retention really ran: every workspace that had a backup ends with exactly keepLast backups.
    const overRetention: string[] = [];
    for (const id of workspaceIds) {
      if (!completed.some((c) => c.op.type === 'backup' && c.op.workspaceId === id)) continue;
      const n = emu.state.snapshotsOf(id).filter((s) => s.name.startsWith(BACKUP_PREFIX)).length;
      if (n !== BACKUP_RETENTION.keepLast) overRetention.push(`${id} has ${n} "${BACKUP_PREFIX}" snapshots`);
    }
    check(`workspaces not left with keepLast ${BACKUP_RETENTION.keepLast} backups after pruning`, String(overRetention.length), overRetention.length === 0, overRetention);

    check(
      'workspaces not in their expected state',
      String(new Set(workspaceStateProblems.map((p) => p.split(' ')[0])).size),
      workspaceStateProblems.length === 0,
      workspaceStateProblems,
    );

    // Restored content (phase 2): the workspace now holds the restored snapshot; the safety snapshot holds what it had before.
    const restoreMismatches: string[] = [];
    for (const op of phase2Plan) {
      const done = completed.find((c) => c.op === op);
      if (!done) {
        restoreMismatches.push(`${op.workspaceId}: restore ${op.workflowId} did not complete`);
        continue;
      }
      const r = done.result as RestoreWorkspaceResult;
      const target = handMade.get(op.workspaceId)!.find((m) => m.id === op.targetSnapshotId)!;
      const now = emu.state.workspace(op.workspaceId)!.files;
      if (r.restored.id !== target.id) restoreMismatches.push(`${op.workspaceId}: result says it restored ${r.restored.id}, asked ${target.id}`);
      if (!sameFiles(now, target.files)) {
        restoreMismatches.push(`${op.workspaceId}: holds ${describeFiles(now)} after restoring "${target.name}" (${describeFiles(target.files)})`);
      }
      if (!r.safetySnapshot) restoreMismatches.push(`${op.workspaceId}: no safety snapshot`);
      else {
        const safety = snapshotFiles(r.safetySnapshot.id);
        if (!r.safetySnapshot.name.startsWith(SAFETY_SNAPSHOT_PREFIX)) restoreMismatches.push(`${op.workspaceId}: safety snapshot named "${r.safetySnapshot.name}"`);
        if (!emu.state.data.snapshots[r.safetySnapshot.id]) restoreMismatches.push(`${op.workspaceId}: safety snapshot ${r.safetySnapshot.id} is gone`);
        if (!sameFiles(safety, preRestoreFiles.get(op.workspaceId))) {
          restoreMismatches.push(
            `${op.workspaceId}: safety snapshot ${r.safetySnapshot.id} holds ${describeFiles(safety)}, the workspace held ${describeFiles(preRestoreFiles.get(op.workspaceId))}`,
          );
        }
      }
    }
    check('restored content that does not match its snapshot (phase 2)', String(restoreMismatches.length), restoreMismatches.length === 0, restoreMismatches);

    // The order in which operations held a workspace: the first Rigbox call each made for it (every
    // operation's first call, its check, is made under the lock; X-Rigsnap-Workflow-Id says whose it is).
    const firstCall = new Map<string, number>();
    emu.calls.forEach((c, i) => {
      if (c.origin && !firstCall.has(c.origin)) firstCall.set(c.origin, i);
    });
    const ended = (op: PlannedOperation) => ['completed', 'cancelled'].includes(outcomes.get(op.workflowId)?.status ?? '');

    // Every snapshot holds the workspace's content at its point in the lock order (phase 1 and 2): replay
    // each workspace's operations in the order they held its lock. A cancelled restore changed the disk
    // only if its restore request reached Rigbox.
    const timelineMismatches: string[] = [];
    let timelineSkipped = 0;
    for (const id of workspaceIds) {
      if (allOps.some((op) => op.workspaceId === id && !ended(op))) {
        timelineSkipped++; // an unfinished operation may or may not have changed the disk
        continue;
      }
      const ops = allOps.filter((op) => op.workspaceId === id && firstCall.has(op.workflowId)).sort((a, b) => firstCall.get(a.workflowId)! - firstCall.get(b.workflowId)!);
      let content: Files = initialFiles.get(id)!;
      let phase = 1;
      for (const op of ops) {
        if (op.phase === 2 && phase === 1) {
          phase = 2;
          if (!sameFiles(content, preRestoreFiles.get(id))) {
            timelineMismatches.push(`${id}: held ${describeFiles(preRestoreFiles.get(id))} after phase 1, expected ${describeFiles(content)}`);
          }
        }
        for (const c of claimedBy.get(op.workflowId) ?? []) {
          const files = snapshotFiles(c.snapshotId);
          if (!sameFiles(files, content)) {
            timelineMismatches.push(`${op.workflowId}: ${c.role} snapshot ${c.snapshotId} holds ${describeFiles(files)}, the workspace held ${describeFiles(content)}`);
          }
        }
        const restored =
          op.type === 'restore' &&
          (outcomes.get(op.workflowId)?.status === 'completed' ||
            emu.calls.some((c) => c.origin === op.workflowId && c.route.endsWith('/restore') && (c.outcome === 'ok' || c.outcome === 'lost')));
        if (restored) content = snapshotFiles(op.targetSnapshotId!) ?? {};
      }
      if (!sameFiles(content, emu.state.workspace(id)!.files)) {
        timelineMismatches.push(`${id}: holds ${describeFiles(emu.state.workspace(id)!.files)} at the end, expected ${describeFiles(content)}`);
      }
    }
    check(
      'snapshots not holding the workspace content of their turn (all phases)',
      String(timelineMismatches.length) + (timelineSkipped ? ` (${timelineSkipped} workspaces not checked: unfinished operations)` : ''),
      timelineMismatches.length === 0 && timelineSkipped === 0,
      timelineMismatches,
    );

    // One operation at a time per workspace: between an operation's first and last Rigbox call on a
    // workspace, nobody else called for it (the lock's own repair included).
    const overlaps: string[] = [];
    for (const id of workspaceIds) {
      const calls = emu.calls.filter((c) => c.workspaceId === id && c.origin);
      const spans = new Map<string, { first: number; last: number }>();
      calls.forEach((c, i) => {
        const sp = spans.get(c.origin!) ?? { first: i, last: i };
        sp.last = i;
        spans.set(c.origin!, sp);
      });
      for (const [origin, { first, last }] of spans) {
        const others = new Set(calls.slice(first, last + 1).filter((c) => c.origin !== origin).map((c) => c.origin));
        for (const other of others) overlaps.push(`${id}: ${other} called Rigbox while ${origin} held the workspace`);
      }
    }
    check('times two operations held one workspace', String(overlaps.length), overlaps.length === 0, overlaps);

    // The token: in no history (every workflow of this task queue, every run, lock workflows included) and no log.
    const leaks: string[] = [];
    const ids = new Set<string>([...allOps.map((op) => op.workflowId), ...workspaceIds.map((w) => workflowIds.lock(w))]);
    const runs: Array<{ workflowId: string; runId?: string }> = [];
    const scanDeadline = Date.now() + 120_000;
    for (;;) {
      try {
        runs.length = 0;
        for await (const wf of client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
        break;
      } catch (err) {
        if (Date.now() > scanDeadline) throw err;
        await sleep(500);
      }
    }
    const listed = new Set(runs.map((r) => r.workflowId));
    for (const id of ids) if (!listed.has(id)) runs.push({ workflowId: id });
    let historiesScanned = 0;
    const histories: Array<{ workflowId: string; runId?: string; history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> }> = [];
    let historyEventsScanned = 0;
    let calibrated = false;
    const unreadable: string[] = [];
    for (const r of runs) {
      try {
        const history = await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
        histories.push({ ...r, history });
        const text = historyText(history);
        historiesScanned++;
        historyEventsScanned += history.events?.length ?? 0;
        if (text.includes(BENCH_TOKEN)) leaks.push(`history of ${r.workflowId} (run ${r.runId ?? 'latest'})`);
        // The scan reads payload bytes: a backup's input (only in its payload) must be visible to it.
        if (r.workflowId.startsWith('backup-') && text.includes('"retention":{"keepLast":2}')) calibrated = true;
      } catch (err) {
        unreadable.push(`${r.workflowId}: ${errorText(err)}`);
      }
    }
    if (!calibrated && plan.some((op) => op.type === 'backup')) unreadable.push('the history scan could not see a backup input in its payload: the scan is blind');
    for (const w of stack.workers) if (w.output.join('').includes(BENCH_TOKEN)) leaks.push(`output of worker ${w.pid}`);
    for (const f of fs.readdirSync(stack.dir).filter((n) => n.endsWith('.log') || n.includes('.log.'))) {
      if (fs.readFileSync(path.join(stack.dir, f), 'utf8').includes(BENCH_TOKEN)) leaks.push(`Temporal server log ${f}`);
    }
    check(
      'token found in histories or logs',
      String(leaks.length) + ` (${historiesScanned} histories, ${historyEventsScanned} events, ${stack.workers.length} worker outputs)`,
      leaks.length === 0 && unreadable.length === 0 && [...ids].every((id) => runs.some((r) => r.workflowId === id)),
      [...leaks, ...unreadable.map((u) => `not scanned: ${u}`)],
    );

    check('worker kills', String(workerKills), o.killEverySeconds <= 0 || workerKills >= 1);
    check('lock terminations', `${lockTerminations}/${o.lockTerminations}`, lockTerminations === o.lockTerminations);
    check('server restarts', `${serverRestarts}/${o.serverRestarts}`, serverRestarts === o.serverRestarts);

    // ---------------------------------------------------------------- figures
    const calls = emu.calls.slice(callsBefore);
    const byType: Record<string, number> = {};
    for (const op of allOps) if (outcomes.get(op.workflowId)?.status === 'completed') byType[op.type] = (byType[op.type] ?? 0) + 1;
    const adopted = completed.filter((c) => 'adopted' in c.result && c.result.adopted).length;
    const busy: number[] = [];
    const idleBetween: number[] = [];
    for (const id of workspaceIds) {
      const ops = completed.filter((c) => c.op.workspaceId === id).sort((a, b) => stopStepAt(a.result.steps) - stopStepAt(b.result.steps));
      for (const [i, c] of ops.entries()) {
        const end = Date.parse(c.result.steps[c.result.steps.length - 1]?.finishedAt ?? '');
        busy.push((end - stopStepAt(c.result.steps)) / 1000);
        const next = ops[i + 1];
        if (next && next.op.phase === 1 && c.op.phase === 1) idleBetween.push((stopStepAt(next.result.steps) - end) / 1000);
      }
    }

    const ok = checks.every((c) => c.ok);
    let evidenceDir: string | null = null;
    const mode = o.writeEvidence ?? 'on-failure';
    if (mode === 'always' || (mode === 'on-failure' && !ok)) {
      evidenceDir = o.evidenceDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-chaos-evidence-'));
      const dir = evidenceDir;
      fs.mkdirSync(path.join(dir, 'histories'), { recursive: true });
      const write = (name: string, data: unknown) => fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2));
      write('checks.json', checks);
      write(
        'operations.json',
        allOps.map((op) => ({ ...op, outcome: outcomes.get(op.workflowId), result: completed.find((c) => c.op === op)?.result ?? null })),
      );
      write('emulator-calls.json', emu.calls);
      write('emulator-created.json', emu.state.created);
      write('emulator-state.json', { ...emu.state.data, deleted: Object.fromEntries(deletedSnapshots) });
      for (const h of histories) write(path.join('histories', `${h.workflowId}__${h.runId ?? 'latest'}.json`), historyToJSON(h.history));
      for (const w of stack.workers) write(`worker-${w.pid}.log`, w.output.join(''));
      log(`chaos: evidence written to ${dir}`);
    }

    return {
      ok,
      seed: o.seed,
      settings: {
        operations: o.operations,
        phase1Operations: phase1Count,
        phase2Operations: phase2Count,
        workspaces: o.workspaces,
        stoppedWorkspaces,
        killEverySeconds: o.killEverySeconds,
        serverRestarts: o.serverRestarts,
        cancelRate: o.cancelRate,
        workers: o.workers,
        topology: o.topology,
        faults,
        delays,
      },
      operations: {
        total: allOps.length,
        completed: allOps.length - notCompleted.length - cancelledOps.length,
        cancelled: cancelledOps.length,
        cancelRequested,
        byType,
        notCompleted,
      },
      faults: {
        apiCalls: calls.length,
        unavailable: calls.filter((c) => c.outcome === 'unavailable').length,
        rateLimited: calls.filter((c) => c.outcome === 'rate-limited').length,
        lost: calls.filter((c) => c.outcome === 'lost').length,
        lostCreates: calls.filter((c) => c.outcome === 'lost' && c.method === 'POST' && c.route === '/api/workspaces/:id/snapshots').length,
      },
      snapshots: { created: created.length, handMade: [...handMade.values()].flat().length, seededBackups, pruned: reportedDeleted.size, adopted },
      workerKills,
      lockTerminations,
      workersStarted,
      unexpectedWorkerExits,
      serverRestarts,
      serverDownMs,
      historiesScanned,
      historyEventsScanned,
      evidenceDir,
      wallTimeMs: Date.now() - wallStart,
      phase1Ms,
      timing: { busy: quantiles(busy), idleBetween: quantiles(idleBetween) },
      phase2Ms,
      checks,
    };
  } finally {
    stopController = true;
    await controller.catch(() => {});
    await stack.close().catch((err: unknown) => log(`chaos: closing the stack failed: ${errorText(err)}`));
  }
}

const pct = (n: number) => `${Math.round(n * 100)}%`;

export function formatReport(r: ChaosReport): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push('rigsnap chaos report');
  lines.push('');
  lines.push(
    `  ${s.operations} operations (${s.phase1Operations} concurrent in phase 1, then ${s.phase2Operations} restores in phase 2) on ` +
      `${s.workspaces} workspaces (${s.stoppedWorkspaces} created stopped)`,
  );
  lines.push(`  completed by type: ${Object.entries(r.operations.byType).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(
    `  cancelled (as from the UI, 0-4 s after the start): ${r.operations.cancelRequested} requested (${pct(s.cancelRate)} of phase 1), ` +
      `${r.operations.cancelled} ended Cancelled, the rest had finished first`,
  );
  lines.push(
    `  faults (seed ${r.seed}): ${r.faults.unavailable} × 503, ${r.faults.rateLimited} × 429 (Retry-After ${s.faults.retryAfterSeconds} s), ` +
      `${r.faults.lost} lost answers (${r.faults.lostCreates} of them to snapshot creates), of ${r.faults.apiCalls} Rigbox API calls ` +
      `(rates ${pct(s.faults.unavailableRate)} / ${pct(s.faults.rateLimitRate)} / ${pct(s.faults.lostResponseRate)})`,
  );
  lines.push(
    `  worker kills: ${r.workerKills} (SIGKILL every ~${s.killEverySeconds} s); workers started ${r.workersStarted}; ` +
      `workers that died on their own ${r.unexpectedWorkerExits}`,
  );
  lines.push(`  topology: ${s.topology}; ${s.workers} worker process${s.workers === 1 ? '' : 'es'} at once`);
  lines.push(`  server restarts: ${r.serverRestarts} (Temporal down ${(r.serverDownMs / 1000).toFixed(1)} s, on the same state)`);
  lines.push(`  workspace locks terminated while held: ${r.lockTerminations}`);
  lines.push(
    `  snapshots made by Rigbox: ${r.snapshots.created} (${r.snapshots.handMade} hand-made and ${r.snapshots.seededBackups} older backups at setup); ` +
      `pruned ${r.snapshots.pruned}; snapshot/backup results that adopted a snapshot a lost answer or killed worker left ${r.snapshots.adopted}`,
  );
  lines.push(
    `  wall time: ${(r.wallTimeMs / 1000).toFixed(1)} s (phase 1 ${(r.phase1Ms / 1000).toFixed(1)} s, phase 2 ${(r.phase2Ms / 1000).toFixed(1)} s)`,
  );
  const q = (x: Quantiles) => `median ${x.median.toFixed(1)} s, p90 ${x.p90.toFixed(1)} s, max ${x.max.toFixed(1)} s (n ${x.n})`;
  lines.push(`  operation time, stop to end: ${q(r.timing.busy)}`);
  lines.push(`  workspace idle between queued operations (phase 1): ${q(r.timing.idleBetween)}`);
  lines.push('');
  const width = Math.max(...r.checks.map((c) => c.name.length));
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.value}`);
    for (const d of c.details.slice(0, 20)) lines.push(`          - ${d}`);
    if (c.details.length > 20) lines.push(`          … and ${c.details.length - 20} more`);
  }
  lines.push('');
  if (r.evidenceDir) lines.push(`  evidence (histories, emulator calls, results, worker output): ${r.evidenceDir}`);
  lines.push(r.ok ? '  RESULT: PASS' : '  RESULT: FAIL');
  return lines.join('\n');
}
