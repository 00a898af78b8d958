#!/usr/bin/env node
// After tsc: prebuilds the workflow bundle (dist/workflow-bundle.js) so a worker starts without
// bundling, and makes the CLI executable (tsc writes files without the +x bit).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

// The build id a worker declares under Worker Versioning (worker/versioning.ts): the package version plus
// the git commit; plus a hash of the workflow bundle when the workflow code differs from that commit (or
// there is no git, as in the Docker build), so that two different workflow codes never share an id.
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
const head = git('rev-parse', '--short=12', 'HEAD');
const dirty = git('status', '--porcelain', '--', 'workflows', 'domain', 'contract', 'package-lock.json');
const bundleHash = createHash('sha256').update(code).digest('hex').slice(0, 12);
const commit = head.status === 0 ? head.stdout.trim() : '';
const buildId = commit && dirty.status === 0 && dirty.stdout.trim() === '' ? `${version}+${commit}` : `${version}+${commit ? `${commit}.` : ''}wf${bundleHash}`;
fs.writeFileSync(path.join(root, 'dist/build-info.json'), `${JSON.stringify({ buildId, commit: commit || null, bundleHash }, null, 2)}\n`);
process.stderr.write(`[build] build id: ${buildId}\n`);

// Last: dist/ now matches the sources, so `npm start` and ./rigsnap need not build again.
recordBuild();
