// Shared by the scripts that obtain Go programs (the Temporal CLI, Temporal Server and its SQL tool,
// the Web UI server): where rigsnap caches them, how to tell a working binary, and how to build one
// from Go modules so that a half-finished build never lands in the cache.
//
// Plain JavaScript with Node builtins only: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** ~/.cache/rigsnap (RIGSNAP_CACHE_DIR, then XDG_CACHE_HOME, move it). */
export function rigsnapCacheBase() {
  return process.env.RIGSNAP_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rigsnap');
}

export function exeName(name) {
  return process.platform === 'win32' ? `${name}.exe` : name;
}

/**
 * Runs `<bin> ...args` and returns its first output line when it matches `expect`, else undefined.
 * Some Go programs print their version on stderr, so both streams count.
 */
export function probe(bin, args, expect) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return undefined;
  const line = `${r.stdout || ''}\n${r.stderr || ''}`.trim().split('\n')[0] ?? '';
  return expect.test(line) ? line : undefined;
}

export function goVersion() {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  return go.status === 0 ? go.stdout.trim() : undefined;
}

/**
 * `go install` of `packages` (all from one module at one version) with CGO off, into a temporary GOBIN
 * beside `targetDir`; then each built program is renamed into `targetDir` under its cached name
 * (`rename` maps the Go program's name to it). Renames within one file system are atomic, so a crash
 * mid-build leaves either nothing or a complete binary. Returns the wall time in milliseconds.
 */
export function goInstall({ packages, ldflags, targetDir, rename, log }) {
  const version = goVersion();
  if (!version) throw new Error('Go is not installed (needed to build from Go modules)');
  fs.mkdirSync(targetDir, { recursive: true });
  log(`building ${packages.join(' ')} with ${version}`);
  const gobin = fs.mkdtempSync(path.join(targetDir, '.gobuild-'));
  const started = Date.now();
  try {
    const args = ['install', ...(ldflags ? ['-ldflags', ldflags] : []), ...packages];
    const r = spawnSync('go', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' } });
    if (r.status !== 0) throw new Error(`go install ${packages.join(' ')} exited with ${r.status ?? r.signal}`);
    for (const [built, cached] of Object.entries(rename)) fs.renameSync(path.join(gobin, exeName(built)), path.join(targetDir, exeName(cached)));
    const ms = Date.now() - started;
    log(`built in ${Math.round(ms / 1000)}s`);
    return ms;
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
}

/** The directory of a module in the Go module cache (downloading it if needed), or undefined. */
export function goModuleDir(modulePath, version) {
  const r = spawnSync('go', ['mod', 'download', '-json', `${modulePath}@${version}`], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout).Dir;
  } catch {
    return undefined;
  }
}

/** True when run as the entry point (`node scripts/x.mjs`), not imported. */
export function isMain(importMetaUrl) {
  return Boolean(process.argv[1]) && path.resolve(process.argv[1]) === path.resolve(new URL(importMetaUrl).pathname);
}
