import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './temporal-server.js';

/**
 * The programs of `npm run cluster`: Temporal Server, its SQL tool and the Web UI (built from Go modules
 * by scripts/ensure-temporal-server.mjs, cached), and PostgreSQL (the Debian package, installed when
 * missing on a root CI machine), with the account it runs as.
 */

export interface TemporalPrograms {
  serverVersion: string;
  uiVersion: string;
  server: string;
  sqlTool: string;
  ui: { uiServer: string; configDir: string } | null;
  uiUnavailable?: string;
}

export async function ensureTemporalPrograms(): Promise<TemporalPrograms> {
  const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'ensure-temporal-server.mjs')).href;
  const mod = (await import(script)) as { ensureTemporalServer(): TemporalPrograms };
  return mod.ensureTemporalServer();
}

export interface PostgresPrograms {
  binDir: string;
  version: string;
}

function findPostgres(): PostgresPrograms | undefined {
  const candidates: string[] = [];
  if (process.env.RIGSNAP_PG_BINDIR) candidates.push(process.env.RIGSNAP_PG_BINDIR);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  for (const dir of candidates) {
    if (!['initdb', 'postgres', 'pg_isready'].every((p) => fs.existsSync(path.join(dir, p)))) continue;
    const r = spawnSync(path.join(dir, 'postgres'), ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { binDir: dir, version: r.stdout.trim().replace(/^postgres \(PostgreSQL\) /, '') };
  }
  return undefined;
}

/** PostgreSQL, installed with apt-get when it is missing and we are root (a fresh CI machine). */
export function ensurePostgres(log: (line: string) => void): PostgresPrograms {
  const found = findPostgres();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      'PostgreSQL is not installed (no initdb found): install it (Debian: `apt-get install postgresql`), or set RIGSNAP_PG_BINDIR to its bin directory',
    );
  }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  log('PostgreSQL is not installed: apt-get install postgresql');
  if (!install()) {
    log('apt-get install failed; apt-get update, then again');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!install()) throw new Error('apt-get install postgresql failed');
  }
  const installed = findPostgres();
  if (!installed) throw new Error('apt-get installed postgresql, but no initdb was found under /usr/lib/postgresql');
  return installed;
}

/** Who runs PostgreSQL: it refuses to run as root, so root hands it to the `postgres` account. */
export function postgresAccount(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('running as root, but there is no `postgres` account to run PostgreSQL as (it refuses to run as root)');
  return { uid: Number(uid), gid: Number(gid), name: 'postgres' };
}
