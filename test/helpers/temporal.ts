import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { loadWorkerConfig, type WorkerConfig } from '../../worker/config.js';
import { activityDepsFromConfig, createRigsnapWorker } from '../../worker/worker.js';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR') });
}

export interface TestTemporal {
  address: string;
  namespace: string;
  nativeConnection: NativeConnection;
  connection: Connection;
  client: Client;
  close(): Promise<void>;
}

/** Connects to the run's dev server (started in global-setup). */
export async function connectTestTemporal(): Promise<TestTemporal> {
  quietRuntime();
  const address = inject('temporalAddress');
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    address,
    namespace: 'default',
    nativeConnection,
    connection,
    client,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

let queueCounter = 0;
export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}-${queueCounter++}`;
}

export const TEST_TOKEN = 'test-token-7f3a9c1e5b';

/**
 * Every test file shares one dev server, where workers of different builds (run from source, or dist/
 * worker processes) would share the Worker Deployment `rigsnap`: whichever became current would own the
 * other's task queues. Tests run unversioned unless they ask (test/integration/versioning.test.ts);
 * `npm start`'s and the cluster's own servers run the default, versioned.
 */
export const UNVERSIONED_ON_SHARED_SERVER = { RIGSNAP_WORKER_VERSIONING: 'off' } as const;

/** A worker config as the worker would parse it, pointed at an emulator and a test task queue. */
export function testConfig(overrides: Record<string, string>): WorkerConfig {
  return loadWorkerConfig({
    RIGBOX_TOKEN: TEST_TOKEN,
    ...UNVERSIONED_ON_SHARED_SERVER,
    RIGSNAP_POLL_MIN_MS: '50',
    RIGSNAP_POLL_MAX_MS: '500',
    RIGSNAP_RIGBOX_CALLS_PER_SECOND: '1000',
    RIGSNAP_SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  });
}

export interface TestWorkerOptions {
  temporal: TestTemporal;
  taskQueue: string;
  rigboxUrl: string;
  env?: Record<string, string>;
  /** Replace or extend the real activities (workflow unit tests). */
  activities?: object;
  deps?: Partial<ActivityDeps>;
  /**
   * Run with the production defaults for every timing (poll schedule, rate limit, shutdown grace)
   * instead of the quick test settings: only the Rigbox URL, token and task queue are set.
   */
  productionDefaults?: boolean;
  /** False: the worker runs workflows and local activities only (tests that build an activity backlog). */
  enableNonLocalActivities?: boolean;
}

/** A real worker on the test server, with the bundle built once per run. */
export async function createTestWorker(o: TestWorkerOptions): Promise<Worker> {
  const env = { RIGBOX_API_URL: o.rigboxUrl, RIGSNAP_TASK_QUEUE: o.taskQueue, ...(o.env ?? {}) };
  const config = o.productionDefaults ? loadWorkerConfig({ RIGBOX_TOKEN: TEST_TOKEN, ...UNVERSIONED_ON_SHARED_SERVER, ...env }) : testConfig(env);
  const activities =
    o.activities ??
    createActivities({
      ...activityDepsFromConfig(config, o.temporal.client),
      ...(o.deps ?? {}),
    });
  return createRigsnapWorker({
    connection: o.temporal.nativeConnection,
    namespace: o.temporal.namespace,
    config,
    client: o.temporal.client,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
    ...(o.enableNonLocalActivities === false ? { enableNonLocalActivities: false } : {}),
  });
}
