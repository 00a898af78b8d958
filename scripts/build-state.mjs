#!/usr/bin/env node
// Whether dist/ was built from the sources as they are now, so that `npm start` and `./rigsnap` skip a
// 20-40 s TypeScript build when nothing changed, and build only when something did. `npm run build`
// (what `npm test`, CI and the Docker image run) always builds and records the fingerprint.
//
// The fingerprint is a hash of every file tsc and the bundler read (the folders tsconfig.build.json
// includes, the tsconfig files, package.json, package-lock.json and the post-build script). The cheap
// path first: when no such file is newer than the recorded fingerprint, dist/ is fresh without
// reading any of them; only a newer file (an edit, a checkout, a touch) makes it hash them.
//
// Plain JavaScript with Node builtins only: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampOf = (root) => path.join(root, 'dist', '.build-fingerprint');
/** What the build reads besides the source folders. */
const EXTRA_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json', 'scripts/post-build.mjs'];

function sourceFolders(root) {
  const config = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  return config.include ?? [];
}

/** Every input of the build, relative to the root, sorted. */
export function buildInputs(root = ROOT) {
  const files = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && /\.(ts|mts|cts|js|mjs|json)$/.test(e.name)) files.push(child);
    }
  };
  for (const folder of sourceFolders(root)) walk(folder);
  for (const f of EXTRA_FILES) if (fs.existsSync(path.join(root, f))) files.push(f);
  return files.sort();
}

export function fingerprint(root = ROOT, files = buildInputs(root)) {
  const hash = createHash('sha256');
  for (const f of files) {
    hash
      .update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(root, f)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Records that dist/ now matches the sources (the last step of `npm run build`). */
export function recordBuild(root = ROOT) {
  fs.writeFileSync(stampOf(root), `${fingerprint(root)}\n`);
}

/** True when dist/ was built from exactly the current sources. */
export function isBuildFresh(root = ROOT) {
  const stampFile = stampOf(root);
  let stamp;
  try {
    stamp = fs.statSync(stampFile);
  } catch {
    return false; // never built, or built before fingerprints existed
  }
  const files = buildInputs(root);
  const newer = files.some((f) => fs.statSync(path.join(root, f)).mtimeMs > stamp.mtimeMs);
  if (!newer) return true;
  const fresh = fs.readFileSync(stampFile, 'utf8').trim() === fingerprint(root, files);
  // Same content, newer times (a checkout, a touch): move the stamp forward so the next check is cheap.
  if (fresh) fs.utimesSync(stampFile, new Date(), new Date());
  return fresh;
}

/** Builds unless dist/ is fresh; returns whether it built. Exits the process if the build fails. */
export function buildIfStale({ quiet = false } = {}) {
  if (isBuildFresh()) {
    if (!quiet) process.stderr.write('[build] dist/ is up to date with the sources; not rebuilding\n');
    return false;
  }
  process.stderr.write('[build] the sources changed since the last build: running `npm run build`…\n');
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write('[build] the build failed; fix the errors above and try again\n');
    process.exit(r.status ?? 1);
  }
  return true;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const command = process.argv[2];
  if (command === 'record') recordBuild();
  else if (command === 'check') process.exit(isBuildFresh() ? 0 : 1);
  else buildIfStale();
}
