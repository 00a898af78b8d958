/**
 * The previous release, built for the rolling-upgrade test: the workers of a pinned earlier commit of
 * this repository (one that already has worker versioning), extracted with `git archive`, built with its
 * own build (tsc and scripts/post-build.mjs) against this checkout's node_modules, and cached under
 * ~/.cache/rigsnap/old-release-<commit>/ so that a rerun starts its workers without building.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OldRelease {
  commit: string;
  /** The old build's worker entry (dist/worker/main.js of the cached tree). */
  workerEntry: string;
  dir: string;
  /** Whether this call built it (false: it came from the cache). */
  built: boolean;
}

function cacheRoot(): string {
  return process.env.RIGSNAP_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'rigsnap');
}

const git = (root: string, ...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * The commit must be in this clone (CI checks out main with its history) and its runtime dependencies
 * must be this checkout's, since its build and workers use this node_modules.
 */
export function checkOldRelease(root: string, commit: string): string {
  try {
    git(root, 'cat-file', '-e', `${commit}^{commit}`);
  } catch {
    throw new Error(
      `the previous release ${commit} is not in this clone (${root}): the rolling-upgrade test builds its workers from it. ` +
        'Fetch the full history (git fetch --unshallow, or a CI checkout with fetch-depth: 0).',
    );
  }
  const full = git(root, 'rev-parse', `${commit}^{commit}`).trim();
  const then = (JSON.parse(git(root, 'show', `${full}:package.json`)) as { dependencies?: Record<string, string> }).dependencies ?? {};
  const now = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  if (JSON.stringify(then) !== JSON.stringify(now)) {
    throw new Error(
      `package.json dependencies differ between ${commit} and this checkout (git diff ${commit} -- package.json): ` +
        `the previous release would run on node_modules it was not built for. Pin a later release in the test, or install its dependencies beside it.\n` +
        `then: ${JSON.stringify(then)}\nnow:  ${JSON.stringify(now)}`,
    );
  }
  return full;
}

/** The node_modules link of the cached tree, pointed at this checkout's (it may have moved since the cache was made). */
function linkModules(dir: string, root: string): void {
  const link = path.join(dir, 'node_modules');
  const target = fs.realpathSync(path.join(root, 'node_modules'));
  try {
    if (fs.readlinkSync(link) === target) return;
  } catch {
    // missing: made below
  }
  fs.rmSync(link, { force: true, recursive: false });
  fs.symlinkSync(target, link, 'dir');
}

/** Builds the release at `commit` (or takes it from the cache). `log` sees each step. */
export async function ensureOldRelease(root: string, commit: string, log: (line: string) => void): Promise<OldRelease> {
  const full = checkOldRelease(root, commit);
  const short = full.slice(0, 7);
  const dir = path.join(cacheRoot(), `old-release-${short}`);
  const workerEntry = path.join(dir, 'dist', 'worker', 'main.js');
  const complete = path.join(dir, 'dist', '.old-release-complete');
  if (fs.existsSync(complete)) {
    linkModules(dir, root);
    log(`previous release ${short}: cached in ${dir}`);
    return { commit: short, workerEntry, dir, built: false };
  }
  fs.mkdirSync(cacheRoot(), { recursive: true });
  // Built beside the cache entry and renamed into place: an interrupted build never looks complete.
  const tmp = fs.mkdtempSync(path.join(cacheRoot(), `old-release-${short}.building-`));
  try {
    log(`previous release ${short}: git archive into ${tmp}, then its build (tsc -p tsconfig.build.json, node scripts/post-build.mjs)`);
    const tar = path.join(tmp, 'source.tar');
    await run('git', ['-C', root, 'archive', '--format=tar', `--output=${tar}`, full]);
    await run('tar', ['-xf', tar, '-C', tmp]);
    fs.rmSync(tar);
    linkModules(tmp, root);
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: tmp, maxBuffer: 64 * 1024 * 1024 });
    const post = await run(process.execPath, ['scripts/post-build.mjs'], { cwd: tmp, maxBuffer: 64 * 1024 * 1024 });
    log(`previous release ${short}: ${post.stderr.trim().split('\n').join('; ')}`);
    if (!fs.existsSync(path.join(tmp, 'dist', 'worker', 'main.js'))) throw new Error(`the build of ${short} made no dist/worker/main.js`);
    fs.writeFileSync(path.join(tmp, 'dist', '.old-release-complete'), `${full}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  linkModules(dir, root);
  log(`previous release ${short}: built into ${dir}`);
  return { commit: short, workerEntry, dir, built: true };
}
