import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
// @ts-expect-error: plain JavaScript module without types
import { ensureTemporalCli } from '../scripts/ensure-temporal-cli.mjs';
import { bundleOptions } from '../worker/bundle.js';
import { priorityDevServerArgs } from '../dev/temporal-server.js';
import { ensureSearchAttributes } from '../worker/temporal.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The dev server's Web UI, so tests can check that printed links open. */
    temporalUiUrl: string;
    temporalCliPath: string;
    workflowBundlePath: string;
  }
}

/**
 * One real Temporal dev server per test run, from the project's own CLI binary (never mocked), and
 * one workflow bundle built from the source. Test files connect to both.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  const cliPath: string = await ensureTemporalCli();
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      ip: '127.0.0.1',
      ui: true,
      uiPort,
      log: { format: 'pretty', level: 'error' },
      // Priority and fairness dispatch, as every dev server of the project runs (dev/temporal-server.ts).
      extraArgs: priorityDevServerArgs(),
    },
  });
  // What every rigsnap worker does at start-up; the worker test checks it on a fresh namespace.
  await ensureSearchAttributes(env.nativeConnection, 'default');

  const { code } = await bundleWorkflowCode({
    // As the built bundle (scripts/post-build.mjs): the same interceptors, preloaded modules, source maps.
    ...bundleOptions(path.resolve('workflows/index.ts')),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-test-'));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, code);

  project.provide('temporalAddress', env.address);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', bundlePath);
  process.stdout.write(`\n[global-setup] Temporal dev server ${env.address} (${cliPath})\n`);

  return async () => {
    await env.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
