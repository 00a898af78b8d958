#!/usr/bin/env node
// Finds or builds the programs of the production topology that docker-compose.yml runs in containers,
// for `npm run cluster` and `npm run test:cluster` on a machine without Docker: Temporal Server and its
// SQL schema tool (go.temporal.io/server, the version of compose's temporalio/server image) and the
// Temporal Web UI server (github.com/temporalio/ui-server/v2, the version of compose's temporalio/ui
// image). The versions are read from docker-compose.yml, so the two cannot drift.
//
// Cache: ~/.cache/rigsnap/temporal-server/v<version>/{temporal-server,temporal-sql-tool} and
// ~/.cache/rigsnap/temporal-ui-server/v<version>/{temporal-ui-server,config/docker.yaml}. The Web UI
// is optional: when it cannot be built the result says why and the cluster runs without it.
//
// Prints a JSON summary on stdout; progress goes to stderr. Plain JavaScript with Node builtins only.
import fs from 'node:fs';
import path from 'node:path';
import { exeName, goInstall, goModuleDir, isMain, probe, rigsnapCacheBase } from './go-programs.mjs';

const log = (msg) => process.stderr.write(`[temporal-server] ${msg}\n`);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/**
 * The versions docker-compose.yml pins: temporalio/server and temporalio/admin-tools (which must agree),
 * and temporalio/ui. A plain scan of `image:` lines; test/unit/compose.test.ts checks it against the parsed file.
 */
export function composeVersions(composeText) {
  const tag = (image) => {
    const found = [...composeText.matchAll(new RegExp(`^\\s*image:\\s*["']?${image.replace('/', '\\/')}:([0-9][^\\s"'@]*)`, 'gm'))].map((m) => m[1]);
    const distinct = [...new Set(found)];
    if (distinct.length !== 1) throw new Error(`docker-compose.yml must pin ${image} to exactly one version (found ${distinct.join(', ') || 'none'})`);
    return distinct[0];
  };
  const server = tag('temporalio/server');
  const adminTools = tag('temporalio/admin-tools');
  if (adminTools !== server)
    throw new Error(`docker-compose.yml pins temporalio/server:${server} but temporalio/admin-tools:${adminTools}; move them together`);
  return { server, ui: tag('temporalio/ui') };
}

export function readComposeVersions() {
  return composeVersions(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
}

export function serverCacheDir(version) {
  return path.join(rigsnapCacheBase(), 'temporal-server', `v${version}`);
}

export function uiCacheDir(version) {
  return path.join(rigsnapCacheBase(), 'temporal-ui-server', `v${version}`);
}

const escaped = (v) => v.replaceAll('.', '\\.');

function ensureServer(version) {
  const dir = serverCacheDir(version);
  const server = path.join(dir, exeName('temporal-server'));
  const sqlTool = path.join(dir, exeName('temporal-sql-tool'));
  const ok = () =>
    fs.existsSync(server) &&
    fs.existsSync(sqlTool) &&
    probe(server, ['--version'], new RegExp(`^temporal version ${escaped(version)}$`)) &&
    probe(sqlTool, ['--version'], new RegExp(`^temporal-sql-tool version ${escaped(version)}$`));
  if (ok()) {
    log(`using cached Temporal Server ${version} and SQL tool in ${dir}`);
    return { server, sqlTool, buildMs: 0 };
  }
  log(`building Temporal Server ${version} and temporal-sql-tool from Go modules (the first build takes minutes; later runs reuse ${dir})`);
  // One module at one version: a single `go install` compiles the shared packages once.
  const buildMs = goInstall({
    packages: [`go.temporal.io/server/cmd/server@v${version}`, `go.temporal.io/server/cmd/tools/sql@v${version}`],
    targetDir: dir,
    rename: { server: 'temporal-server', sql: 'temporal-sql-tool' },
    log,
  });
  if (!ok()) throw new Error(`the Temporal Server ${version} build in ${dir} does not report its version`);
  return { server, sqlTool, buildMs };
}

function ensureUi(version) {
  const dir = uiCacheDir(version);
  const uiServer = path.join(dir, exeName('temporal-ui-server'));
  const configDir = path.join(dir, 'config');
  const config = path.join(configDir, 'docker.yaml');
  const ok = () => fs.existsSync(config) && fs.existsSync(uiServer) && probe(uiServer, ['--version'], new RegExp(`version ${escaped(version)}$`));
  if (ok()) {
    log(`using cached Temporal Web UI server ${version} in ${dir}`);
    return { uiServer, configDir, buildMs: 0 };
  }
  const module = 'github.com/temporalio/ui-server/v2';
  log(`building the Temporal Web UI server ${version} from Go modules (${module}, the UI the temporalio/ui image serves)`);
  const moduleDir = goModuleDir(module, `v${version}`);
  if (!moduleDir) throw new Error(`go mod download ${module}@v${version} failed`);
  // The image renders config/docker.yaml from environment variables; so does the cluster, from the same file.
  fs.mkdirSync(configDir, { recursive: true });
  const tmp = `${config}.${process.pid}.tmp`;
  fs.copyFileSync(path.join(moduleDir, 'config', 'docker.yaml'), tmp);
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, config);
  const buildMs = goInstall({ packages: [`${module}/cmd/server@v${version}`], targetDir: dir, rename: { server: 'temporal-ui-server' }, log });
  if (!ok()) throw new Error(`the Web UI server ${version} build in ${dir} does not report its version`);
  return { uiServer, configDir, buildMs };
}

/**
 * { serverVersion, uiVersion, server, sqlTool, buildMs: {server, ui}, ui: {uiServer, configDir} | null,
 * uiUnavailable?: reason }. Throws when Temporal Server or the SQL tool cannot be obtained.
 */
export function ensureTemporalServer() {
  const versions = readComposeVersions();
  const s = ensureServer(versions.server);
  let ui = null;
  let uiUnavailable;
  let uiBuildMs = 0;
  try {
    const u = ensureUi(versions.ui);
    ui = { uiServer: u.uiServer, configDir: u.configDir };
    uiBuildMs = u.buildMs;
  } catch (err) {
    uiUnavailable = err.message;
    log(`the Web UI server could not be obtained: ${uiUnavailable}; the cluster runs without it`);
  }
  return {
    serverVersion: versions.server,
    uiVersion: versions.ui,
    server: s.server,
    sqlTool: s.sqlTool,
    ui,
    ...(uiUnavailable ? { uiUnavailable } : {}),
    buildMs: { server: s.buildMs, ui: uiBuildMs },
  };
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  try {
    const result = ensureTemporalServer();
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}
