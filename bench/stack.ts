import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { projectRoot, resolveTemporalCli, startTemporalDevServer, waitForTemporal, type DevServer } from '../dev/temporal-server.js';
import { freePort, spawnWorkerProcess, type WorkerProcess } from '../dev/worker-process.js';
import { ensureSearchAttributes } from '../worker/temporal.js';

/**
 * A whole local stack for the benchmark and the chaos suite: a Temporal dev server (SQLite file, so
 * it can be restarted on the same state), the emulator in this process, and workers as child
 * processes (so they can be SIGKILLed and their memory measured) running the built worker entry.
 */

export type { WorkerProcess } from '../dev/worker-process.js';

export const BENCH_TOKEN = 'bench-token-6a1f0c93d2e84b57';

export interface BenchStack {
  dir: string;
  address: string;
  taskQueue: string;
  client: Client;
  emu: Emulator;
  server: DevServer;
  /** The dev server's Prometheus metrics (its `action` counter is what Temporal Cloud bills). */
  serverMetricsUrl: string;
  workers: WorkerProcess[];
  /** `entry`: another build's worker (the bench's before-and-after); this checkout's dist/ by default. */
  startWorker(extraEnv?: Record<string, string>, nodeArgs?: string[], entry?: string): Promise<WorkerProcess>;
  /** Stops the dev server and starts it again on the same SQLite file and port. */
  restartServer(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  emulator: Omit<EmulatorOptions, 'token'>;
  taskQueue?: string;
  /** Environment every worker gets (poll schedule, rate limit…). */
  workerEnv?: Record<string, string>;
  /** Keep Temporal's state in memory (the benchmark); the chaos suite needs the file to restart on. */
  inMemory?: boolean;
  log?: (line: string) => void;
}

/** The stack's Temporal dev server (in memory, or on a SQLite file in `dir`) with rigsnap's search attributes. */
async function startStackServer(dir: string, inMemory: boolean) {
  const serverOptions = {
    cliPath: await resolveTemporalCli(),
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    inMemory,
    metricsPort: await freePort(),
  };
  const server = startTemporalDevServer(serverOptions);
  const native = await waitForTemporal(server, 'default', { timeoutMs: 90_000 });
  await ensureSearchAttributes(native, 'default');
  return { serverOptions, server, native };
}

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  const log = o.log ?? (() => {});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-bench-'));
  const started = await startStackServer(dir, o.inMemory ?? false);
  const { serverOptions } = started;
  let server = started.server;
  let native: NativeConnection = started.native;
  const address = server.address;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const emu = await startEmulator({ ...o.emulator, token: BENCH_TOKEN });
  const taskQueue = o.taskQueue ?? `bench-${Date.now().toString(36)}`;
  const workerEntry = path.join(projectRoot(), 'dist', 'worker', 'main.js');
  if (!fs.existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: run \`npm run build\` first`);
  log(
    `stack: Temporal ${address} (${serverOptions.inMemory ? 'in memory' : `db ${serverOptions.dbFile}`}), Rigbox emulator ${emu.url}, task queue ${taskQueue}`,
  );

  const stack: BenchStack = {
    dir,
    address,
    taskQueue,
    client,
    emu,
    server,
    serverMetricsUrl: `http://127.0.0.1:${serverOptions.metricsPort}/metrics`,
    workers: [],
    async startWorker(extraEnv = {}, nodeArgs: string[] = [], entry = workerEntry) {
      const w = spawnWorkerProcess({
        entry,
        nodeArgs,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          TEMPORAL_ADDRESS: address,
          TEMPORAL_NAMESPACE: 'default',
          RIGBOX_API_URL: emu.url,
          RIGBOX_TOKEN: BENCH_TOKEN,
          RIGSNAP_TASK_QUEUE: taskQueue,
          RIGSNAP_METRICS_PORT: '0',
          RIGSNAP_LOG_LEVEL: 'WARN',
          ...o.workerEnv,
          ...extraEnv,
        },
      });
      stack.workers.push(w);
      return w;
    },
    async restartServer(downMs = 2000) {
      log('stopping the Temporal dev server');
      await native.close().catch(() => {});
      await server.stop(15_000);
      await new Promise((r) => setTimeout(r, downMs));
      log('starting the Temporal dev server again on the same SQLite file');
      server = startTemporalDevServer(serverOptions);
      stack.server = server;
      native = await waitForTemporal(server, 'default', { timeoutMs: 90_000 });
    },
    async close() {
      await Promise.all(stack.workers.map((w) => w.stop('SIGTERM')));
      await connection.close().catch(() => {});
      await native.close().catch(() => {});
      await emu.close();
      await server.stop(15_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Waits for a condition, polling; no fixed sleeps. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
