/**
 * Worker Versioning (Temporal Worker Deployments): which deployment and build this worker declares,
 * whether it runs versioned at all, and, in `auto` mode, making its version the deployment's current
 * one when the deployment has none yet (a first install), so that a fresh stack runs without an
 * operator step. Rolling out a later version is the operator's step (docs/operations.md, "Deploying a
 * new rigsnap version"): an `auto` worker never takes the current version away from another one.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { WorkerConfig } from './config.js';

/** The version a worker declares: `deploymentName.buildId` in Temporal's canonical form. */
export interface DeclaredVersion {
  deploymentName: string;
  buildId: string;
}

/** What `npm run build` records (scripts/post-build.mjs): the build id of the code in dist/. */
const BUILD_INFO = new URL('../build-info.json', import.meta.url);

/**
 * The build id: RIGSNAP_BUILD_ID, else the one the build recorded (the package version plus the git
 * commit, or plus a hash of the workflow bundle when the tree was not a clean checkout), else
 * `<version>+source` for code run from source (tests).
 */
export function resolveBuildId(config: Pick<WorkerConfig, 'RIGSNAP_BUILD_ID'>, buildInfoPath: string | URL = BUILD_INFO): string {
  if (config.RIGSNAP_BUILD_ID) return config.RIGSNAP_BUILD_ID;
  try {
    const recorded = JSON.parse(fs.readFileSync(buildInfoPath, 'utf8')) as { buildId?: unknown };
    if (typeof recorded.buildId === 'string' && recorded.buildId.length > 0) return recorded.buildId;
  } catch {
    // Not built (run from source): fall through.
  }
  return `${packageVersion()}+source`;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version?: string };
    if (pkg.version) return pkg.version;
  } catch {
    // dist/worker/ is one level deeper than worker/: try the parent's parent.
  }
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The version this worker declares, or undefined when versioning is off. */
export function declaredVersion(
  config: Pick<WorkerConfig, 'RIGSNAP_WORKER_VERSIONING' | 'RIGSNAP_DEPLOYMENT_NAME' | 'RIGSNAP_BUILD_ID'>,
): DeclaredVersion | undefined {
  if (config.RIGSNAP_WORKER_VERSIONING === 'off') return undefined;
  return { deploymentName: config.RIGSNAP_DEPLOYMENT_NAME, buildId: resolveBuildId(config) };
}

/**
 * The worker's deployment options. Workflow types declare their own behaviour (workflows/index.ts);
 * the default only covers a type that forgot to, and is the one that behaves as unversioned code did.
 */
export function deploymentOptions(version: DeclaredVersion | undefined): WorkerDeploymentOptions | undefined {
  if (!version) return undefined;
  return { useWorkerVersioning: true, version, defaultVersioningBehavior: 'AUTO_UPGRADE' };
}

/** One line for the start-up log: which mode, which version. */
export function describeVersioning(config: Pick<WorkerConfig, 'RIGSNAP_WORKER_VERSIONING'>, version: DeclaredVersion | undefined): string {
  if (!version) return 'worker versioning off (RIGSNAP_WORKER_VERSIONING=off): this worker takes any workflow of its task queue';
  return `worker versioning ${config.RIGSNAP_WORKER_VERSIONING}: deployment ${version.deploymentName}, build ${version.buildId}`;
}

const UNVERSIONED = '__unversioned__';
/** How often, and for how long after start-up, an `auto` worker looks at the deployment's routing. */
const ADOPT_INTERVAL_MS = 5000;
const ADOPT_ATTEMPTS = 120; // 10 minutes
/** A poller not seen for this long has gone (a live worker polls again within about a minute). */
const POLLER_GONE_MS = 90_000;
const TASK_QUEUE_TYPE_WORKFLOW = 1; // temporal.api.enums.v1.TaskQueueType

export interface AdoptOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  version: DeclaredVersion;
  log: (level: 'info' | 'warn', message: string) => void;
  /** Stops trying (the worker stopped). */
  stopped: () => boolean;
  attempts?: number;
  intervalMs?: number;
}

export type AdoptOutcome = 'adopted' | 'already-current' | 'other-current' | 'gave-up' | 'stopped';

/**
 * `auto` mode: once this worker's version is registered (its pollers reached the server), make it the
 * deployment's current version when there is none (a first install) or when the current build has no
 * live worker on this task queue (a stack replaced by a newer build: `docker compose up` of a new image,
 * `npm start` after a change). While a worker of the current build still polls, it leaves routing to the
 * operator and says once how to switch. Ends when this build is current, when the worker stops, or after
 * `attempts` looks (10 minutes): by then an operator's rollout owns the routing.
 */
export async function adoptAsCurrentIfNone(o: AdoptOptions): Promise<AdoptOutcome> {
  const attempts = o.attempts ?? ADOPT_ATTEMPTS;
  let told = false;
  let outcome: AdoptOutcome = 'gave-up';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (o.stopped()) return 'stopped';
    try {
      const found = await lookAtRouting(o);
      if (found === 'adopted' || found === 'already-current') return found;
      if (found === 'other-current') {
        outcome = 'other-current';
        if (!told) o.log('warn', otherCurrentMessage(o, await currentBuild(o)));
        told = true;
      }
    } catch (err) {
      // NotFound until the first poller registers the deployment; a lost race on the conflict token: look again.
      if (attempt === attempts) o.log('warn', `could not make build ${o.version.buildId} current: ${(err as Error).message}`);
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? ADOPT_INTERVAL_MS).unref());
  }
  return outcome;
}

async function currentBuild(o: AdoptOptions): Promise<string | null> {
  const d = await o.client.workflowService.describeWorkerDeployment({ namespace: o.namespace, deploymentName: o.version.deploymentName });
  return d.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? null;
}

function otherCurrentMessage(o: AdoptOptions, current: string | null): string {
  const { deploymentName, buildId } = o.version;
  return (
    `build ${buildId} is not the current version of deployment ${deploymentName} (current: ${current ?? 'unknown'}, whose workers still poll); ` +
    'it runs only workflows pinned to it until an operator makes it current: ' +
    `temporal worker deployment set-current-version --deployment-name ${deploymentName} --build-id ${buildId}`
  );
}

/** One look: adopt when allowed, else say what stands in the way. */
async function lookAtRouting(o: AdoptOptions): Promise<'adopted' | 'already-current' | 'other-current' | 'not-registered'> {
  const { client, namespace, version, log } = o;
  const svc = client.workflowService;
  const d = await svc.describeWorkerDeployment({ namespace, deploymentName: version.deploymentName });
  const info = d.workerDeploymentInfo;
  const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? null;
  const hasCurrent = !!current || (info?.routingConfig?.currentVersion ?? UNVERSIONED) !== UNVERSIONED;
  if (current === version.buildId) return 'already-current';
  if (!(info?.versionSummaries ?? []).some((s) => s.deploymentVersion?.buildId === version.buildId)) return 'not-registered';
  if (hasCurrent && current && (await buildPolls(o, current))) return 'other-current';
  await svc.setWorkerDeploymentCurrentVersion({
    namespace,
    deploymentName: version.deploymentName,
    buildId: version.buildId,
    conflictToken: d.conflictToken,
    identity: `rigsnap worker ${version.buildId}`,
  });
  log(
    'info',
    hasCurrent
      ? `build ${current} of deployment ${version.deploymentName} has no live worker on ${o.taskQueue}: build ${version.buildId} is now current (runs pinned to ${current} wait for a worker of it)`
      : `deployment ${version.deploymentName} had no current version: build ${version.buildId} is now current`,
  );
  return 'adopted';
}

/** Whether a worker of `buildId` polled this task queue for workflow tasks lately. */
async function buildPolls(o: AdoptOptions, buildId: string): Promise<boolean> {
  const res = await o.client.workflowService.describeTaskQueue({
    namespace: o.namespace,
    taskQueue: { name: o.taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (res.pollers ?? []).some((p) => {
    const at = p.lastAccessTime ? Number(p.lastAccessTime.seconds ?? 0) * 1000 : 0;
    return p.deploymentOptions?.buildId === buildId && now - at <= POLLER_GONE_MS;
  });
}
