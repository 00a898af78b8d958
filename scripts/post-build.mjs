#!/usr/bin/env node
// After tsc: prebuilds the workflow bundle (dist/workflow-bundle.js) so a worker starts without
// bundling, and makes the CLI executable (tsc writes files without the +x bit).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { recordBuild } from './build-state.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { code } = await bundleWorkflowCode({
  workflowsPath: path.join(root, 'dist/workflows/index.js'),
  // rigsnap's metrics see every workflow end through this interceptor (worker/worker.ts names it too).
  workflowInterceptorModules: [path.join(root, 'dist/workflows/metrics-interceptors.js')],
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
});
fs.writeFileSync(path.join(root, 'dist/workflow-bundle.js'), code);
process.stderr.write(`[build] workflow bundle: dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB)\n`);

fs.chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);

// Last: dist/ now matches the sources, so `npm start` and ./rigsnap need not build again.
recordBuild();
