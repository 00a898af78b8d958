import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, releaseUpdate } from '../../contract/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { adoptAsCurrentIfNone } from '../../worker/versioning.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';

/**
 * Worker Versioning on the real dev server: a worker declares its deployment and build, an `auto`
 * worker makes its version current on a deployment that has none (and only then), and each workflow
 * type runs with the behaviour the contract gives it (short operations Pinned, long ones AutoUpgrade).
 */
let temporal: TestTemporal;
let emu: Emulator;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 50, startMs: 50, snapshotMs: 20, restoreMs: 20, latencyMs: 0 },
    seedWorkspaces: [{ id: 'ws_ver', status: 'running', files: { 'f.txt': 'data' } }],
  });
});
afterAll(async () => {
  await emu?.close();
  await temporal?.close();
});

/** The versioning the server recorded for a run: its behaviour and the build it is on. */
async function versioningOf(workflowId: string) {
  const d = await temporal.client.workflow.getHandle(workflowId).describe();
  const info = d.raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: info?.behavior ?? 0, buildId: info?.deploymentVersion?.buildId ?? null, deployment: info?.deploymentVersion?.deploymentName ?? null };
}

const VERSIONING_BEHAVIOR_PINNED = 1; // temporal.api.enums.v1.VersioningBehavior
const VERSIONING_BEHAVIOR_AUTO_UPGRADE = 2;

describe('worker versioning', () => {
  it('an auto worker on a deployment without a current version makes its build current; runs carry their behaviour', async () => {
    const deployment = `rigsnap-vt-${Date.now().toString(36)}`;
    const taskQueue = uniqueTaskQueue('versioning');
    const worker = await createTestWorker({
      temporal,
      taskQueue,
      rigboxUrl: emu.url,
      env: { RIGSNAP_DEPLOYMENT_NAME: deployment, RIGSNAP_BUILD_ID: 'b1', RIGSNAP_WORKER_VERSIONING: 'auto' },
    });
    await worker.runUntil(async () => {
      const snapshotId = `snapshot-ws_ver-v-${Date.now()}`;
      const snap = await temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId: snapshotId,
        args: [{ workspaceId: 'ws_ver', name: 'versioned' }],
      });
      expect(snap.snapshot.name).toBe('versioned');
      expect(await versioningOf(snapshotId)).toEqual({ behavior: VERSIONING_BEHAVIOR_PINNED, buildId: 'b1', deployment });

      const checkpointId = `checkpoint-ws_ver-v-${Date.now()}`;
      const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.checkpoint, {
        taskQueue,
        workflowId: checkpointId,
        args: [{ workspaceId: 'ws_ver', name: 'cp-versioned' }],
      });
      await handle.executeUpdate(releaseUpdate, { args: [{}] });
      await handle.result();
      expect(await versioningOf(checkpointId)).toEqual({ behavior: VERSIONING_BEHAVIOR_AUTO_UPGRADE, buildId: 'b1', deployment });
    });
    const d = await temporal.client.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName: deployment });
    expect(d.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId).toBe('b1');
  });

  it('an auto worker never takes the current version from another build whose workers still poll', async () => {
    const deployment = `rigsnap-vt2-${Date.now().toString(36)}`;
    const taskQueue = uniqueTaskQueue('versioning2');
    const first = await createTestWorker({
      temporal,
      taskQueue,
      rigboxUrl: emu.url,
      env: { RIGSNAP_DEPLOYMENT_NAME: deployment, RIGSNAP_BUILD_ID: 'old', RIGSNAP_WORKER_VERSIONING: 'auto' },
    });
    const second = await createTestWorker({
      temporal,
      taskQueue,
      rigboxUrl: emu.url,
      env: { RIGSNAP_DEPLOYMENT_NAME: deployment, RIGSNAP_BUILD_ID: 'new', RIGSNAP_WORKER_VERSIONING: 'manual' },
    });
    await first.runUntil(() =>
      second.runUntil(async () => {
        const svc = temporal.client.workflowService;
        const current = async () =>
          (await svc.describeWorkerDeployment({ namespace: 'default', deploymentName: deployment }).catch(() => undefined))?.workerDeploymentInfo?.routingConfig
            ?.currentDeploymentVersion?.buildId;
        for (let i = 0; i < 100 && (await current()) !== 'old'; i++) await new Promise((r) => setTimeout(r, 200));
        expect(await current()).toBe('old');
        const messages: string[] = [];
        const outcome = await adoptAsCurrentIfNone({
          client: temporal.client,
          namespace: 'default',
          taskQueue,
          version: { deploymentName: deployment, buildId: 'new' },
          log: (_level, message) => messages.push(message),
          stopped: () => false,
          attempts: 20,
          intervalMs: 200,
        });
        expect(outcome).toBe('other-current');
        expect(messages.join('\n')).toContain(`temporal worker deployment set-current-version --deployment-name ${deployment} --build-id new`);
        expect(await current()).toBe('old');
      }),
    );
  });

  it('an auto worker takes over when the current build has no live worker left (a stack replaced by a newer build)', { timeout: 240_000 }, async () => {
    const deployment = `rigsnap-vt3-${Date.now().toString(36)}`;
    const taskQueue = uniqueTaskQueue('versioning3');
    const env = (buildId: string) => ({ RIGSNAP_DEPLOYMENT_NAME: deployment, RIGSNAP_BUILD_ID: buildId, RIGSNAP_WORKER_VERSIONING: 'auto' });
    const svc = temporal.client.workflowService;
    const current = async () =>
      (await svc.describeWorkerDeployment({ namespace: 'default', deploymentName: deployment }).catch(() => undefined))?.workerDeploymentInfo?.routingConfig
        ?.currentDeploymentVersion?.buildId;
    const old = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: env('old') });
    await old.runUntil(async () => {
      for (let i = 0; i < 100 && (await current()) !== 'old'; i++) await new Promise((r) => setTimeout(r, 200));
    });
    expect(await current()).toBe('old');
    // The old stack is gone; the new one starts. At the production poller window (90 s) it takes over.
    const replacement = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { ...env('new'), RIGSNAP_WORKER_VERSIONING: 'manual' } });
    await replacement.runUntil(async () => {
      const outcome = await adoptAsCurrentIfNone({
        client: temporal.client,
        namespace: 'default',
        taskQueue,
        version: { deploymentName: deployment, buildId: 'new' },
        log: () => {},
        stopped: () => false,
        attempts: 60,
        intervalMs: 3000,
      });
      expect(outcome).toBe('adopted');
      expect(await current()).toBe('new');
      const workflowId = `list-ws_ver-after-${Date.now()}`;
      await temporal.client.workflow.execute(WORKFLOW_TYPES.list, { taskQueue, workflowId, args: [{ workspaceId: 'ws_ver' }] });
      expect(await versioningOf(workflowId)).toEqual({ behavior: VERSIONING_BEHAVIOR_PINNED, buildId: 'new', deployment });
    });
  });

  it('with RIGSNAP_WORKER_VERSIONING=off the worker runs unversioned', async () => {
    const taskQueue = uniqueTaskQueue('unversioned');
    const worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, env: { RIGSNAP_WORKER_VERSIONING: 'off' } });
    const workflowId = `list-ws_ver-${Date.now()}`;
    await worker.runUntil(temporal.client.workflow.execute(WORKFLOW_TYPES.list, { taskQueue, workflowId, args: [{ workspaceId: 'ws_ver' }] }));
    expect(await versioningOf(workflowId)).toEqual({ behavior: 0, buildId: null, deployment: null });
  });
});
