import { WorkflowFailedError } from '@temporalio/client';
import type { BackupWorkspaceResult, RestoreWorkspaceResult, SnapshotWorkspaceResult, StepRecord } from '../../domain/index.js';
import type { EmulatedSnapshot, EmulatorDelays } from '../../emulator/index.js';
import type { BenchStack, BenchStackOptions } from '../stack.js';

/**
 * The chaos suite's model: its options and report, the planned operations and their outcomes, and the
 * context that setup, drive, checks and report share (one object per run, filled in as it goes).
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
  /** Extra workspaces deleted in Rigbox while their snapshot waits for the stop (bench/chaos/deletions.ts). */
  workspaceDeletions?: number;
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
  /** The terminal conditions: workspaces deleted mid-run, how many of their operations ended WorkspaceGone, and the figures that must be 0. */
  terminal: { workspacesDeleted: number; endedWorkspaceGone: number; leftDown: number; duplicates: number; stuckRuns: number };
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

export function quantiles(values: number[]): Quantiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] ?? Number.NaN;
  return { n: v.length, median: at(0.5), p90: at(0.9), max: v[v.length - 1] ?? Number.NaN };
}

export const DEFAULTS = {
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
  workspaceDeletions: 1,
  workers: 1,
  topology: 'Temporal dev server (SQLite file)',
};
const DEFAULT_FAULTS = { unavailableRate: 0.15, rateLimitRate: 0.05, lostResponseRate: 0.15, retryAfterSeconds: 1 };
const DEFAULT_DELAYS: Partial<EmulatorDelays> = { stopMs: 400, startMs: 400, snapshotMs: 300, restoreMs: 300, latencyMs: 5 };

/** The run's Rigbox faults (during the phases) and delays: the defaults, with what the options change. */
export const faultsOf = (o: ChaosOptions): ChaosReport['settings']['faults'] => ({ ...DEFAULT_FAULTS, ...(o.faults ?? {}) });
export const delaysOf = (o: ChaosOptions): Partial<EmulatorDelays> => ({ ...DEFAULT_DELAYS, ...(o.delays ?? {}) });

/** The names hand-made snapshots get at setup: retention must never touch them. */
export const HAND_MADE_NAMES = ['before-migration', 'stable-model-v2'] as const;
export const BACKUP_PREFIX = 'bk-';
export const BACKUP_RETENTION = { keepLast: 2 } as const;

export type Files = Record<string, string>;

export type OperationType = 'snapshot' | 'restore' | 'backup';

export interface PlannedOperation {
  index: number;
  phase: 1 | 2;
  type: OperationType;
  workspaceId: string;
  workflowId: string;
  input: Record<string, unknown>;
  /** Restores: the snapshot restored. */
  targetSnapshotId?: string;
  /** Cancel the operation this long after it started (phase 1, ~cancelRate of them). */
  cancelAfterMs?: number;
}

/** An operation that completed, with its result as its workflow type returns it. */
export type Completed =
  | { op: PlannedOperation; kind: 'snapshot'; result: SnapshotWorkspaceResult }
  | { op: PlannedOperation; kind: 'restore'; result: RestoreWorkspaceResult }
  | { op: PlannedOperation; kind: 'backup'; result: BackupWorkspaceResult };

export interface HandMadeSnapshot {
  id: string;
  name: string;
  files: Files;
}

export type ResolvedChaosOptions = typeof DEFAULTS & ChaosOptions;

/** What one chaos run knows, shared by its setup, drive, checks and report. */
export class ChaosContext {
  readonly faults: ChaosReport['settings']['faults'];
  readonly delays: Partial<EmulatorDelays>;
  readonly deadline: number;

  // setup (setup.ts)
  readonly workspaceIds: string[];
  readonly initialStatus = new Map<string, 'running' | 'stopped'>();
  readonly initialFiles = new Map<string, Files>();
  readonly handMade = new Map<string, HandMadeSnapshot[]>();
  /** Snapshot id → "hand-made …" / "seeded backup …". */
  readonly setupClaims = new Map<string, string>();
  seededBackups = 0;
  /** Rigbox deletes a snapshot's disk; what each deleted one held, so a pruned backup can still be checked. */
  readonly deletedSnapshots = new Map<string, EmulatedSnapshot>();
  plan: PlannedOperation[] = [];
  phase2Plan: PlannedOperation[] = [];
  /** What each workspace held just before its phase-2 restore. */
  readonly preRestoreFiles = new Map<string, Files>();

  // drive (drive.ts, disruptions.ts)
  readonly outcomes = new Map<string, OperationOutcome>();
  readonly completed: Completed[] = [];
  finishedOps = 0;
  cancelRequested = 0;
  readonly workspaceStateProblems: string[] = [];
  callsBefore = 0;
  phase1Ms = 0;
  phase2Ms = 0;

  constructor(
    readonly o: ResolvedChaosOptions,
    readonly stack: ChaosStack,
    readonly log: (line: string) => void,
    /** The run's seeded generator: the plan is the same for the same seed. */
    readonly random: () => number,
    /** Names the run's workflows and task queue. */
    readonly runTag: string,
    /** When the run began (before its stack started): the wall time and the deadline count from here. */
    readonly wallStart: number,
  ) {
    this.faults = faultsOf(o);
    this.delays = delaysOf(o);
    this.deadline = this.wallStart + o.timeoutSeconds * 1000;
    this.workspaceIds = Array.from({ length: o.workspaces }, (_, i) => `ws_chaos${String(i).padStart(2, '0')}`);
  }

  get phase1Count(): number {
    return this.plan.length;
  }
  get allOps(): PlannedOperation[] {
    return [...this.plan, ...this.phase2Plan];
  }
  /** What a snapshot holds (or held, if deleted). */
  snapshotFiles(id: string): Files | undefined {
    return (this.stack.emu.state.data.snapshots[id] ?? this.deletedSnapshots.get(id))?.files;
  }
  outcomeOf(op: PlannedOperation): OperationOutcome['status'] | undefined {
    return this.outcomes.get(op.workflowId)?.status;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function sameFiles(a: Files | undefined, b: Files | undefined): boolean {
  if (!a || !b) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

export function describeFiles(f: Files | undefined): string {
  if (!f) return '(unknown: snapshot gone)';
  return f['model/weights.bin'] ?? JSON.stringify(f);
}

export function errorText(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    return `${err.message}: ${cause ? `${cause.name}: ${cause.message}` : 'no cause'}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The step that began the operation's time under the lock: every snapshot, restore and backup stops first. */
export function stopStepAt(steps: StepRecord[]): number {
  const stop = steps.find((s) => s.step === 'stop');
  return stop ? Date.parse(stop.startedAt) : Number.NaN;
}
