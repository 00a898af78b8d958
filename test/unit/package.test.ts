import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without types
import { isBuildFresh, recordBuild } from '../../scripts/build-state.mjs';

/**
 * What `npm install` and `npm start` promise a new user: no engine warnings on the Node version the
 * project supports, and no rebuild of an unchanged tree.
 */

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

describe('package.json and the lock file', () => {
  it('every locked package accepts the oldest Node engines.node allows and this one (no EBADENGINE on npm install)', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines: { node: string } };
    const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
    // What npm checks at install time, on the versions a user of this project may have.
    const nodes = [semver.minVersion(pkg.engines.node)!.version, process.versions.node];
    expect(nodes.every((v) => semver.satisfies(v, pkg.engines.node))).toBe(true);
    const disagree: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!where || !wanted) continue;
      for (const v of nodes) if (!semver.satisfies(v, wanted)) disagree.push(`${where}@${entry.version} wants node ${wanted}, not ${v}`);
    }
    expect(disagree).toEqual([]);
  });

  it('pins every dependency to an exact version', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as Record<string, Record<string, string> | undefined>;
    const ranges = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.overrides }).filter(([, v]) => !semver.valid(v));
    expect(ranges).toEqual([]);
  });
});

describe('build freshness (npm start and ./rigsnap skip the build when nothing changed)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A miniature project: the files build-state reads. */
  function project(): string {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-build-state-'));
    fs.mkdirSync(path.join(dir, 'src'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'tsconfig.build.json'), JSON.stringify({ include: ['src'] }));
    fs.writeFileSync(path.join(dir, 'package.json'), '{}');
    fs.writeFileSync(path.join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
    return dir;
  }
  const later = (file: string) => {
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(file, t, t);
  };

  it('is stale before the first build, fresh after it', () => {
    const root = project();
    expect(isBuildFresh(root)).toBe(false);
    recordBuild(root);
    expect(isBuildFresh(root)).toBe(true);
  });

  it('a newer file with the same content (a checkout, a touch) keeps it fresh', () => {
    const root = project();
    recordBuild(root);
    later(path.join(root, 'src', 'a.ts'));
    expect(isBuildFresh(root)).toBe(true);
  });

  it('an edited, added or removed source file makes it stale', () => {
    const root = project();
    recordBuild(root);
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 2;\n');
    later(path.join(root, 'src', 'a.ts'));
    expect(isBuildFresh(root)).toBe(false);

    recordBuild(root);
    fs.writeFileSync(path.join(root, 'src', 'b.ts'), 'export const b = 1;\n');
    later(path.join(root, 'src', 'b.ts'));
    expect(isBuildFresh(root)).toBe(false);

    recordBuild(root);
    fs.rmSync(path.join(root, 'src', 'b.ts'));
    later(path.join(root, 'src', 'a.ts'));
    expect(isBuildFresh(root)).toBe(false);
  });

  it('a changed build configuration makes it stale', () => {
    const root = project();
    recordBuild(root);
    fs.writeFileSync(path.join(root, 'package.json'), '{"dependencies":{"x":"1.0.0"}}');
    later(path.join(root, 'package.json'));
    expect(isBuildFresh(root)).toBe(false);
  });
});
