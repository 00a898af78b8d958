import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { startCluster, type Cluster, type ClusterWorker } from '../../dev/cluster.js';
import { resolveTemporalCli } from '../../dev/temporal-server.js';
import { DEFAULT_DELAYS } from '../../emulator/index.js';
import { ensureOldRelease, type OldRelease } from '../helpers/old-release.js';

/**
 * A rolling upgrade and a rollback on the production topology (Temporal Server 1.30 on PostgreSQL,
 * dev/cluster.ts), as an operator runs them (docs/operations.md, "Upgrades and worker versioning"):
 * workers of the previous release (built from commit OLD_RELEASE, test/helpers/old-release.ts) and of
 * this checkout side by side on one task queue, one Worker Deployment, both RIGSNAP_WORKER_VERSIONING=manual;
 * the routing changed only with `temporal worker deployment` commands.
 *
 * What it checks, from the server's own records (describe's versioningInfo, and the build that
 * completed each workflow task in the histories):
 * - Pinned runs (a fleet's children, a scheduled backup, a backup) started on a build finish on it, also
 *   when the other build became current while they ran.
 * - Runs started after a switch (a snapshot, the schedule's next trigger, a fleet's next child) go to the
 *   new current build.
 * - AutoUpgrade runs move: an open checkpoint rolls back (the workspace's data is back) on the new build
 *   after the upgrade, and on the old one again after the rollback, where its release works; the fleet
 *   finishes on the new build.
 * - No workflow task of any run of the cluster failed (no nondeterminism between the two builds).
 * - At the end the old build is drained and its workers stopped: nothing pinned to it is still open.
 *
 * Runs are held in flight across a switch by the emulator: a stop takes 30 minutes until the test ends
 * it, so a run is mid-way at the switch whatever the machine's load.
 */

/** The previous release: main as of 2026-12-06 (worker versioning since issue 18). */
const OLD_RELEASE = '55ccb00';
const DEPLOYMENT = 'rigsnap';
const FLEET = ['ws_roll1', 'ws_roll2', 'ws_roll3'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const VERSIONING_BEHAVIOR_PINNED = 1; // temporal.api.enums.v1.VersioningBehavior
const VERSIONING_BEHAVIOR_AUTO_UPGRADE = 2;
const VERSION_DRAINAGE_STATUS_DRAINING = 1; // temporal.api.enums.v1.VersionDrainageStatus
const VERSION_DRAINAGE_STATUS_DRAINED = 2;

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

interface Run {
  workflowId: string;
  runId: string;
}

describe('a rolling upgrade and a rollback between two releases, on Temporal Server with PostgreSQL', () => {
  let cluster: Cluster;
  let rigsnap: RigsnapClient;
  let cli: string;
  let old: OldRelease;
  let oldBuild: string;
  let newBuild: string;
  const oldWorkers: ClusterWorker[] = [];
  const newWorkers: ClusterWorker[] = [];
  const lines: string[] = [];
  const log = (line: string) => lines.push(`[${new Date().toISOString()}] ${line}`);
  /** What the operator typed and what the CLI printed, for the report and docs/operations.md. */
  const transcript: string[] = [];
  /** Every run the test started or checked, for the workflow-task-failure scan. */
  const involved: Run[] = [];

  /** `temporal worker deployment …` against the cluster, as an operator types it; its output is kept. */
  async function operator(args: string[], o: { attempts?: number } = {}): Promise<string> {
    const shown = `temporal worker deployment ${args.join(' ')}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await execFileAsync(cli, ['worker', 'deployment', ...args, '--address', cluster.address, '--namespace', cluster.namespace], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' },
        });
        transcript.push(`$ ${shown}\n${r.stdout.trimEnd()}`);
        return r.stdout;
      } catch (err) {
        const e = err as Error & { stdout?: string; stderr?: string };
        log(`${shown} failed (attempt ${attempt}): ${e.stderr?.trim() ?? e.message}`);
        // A version's task queues register as its pollers arrive: set-current refuses until they have.
        if (attempt >= (o.attempts ?? 1)) throw new Error(`${shown} failed: ${e.stderr ?? e.message}`);
        await sleep(2000);
      }
    }
  }

  async function routing() {
    const d = await cluster.client.workflowService.describeWorkerDeployment({ namespace: cluster.namespace, deploymentName: DEPLOYMENT });
    const r = d.workerDeploymentInfo?.routingConfig;
    return {
      current: r?.currentDeploymentVersion?.buildId ?? null,
      ramping: r?.rampingDeploymentVersion?.buildId ?? null,
      rampingPercentage: r?.rampingVersionPercentage ?? 0,
      versions: (d.workerDeploymentInfo?.versionSummaries ?? []).map((s) => s.deploymentVersion?.buildId),
    };
  }

  /** Until the build's workers poll both the workflow and the activity task queue under its version. */
  async function awaitVersionPolling(buildId: string, workers: ClusterWorker[]): Promise<void> {
    await until(
      `build ${buildId} to poll ${cluster.taskQueue}`,
      async () => {
        const gone = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
        if (gone) throw new Error(`a worker of ${buildId} exited:\n${gone.output.join('').slice(-3000)}`);
        const v = await cluster.client.workflowService
          .describeWorkerDeploymentVersion({ namespace: cluster.namespace, deploymentVersion: { deploymentName: DEPLOYMENT, buildId } })
          .catch(() => undefined);
        const types = new Set((v?.workerDeploymentVersionInfo?.taskQueueInfos ?? []).filter((t) => t.name === cluster.taskQueue).map((t) => t.type));
        return types.has(1) && types.has(2) ? true : undefined; // TASK_QUEUE_TYPE_WORKFLOW, _ACTIVITY
      },
      180_000,
    );
  }

  async function startWorkers(release: 'old' | 'new', count: number): Promise<void> {
    const buildId = release === 'old' ? oldBuild : newBuild;
    const env = { RIGSNAP_DEPLOYMENT_NAME: DEPLOYMENT, RIGSNAP_BUILD_ID: buildId, RIGSNAP_WORKER_VERSIONING: 'manual' };
    const into = release === 'old' ? oldWorkers : newWorkers;
    for (let i = 0; i < count; i++) into.push(await cluster.startWorker(env, release === 'old' ? { entry: old.workerEntry } : {}));
    await awaitVersionPolling(buildId, into);
    log(`${count} worker(s) of build ${buildId} poll ${cluster.taskQueue}`);
  }

  /** The build a run is on now, and its behaviour, as the server records it. */
  async function versioningOf(r: Run) {
    const d = await cluster.client.workflow.getHandle(r.workflowId, r.runId).describe();
    const info = d.raw.workflowExecutionInfo?.versioningInfo;
    return { buildId: info?.deploymentVersion?.buildId ?? null, behavior: info?.behavior ?? 0, status: d.status.name };
  }

  /** In order, the build that completed each of the run's workflow tasks; and its failed workflow tasks. */
  async function tasksOf(r: Run): Promise<{ completedBy: string[]; failed: string[] }> {
    const history = await cluster.client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
    const completedBy: string[] = [];
    const failed: string[] = [];
    for (const e of history.events ?? []) {
      const done = e.workflowTaskCompletedEventAttributes;
      if (done) completedBy.push(done.deploymentVersion?.buildId ?? done.workerDeploymentVersion ?? '(unversioned)');
      const f = e.workflowTaskFailedEventAttributes;
      if (f) failed.push(`event ${String(e.eventId)}: cause ${String(f.cause)}: ${f.failure?.message ?? ''}`);
    }
    return { completedBy, failed };
  }

  /** A Pinned run that ran all its workflow tasks on `buildId` and is still on it. */
  async function expectPinnedOn(r: Run, buildId: string): Promise<void> {
    involved.push(r);
    expect(await versioningOf(r), r.workflowId).toEqual({ buildId, behavior: VERSIONING_BEHAVIOR_PINNED, status: 'COMPLETED' });
    const { completedBy } = await tasksOf(r);
    expect(completedBy.length, r.workflowId).toBeGreaterThan(0);
    expect(new Set(completedBy), `${r.workflowId}: the builds that completed its workflow tasks`).toEqual(new Set([buildId]));
  }

  /** The failed workflow tasks of every run of the cluster (visibility lists them; the known ones count even before it catches up). */
  async function failedWorkflowTasks(): Promise<{ runs: number; failures: string[] }> {
    const runs = new Map(involved.map((r) => [`${r.workflowId}/${r.runId}`, r]));
    for await (const wf of cluster.client.workflow.list()) runs.set(`${wf.workflowId}/${wf.runId}`, { workflowId: wf.workflowId, runId: wf.runId });
    const failures: string[] = [];
    for (const r of runs.values()) for (const f of (await tasksOf(r)).failed) failures.push(`${r.workflowId} (${r.runId}): ${f}`);
    return { runs: runs.size, failures };
  }

  async function expectNoWorkflowTaskFailed(): Promise<number> {
    const { runs, failures } = await failedWorkflowTasks();
    expect(failures).toEqual([]);
    return runs;
  }

  /**
   * Waits for `p`, but fails as soon as any workflow task of the cluster has failed: a build that cannot
   * run another's history leaves the run retrying its task (and an update or a result waiting) for ever.
   */
  async function guarded<T>(what: string, p: Promise<T>): Promise<T> {
    let done = false;
    const watch = (async (): Promise<never> => {
      // Ends when `p` settles (done), or by throwing the first failed workflow tasks it sees.
      for (;;) {
        await sleep(3000);
        if (done) return new Promise<never>(() => {});
        const { failures } = await failedWorkflowTasks().catch(() => ({ failures: [] as string[] }));
        if (failures.length > 0 && !done) throw new Error(`${what}: workflow tasks failed meanwhile:\n${failures.join('\n')}`);
      }
    })();
    try {
      return await Promise.race([p, watch]);
    } finally {
      done = true;
    }
  }

  // ---- the emulator holds stops in flight until the test lets them end -----------------------------

  function holdStops(): void {
    cluster.emulator!.delays.stopMs = 30 * 60_000;
  }
  function releaseStops(): void {
    cluster.emulator!.delays.stopMs = DEFAULT_DELAYS.stopMs;
    const now = Date.now();
    for (const ws of Object.values(cluster.emulator!.state.data.workspaces)) if (ws.transition?.to === 'stopped') ws.transition.endsAt = now;
  }
  async function awaitStopping(workspaceIds: string[]): Promise<void> {
    await until(
      `${workspaceIds.join(', ')} to be stopping`,
      () => (workspaceIds.every((id) => cluster.emulator!.state.workspace(id)?.status === 'stopping') ? true : undefined),
      180_000,
    );
  }

  /** The fleet's children, from its history: which workflow, and whether it started before `before` (ms). */
  async function childrenOf(fleet: Run): Promise<Array<Run & { startedAt: number }>> {
    const history = await cluster.client.workflow.getHandle(fleet.workflowId, fleet.runId).fetchHistory();
    const out: Array<Run & { startedAt: number }> = [];
    for (const e of history.events ?? []) {
      const started = e.childWorkflowExecutionStartedEventAttributes;
      if (started?.workflowExecution?.workflowId && started.workflowExecution.runId) {
        out.push({
          workflowId: started.workflowExecution.workflowId,
          runId: started.workflowExecution.runId,
          startedAt: Number(e.eventTime?.seconds ?? 0) * 1000,
        });
      }
    }
    return out;
  }

  /** A user's change to the workspace after its checkpoint: what a rollback must undo. */
  function scribble(workspaceId: string, text: string): void {
    const ws = cluster.emulator!.state.workspace(workspaceId)!;
    ws.files['app/main.py'] = text;
  }

  beforeAll(async () => {
    old = await ensureOldRelease(root, OLD_RELEASE, log);
    oldBuild = `old-${old.commit}`;
    newBuild = `new-${execFileSync('git', ['-C', root, 'rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim()}`;
    cli = await resolveTemporalCli();
    // No workers of its own: the test starts each release's workers with their versions.
    cluster = await startCluster({ workers: 0, ui: false, log });
    for (const id of FLEET) cluster.emulator!.state.upsertWorkspace({ id, status: 'running', files: { 'data.txt': `${id}\n` } });
    rigsnap = await RigsnapClient.connect({ client: cluster.client, env: {} });
  });

  afterAll(async () => {
    process.stdout.write(`\n---- log ----\n${lines.join('\n')}\n---- operator transcript ----\n${transcript.join('\n\n')}\n---- end ----\n`);
    if (!cluster) return;
    await rigsnap?.close();
    await cluster.stop();
  });

  // State carried from one step to the next (the steps are one story, in order).
  let checkpoint: Run;
  let fleet: Run;
  let scheduledBefore: Run;
  const original = { 'app/main.py': 'print("hello")\n' };

  it('on the previous release: a checkpoint, a fleet and a scheduled backup are running when the new release becomes current', async () => {
    expect(oldBuild).not.toBe(newBuild);
    await startWorkers('old', 1);
    // The first version of the deployment: nothing is routed until an operator makes one current (manual).
    await operator(['set-current-version', '--deployment-name', DEPLOYMENT, '--build-id', oldBuild, '--yes'], { attempts: 15 });
    await operator(['describe', '--name', DEPLOYMENT]);
    expect((await routing()).current).toBe(oldBuild);

    const cp = await rigsnap.startCheckpoint({ workspaceId: 'ws_demo', name: 'before-upgrade', ttl: '1h' });
    checkpoint = { workflowId: cp.workflowId, runId: cp.runId };
    involved.push(checkpoint);
    await rigsnap.awaitCheckpointActive(cp.workflowId);

    // From here every stop takes until the test ends it: the fleet's first two backups and the scheduled one stay mid-way.
    holdStops();
    const f = await rigsnap.startFleetBackup({ workspaceIds: FLEET, concurrency: 2 });
    fleet = { workflowId: f.workflowId, runId: f.runId };
    involved.push(fleet);
    await rigsnap.schedules.create({ workspaceId: 'ws_production', at: '03:00', timezone: 'UTC' });
    const t = await rigsnap.schedules.trigger('ws_production', { waitMs: 60_000 });
    expect(t.run).not.toBeNull();
    scheduledBefore = { workflowId: t.run!.workflowId, runId: t.run!.runId };
    await awaitStopping(['ws_roll1', 'ws_roll2', 'ws_production']);
    expect(cluster.emulator!.state.workspace('ws_roll3')!.status).toBe('running'); // the fleet's third waits for a slot
    expect(await versioningOf(checkpoint)).toMatchObject({ buildId: oldBuild, behavior: VERSIONING_BEHAVIOR_AUTO_UPGRADE, status: 'RUNNING' });
    expect(await versioningOf(scheduledBefore)).toMatchObject({ buildId: oldBuild, behavior: VERSIONING_BEHAVIOR_PINNED, status: 'RUNNING' });

    // The new release's workers beside the old ones; a ramp, then current.
    await startWorkers('new', 1);
    await operator(['describe', '--name', DEPLOYMENT]);
    await operator(['set-ramping-version', '--deployment-name', DEPLOYMENT, '--build-id', newBuild, '--percentage', '50', '--yes'], { attempts: 15 });
    expect(await routing()).toMatchObject({ current: oldBuild, ramping: newBuild, rampingPercentage: 50 });
    await operator(['set-current-version', '--deployment-name', DEPLOYMENT, '--build-id', newBuild, '--yes'], { attempts: 15 });
    await operator(['describe', '--name', DEPLOYMENT]);
    const r = await routing();
    expect(r.current).toBe(newBuild);
    expect(r.versions).toEqual(expect.arrayContaining([oldBuild, newBuild]));
    const switchedAt = Date.now();

    // The runs held mid-way go on.
    releaseStops();
    const fleetResult = await guarded('the fleet', f.result());
    expect(fleetResult).toMatchObject({ total: 3, succeeded: 3, failedCount: 0 });
    const children = await childrenOf(fleet);
    expect(children.map((c) => c.workflowId)).toHaveLength(3);
    const before = children.filter((c) => c.startedAt < switchedAt);
    const after = children.filter((c) => c.startedAt >= switchedAt);
    expect(before).toHaveLength(2);
    expect(after).toHaveLength(1);
    for (const c of before) await expectPinnedOn(c, oldBuild); // finished on the build that started them
    for (const c of after) await expectPinnedOn(c, newBuild); // started by the fleet after the switch
    // The fleet itself (AutoUpgrade) moved: its later workflow tasks ran on the new build, and it ended there.
    expect(await versioningOf(fleet)).toEqual({ buildId: newBuild, behavior: VERSIONING_BEHAVIOR_AUTO_UPGRADE, status: 'COMPLETED' });
    const fleetTasks = (await tasksOf(fleet)).completedBy;
    expect(fleetTasks[0]).toBe(oldBuild);
    expect(fleetTasks.at(-1)).toBe(newBuild);
    for (const ws of FLEET) expect(cluster.emulator!.state.snapshotsOf(ws), ws).toHaveLength(1);

    await guarded('the scheduled backup', cluster.client.workflow.getHandle(scheduledBefore.workflowId, scheduledBefore.runId).result());
    await expectPinnedOn(scheduledBefore, oldBuild);
    expect(cluster.emulator!.state.workspace('ws_production')!.status).toBe('running');
  });

  it('after the upgrade: new runs go to the new build, and the open checkpoint rolls back on it', async () => {
    expect(checkpoint, 'the first step ran').toBeDefined();
    const snap = await rigsnap.startSnapshot({ workspaceId: 'ws_ml', name: 'after-upgrade' });
    expect((await guarded('a snapshot', snap.result())).snapshot.name).toBe('after-upgrade');
    await expectPinnedOn({ workflowId: snap.workflowId, runId: snap.runId }, newBuild);

    const t = await rigsnap.schedules.trigger('ws_production', { waitMs: 60_000 });
    expect(t.run).not.toBeNull();
    const scheduledAfter = { workflowId: t.run!.workflowId, runId: t.run!.runId };
    await guarded('the scheduled backup', cluster.client.workflow.getHandle(scheduledAfter.workflowId, scheduledAfter.runId).result());
    await expectPinnedOn(scheduledAfter, newBuild);

    // The checkpoint was taken on the old build; the user breaks the workspace; the rollback runs on the new build.
    scribble('ws_demo', 'broken after the upgrade\n');
    const rolled = await guarded('the rollback', rigsnap.rollback(checkpoint.workflowId));
    expect(rolled).toMatchObject({ workspaceStatus: 'running', rollbacks: 1 });
    expect(cluster.emulator!.state.workspace('ws_demo')!.files).toMatchObject(original);
    expect(await versioningOf(checkpoint)).toEqual({ buildId: newBuild, behavior: VERSIONING_BEHAVIOR_AUTO_UPGRADE, status: 'RUNNING' });
    const tasks = (await tasksOf(checkpoint)).completedBy;
    expect(tasks[0]).toBe(oldBuild);
    expect(tasks.at(-1)).toBe(newBuild);

    const scanned = await expectNoWorkflowTaskFailed();
    log(`after the upgrade: ${scanned} runs scanned, no workflow task failed`);
  });

  it('rolled back: a run pinned to the new build finishes there, new runs go to the old build, the checkpoint moves back and is released', async () => {
    expect(checkpoint, 'the first step ran').toBeDefined();
    holdStops();
    const pinnedOnNew = await rigsnap.startBackup({ workspaceId: 'ws_roll1' });
    await awaitStopping(['ws_roll1']);
    await operator(['set-current-version', '--deployment-name', DEPLOYMENT, '--build-id', oldBuild, '--yes'], { attempts: 15 });
    await operator(['describe', '--name', DEPLOYMENT]);
    expect((await routing()).current).toBe(oldBuild);
    releaseStops();
    await guarded('the backup', pinnedOnNew.result());
    await expectPinnedOn({ workflowId: pinnedOnNew.workflowId, runId: pinnedOnNew.runId }, newBuild);

    const snap = await rigsnap.startSnapshot({ workspaceId: 'ws_ml', name: 'after-rollback' });
    await guarded('a snapshot', snap.result());
    await expectPinnedOn({ workflowId: snap.workflowId, runId: snap.runId }, oldBuild);
    const t = await rigsnap.schedules.trigger('ws_production', { waitMs: 60_000 });
    expect(t.run).not.toBeNull();
    const scheduled = { workflowId: t.run!.workflowId, runId: t.run!.runId };
    await guarded('the scheduled backup', cluster.client.workflow.getHandle(scheduled.workflowId, scheduled.runId).result());
    await expectPinnedOn(scheduled, oldBuild);

    // The checkpoint (AutoUpgrade) is back on the old build: it rolls back again there, then is released.
    scribble('ws_demo', 'broken after the rollback\n');
    expect(await guarded('the rollback', rigsnap.rollback(checkpoint.workflowId))).toMatchObject({ workspaceStatus: 'running', rollbacks: 2 });
    expect(cluster.emulator!.state.workspace('ws_demo')!.files).toMatchObject(original);
    expect(await versioningOf(checkpoint)).toMatchObject({ buildId: oldBuild, status: 'RUNNING' });
    const released = await guarded('the release', rigsnap.release(checkpoint.workflowId));
    expect(released).toMatchObject({ released: true, alreadyReleased: false });
    const result = (await cluster.client.workflow.getHandle(checkpoint.workflowId, checkpoint.runId).result()) as { endedBy: string; rollbacks: number };
    expect(result).toMatchObject({ endedBy: 'release', rollbacks: 2 });
    expect(await versioningOf(checkpoint)).toEqual({ buildId: oldBuild, behavior: VERSIONING_BEHAVIOR_AUTO_UPGRADE, status: 'COMPLETED' });
    const tasks = (await tasksOf(checkpoint)).completedBy;
    // old (started), new (first rollback), old (second rollback and release).
    expect(tasks.filter((b, i) => i === 0 || tasks[i - 1] !== b)).toEqual([oldBuild, newBuild, oldBuild]);

    const scanned = await expectNoWorkflowTaskFailed();
    log(`after the rollback: ${scanned} runs scanned, no workflow task failed`);
  });

  it('forward again: the old build drains and its workers stop; the new build serves alone', async () => {
    expect(checkpoint, 'the first step ran').toBeDefined();
    await operator(['set-current-version', '--deployment-name', DEPLOYMENT, '--build-id', newBuild, '--yes'], { attempts: 15 });
    // The server counts the old build as draining (drained only after its periodic check: minutes, not waited for here).
    const drainage = await until(
      'the old build to drain',
      async () => {
        const v = await cluster.client.workflowService.describeWorkerDeploymentVersion({
          namespace: cluster.namespace,
          deploymentVersion: { deploymentName: DEPLOYMENT, buildId: oldBuild },
        });
        const status = Number(v.workerDeploymentVersionInfo?.drainageInfo?.status ?? 0);
        return status === VERSION_DRAINAGE_STATUS_DRAINING || status === VERSION_DRAINAGE_STATUS_DRAINED ? status : undefined;
      },
      60_000,
    );
    log(`old build ${oldBuild}: drainage status ${drainage === VERSION_DRAINAGE_STATUS_DRAINED ? 'drained' : 'draining'}`);
    await operator(['describe-version', '--deployment-name', DEPLOYMENT, '--build-id', oldBuild]);
    // Safety is decided by the runs themselves: every run pinned to the old build has closed.
    const openOnOld: string[] = [];
    for await (const wf of cluster.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      const v = await versioningOf({ workflowId: wf.workflowId, runId: wf.runId });
      if (v.status === 'RUNNING' && v.buildId === oldBuild && v.behavior === VERSIONING_BEHAVIOR_PINNED) openOnOld.push(wf.workflowId);
    }
    expect(openOnOld).toEqual([]);
    for (const w of oldWorkers) await w.stop('SIGTERM');
    for (const w of oldWorkers) expect(w.child.exitCode, w.output.join('').slice(-2000)).toBe(0);

    // The new build alone: a snapshot, and the AutoUpgrade workspace entities it now carries.
    const snap = await rigsnap.startSnapshot({ workspaceId: 'ws_demo', name: 'new-build-alone' });
    await guarded('a snapshot', snap.result());
    await expectPinnedOn({ workflowId: snap.workflowId, runId: snap.runId }, newBuild);
    await operator(['describe-version', '--deployment-name', DEPLOYMENT, '--build-id', oldBuild]);
    await operator(['describe', '--name', DEPLOYMENT]);
    const scanned = await expectNoWorkflowTaskFailed();
    log(`at the end: ${scanned} runs scanned, no workflow task failed`);
  });
});
