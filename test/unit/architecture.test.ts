import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import * as contract from '../../contract/index.js';

/**
 * The shape the code keeps (issue 15): dependencies one way and no import cycle (dependency-cruiser,
 * `npm run deps`); wire names only in the contract; no function over ~80 lines outside tests, except the
 * few listed below with their reason. Each check is shown failing on a case made to fail.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

interface CruiseResult {
  summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
}

/** Runs dependency-cruiser with the project's rules over `dirs` in `cwd`; its JSON result. */
function cruise(cwd: string, dirs: string[]): CruiseResult {
  const r = spawnSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'json', ...dirs], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (!r.stdout) throw new Error(`depcruise printed nothing (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CruiseResult;
}

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A little tree with the project's tsconfig, to show the rules failing on purpose. */
function fixture(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-arch-'));
  tmpDirs.push(dir);
  fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('dependencies (dependency-cruiser, the rules in .dependency-cruiser.cjs)', () => {
  it('the tree has no import cycle and no import against the layering', () => {
    const r = cruise(ROOT, ['domain', 'contract', 'activities', 'workflows', 'worker', 'client', 'cli', 'emulator', 'dev', 'bench', 'test']);
    expect(r.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  it('finds a cycle, a type-only one too, and an import against the layering', () => {
    const dir = fixture({
      'client/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'client/b.ts': "import type { T } from './c.js';\nexport const b = 1 as unknown as T;\n",
      'client/c.ts': "import { a } from './a.js';\nexport type T = ReturnType<typeof a>;\n",
      'domain/x.ts': "import { a } from '../client/a.js';\nexport const x = a;\n",
    });
    const names = cruise(dir, ['client', 'domain']).summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(names).toEqual(expect.arrayContaining(['no-circular: client/a.ts → client/b.ts', 'domain-imports: domain/x.ts → client/a.ts']));
  });
});

// ---- wire names ----------------------------------------------------------------------------------

/** The names on the wire, as running histories, schedules and other services know them: never renamed. */
const WIRE = {
  workflowTypes: [
    'snapshotWorkspace',
    'restoreWorkspace',
    'deleteSnapshot',
    'listSnapshots',
    'pruneSnapshots',
    'backupWorkspace',
    'backupFleet',
    'checkpointWorkspace',
    'workspaceLock',
    'auditBackups',
    'workspaceEntity',
    'inventoryWorkspaces',
    'pruneOrphans',
    'reportBackups',
    'checkWorkspaces',
    'groupEntity',
    'snapshotGroup',
    'restoreGroup',
    'checkpointGroup',
    'backupGroup',
  ],
  queries: ['progress', 'lockState', 'lockParticipation', 'workspaceState', 'workspaceHolds', 'notice', 'workspaceLabels', 'groupState'],
  signals: ['acquire', 'release', 'lockGranted', 'operationAbandoned', 'deletesSettled', 'heldSnapshotsSeen'],
  updates: [
    'rollback',
    'release',
    'acquireWorkspace',
    'abandon',
    'holdSnapshot',
    'unholdSnapshot',
    'authoriseDeletes',
    'setBaseline',
    'snooze',
    'skip',
    'enrollWorkspace',
    'unenrollWorkspace',
    'createGroup',
    'updateGroup',
    'deleteGroup',
    'recordGroupSet',
  ],
  searchAttributes: ['RigboxWorkspaceId', 'RigboxOperation', 'TemporalScheduledStartTime', 'RigboxLabels'],
};

const contractNames: Record<keyof typeof WIRE, string[]> = {
  workflowTypes: Object.values(contract.WORKFLOW_TYPES),
  queries: [
    contract.progressQuery,
    contract.lockStateQuery,
    contract.lockParticipationQuery,
    contract.workspaceStateQuery,
    contract.workspaceHoldsQuery,
    contract.noticeQuery,
    contract.workspaceLabelsQuery,
    contract.groupStateQuery,
  ].map((d) => d.name),
  signals: [
    contract.lockAcquireSignal,
    contract.lockReleaseSignal,
    contract.lockGrantedSignal,
    contract.operationAbandonedSignal,
    contract.deletesSettledSignal,
    contract.heldSnapshotsSeenSignal,
  ].map((d) => d.name),
  updates: [
    contract.rollbackUpdate,
    contract.releaseUpdate,
    contract.workspaceAcquireUpdate,
    contract.abandonUpdate,
    contract.holdSnapshotUpdate,
    contract.unholdSnapshotUpdate,
    contract.authoriseDeletesUpdate,
    contract.setBaselineUpdate,
    contract.snoozeUpdate,
    contract.skipUpdate,
    contract.enrollWorkspaceUpdate,
    contract.unenrollWorkspaceUpdate,
    contract.createGroupUpdate,
    contract.updateGroupUpdate,
    contract.deleteGroupUpdate,
    contract.recordGroupSetUpdate,
  ].map((d) => d.name),
  searchAttributes: [contract.workspaceIdKey, contract.operationKey, contract.scheduledStartTimeKey, contract.labelsKey].map((k) => k.name),
};

/** Workflow types, signal names and update names a recorded history names. */
function namesInHistory(file: string): { workflowTypes: string[]; signals: string[]; updates: string[] } {
  const found = { workflowTypes: new Set<string>(), signals: new Set<string>(), updates: new Set<string>() };
  const walk = (v: unknown, key: string) => {
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (key === 'workflowType' && typeof o.name === 'string') found.workflowTypes.add(o.name);
    if (typeof o.signalName === 'string') found.signals.add(o.signalName);
    if (key === 'acceptedRequest') {
      const name = (o.input as { name?: unknown } | undefined)?.name;
      if (typeof name === 'string') found.updates.add(name);
    }
    for (const [k, child] of Object.entries(o)) walk(child, k);
  };
  walk(JSON.parse(fs.readFileSync(file, 'utf8')), '');
  return { workflowTypes: [...found.workflowTypes], signals: [...found.signals], updates: [...found.updates] };
}

/** TypeScript sources of the project (not dist/, not node_modules/). */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const d of ['domain', 'contract', 'activities', 'workflows', 'worker', 'client', 'cli', 'emulator', 'dev', 'bench', 'test']) walk(d);
  return out;
}

const MESSAGE_CALLS = new Set([
  'query',
  'signal',
  'executeUpdate',
  'startUpdate',
  'executeWithStart',
  'setHandler',
  'defineQuery',
  'defineSignal',
  'defineUpdate',
]);

/**
 * String literals that name a workflow type (anywhere but a test's title), or a query, signal or update
 * (as the name argument of a query, signal or update call): each should be a contract definition.
 */
export function wireNameLiterals(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const workflowTypes = new Set(contractNames.workflowTypes);
  const messages = new Set([...contractNames.queries, ...contractNames.signals, ...contractNames.updates]);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const call = ts.isCallExpression(node.parent) ? node.parent : undefined;
      const callee = call ? (ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : call.expression.getText(sf)) : '';
      const isTitle = call !== undefined && call.arguments[0] === node && /^(describe|it|test)(\.\w+)?$/.test(call.expression.getText(sf));
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      if (workflowTypes.has(node.text) && !isTitle) found.push(`${file}:${line} '${node.text}'`);
      if (messages.has(node.text) && call?.arguments[0] === node && MESSAGE_CALLS.has(callee)) found.push(`${file}:${line} ${callee}('${node.text}')`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('one contract for the names on the wire (contract/)', () => {
  it('defines the names running histories, schedules and other services use, unchanged', () => {
    expect(contractNames).toEqual(WIRE);
  });

  it('defines every workflow type, signal and update a recorded history names', () => {
    const dir = path.join(ROOT, 'test/replay/histories');
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json') && !f.endsWith('index.json'));
    expect(files.length).toBeGreaterThan(10);
    const seen = { workflowTypes: new Set<string>(), signals: new Set<string>(), updates: new Set<string>() };
    for (const f of files) {
      const n = namesInHistory(path.join(dir, f));
      n.workflowTypes.forEach((x) => seen.workflowTypes.add(x));
      n.signals.forEach((x) => seen.signals.add(x));
      n.updates.forEach((x) => seen.updates.add(x));
    }
    expect([...seen.workflowTypes].filter((t) => !contractNames.workflowTypes.includes(t))).toEqual([]);
    expect([...seen.signals].filter((s) => !contractNames.signals.includes(s))).toEqual([]);
    expect([...seen.updates].filter((u) => !contractNames.updates.includes(u))).toEqual([]);
    expect(seen.updates.size).toBeGreaterThan(0);
  });

  it('callers pass definitions: no workflow type, query, signal or update named by a string outside contract/', () => {
    // The replay test pins the recorded types by name on purpose, and this file pins them all.
    const exempt = new Set(['test/replay/replay.test.ts', 'test/unit/architecture.test.ts']);
    const found = sources()
      .filter((f) => !f.startsWith('contract/') && !exempt.has(f))
      .flatMap((f) => wireNameLiterals(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('would find a query named by a string, or a workflow type, but not a test title', () => {
    const text = "describe('snapshotWorkspace', () => { h.query('progress'); start('backupFleet'); h.executeUpdate(rollbackUpdate); });";
    expect(wireNameLiterals('x.ts', text)).toEqual(["x.ts:1 query('progress')", "x.ts:1 'backupFleet'"]);
  });
});

// ---- function sizes ------------------------------------------------------------------------------

const MAX_FUNCTION_LINES = 80;

/**
 * Functions over the limit that stay for now, each with its size today (it may shrink, not grow) and
 * why. Empty: a function that must be longer is added here with its reason, in review.
 */
const KNOWN_LONG: Record<string, { lines: number; why: string }> = {};

/** Every named function (declarations, methods, and arrow or function expressions bound to a name) and its lines, start to end. */
export function functionSizes(file: string, text: string): Array<{ name: string; lines: number }> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Array<{ name: string; lines: number }> = [];
  const visit = (node: ts.Node) => {
    let name: string | undefined;
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node)) && node.name) name = node.name.getText(sf);
    else if (ts.isConstructorDeclaration(node)) name = 'constructor';
    else if (
      (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) &&
      (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) || ts.isPropertyDeclaration(node.parent))
    ) {
      name = node.parent.name.getText(sf);
    }
    if (name) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ name, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe(`functions of at most ${MAX_FUNCTION_LINES} lines outside tests`, () => {
  const sizes = sources()
    .filter((f) => !f.startsWith('test/'))
    .flatMap((f) => functionSizes(f, fs.readFileSync(path.join(ROOT, f), 'utf8')).map((s) => ({ key: `${f} ${s.name}`, lines: s.lines })));

  it('none is longer, but for the known ones, which do not grow', () => {
    const over = sizes.filter((s) => s.lines > MAX_FUNCTION_LINES && !(s.key in KNOWN_LONG)).map((s) => `${s.key}: ${s.lines} lines`);
    const grew = sizes
      .filter((s) => s.key in KNOWN_LONG && s.lines > KNOWN_LONG[s.key]!.lines)
      .map((s) => `${s.key}: ${s.lines} lines (was ${KNOWN_LONG[s.key]!.lines})`);
    expect([...over, ...grew]).toEqual([]);
  });

  it('measures what it says: a function of 81 lines is over, its nested function counted with it', () => {
    const body = Array.from({ length: 79 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const sizesOf = functionSizes('x.ts', `export function long() {\n${body}\n}\nconst short = () => 1;\n`);
    expect(sizesOf).toEqual([
      { name: 'long', lines: 81 },
      { name: 'short', lines: 1 },
    ]);
  });

  it('lists no exception that is gone or already short enough (the list only shrinks)', () => {
    const stale = Object.keys(KNOWN_LONG).filter((k) => !sizes.some((s) => s.key === k && s.lines > MAX_FUNCTION_LINES));
    expect(stale).toEqual([]);
  });
});

// ---- a file says what it is for -------------------------------------------------------------------

/**
 * Whether a file's first comment comes before anything it declares or re-exports: at its top, or
 * before its first statement that is not an import (a shebang and the imports may come first).
 */
export function opensWithComment(file: string, text: string): boolean {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const first = sf.statements.find((st) => !ts.isImportDeclaration(st));
  const at = (pos: number) => (ts.getLeadingCommentRanges(text, pos) ?? []).length > 0;
  return at(ts.getShebang(text)?.length ?? 0) || (first !== undefined && at(first.getFullStart()));
}

describe("a file's first comment says what it is for", () => {
  it('every source file outside tests opens with one', () => {
    const bare = sources()
      .filter((f) => !f.startsWith('test/'))
      .filter((f) => !opensWithComment(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(bare).toEqual([]);
  });

  it('finds a file without one, a barrel of re-exports too, and accepts one after a shebang and the imports', () => {
    expect(opensWithComment('a.ts', "import x from 'x';\nexport const y = x;\n")).toBe(false);
    expect(opensWithComment('b.ts', "export * from './a.js';\n")).toBe(false);
    expect(opensWithComment('c.ts', "// c: what it is for\nexport * from './a.js';\n")).toBe(true);
    expect(opensWithComment('d.ts', "#!/usr/bin/env node\nimport x from 'x';\n\n/** d: what it is for */\nexport const y = x;\n")).toBe(true);
  });
});

// `npm run deps` is what lint runs; make sure the script exists and names the same folders.
it('npm run deps cruises every source folder', () => {
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  expect(scripts.lint).toContain('npm run --silent deps');
  for (const d of ['domain', 'contract', 'activities', 'workflows', 'worker', 'client', 'cli', 'emulator', 'dev', 'bench', 'test'])
    expect(scripts.deps).toContain(` ${d}`);
});

describe('the README layout table', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Layout'));
  const rows = [...section.matchAll(/^\|\s*`([a-z]+)\/`\s*\| [^\n]*\|\s*([^|\n]*?)\s*\|$/gm)].map((m) => ({ folder: m[1]!, mayImport: m[2]! }));

  it('lists every folder of the tree, and no other', () => {
    const tracked = spawnSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n');
    const folders = [...new Set(tracked.filter((f) => f.includes('/') && !f.startsWith('.')).map((f) => f.split('/')[0]!))].sort();
    expect(rows.map((r) => r.folder).sort()).toEqual(folders);
  });

  it('says what each folder may import as the dependency rules do', () => {
    const rules = (createRequire(import.meta.url)(CONFIG) as { forbidden: Array<{ name: string; from: { path?: string }; to: { pathNot?: string[] } }> })
      .forbidden;
    for (const r of rows.filter((x) => !['deploy', 'docs', 'schemas', 'scripts', 'test'].includes(x.folder))) {
      const rule = rules.find((x) => x.name === `${r.folder}-imports`);
      expect(rule, r.folder).toBeDefined();
      const allowed = /^\^\(([^)]*)\)\/$/
        .exec(rule!.to.pathNot![0]!)![1]!
        .split('|')
        .filter((f) => f !== r.folder);
      const said = [...r.mayImport.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1]!);
      expect(said.sort(), r.folder).toEqual(allowed.sort());
    }
  });
});
