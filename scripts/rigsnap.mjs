#!/usr/bin/env node
// `./rigsnap …` in a checkout: the CLI from dist/, rebuilt first only when the sources changed since
// the last build (so a `git pull` never runs yesterday's code, and an unchanged tree starts at once).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, buildIfStale } from './build-state.mjs';

if (!fs.existsSync(path.join(ROOT, 'node_modules'))) {
  process.stderr.write(`rigsnap: the dependencies are not installed: run \`npm install\` in ${ROOT} first\n`);
  process.exit(2);
}
buildIfStale({ quiet: true });
const { run } = await import('../dist/cli/main.js');
run(process.argv);
