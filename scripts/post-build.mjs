#!/usr/bin/env node
// After tsc: prebuilds the workflow bundle (dist/workflow-bundle.js) so a worker starts without
// bundling, and makes the CLI executable (tsc writes files without the +x bit).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { recordBuild } from './build-state.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// The bundle's options (interceptors, preloaded modules, source maps) live in worker/bundle.ts, built by tsc just now.
const { bundleOptions } = await import(path.join(root, 'dist/worker/bundle.js'));
const { code } = await bundleWorkflowCode({
  ...bundleOptions(path.join(root, 'dist/workflows/index.js')),
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
});
fs.writeFileSync(path.join(root, 'dist/workflow-bundle.js'), code);
process.stderr.write(`[build] workflow bundle: dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB)\n`);

fs.chmodSync(path.join(root, 'dist/cli/main.js'), 0o755);

// Last: dist/ now matches the sources, so `npm start` and ./rigsnap need not build again.
recordBuild();
