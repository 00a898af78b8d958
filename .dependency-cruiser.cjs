// Which folder may import which (`npm run deps`, part of `npm run lint`; test/unit/architecture.test.ts
// runs it too): dependencies flow one way, from the entry points (cli/, worker/, dev/, bench/) down to
// contract/ and domain/, and no module reaches itself through its imports, type-only imports included.
// The folders and what each may import are the README's layout table.

/**
 * A rule: modules under `from` may import local modules only under `allowed` (and npm packages).
 * @param {string} from
 * @param {string[]} allowed
 * @param {string} comment
 */
const layer = (from, allowed, comment) => ({
  name: `${from}-imports`,
  comment,
  severity: 'error',
  from: { path: `^${from}/` },
  to: { path: '^[a-z]', pathNot: [`^(${[from, ...allowed].join('|')})/`, '^node_modules/'], dependencyTypesNot: ['core'] },
});

/**
 * A rule: modules under `from` may import modules under `to` for their types only (erased at build).
 * @param {string} from
 * @param {string} to
 * @param {string} comment
 */
const typesOnly = (from, to, comment) => ({
  name: `${from}-imports-${to}-types-only`,
  comment,
  severity: 'error',
  from: { path: `^${from}/` },
  to: { path: `^${to}/`, dependencyTypesNot: ['type-only'] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: neither can be read, tested or changed alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('domain', [], 'domain/ is pure and shared by all: it imports nothing of the project (and zod only).'),
    layer('contract', ['domain'], 'contract/ is loaded by workflow code: domain/ and the SDK definitions only.'),
    layer('workflows', ['contract', 'domain', 'activities'], 'workflows/ import activities/ as types only (the next rule).'),
    typesOnly('workflows', 'activities', 'Activity code must not leak into the workflow bundle: proxyActivities takes a type.'),
    layer('activities', ['contract', 'domain'], 'activities/ talk to Rigbox and Temporal; they know no workflow, worker or client code.'),
    layer(
      'client',
      ['contract', 'domain', 'workflows'],
      'client/ is the library for other services; it types its results with workflows/ (types only, next rule).',
    ),
    typesOnly('client', 'workflows', 'The client carries no workflow code: only the workflow functions’ types.'),
    layer('cli', ['client', 'contract', 'domain'], 'cli/ is a user of the client library (it starts the worker and the stack as processes, not imports).'),
    layer('worker', ['activities', 'workflows', 'contract', 'domain'], 'worker/ is what a production worker runs.'),
    typesOnly('worker', 'workflows', 'Workflow code runs in the sandbox, loaded as a bundle by path: the worker imports only its types (the metrics sink).'),
    layer('emulator', [], 'emulator/ stands in for Rigbox: it knows nothing of rigsnap.'),
    layer('dev', ['worker', 'emulator', 'contract', 'domain'], 'dev/ is the local stack and topology; the benchmark uses it, not the other way round.'),
    layer('bench', ['dev', 'worker', 'emulator', 'client', 'contract', 'domain'], 'bench/ drives whole stacks.'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // Type-only imports count for cycles too: a type cycle is still two modules that cannot be read alone.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
