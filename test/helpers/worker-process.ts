import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../dev/worker-process.js';
import { TEST_TOKEN, UNVERSIONED_ON_SHARED_SERVER } from './temporal.js';
import { eventually } from './workflows.js';

/**
 * The built worker (`node dist/worker/main.js`, what production runs) as a child process with its
 * Prometheus endpoint on a free port: so a test can scrape it, kill it, and start another that must
 * restore its state from Rigbox and Temporal. `npm test` builds first (pretest).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKER_ENTRY = path.join(root, 'dist', 'worker', 'main.js');

export { freePort };

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (what /metrics serves) into samples. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** Samples of a series whose labels include `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The sum over the matching samples; 0 when there is none (a counter never incremented is not exported). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels).reduce((a, s) => a + s.value, 0);
  }

  /** The single matching sample's value; throws when there is not exactly one. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
    return found[0]!.value;
  }

  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }
}

export interface WorkerProcess {
  child: ChildProcess;
  metricsPort: number;
  output: string[];
  scrape(): Promise<Scrape>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `entry`: another build's worker (the previous release's, for histories that span an upgrade). */
export async function startWorkerProcess(env: Record<string, string>, entry = WORKER_ENTRY): Promise<WorkerProcess> {
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      RIGBOX_TOKEN: TEST_TOKEN,
      RIGSNAP_METRICS_PORT: String(metricsPort),
      RIGSNAP_METRICS_HOST: '127.0.0.1',
      RIGSNAP_LOG_LEVEL: 'WARN',
      ...UNVERSIONED_ON_SHARED_SERVER,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  const w: WorkerProcess = {
    child,
    metricsPort,
    output,
    async scrape() {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return new Scrape(parsePrometheusText(await res.text()));
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode}):\n${output.join('')}`);
      return fetch(url).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    'the worker’s metrics endpoint',
  );
  return w;
}
