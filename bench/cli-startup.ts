/**
 * How long the CLI takes to answer when it needs no server (`./rigsnap --help`, a usage error),
 * against a bare Node start on the same machine: the median of several runs of each, interleaved so
 * that load on the machine hits all of them alike.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../dev/temporal-server.js';
import { percentile } from './stack.js';

const RUNS = 9;

function wallMs(command: string, args: string[]): number {
  const t0 = performance.now();
  spawnSync(command, args, { stdio: 'ignore', cwd: projectRoot() });
  return performance.now() - t0;
}

export async function benchCliStartup() {
  const rigsnap = path.join(projectRoot(), 'rigsnap');
  const samples = { bare: [] as number[], help: [] as number[], usage: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    samples.bare.push(wallMs(process.execPath, ['-e', '']));
    samples.help.push(wallMs(rigsnap, ['--help']));
    samples.usage.push(wallMs(rigsnap, ['snapshot']));
  }
  await Promise.resolve();
  const median = (xs: number[]) => Math.round(percentile(xs, 50));
  const bareMs = median(samples.bare);
  return { runs: RUNS, bareNodeMs: bareMs, helpMs: median(samples.help), usageErrorMs: median(samples.usage) };
}
