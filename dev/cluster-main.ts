#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pc from 'picocolors';
import { startCluster, type Cluster } from './cluster.js';

/**
 * `npm run cluster [-- --workers N]`: the docker-compose.yml topology on this machine without Docker
 * (dev/cluster.ts), until Ctrl-C or SIGTERM, which stop all of it and remove its directory.
 */

const USAGE = `usage: npm run cluster -- [--workers N] [--no-ui]
  PostgreSQL, Temporal Server on it, the Temporal Web UI, the Rigbox emulator and N rigsnap workers
  (default 3), as docker-compose.yml runs them, in a temporary directory. Ctrl-C stops everything.`;

function banner(c: Cluster, startedInMs: number): string {
  const rows: Array<[string, string]> = [
    [
      'PostgreSQL',
      `${c.versions.postgres}  127.0.0.1:${c.postgres.port}  user ${c.postgres.user}, databases temporal and temporal_visibility (pid ${c.postgres.pid}, runs as ${c.postgres.runAs}, data in ${c.postgres.dataDir})`,
    ],
    [
      'Temporal Server',
      `${c.versions.server}  ${c.address}  namespace ${c.namespace} (pid ${c.server.pid()}, log ${c.server.logFile}); ` +
        `docker-compose.yml's environment with local ${c.server.local.length} addresses and ports; dynamic config ${c.topology.dynamicConfigFile}`,
    ],
    ['Temporal Web UI', c.ui ? `${c.versions.ui}  ${c.ui.url}  (pid ${c.ui.pid})` : `not running: ${c.uiUnavailable ?? 'unknown'}`],
    ['Rigbox', c.emulator ? `${c.emulator.url}  (emulator, demo workspaces ${Object.keys(c.emulator.state.data.workspaces).join(', ')})` : 'none'],
    ['Workers', `${c.workers.length} processes on task queue ${c.taskQueue}: ` + c.workers.map((w) => `pid ${w.pid} (metrics :${w.metricsPort})`).join(', ')],
    ['Logs', `${c.dir}/*.log`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `${pc.bold(pc.green('rigsnap cluster is up'))} (in ${(startedInMs / 1000).toFixed(1)}s): the docker-compose.yml topology, without Docker`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    'Try:',
    `  ${pc.cyan(`TEMPORAL_ADDRESS=${c.address} ./rigsnap snapshot ws_demo --name before-migration`)}`,
    `  ${pc.cyan(`TEMPORAL_ADDRESS=${c.address} ./rigsnap list ws_demo`)}`,
    'Stop everything with Ctrl-C.',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string' },
      'no-ui': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const workers = values.workers === undefined ? 3 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers must be a whole number ≥ 0 (got ${JSON.stringify(values.workers)})`);

  const started = Date.now();
  const say = (line: string) => process.stderr.write(`${pc.dim('[cluster]')} ${line}\n`);
  const abort = new AbortController();
  let cluster: Cluster | undefined;
  let exitCode = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  let signals = 0;
  const onSignal = (s: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C: the watchdogs stop every process group and remove the directory.
      say(`${s} again: leaving at once`);
      process.exit(130);
    }
    say(`${s} received: stopping everything`);
    abort.abort(new Error(`${s} received`));
    done();
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    cluster = await startCluster({ workers, ui: !values['no-ui'], log: say, signal: abort.signal });
  } catch (err) {
    if (abort.signal.aborted) return 0;
    throw err;
  }
  cluster.onUnexpectedExit((what, exit) => {
    say(`${what} stopped unexpectedly (${exit.signal ?? `code ${exit.code}`}); see the logs in ${cluster.dir}: stopping everything`);
    exitCode = 1;
    done();
  });
  process.stdout.write(`${banner(cluster, Date.now() - started)}\n`);
  await finished;
  await cluster.stop();
  say('stopped; removed ' + cluster.dir);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rigsnap cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
