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
/** How long an `auto` worker waits for its own version to appear in the deployment (its pollers register it). */
const ADOPT_ATTEMPTS = 60;
const ADOPT_INTERVAL_MS = 1000;

export interface AdoptOptions {
  client: Client;
  namespace: string;
  version: DeclaredVersion;
  log: (level: 'info' | 'warn', message: string) => void;
  /** Stops trying (the worker stopped). */
  stopped: () => boolean;
  attempts?: number;
  intervalMs?: number;
}

/**
 * `auto` mode: once this worker's version is registered (its pollers reached the server), make it the
 * deployment's current version if there is none. Ends after `attempts` tries, when it is current, when
 * another version is current (said in the log, with the command to switch), or when the worker stops.
 * Resolves with what it found, for tests and the start-up log.
 */
export async function adoptAsCurrentIfNone(o: AdoptOptions): Promise<'adopted' | 'already-current' | 'other-current' | 'gave-up' | 'stopped'> {
  const { client, namespace, version, log } = o;
  const svc = client.workflowService;
  for (let attempt = 1; attempt <= (o.attempts ?? ADOPT_ATTEMPTS); attempt++) {
    if (o.stopped()) return 'stopped';
    try {
      const d = await svc.describeWorkerDeployment({ namespace, deploymentName: version.deploymentName });
      const info = d.workerDeploymentInfo;
      const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? null;
      const currentLabel = info?.routingConfig?.currentVersion ?? UNVERSIONED;
      if (current === version.buildId) return 'already-current';
      if (current || (currentLabel && currentLabel !== UNVERSIONED)) {
        log(
          'warn',
          `build ${version.buildId} is not the current version of deployment ${version.deploymentName} (current: ${current ?? currentLabel}); ` +
            'it runs only workflows pinned to it until an operator makes it current: ' +
            `temporal worker deployment set-current-version --deployment-name ${version.deploymentName} --build-id ${version.buildId}`,
        );
        return 'other-current';
      }
      const registered = (info?.versionSummaries ?? []).some((s) => s.deploymentVersion?.buildId === version.buildId);
      if (registered) {
        await svc.setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: version.deploymentName,
          buildId: version.buildId,
          conflictToken: d.conflictToken,
          identity: `rigsnap worker ${version.buildId}`,
        });
        log('info', `deployment ${version.deploymentName} had no current version: build ${version.buildId} is now current`);
        return 'adopted';
      }
    } catch (err) {
      // NotFound until the first poller registers the deployment; a lost race on the conflict token: look again.
      if (attempt === (o.attempts ?? ADOPT_ATTEMPTS)) log('warn', `could not make build ${version.buildId} current: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? ADOPT_INTERVAL_MS).unref());
  }
  return 'gave-up';
}
