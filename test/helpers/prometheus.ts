import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freePort } from './worker-process.js';

/**
 * Prometheus's own tools for the monitoring tests: `promtool` (rule checks and rule unit tests) and the
 * `prometheus` server, both from Debian's `prometheus` package (.ci/run installs it). In CI (CI=true) a
 * missing tool fails the tests that need it; on a developer's machine they are skipped with a notice.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ALERTS_FILE = path.join(ROOT, 'deploy/prometheus/rigsnap-alerts.yml');
export const ALERTS_TEST_FILE = path.join(ROOT, 'deploy/prometheus/rigsnap-alerts.test.yml');
export const PROMETHEUS_CONFIG = path.join(ROOT, 'deploy/prometheus/prometheus.yml');
export const DASHBOARD_FILE = path.join(ROOT, 'deploy/grafana/rigsnap.json');

function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** The tool's path; null (skip) on a developer machine without it; throws in CI. */
export function tool(name: 'promtool' | 'prometheus'): string | null {
  const found = which(name);
  if (!found && inCi) throw new Error(`${name} is not installed: CI must install Debian's prometheus package (see .ci/run)`);
  if (!found) process.stderr.write(`\n[monitoring tests] ${name} not found: skipping (apt-get install -y prometheus)\n`);
  return found;
}

export function run(toolPath: string, args: string[], cwd = ROOT): { code: number; output: string } {
  try {
    const output = execFileSync(toolPath, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, output };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; for?: string }> }>;
}

export function alertRules(): RuleFile {
  return parse(fs.readFileSync(ALERTS_FILE, 'utf8')) as RuleFile;
}

export interface DashboardTarget {
  panel: string;
  expr: string;
}

export function dashboardTargets(): DashboardTarget[] {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
  };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Metric names an expression reads: identifiers followed by a selector, a range or an operator, not functions or labels. */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Label matchers, ranges ([5m], Grafana's [$__rate_interval]) and grouping labels are not metrics.
  const withoutGrouping = withoutStrings
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of withoutGrouping.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = withoutGrouping.slice(m.index + word.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (/^(and|or|unless|by|without|on|ignoring|group_left|group_right|bool|offset|inf|nan)$/i.test(word)) continue;
    if (/^\d/.test(word)) continue;
    if (/^[a-z]+$/.test(word) && !['up'].includes(word)) continue; // a keyword such as sum, le or rate without parens
    names.add(word);
  }
  return [...names];
}

export interface PrometheusServer {
  url: string;
  query(expr: string): Promise<{ status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>;
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
  stop(): Promise<void>;
  output: string[];
}

/** A real Prometheus server with a temporary config: scrapes `targets` as job rigsnap-worker, loads the shipped rules. */
export async function startPrometheus(binary: string, targets: string[], intervals: { scrape: string; evaluation: string }): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${intervals.scrape}`,
    `  evaluation_interval: ${intervals.evaluation}`,
    `rule_files: [${JSON.stringify(ALERTS_FILE)}]`,
    'scrape_configs:',
    '  - job_name: rigsnap-worker',
    `    static_configs: [{ targets: ${JSON.stringify(targets)} }]`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `${config}\n`);
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${output.join('')}`);
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    output,
    async query(expr: string) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await res.json()) as Awaited<ReturnType<PrometheusServer['query']>>;
    },
    async alerts() {
      const res = await fetch(`${url}/api/v1/alerts`);
      const body = (await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return body.data.alerts;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
