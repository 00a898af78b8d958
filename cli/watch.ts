import type { Progress } from '../domain/index.js';
import type { LockWait, ProgressReport, RigsnapClient } from '../client/rigsnap-client.js';
import { visible, type Io } from './io.js';
import { describeLockWait, domain, finishedStepLines, renderProgress } from './run-deps.js';

/**
 * Watching an operation until it ends: on a terminal a live block (steps with elapsed time, the
 * activity's heartbeat, where it waits for its workspace's lock) redrawn in place; in a log, each step
 * once when it finishes; with --json nothing. Says when no worker polls the task queue.
 */

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const CLEAR_LINES = (n: number) => `\r\u001b[${n}A\u001b[J`;

/** Only the steps that began after `sinceMs` (a rollback within a long checkpoint session). Allows 1 s of clock skew between this machine and the workers (workflow time stamps the steps). */
export function stepsSince(report: ProgressReport, sinceMs: number | undefined): ProgressReport {
  if (sinceMs === undefined || !report.progress) return report;
  const steps = report.progress.steps.filter((s) => Date.parse(s.startedAt) >= sinceMs - 1000);
  return { ...report, progress: { ...report.progress, steps } };
}

/** What a watch saw, readable after it ends however it ends. */
export interface Seen {
  /** The last progress report. */
  last: ProgressReport | null;
  /** Without a terminal: the progress whose finished steps are already printed. */
  printed: Progress | null;
  /** It waited for its workspace's lock at some point. */
  lockWaited?: boolean;
}

export const newSeen = (): Seen => ({ last: null, printed: null });

/**
 * How long an operation may go without any worker answering before the CLI asks Temporal whether a
 * worker polls the task queue at all (a worker answers the first progress query within milliseconds).
 */
const NO_WORKER_CHECK_AFTER_MS = 3000;
const NO_WORKER_RECHECK_MS = 5000;

export function noWorkerNotice(rig: RigsnapClient): string {
  return (
    `no rigsnap worker is polling task queue "${rig.taskQueue}" (namespace ${rig.namespace} at ${rig.address}): the operation is queued ` +
    'and starts when one does. Start one with `npm start` in the rigsnap checkout (the local stack), or `RIGBOX_TOKEN=… npm run worker` ' +
    'against your Temporal. Ctrl-C stops watching; the operation stays queued.'
  );
}

/** Notices a task queue without workers (after a grace period) and a worker that comes later. */
class WorkerPresence {
  notice: string | null = null;
  private readonly since = Date.now();
  private lastCheck = 0;

  constructor(
    private readonly rig: RigsnapClient,
    private readonly io: Io,
  ) {}

  async check(): Promise<void> {
    if (Date.now() - this.since < NO_WORKER_CHECK_AFTER_MS || Date.now() - this.lastCheck < NO_WORKER_RECHECK_MS) return;
    this.lastCheck = Date.now();
    const live = await this.rig.liveWorkers().catch(() => null);
    if (live === null) return;
    if (live.length === 0 && !this.notice) {
      this.notice = noWorkerNotice(this.rig);
      if (!this.io.tty) this.io.err(`rigsnap: ${this.notice}`);
    } else if (live.length > 0) {
      this.workerCame();
    }
  }

  workerCame(): void {
    if (!this.notice) return;
    this.notice = null;
    if (!this.io.tty) this.io.err(`rigsnap: a worker polls task queue "${this.rig.taskQueue}" now; the operation goes on`);
  }
}

/** The block of lines redrawn in place on a terminal, cut to its width. */
class LiveBlock {
  private printed = 0;

  draw(lines: string[]): void {
    const cols = Math.max(20, (process.stdout.columns || 120) - 1);
    const fit = (line: string) => (visible(line).length > cols ? `${visible(line).slice(0, cols - 1)}…` : line);
    process.stdout.write(`${this.printed > 0 ? CLEAR_LINES(this.printed) : ''}${lines.map(fit).join('\n')}\n`);
    this.printed = lines.length;
  }

  clear(): void {
    if (this.printed > 0) process.stdout.write(CLEAR_LINES(this.printed));
    this.printed = 0;
  }
}

/** One watch: polls progress (and the lock, while the operation waits for it) until `done` settles. */
class Watch {
  settled = false;
  lock: LockWait | null = null;
  private lockText = '';
  private frame = 0;
  readonly block = new LiveBlock();
  readonly workers: WorkerPresence;

  constructor(
    private readonly rig: RigsnapClient,
    private readonly io: Io,
    private readonly workflowId: string,
    private readonly seen: Seen,
    private readonly sinceMs: number | undefined,
  ) {
    this.workers = new WorkerPresence(rig, io);
  }

  draw(): void {
    const last = this.seen.last;
    const lines = renderProgress(
      {
        progress: last?.progress ?? null,
        activity: last?.activity ?? null,
        now: Date.now(),
        startedAt: last?.startedAt ?? null,
        running: last?.progress?.operation === 'fleet-backup' ? last.runningChildren.map((id) => id.replace(`${this.workflowId}-`, '')) : null,
        lock: this.lock,
        lockWaited: Boolean(this.seen.lockWaited),
        notice: this.workers.notice,
      },
      { color: true, spinnerFrame: this.frame++ },
    );
    this.block.draw(lines);
  }

  /** One look: progress, the lock while the operation waits for it, and (in a log) the steps that ended. */
  async look(): Promise<void> {
    const report = stepsSince(await this.rig.progress(this.workflowId, undefined, 2000), this.sinceMs);
    if (this.settled) return;
    this.seen.last = report;
    if (report.progress) this.workers.workerCame();
    else await this.workers.check();
    const step = report.progress?.currentStep;
    const ws = report.progress?.workspaceId;
    this.lock = ws && (step === 'preflight' || step === 'wait-for-lock') ? await this.rig.lockWait(this.workflowId, ws).catch(() => null) : null;
    if (this.lock) this.seen.lockWaited = true;
    if (!this.io.tty) this.printFinished(report);
  }

  private printFinished(report: ProgressReport): void {
    for (const line of finishedStepLines(this.seen.printed, report.progress, { lockWaited: this.seen.lockWaited })) this.io.out(line);
    this.seen.printed = report.progress ?? this.seen.printed;
    const text = this.lock ? describeLockWait(this.lock) : '';
    if (text && text !== this.lockText) this.io.out(`  … ${domain().STEP_LABELS['wait-for-lock']}: ${text}`);
    this.lockText = text;
  }

  async poll(settled: Promise<unknown>): Promise<void> {
    while (!this.settled) {
      try {
        await this.look();
      } catch {
        // A missed poll is not worth a message; the result decides.
      }
      await Promise.race([
        settled.then(
          () => undefined,
          () => undefined,
        ),
        new Promise((r) => setTimeout(r, 500)),
      ]);
    }
  }
}

/**
 * Waits for `done` while showing progress: on a terminal a live block (steps with elapsed time, the
 * activity's heartbeat) redrawn in place; in a log, each step once when it finishes; with --json nothing.
 * Ctrl-C stops watching (exit 130); the operation goes on.
 */
/** What Ctrl-C during an operation says: it was only the watching that stopped, and how to follow or cancel it. */
export function detachedLines(workflowId: string): string[] {
  return ['stopped watching; the operation goes on in Temporal.', `  follow it:  rigsnap status ${workflowId}`, `  cancel it:  rigsnap cancel ${workflowId}`];
}

export async function watch<T>(
  rig: RigsnapClient,
  io: Io,
  workflowId: string,
  done: Promise<T>,
  seen: Seen = newSeen(),
  /** Show only steps that began after this (a rollback within a long checkpoint session). */
  sinceMs?: number,
): Promise<T> {
  const w = new Watch(rig, io, workflowId, seen, sinceMs);
  const settled = done.finally(() => {
    w.settled = true;
  });
  if (io.json) return settled;
  const onSigint = () => {
    w.block.clear();
    if (io.tty) process.stdout.write(SHOW_CURSOR);
    io.err(`\n${detachedLines(workflowId).join('\n')}`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  if (io.tty) process.stdout.write(HIDE_CURSOR);
  const animate = io.tty ? setInterval(() => w.draw(), 100) : undefined;
  const poller = w.poll(settled);
  try {
    return await settled;
  } finally {
    if (animate) clearInterval(animate);
    await poller;
    w.block.clear();
    if (io.tty) process.stdout.write(SHOW_CURSOR);
    process.removeListener('SIGINT', onSigint);
  }
}

/**
 * The steps as they ended (from a result's steps, or the last progress), above the result line: all of
 * them on a terminal (the live block is gone), in a log only those not printed yet.
 */
export function finalSteps(io: Io, steps: Progress['steps'] | undefined, failed: boolean, seen: Seen): void {
  if (io.json || !steps?.length) return;
  const final: Progress = { operation: '', workspaceId: null, state: failed ? 'failed' : 'completed', currentStep: null, steps };
  if (!io.tty) {
    for (const line of finishedStepLines(seen.printed, final, { lockWaited: seen.lockWaited })) io.out(line);
    return;
  }
  for (const line of renderProgress({ progress: final, now: Date.now(), lockWaited: seen.lockWaited }, { color: true }).slice(1)) io.out(line);
}
