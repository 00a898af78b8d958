#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from '../dev/cluster.js';
import { clusterChaosStack } from './chaos-cluster.js';
import { formatReport, runChaos, type ChaosOptions } from './chaos.js';

/**
 * `npm run chaos [-- --operations 100 --workspaces 20 --kill-every 10 --server-restarts 1 --seed N --cancel-percent 10]`:
 * runs the chaos suite on a fresh local stack (or, with --cluster, on the production topology of
 * `npm run cluster`), prints the report, exits 1 when a check fails.
 */

const USAGE = `usage: npm run chaos -- [--operations N] [--workspaces N] [--kill-every SECONDS] [--max-kills N]
                        [--server-restarts 0|1] [--workers N] [--cluster] [--seed N] [--timeout SECONDS]
                        [--cancel-percent P] [--lock-terminations N]
                        [--evidence] [--evidence-dir DIR] [--quiet]
  --workers N: worker processes at once (default 1); a kill replaces the oldest.
  --cluster: on PostgreSQL + Temporal Server (npm run cluster's topology; the restart is a SIGKILL of
  the server process) instead of the dev server on SQLite.
  The evidence (histories, emulator calls, results, worker output) is written when a check fails,
  or always with --evidence.`;

function wholeNumber(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number ≥ ${min} (got ${JSON.stringify(text)})`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      operations: { type: 'string' },
      workspaces: { type: 'string' },
      'kill-every': { type: 'string' },
      'max-kills': { type: 'string' },
      'server-restarts': { type: 'string' },
      workers: { type: 'string' },
      cluster: { type: 'boolean', default: false },
      seed: { type: 'string' },
      timeout: { type: 'string' },
      'cancel-percent': { type: 'string' },
      'lock-terminations': { type: 'string' },
      'evidence-dir': { type: 'string' },
      evidence: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const restarts = wholeNumber('server-restarts', values['server-restarts'], 0);
  if (restarts !== undefined && restarts > 1) throw new Error('--server-restarts must be 0 or 1');
  const options: ChaosOptions = {
    operations: wholeNumber('operations', values.operations, 1),
    workspaces: wholeNumber('workspaces', values.workspaces, 1),
    killEverySeconds: wholeNumber('kill-every', values['kill-every'], 0),
    maxWorkerKills: wholeNumber('max-kills', values['max-kills'], 0),
    serverRestarts: restarts as 0 | 1 | undefined,
    workers: wholeNumber('workers', values.workers, 1),
    seed: wholeNumber('seed', values.seed, 0),
    timeoutSeconds: wholeNumber('timeout', values.timeout, 1),
    cancelRate: values['cancel-percent'] === undefined ? undefined : wholeNumber('cancel-percent', values['cancel-percent'], 0)! / 100,
    lockTerminations: wholeNumber('lock-terminations', values['lock-terminations'], 0),
    evidenceDir: values['evidence-dir'],
    writeEvidence: values.evidence ? 'always' : undefined,
  };
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ChaosOptions;
  const started = Date.now();
  const log = values.quiet ? undefined : (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  let cluster: Cluster | undefined;
  if (values.cluster) {
    cluster = await startCluster({ workers: 0, emulator: false, ui: false, ...(log ? { log } : {}) });
    defined.startStack = clusterChaosStack(cluster, { signal: 'SIGKILL' });
    defined.topology = `Temporal Server ${cluster.versions.server} on PostgreSQL ${cluster.versions.postgres} (npm run cluster)`;
  }
  try {
    const report = await runChaos({ ...defined, ...(log ? { log } : {}) });
    process.stdout.write(`\n${formatReport(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await cluster?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  },
);
