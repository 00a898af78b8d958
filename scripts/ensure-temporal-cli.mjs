#!/usr/bin/env node
// Finds or obtains the official `temporal` CLI (dev server + SQLite + Web UI in one binary) and prints
// its path on stdout. Progress goes to stderr. Idempotent: the second run answers from the cache.
//
// Order: TEMPORAL_CLI_PATH, `temporal` on PATH, the cache, the official release archive, and finally a
// build from Go modules (`go install github.com/temporalio/cli/cmd/temporal@v1.5.1`), the route that
// works on machines whose only network is the package registries.
//
// Plain JavaScript with Node builtins only: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { exeName as exe, goInstall, isMain, probe as probeProgram, rigsnapCacheBase } from './go-programs.mjs';

export const CLI_VERSION = '1.5.1';
const RELEASE_BASE = `https://github.com/temporalio/cli/releases/download/v${CLI_VERSION}`;
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@v${CLI_VERSION}`;

const log = (msg) => process.stderr.write(`[temporal-cli] ${msg}\n`);

export function cacheDir() {
  return path.join(rigsnapCacheBase(), 'temporal-cli', `v${CLI_VERSION}`);
}

function exeName() {
  return exe('temporal');
}

/** Runs `<bin> --version` and returns its first line when it is the Temporal CLI, else undefined. */
function probe(bin) {
  return probeProgram(bin, ['--version'], /^temporal version.*Server/);
}

function onPath() {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, exeName());
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function platformArchive() {
  const osName = { linux: 'linux', darwin: 'darwin', win32: 'windows' }[process.platform];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  if (!osName || !arch) return undefined;
  const ext = osName === 'windows' ? 'zip' : 'tar.gz';
  return `temporal_cli_${CLI_VERSION}_${osName}_${arch}.${ext}`;
}

async function download(url, timeoutMs) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Step 4: the official release archive, verified against the release's checksums.txt. */
async function fromRelease(target) {
  const archive = platformArchive();
  if (!archive) throw new Error(`no official archive for ${process.platform}/${process.arch}`);
  log(`downloading ${RELEASE_BASE}/${archive}`);
  const sums = (await download(`${RELEASE_BASE}/checksums.txt`, 15_000)).toString('utf8');
  const expected = sums
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find(([, name]) => name === archive)?.[0];
  if (!expected) throw new Error(`checksums.txt does not list ${archive}`);
  const data = await download(`${RELEASE_BASE}/${archive}`, 300_000);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== expected) throw new Error(`checksum mismatch for ${archive}: ${actual} != ${expected}`);
  const work = fs.mkdtempSync(path.join(path.dirname(target), '.download-'));
  try {
    const file = path.join(work, archive);
    fs.writeFileSync(file, data);
    const r = archive.endsWith('.zip')
      ? spawnSync('unzip', ['-q', file, '-d', work], { stdio: 'inherit' })
      : spawnSync('tar', ['-xzf', file, '-C', work], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`could not unpack ${archive}`);
    fs.renameSync(path.join(work, exeName()), target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Step 5: build from Go modules into a temporary GOBIN, then move into the cache atomically. */
function fromGoModules(target) {
  log('the first build downloads several hundred MB of modules and compiles for a few minutes; later runs reuse the cache');
  goInstall({
    packages: [GO_PACKAGE],
    ldflags: `-X github.com/temporalio/cli/temporalcli.Version=${CLI_VERSION}`,
    targetDir: path.dirname(target),
    rename: { temporal: path.basename(target, path.extname(target)) },
    log,
  });
}

export async function ensureTemporalCli() {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const version = probe(explicit);
    if (!version) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not a working Temporal CLI (\`${explicit} --version\` failed)`);
    log(`using TEMPORAL_CLI_PATH (${version})`);
    return explicit;
  }
  const fromPath = onPath();
  if (fromPath) {
    const version = probe(fromPath);
    if (version) {
      log(`using ${fromPath} from PATH (${version})`);
      return fromPath;
    }
    log(`ignoring ${fromPath} on PATH: it is not the Temporal CLI`);
  }
  const dir = cacheDir();
  const target = path.join(dir, exeName());
  if (fs.existsSync(target) && probe(target)) {
    log(`using cached ${target}`);
    return target;
  }
  fs.mkdirSync(dir, { recursive: true });
  const failures = [];
  try {
    await fromRelease(target);
  } catch (err) {
    const reason = err?.cause?.code ?? err?.message ?? String(err);
    failures.push(`release archive: ${reason}`);
    log(`official release archive unavailable (${reason}); building from Go modules instead`);
    try {
      fromGoModules(target);
    } catch (goErr) {
      failures.push(`go install: ${goErr.message}`);
    }
  }
  const version = fs.existsSync(target) ? probe(target) : undefined;
  if (!version) {
    throw new Error(
      `could not obtain the Temporal CLI v${CLI_VERSION}:\n  - ${failures.join('\n  - ')}\n` +
        'Install it yourself and set TEMPORAL_CLI_PATH, or put `temporal` on PATH.',
    );
  }
  log(`ready: ${target} (${version})`);
  return target;
}

if (isMain(import.meta.url)) {
  ensureTemporalCli().then(
    (p) => process.stdout.write(`${p}\n`),
    (err) => {
      log(err.message);
      process.exit(1);
    },
  );
}
