import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What the built CLI (dist/cli/main.js) loads before it answers: `--help` and a usage error need only
 * commander and the command definitions, not zod, the domain's schemas or the Temporal client, which
 * take longer to load than Node takes to start (issue 24, item 6; the speed itself is a bench row). A
 * module-load hook lists every module the process loaded; a command that runs loads them, which shows
 * the hook sees them. `npm test` builds first.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'dist', 'cli', 'main.js');
const hookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-cli-startup-'));
fs.writeFileSync(path.join(hookDir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
fs.writeFileSync(
  path.join(hookDir, 'hooks.mjs'),
  `import fs from 'node:fs';\nexport async function load(url, context, next) {\n  fs.appendFileSync(process.env.LOADED_LIST, url + '\\n');\n  return next(url, context);\n}\n`,
);

afterAll(() => fs.rmSync(hookDir, { recursive: true, force: true }));

let runs = 0;
function loadedBy(args: string[]): { modules: string[]; status: number | null } {
  const list = path.join(hookDir, `loaded-${runs++}.txt`);
  const r = spawnSync(process.execPath, ['--import', path.join(hookDir, 'register.mjs'), main, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOADED_LIST: list, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
  });
  return { modules: fs.existsSync(list) ? fs.readFileSync(list, 'utf8').trim().split('\n') : [], status: r.status };
}

const heavy = (modules: string[]) =>
  modules.filter((m) => /\/node_modules\/(zod|@temporalio)\/|\/dist\/domain\/(index|schemas)\.js$|\/dist\/client\/errors\.js$/.test(m));

describe('what the CLI loads before it answers', () => {
  it.each([
    ['--help', ['--help'], 0],
    ['a command’s --help', ['snapshot', '--help'], 0],
    ['a usage error (a missing argument)', ['snapshot'], 2],
    ['a usage error (an unknown option)', ['list', '--nme', 'x'], 2],
  ])('%s: no zod, no schemas, no Temporal client', (_what, args, status) => {
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    const r = loadedBy(args);
    expect(r.status).toBe(status);
    expect(r.modules.length).toBeGreaterThan(5);
    expect(heavy(r.modules), heavy(r.modules).slice(0, 5).join('\n')).toEqual([]);
  });

  it('a command that runs loads them (bad input: checked by the schema, nothing started)', () => {
    const r = loadedBy(['snapshot', 'ws_bad!', '--name', 'x']);
    expect(r.status).toBe(2);
    expect(heavy(r.modules).some((m) => m.includes('/node_modules/zod/'))).toBe(true);
    expect(heavy(r.modules).some((m) => m.endsWith('/dist/domain/index.js'))).toBe(true);
  });
});
