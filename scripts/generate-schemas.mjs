#!/usr/bin/env node
// Writes the JSON Schema of every public workflow input and result (and of the checkpoint updates and
// the progress query) into schemas/, from the zod schemas in domain/: the contract for callers in other
// languages. `npm run schemas` regenerates them; `--check` exits 1 when the committed files are stale
// (test/unit/schemas.test.ts runs the same comparison).
//
// The domain and contract modules are parameters so that the test can pass the TypeScript sources and
// this script the compiled dist/: both go through schemaFiles() below.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMAS_DIR = path.join(ROOT, 'schemas');

function toJson(schema, io, title, description) {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return { $schema: json.$schema, title, description, ...json };
}

/**
 * The files of schemas/ as { [fileName]: text }. Deterministic: same domain, same bytes.
 * @param {typeof import('../domain/index.js')} domain
 * @param {typeof import('../contract/index.js')} contract
 */
export function schemaFiles(domain, contract) {
  const files = {};
  const put = (name, value) => {
    files[name] = `${JSON.stringify(value, null, 2)}\n`;
  };
  const index = {
    description:
      'rigsnap workflow contract: start any workflow by type name on the task queue with one JSON object as input. Inputs are strict objects: unknown fields are refused.',
    taskQueue: domain.DEFAULT_TASK_QUEUE,
    progressQuery: { name: contract.progressQuery.name, result: 'progress.query.result.json' },
    workflows: {},
  };
  for (const [type, schema] of Object.entries(domain.INPUT_SCHEMAS)) {
    put(`${type}.input.json`, toJson(schema, 'input', `${type} input`, `Input (the single argument) of the ${type} workflow.`));
    index.workflows[type] = { input: `${type}.input.json` };
  }
  for (const [type, schema] of Object.entries(domain.RESULT_SCHEMAS)) {
    put(`${type}.result.json`, toJson(schema, 'output', `${type} result`, `Result of the ${type} workflow.`));
    index.workflows[type] = { ...index.workflows[type], result: `${type}.result.json` };
  }
  const checkpoint = contract.WORKFLOW_TYPES.checkpoint;
  const rollback = contract.rollbackUpdate.name;
  const release = contract.releaseUpdate.name;
  put(
    `${checkpoint}.${rollback}.result.json`,
    toJson(domain.RollbackResult, 'output', `${rollback} update result`, `Result of the "${rollback}" update of ${checkpoint} (it takes no arguments).`),
  );
  put(
    `${checkpoint}.${release}.input.json`,
    toJson(domain.ReleaseCheckpointInput, 'input', `${release} update input`, `Optional argument of the "${release}" update of ${checkpoint}.`),
  );
  index.workflows[checkpoint] = {
    ...index.workflows[checkpoint],
    updates: {
      [rollback]: { args: [], result: `${checkpoint}.${rollback}.result.json` },
      [release]: { args: [`${checkpoint}.${release}.input.json`], result: { released: true, snapshotDeleted: 'boolean' } },
    },
  };
  put(
    'progress.query.result.json',
    toJson(domain.Progress, 'output', 'progress query result', `What the "${contract.progressQuery.name}" query of every rigsnap workflow returns.`),
  );
  put('index.json', index);
  return files;
}

/** Names of committed files that differ from, lack, or are not in the generated set. */
export function staleFiles(files, dir = SCHEMAS_DIR) {
  const stale = [];
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text) stale.push(name);
  }
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.json') && !(name in files)) stale.push(name);
  }
  return stale.sort();
}

async function main() {
  const distDomain = path.join(ROOT, 'dist/domain/index.js');
  const distContract = path.join(ROOT, 'dist/contract/index.js');
  if (!fs.existsSync(distDomain) || !fs.existsSync(distContract)) {
    process.stderr.write('dist/domain or dist/contract is missing: run `npm run build` (or `npm run schemas`, which builds first)\n');
    process.exit(1);
  }
  const domain = await import(pathToFileURL(distDomain).href);
  const contract = await import(pathToFileURL(distContract).href);
  const files = schemaFiles(domain, contract);
  if (process.argv.includes('--check')) {
    const stale = staleFiles(files);
    if (stale.length) {
      process.stderr.write(`schemas/ is stale (${stale.join(', ')}): run \`npm run schemas\` and commit the result\n`);
      process.exit(1);
    }
    process.stdout.write(`schemas/ is up to date (${Object.keys(files).length} files)\n`);
    return;
  }
  fs.mkdirSync(SCHEMAS_DIR, { recursive: true });
  for (const name of fs.readdirSync(SCHEMAS_DIR)) {
    if (name.endsWith('.json') && !(name in files)) fs.rmSync(path.join(SCHEMAS_DIR, name));
  }
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(SCHEMAS_DIR, name), text);
  process.stdout.write(`wrote ${Object.keys(files).length} files to schemas/\n`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
