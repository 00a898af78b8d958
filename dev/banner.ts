import pc from 'picocolors';
import { DEFAULT_RIGBOX_API_URL, DEFAULT_TASK_QUEUE } from '../domain/index.js';
import type { StackPlan } from './plan.js';

/** What `npm start` prints once the stack is up: where everything is, and the first command to try. */

export interface BannerInput {
  plan: StackPlan;
  serverPid?: number;
  workspaces: string[];
  startedInMs: number;
}

/** The first command to try, with whatever environment the CLI needs to find this stack. */
export function firstCommand(plan: StackPlan): string {
  const prefix: string[] = [];
  if (plan.temporal.kind === 'embedded' && plan.temporal.port !== 7233) prefix.push(`TEMPORAL_ADDRESS=${plan.temporal.address}`);
  if (plan.temporal.kind === 'embedded' && plan.temporal.namespace !== 'default') prefix.push(`TEMPORAL_NAMESPACE=${plan.temporal.namespace}`);
  // The CLI's links point at http://localhost:8233 unless told: elsewhere they would not open.
  if (plan.temporal.kind === 'embedded' && plan.temporal.uiPort !== 8233) prefix.push(`RIGSNAP_UI_URL=${plan.temporal.uiUrl}`);
  if (plan.config.RIGSNAP_TASK_QUEUE !== DEFAULT_TASK_QUEUE) prefix.push(`RIGSNAP_TASK_QUEUE=${plan.config.RIGSNAP_TASK_QUEUE}`);
  return [...prefix, './rigsnap snapshot ws_demo --name before-migration'].join(' ');
}

export function emulationNotice(plan: StackPlan, workspaces: string[]): string | null {
  if (plan.rigbox.kind !== 'emulated') return null;
  return (
    `${pc.yellow('Rigbox is emulated.')} RIGBOX_TOKEN is not set, so a local emulator at ${plan.rigbox.url} ` +
    `serves the demo workspaces ${workspaces.join(', ')} (state in ${plan.rigbox.stateFile}).\n` +
    `  To drive the real Rigbox API instead, set RIGBOX_TOKEN (and RIGBOX_API_URL if yours is not ${DEFAULT_RIGBOX_API_URL}) and start again.` +
    (plan.rigbox.ignoredApiUrl ? '\n  RIGBOX_API_URL is set but ignored: without RIGBOX_TOKEN the worker talks to the emulator.' : '')
  );
}

export function banner(b: BannerInput): string {
  const { plan } = b;
  const t = plan.temporal;
  const rows: Array<[string, string]> = [];
  if (t.kind === 'embedded') {
    rows.push(['Temporal', `${t.address}  namespace ${t.namespace}  (dev server pid ${b.serverPid}; state in ${t.dbFile}, log in ${t.logFile})`]);
    rows.push(['Temporal UI', t.uiUrl]);
  } else {
    rows.push(['Temporal', `${t.address}  namespace ${t.namespace}  (external: TEMPORAL_ADDRESS)`]);
    rows.push(['Temporal UI', plan.uiUrl ?? 'the Web UI of your cluster (set RIGSNAP_UI_URL to link it)']);
  }
  rows.push(['Rigbox', plan.rigbox.kind === 'emulated' ? `${plan.rigbox.url}  (emulated)` : `${plan.rigbox.url}  (real API, RIGBOX_TOKEN set)`]);
  rows.push([
    'Worker',
    `task queue ${plan.config.RIGSNAP_TASK_QUEUE}, at most ${plan.config.RIGSNAP_RIGBOX_CALLS_PER_SECOND} Rigbox calls/s across all workers`,
  ]);
  rows.push(['Metrics', plan.metricsUrl ?? 'off (RIGSNAP_METRICS_PORT=0)']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    pc.bold(pc.green(`rigsnap dev stack is up`)) + ` (in ${(b.startedInMs / 1000).toFixed(1)}s)`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    'Try:',
    `  ${pc.cyan(firstCommand(plan))}`,
    'Stop everything with Ctrl-C.',
  ].join('\n');
}
