import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOldRelease } from '../helpers/old-release.js';

/** The rolling-upgrade test's guard on its previous release (test/helpers/old-release.ts): clear refusals before any build. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the previous release of the rolling-upgrade test', () => {
  it('is a commit of this clone with the same runtime dependencies', () => {
    expect(checkOldRelease(root, '55ccb00')).toBe('55ccb00c29eb94742a61dd2ca314bef6a2bb3ac5');
  });

  it('a commit missing from the clone is refused, saying how to get the history', () => {
    expect(() => checkOldRelease(root, '0000000')).toThrow(/not in this clone .*fetch-depth: 0/);
  });

  it('a commit whose dependencies differ is refused (its build would run on node_modules it was not made for)', () => {
    // The first commit had no protobufjs dependency.
    expect(() => checkOldRelease(root, '656678c')).toThrow(/package\.json dependencies differ between 656678c and this checkout/);
  });
});
