import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runChaos, type ChaosStack } from '../../bench/chaos.js';
import { RigsnapClient } from '../../client/index.js';
import { startCluster, type Cluster } from '../../dev/cluster.js';
import { clusterChaosStack } from '../../bench/chaos-cluster.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { type BackupWorkspaceResult } from '../../domain/index.js';

/**
 * The production topology of docker-compose.yml, run for real without Docker (dev/cluster.ts):
 * PostgreSQL, Temporal Server 1.30 on it with PostgreSQL visibility, the Web UI, worker processes.
 * `npm run cluster` as a user runs it (Ctrl-C, SIGTERM and SIGKILL leave nothing behind), and the
 * short chaos form on it with three workers, one SIGKILLed, and the Temporal Server process SIGKILLed
 * and started again mid-run; a schedule created just before that kill fires after it, and the
 * RigboxWorkspaceId list filters answer from PostgreSQL.
 *
 * `npm run test:cluster` builds what this needs (dist/, the Temporal CLI, Temporal Server, its SQL
 * tool and the UI server, cached in ~/.cache/rigsnap) before it runs.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clusterEntry = path.join(root, 'dist/dev/cluster-main.js');
const cliEntry = path.join(root, 'dist/cli/main.js');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** Live processes in these process groups (a group outlives its leader while a member runs). */
function groupMembers(pgids: number[]): number[] {
  const wanted = new Set(pgids);
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is the state, fields[2] the process group.
      if (fields[0] !== 'Z' && wanted.has(Number(fields[2]))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Live processes whose command line mentions `text` (the watchdogs name the cluster's directory). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(text) && !/\) Z /.test(state)) found.push(`${entry}: ${cmdline.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Nothing of a cluster is left: no process of its groups, no watchdog, no directory. */
async function expectNothingLeft(dir: string, pgids: number[], timeoutMs: number): Promise<void> {
  await until(
    `every process of ${dir} to be gone`,
    () => (groupMembers(pgids).length === 0 && processesMentioning(dir).length === 0 && !fs.existsSync(dir) ? true : undefined),
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}: group members ${groupMembers(pgids).join(', ') || 'none'}; ${processesMentioning(dir).join('; ') || 'no watchdog'}; directory ${fs.existsSync(dir) ? 'still there' : 'gone'}`,
    );
  });
}

// ------------------------------------------------------------------------------------------------
// `npm run cluster` as a user runs it

/** The environment without anything that would point the cluster or its workers elsewhere. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(TEMPORAL_|RIGBOX_|RIGSNAP_)/.test(k)) continue;
    env[k] = v;
  }
  if (process.env.RIGSNAP_CACHE_DIR) env.RIGSNAP_CACHE_DIR = process.env.RIGSNAP_CACHE_DIR;
  return { ...env, NO_COLOR: '1' };
}

interface Program {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const programs: Program[] = [];

function startProgram(args: string[]): Program {
  const child = spawn(process.execPath, [clusterEntry, ...args], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const p = { child, out: () => out, err: () => err, exited };
  programs.push(p);
  return p;
}

interface Banner {
  address: string;
  dir: string;
  uiUrl: string | null;
  pids: number[];
  workers: number;
}

async function waitForBanner(p: Program): Promise<Banner> {
  let exited = false;
  void p.exited.then(() => (exited = true));
  await until(
    'the cluster banner',
    () => {
      if (exited) throw new Error(`npm run cluster exited before it was up\nstdout:\n${p.out()}\nstderr:\n${p.err()}`);
      return /Stop everything with Ctrl-C/.test(p.out()) ? true : undefined;
    },
    300_000,
  );
  const out = p.out();
  const workersLine = /^ {2}Workers .*$/m.exec(out)?.[0] ?? '';
  return {
    address: /TEMPORAL_ADDRESS=(\S+)/.exec(out)![1]!,
    dir: /^ {2}Logs\s+(\S+)\/\*\.log$/m.exec(out)![1]!,
    uiUrl: /^ {2}Temporal Web UI\s+\S+\s+(http:\/\/localhost:\d+)/m.exec(out)?.[1] ?? null,
    pids: [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])),
    workers: [...workersLine.matchAll(/pid \d+/g)].length,
  };
}

afterEach(async () => {
  // A failed test must not leave a cluster running.
  for (const p of programs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      await Promise.race([p.exited, sleep(60_000)]);
      p.child.kill('SIGKILL');
    }
  }
});

describe('npm run cluster', () => {
  it('runs the compose topology (3 workers, the Web UI on the server), takes a snapshot through the rigsnap CLI, and Ctrl-C leaves nothing behind', async () => {
    const p = startProgram([]);
    const b = await waitForBanner(p);
    expect(b.workers).toBe(3);
    expect(b.pids.length).toBe(6); // PostgreSQL, Temporal Server, the Web UI, three workers
    expect(p.out()).toMatch(/Temporal Server\s+1\.30\.1 /);
    for (const pid of b.pids) expect(groupMembers([pid]).length, `process group ${pid}`).toBeGreaterThan(0);

    const cli = spawnSync(process.execPath, [cliEntry, 'snapshot', 'ws_demo', '--name', 'on-the-cluster', '--json'], {
      env: { ...cleanEnv(), TEMPORAL_ADDRESS: b.address },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as { result?: { snapshot?: { name: string } }; snapshot?: { name: string } };
    expect((result.result ?? result).snapshot?.name).toBe('on-the-cluster');

    // Labels on PostgreSQL visibility (issue 22): the KeywordList search attribute RigboxLabels finds an
    // enrolled workspace by its label, through the CLI (visibility finds it, its entity confirms it).
    const rigsnapCli = (args: string[]) =>
      spawnSync(process.execPath, [cliEntry, ...args, '--json'], { env: { ...cleanEnv(), TEMPORAL_ADDRESS: b.address }, encoding: 'utf8', timeout: 120_000 });
    const enrolled = rigsnapCli(['enroll', 'ws_demo', '--label', 'team=cluster']);
    expect(enrolled.status, enrolled.stderr).toBe(0);
    const selected = (selector: string) => {
      const r = rigsnapCli(['workspaces', '--selector', selector]);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { workspaces: Array<{ workspaceId: string; labels: Record<string, string> }> }).workspaces;
    };
    // Visibility is written asynchronously: wait until the label is searchable.
    const byLabel = await until('ws_demo found by its label', () => (selected('team=cluster').length > 0 ? selected('team=cluster') : undefined), 30_000);
    expect(byLabel).toEqual([expect.objectContaining({ workspaceId: 'ws_demo', labels: { team: 'cluster' } })]);
    expect(selected('team=nobody')).toEqual([]);

    // The Web UI serves its app and reaches the frontend: its API lists that snapshot's workflow by its search attribute.
    expect(b.uiUrl).not.toBeNull();
    const page = await fetch(`${b.uiUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/_app/');
    const query = encodeURIComponent('RigboxWorkspaceId="ws_demo" AND RigboxOperation="snapshot"');
    const listed = await until(
      'the workflow in the Web UI’s list',
      async () => {
        const r = await fetch(`${b.uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
        const body = (await r.json()) as { executions?: Array<{ execution?: { workflowId?: string } }> };
        return r.ok && (body.executions ?? []).length > 0 ? body.executions! : undefined;
      },
      30_000,
    );
    expect(listed.map((e) => e.execution?.workflowId)).toEqual([expect.stringMatching(/^snapshot-ws_demo-on-the-cluster-/)]);

    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.err()).toContain(`stopped; removed ${b.dir}`);
    await expectNothingLeft(b.dir, b.pids, 10_000);
  });

  it('SIGTERM stops everything too', async () => {
    const p = startProgram(['--workers', '1', '--no-ui']);
    const b = await waitForBanner(p);
    expect(b.workers).toBe(1);
    expect(p.out()).toMatch(/Temporal Web UI\s+not running: not started/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await expectNothingLeft(b.dir, b.pids, 10_000);
  });

  it('SIGKILL gives no chance to clean up: the watchdogs stop every process group and remove the directory', async () => {
    const p = startProgram(['--workers', '2']);
    const b = await waitForBanner(p);
    expect(b.pids.length).toBe(5);
    p.child.kill('SIGKILL');
    await p.exited;
    // The watchdogs give each group 10 s after SIGTERM before SIGKILL.
    await expectNothingLeft(b.dir, b.pids, 40_000);
  });
});

// ------------------------------------------------------------------------------------------------
// rigsnap under faults on the production topology

describe('rigsnap on Temporal Server with PostgreSQL, several workers, a server crash', () => {
  let cluster: Cluster;
  let rigsnap: RigsnapClient;
  let chaosStack: ChaosStack | undefined;
  let schedule: { createdAt: number; fireAt: Date } | undefined;
  let serverBackAt = 0;
  const lines: string[] = [];
  const log = (line: string) => lines.push(`[${new Date().toISOString()}] ${line}`);

  beforeAll(async () => {
    // The cluster's own worker serves the default task queue (the schedule's backup); the chaos run
    // brings its own emulator, task queue and three worker processes.
    cluster = await startCluster({ workers: 1, log });
    rigsnap = await RigsnapClient.connect({ client: cluster.client, env: {} });
  });

  afterAll(async () => {
    if (!cluster) return;
    const pids = [cluster.postgres.pid, cluster.server.pid(), ...(cluster.ui ? [cluster.ui.pid] : []), ...cluster.workers.map((w) => w.pid)];
    await cluster.stop();
    await expectNothingLeft(cluster.dir, pids, 10_000);
  });

  it('chaos across 3 workers, one SIGKILLed, the server SIGKILLed and restarted: every operation completes, nothing duplicated, left down or deleted by mistake', async () => {
    const report = await runChaos({
      operations: 20,
      workspaces: 4,
      workers: 3,
      killEverySeconds: 6,
      maxWorkerKills: 1,
      serverRestarts: 1,
      // Above the dev-server form's 150 s: this runs PostgreSQL and Temporal Server's four services on the same two cores.
      timeoutSeconds: 300,
      topology: `Temporal Server ${cluster.versions.server} on PostgreSQL ${cluster.versions.postgres} (npm run cluster)`,
      startStack: clusterChaosStack(cluster, {
        signal: 'SIGKILL',
        onStack: (s) => (chaosStack = s),
        beforeRestart: async () => {
          // A daily backup at the next whole minute at least 60 s away: created before the kill, due after the restart.
          const fireAt = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
          const at = `${String(fireAt.getUTCHours()).padStart(2, '0')}:${String(fireAt.getUTCMinutes()).padStart(2, '0')}`;
          await rigsnap.schedules.create({ workspaceId: 'ws_demo', at, timezone: 'UTC' });
          schedule = { createdAt: Date.now(), fireAt };
          log(`schedule rigsnap-backup-ws_demo created, due ${fireAt.toISOString()}`);
        },
        afterRestart: async () => {
          serverBackAt = Date.now();
        },
      }),
      log,
    });
    const printed = formatReport(report);
    process.stdout.write(`${printed}\n`);

    // The chaos really happened, on this topology.
    expect(report.settings.workers).toBe(3);
    expect(report.workerKills).toBe(1);
    expect(report.workersStarted).toBe(4);
    expect(report.serverRestarts).toBe(1);
    expect(lines.join('\n')).toMatch(/Temporal Server: SIGKILL to pid \d+/);
    // The killed server's watchdog let go without touching the cluster's directory: the database is still there.
    expect(fs.existsSync(path.join(cluster.postgres.dataDir, 'PG_VERSION'))).toBe(true);
    expect(report.faults.unavailable + report.faults.rateLimited + report.faults.lost).toBeGreaterThan(10);
    expect(report.snapshots.pruned).toBeGreaterThan(0);

    // And nothing broke: every check, by name (0 duplicates, 0 left down, 0 hand-made deleted, …).
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.value}\n  ${c.details.join('\n  ')}`);
    expect(failed, `${printed}\n\n${lines.join('\n')}`).toEqual([]);
    const value = (name: RegExp) => report.checks.find((c) => name.test(c.name))?.value;
    expect(value(/^duplicate snapshots/)).toBe('0');
    expect(value(/^workspaces not in their expected state/)).toBe('0');
    expect(value(/^hand-made snapshots deleted/)).toBe('0');
    // The run cancels some operations on purpose: each ends Cancelled (or completed, if it had finished first).
    expect(report.operations.cancelRequested).toBeGreaterThan(0);
    expect(report.operations.completed + report.operations.cancelled).toBe(20);
    expect(report.operations.notCompleted).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a schedule created before the server was killed fires after the restart, and its backup completes', async () => {
    expect(schedule, 'the chaos run restarted the server (and created the schedule first)').toBeDefined();
    const { fireAt, createdAt } = schedule!;
    expect(createdAt).toBeLessThan(serverBackAt);
    expect(fireAt.getTime()).toBeGreaterThan(serverBackAt);
    const run = await until(
      'the scheduled backup to complete',
      async () => (await rigsnap.schedules.describe('ws_demo')).recentRuns.find((r) => r.status === 'COMPLETED'),
      Math.max(0, fireAt.getTime() - Date.now()) + 120_000,
    );
    expect(run.scheduledAt).toBe(fireAt.toISOString());
    expect(Date.parse(run.startedAt)).toBeGreaterThan(serverBackAt);
    const result = (await cluster.client.workflow.getHandle(run.workflowId, run.runId).result()) as BackupWorkspaceResult;
    // Named by its scheduled time: daily-backup-YYYY-MM-DD-HHMM (UTC here).
    const hhmm = fireAt.toISOString().slice(11, 16).replace(':', '');
    expect(result.snapshot!.name).toBe(`daily-backup-${fireAt.toISOString().slice(0, 10)}-${hhmm}`);
    // Rigbox (the cluster's emulator) has it.
    expect(cluster.emulator!.state.snapshotsOf('ws_demo').map((s) => s.id)).toContain(result.snapshot!.id);
    await rigsnap.schedules.delete('ws_demo');
  });

  it('RigboxWorkspaceId and RigboxOperation list filters answer from the PostgreSQL visibility store', async () => {
    expect(chaosStack).toBeDefined();
    const taskQueue = chaosStack!.taskQueue;
    const list = async (query: string) => {
      const ids: string[] = [];
      for await (const wf of cluster.client.workflow.list({ query })) ids.push(wf.workflowId);
      return [...new Set(ids)].sort();
    };
    const all = await list(`TaskQueue = '${taskQueue}'`);
    const workspaces = [...new Set(all.map((id) => /ws_chaos\d\d/.exec(id)?.[0]).filter((w): w is string => w !== undefined))].sort();
    expect(workspaces).toEqual(['ws_chaos00', 'ws_chaos01', 'ws_chaos02', 'ws_chaos03']);
    for (const ws of workspaces) {
      // Operations and the workspace's lock carry its id: `…-ws_chaos01-…`, `rigsnap-lock-ws_chaos01`.
      const expected = all.filter((id) => new RegExp(`-${ws}(-|$)`).test(id));
      expect(expected.length).toBeGreaterThan(2);
      // Visibility is written asynchronously: wait until it has caught up with the workflows' ends.
      const got = await until(
        `the ${ws} filter`,
        async () => {
          const ids = await list(`RigboxWorkspaceId = "${ws}"`);
          return ids.join() === expected.join() ? ids : undefined;
        },
        30_000,
      ).catch(async () => list(`RigboxWorkspaceId = "${ws}"`));
      expect(got, ws).toEqual(expected);
      // Count answers runs, not ids: a lock terminated by the chaos run and started again is two runs.
      let runs = 0;
      for await (const _ of cluster.client.workflow.list({ query: `RigboxWorkspaceId = "${ws}"` })) runs++;
      expect((await cluster.client.workflow.count(`RigboxWorkspaceId = "${ws}"`)).count).toBe(runs);
      expect(runs).toBeGreaterThanOrEqual(expected.length);
      const allRestores = expected.filter((id) => id.startsWith('restore-'));
      expect(await list(`RigboxWorkspaceId = "${ws}" AND RigboxOperation = "restore"`)).toEqual(allRestores);
      // Completed ones: as the server's own state says each ended (the chaos run cancels some).
      const completed: string[] = [];
      for (const id of allRestores) {
        if ((await cluster.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED') completed.push(id);
      }
      const restores = await list(`RigboxWorkspaceId = "${ws}" AND RigboxOperation = "restore" AND ExecutionStatus = "Completed"`);
      expect(restores).toEqual(completed);
      expect(restores.length).toBeGreaterThan(0); // phase 2 restores every workspace
    }
    // The scheduled backup too, by type.
    const scheduled = await list(`RigboxWorkspaceId = "ws_demo" AND WorkflowType = "${WORKFLOW_TYPES.backup}"`);
    expect(scheduled).toEqual([expect.stringMatching(/^rigsnap-backup-ws_demo-/)]);

    // Those answers are rows of PostgreSQL's temporal_visibility database, where a custom Keyword
    // attribute is one of the pre-allocated, indexed columns (Keyword01…Keyword10) the alias maps to.
    const psql = spawnSync(
      path.join(cluster.postgres.binDir, 'psql'),
      [
        '-h',
        cluster.postgres.socketDir,
        '-p',
        String(cluster.postgres.port),
        '-U',
        cluster.postgres.user,
        '-d',
        'temporal_visibility',
        '-At',
        '-c',
        `SELECT key, count(*) FROM executions_visibility, jsonb_each_text(search_attributes) WHERE task_queue = '${taskQueue}' AND value = 'ws_chaos00' GROUP BY key`,
      ],
      { encoding: 'utf8' },
    );
    expect(psql.status, psql.stderr).toBe(0);
    const rows = psql.stdout.trim().split('\n');
    expect(rows).toEqual([expect.stringMatching(/^Keyword\d\d\|\d+$/)]);
    // One row per run, not per id: a lock terminated by the chaos run and started again is two rows.
    let runs = 0;
    for await (const _ of cluster.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND RigboxWorkspaceId = "ws_chaos00"` })) runs++;
    expect(runs).toBeGreaterThanOrEqual(all.filter((id) => /-ws_chaos00(-|$)/.test(id)).length);
    expect(Number(rows[0]!.split('|')[1])).toBe(runs);
  });
});
