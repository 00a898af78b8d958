import os from 'node:os';
import { lockStateQuery } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import type { WorkerProcess } from '../stack.js';
import { errorText, sleep, type ChaosContext } from './model.js';

/**
 * What happens to rigsnap during a chaos run besides Rigbox's faults: workers SIGKILLed (each once its
 * replacement polls), the Temporal server restarted on the same state, the lock of a busy workspace
 * terminated as by an operator. A controller loop does them while the operations run.
 */
export class Disruptions {
  workerKills = 0;
  lockTerminations = 0;
  workersStarted = 0;
  unexpectedWorkerExits = 0;
  serverRestarts = 0;
  serverDownMs = 0;
  /** Set by the drive when phase 1 is half over; cleared once the server is back. */
  restartDue = false;
  /** Set by the drive when a quarter of phase 1 is over. */
  lockTerminationDue = false;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly intentionallyKilled = new Set<number>();

  constructor(private readonly ctx: ChaosContext) {}

  private live(): WorkerProcess[] {
    return this.ctx.stack.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  async startWorker(): Promise<WorkerProcess> {
    const w = await this.ctx.stack.startWorker();
    this.workersStarted++;
    void w.exited.then(() => {
      if (!this.intentionallyKilled.has(w.pid) && !this.stopped) {
        this.unexpectedWorkerExits++;
        this.ctx.log(`chaos: worker ${w.pid} exited on its own (${w.child.signalCode ?? `code ${w.child.exitCode}`}): ${w.output.join('').slice(-500)}`);
      }
    });
    return w;
  }

  /** True once the worker polls the task queue (its identity is pid@host). */
  private async isPolling(w: WorkerProcess): Promise<boolean> {
    try {
      const r = await this.ctx.stack.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: this.ctx.stack.taskQueue, kind: 1 }, // NORMAL
        taskQueueType: 2, // activity pollers: the worker's last poller to start
      });
      return (r.pollers ?? []).some((p) => p.identity === `${w.pid}@${os.hostname()}`);
    } catch {
      return false;
    }
  }

  private async killAndReplace(): Promise<void> {
    const { o, log, stack } = this.ctx;
    // The oldest workers beyond the wanted count, once the fresh one is in (all of them with one worker).
    const alive = this.live();
    const victims = alive.slice(0, Math.max(1, alive.length - o.workers + 1));
    const fresh = await this.startWorker();
    // Keep a worker alive: the old one dies only once the new one polls.
    await waitUntil(() => this.isPolling(fresh), 15_000);
    if (!(await this.isPolling(fresh))) log(`chaos: worker ${fresh.pid} is not polling yet; killing the old one anyway`);
    // Kill while Rigbox copies a disk if it soon does: the answer of that create is lost with the worker.
    await waitUntil(() => Object.values(stack.emu.state.data.workspaces).some((ws) => ws.busyUntil !== null), 3000);
    for (const v of victims) {
      this.intentionallyKilled.add(v.pid);
      await v.stop('SIGKILL');
      this.workerKills++;
      log(`chaos: SIGKILLed worker ${v.pid} (kill ${this.workerKills}); worker ${fresh.pid} carries on`);
    }
  }

  private async restartServer(): Promise<void> {
    const t0 = Date.now();
    await this.ctx.stack.restartServer(this.ctx.o.serverDownMs);
    this.serverRestarts++;
    this.serverDownMs = Date.now() - t0;
    this.ctx.log(`chaos: Temporal server restarted on the same state (down ${(this.serverDownMs / 1000).toFixed(1)} s)`);
  }

  /**
   * An operator terminates the entity of a workspace (its lock) while an operation holds it: the next
   * operation recovers it from the closed run's state, never from visibility.
   */
  private async terminateABusyLock(): Promise<void> {
    for (const id of this.ctx.workspaceIds) {
      const entity = this.ctx.stack.client.workflow.getHandle(workflowIds.workspace(id));
      const state = await entity.query(lockStateQuery).catch(() => null);
      if (!state?.holder) continue;
      await entity.terminate('chaos: an operator terminates the workspace entity');
      this.lockTerminations++;
      this.ctx.log(`chaos: terminated ${workflowIds.workspace(id)} while ${state.holder.workflowId} held it (${state.queue.length} waiting)`);
      return;
    }
  }

  /** Starts the wanted workers, then the controller loop (until stop()). */
  async start(): Promise<void> {
    for (let i = 0; i < this.ctx.o.workers; i++) await this.startWorker();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { o, log } = this.ctx;
    let nextKillAt = Date.now() + o.killEverySeconds * 1000;
    let nextProgressAt = Date.now() + 30_000;
    while (!this.stopped) {
      if (this.restartDue) {
        // Cleared only once the server is back: whoever waits on it (between the phases) waits for that.
        if (this.serverRestarts < o.serverRestarts) await this.restartServer().catch((err: unknown) => log(`chaos: server restart failed: ${errorText(err)}`));
        this.restartDue = false;
      }
      if (this.lockTerminationDue && this.lockTerminations < o.lockTerminations) {
        await this.terminateABusyLock().catch((err: unknown) => log(`chaos: lock termination failed: ${errorText(err)}`));
        if (this.lockTerminations >= o.lockTerminations) this.lockTerminationDue = false;
      }
      while (this.live().length < o.workers && !this.stopped) {
        log(`chaos: ${this.live().length} of ${o.workers} workers alive; starting one`);
        await this.startWorker();
      }
      if (o.killEverySeconds > 0 && this.workerKills < o.maxWorkerKills && Date.now() >= nextKillAt) {
        await this.killAndReplace().catch((err: unknown) => log(`chaos: worker kill failed: ${errorText(err)}`));
        nextKillAt = Date.now() + o.killEverySeconds * 1000;
      }
      if (Date.now() >= nextProgressAt) {
        nextProgressAt = Date.now() + 30_000;
        log(`chaos: ${this.ctx.finishedOps} of ${o.operations} operations finished (${this.ctx.completed.length} completed)`);
      }
      await sleep(200);
    }
  }

  /** Ends the controller loop (workers stay until the stack closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.catch(() => {});
  }
}

/** Polls `check` every 100 ms for at most `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !(await check())) await sleep(100);
}
