import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { spawnGuarded } from './guarded-process.js';
import { canConnect, sleep } from './waits.js';

/**
 * The Temporal dev server (`temporal server start-dev`) as `npm start`, the benchmark and the chaos
 * suite run it: found or built by scripts/ensure-temporal-cli.mjs, started in its own process group
 * behind a watchdog, and waited for until its namespace answers.
 */

/** The project root (where package.json is), found from this module in dev/ or dist/dev/. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'scripts', 'ensure-temporal-cli.mjs'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the rigsnap project root (scripts/ensure-temporal-cli.mjs)');
    dir = parent;
  }
}

/** The Temporal CLI the tests and `npm start` share: TEMPORAL_CLI_PATH, PATH, the cache, or a fresh build. */
export async function resolveTemporalCli(): Promise<string> {
  const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'ensure-temporal-cli.mjs')).href;
  const mod = (await import(script)) as { ensureTemporalCli(): Promise<string> };
  return mod.ensureTemporalCli();
}

export interface DevServer {
  pid: number;
  address: string;
  /** Resolves when the server process exits (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to its group, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

/**
 * Task-queue priority and fairness (rigsnap's priority keys, domain/priority.ts): Temporal Server 1.29
 * (the dev server of CLI 1.5.1) dispatches by priority only with the new matcher, and by fairness key
 * only with fairness on; both are off by default there. Every dev server the project starts (npm start,
 * the bench and chaos stacks, the tests' global setup) turns them on, as deploy/temporal/dynamicconfig
 * does for the compose topology.
 */
export const PRIORITY_DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  // Priority and fairness hold within a task-queue partition, and a poll reaches one partition of four
  // at random: a priority-1 task on one waits while a poll takes a priority-4 task from another. One
  // partition serves a dev server's load and makes the order exact (docs/operations.md#priority-and-fairness).
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
] as const;

/** `temporal server start-dev` arguments that set PRIORITY_DYNAMIC_CONFIG. */
export function priorityDevServerArgs(): string[] {
  return PRIORITY_DYNAMIC_CONFIG.flatMap((kv) => ['--dynamic-config-value', kv]);
}

/** Starts `temporal server start-dev` with its state in dbFile; returns at once (see waitForTemporal). */
export function startTemporalDevServer(o: {
  cliPath: string;
  port: number;
  uiPort: number;
  namespace: string;
  dbFile: string;
  logFile: string;
  /** Keep the state in memory instead of dbFile (benchmarks: nothing to restart, less disk I/O). */
  inMemory?: boolean;
  /** Serve the server's Prometheus metrics here (the benchmark counts Temporal actions). */
  metricsPort?: number;
}): DevServer {
  fs.mkdirSync(path.dirname(o.dbFile), { recursive: true });
  // Keep one previous log; the server's own state is the SQLite file, not this.
  if (fs.existsSync(o.logFile) && fs.statSync(o.logFile).size > 5 * 1024 * 1024) fs.renameSync(o.logFile, `${o.logFile}.1`);
  const args = [
    'server',
    'start-dev',
    ...(o.inMemory ? [] : ['--db-filename', o.dbFile]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    '--log-level',
    'warn',
    ...(o.metricsPort ? ['--metrics-port', String(o.metricsPort)] : []),
    ...(o.namespace !== 'default' ? ['--namespace', o.namespace] : []),
    ...priorityDevServerArgs(),
  ];
  // The state directory in the label names, in `ps`, the stack the watchdog guards.
  const p = spawnGuarded({ command: o.cliPath, args, logFile: o.logFile, label: `the Temporal dev server (${path.dirname(o.dbFile)})` });
  return {
    pid: p.pid,
    address: `127.0.0.1:${o.port}`,
    exited: p.exited,
    async stop(graceMs = 10_000) {
      await p.stop({ graceMs });
    },
    logTail: (lines) => p.logTail(lines),
  };
}

/**
 * Waits until the server answers for the namespace (the dev server listens a moment before its
 * namespace is ready). Fails early when the server exits, with the end of its log.
 */
export async function waitForTemporal(server: DevServer, namespace: string, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<NativeConnection> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((e) => (exitedWith = e));
  const [host, portText] = server.address.split(':') as [string, string];
  const check = () => {
    o.signal?.throwIfAborted();
    if (exitedWith) {
      const tail = server.logTail();
      const inUse = /address already in use|bind:/i.test(tail) ? ' (a port it needs is in use)' : '';
      throw new Error(
        `the Temporal dev server exited during start-up${inUse} with ${exitedWith.signal ?? `code ${exitedWith.code}`}` +
          (tail ? `; the end of its log:\n${tail}` : ''),
      );
    }
    if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${server.address} in time; see its log:\n${server.logTail()}`);
  };
  while (!(await canConnect(Number(portText), host))) {
    check();
    await sleep(100);
  }
  let connection: NativeConnection | undefined;
  for (;;) {
    check();
    try {
      connection ??= await NativeConnection.connect({ address: server.address });
      await connection.workflowService.describeNamespace({ namespace });
      return connection;
    } catch {
      await sleep(200);
    }
  }
}
