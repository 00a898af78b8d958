import type { Cluster } from '../dev/cluster.js';
import type { WorkerProcess } from '../dev/worker-process.js';
import { startEmulator } from '../emulator/index.js';
import type { ChaosStack } from './chaos.js';
import { BENCH_TOKEN, type BenchStackOptions } from './stack.js';

/**
 * A `startStack` for runChaos (chaos.ts) on a running cluster: the chaos run's own emulator (its
 * faults and delays) and task queue, its worker processes on the cluster's Temporal Server, and the
 * server restart as a SIGKILL of the server process. Closing it stops only what it started.
 */
export function clusterChaosStack(
  cluster: Cluster,
  hooks: {
    signal?: NodeJS.Signals;
    /** Runs before the chaos run's server restart, e.g. to create a schedule that must survive it. */
    beforeRestart?: () => Promise<void>;
    afterRestart?: () => Promise<void>;
    /** Sees the stack once it exists (its task queue, its emulator). */
    onStack?: (stack: ChaosStack) => void;
  } = {},
): (o: BenchStackOptions) => Promise<ChaosStack> {
  return async (o) => {
    const emu = await startEmulator({ ...o.emulator, token: BENCH_TOKEN });
    const taskQueue = o.taskQueue ?? `chaos-${Date.now().toString(36)}`;
    const workers: WorkerProcess[] = [];
    const stack: ChaosStack = {
      dir: cluster.dir,
      taskQueue,
      client: cluster.client,
      emu,
      workers,
      async startWorker(extraEnv = {}) {
        const w = await cluster.startWorker({
          RIGBOX_API_URL: emu.url,
          RIGBOX_TOKEN: BENCH_TOKEN,
          RIGSNAP_TASK_QUEUE: taskQueue,
          RIGSNAP_LOG_LEVEL: 'WARN',
          ...o.workerEnv,
          ...extraEnv,
        });
        workers.push(w);
        return w;
      },
      async restartServer(downMs = 2000) {
        await hooks.beforeRestart?.();
        await cluster.restartServer({ downMs, ...(hooks.signal ? { signal: hooks.signal } : {}) });
        await hooks.afterRestart?.();
      },
      async close() {
        await Promise.all(workers.map((w) => w.stop('SIGTERM')));
        await emu.close();
      },
    };
    hooks.onStack?.(stack);
    o.log?.(`stack: cluster Temporal ${cluster.address} (PostgreSQL 127.0.0.1:${cluster.postgres.port}), Rigbox emulator ${emu.url}, task queue ${taskQueue}`);
    return stack;
  };
}
