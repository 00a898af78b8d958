import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEV_ENV_VARS, KNOWN_ENV_VARS, WorkerEnv } from '../../worker/config.js';

/**
 * Docker has no engine here, so the production stack is checked statically: what `docker compose`
 * would read, checked against what the worker's configuration schema knows.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  container_name?: string;
  ports?: unknown[];
  restart?: string;
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  stop_grace_period?: string;
  volumes?: unknown[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as ComposeFile;
const worker = compose.services.worker!;

function environmentNames(s: Service): string[] {
  if (!s.environment) return [];
  if (Array.isArray(s.environment)) return s.environment.map((e) => e.split('=')[0]!);
  return Object.keys(s.environment);
}

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` references (`$$` is a literal dollar). */
function interpolatedNames(text: string): string[] {
  return [...text.replaceAll('$$', '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

function durationSeconds(d: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  return Number(m[1]) / (m[2] === 'ms' ? 1000 : m[2] === 'm' ? 1 / 60 : 1);
}

/** `FROM image[:tag][@digest] [AS name]` lines of a Dockerfile, skipping references to earlier stages. */
function baseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]!.toLowerCase())) images.push(m[1]!);
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return images;
}

/** A pinned reference has a digest, or a tag that is not `latest` and names at least a minor version. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (!tag || tag === 'latest' || tag.includes('$')) return false;
  return /^v?\d+\.\d+/.test(tag);
}

describe('docker-compose.yml', () => {
  it('parses, with the services the production stack needs', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'worker']));
    expect(compose.services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(compose.services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    expect(compose.services.postgresql!.image).toMatch(/^postgres:/);
  });

  it('pins every image tag (no missing tag, no latest, no floating major)', () => {
    const images = Object.entries(compose.services).filter(([, s]) => s.image !== undefined);
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const [name, s] of images) expect(pinned(s.image!), `${name}: ${s.image}`).toBe(true);
    // The pin check itself.
    expect(pinned('postgres')).toBe(false);
    expect(pinned('postgres:latest')).toBe(false);
    expect(pinned('postgres:16')).toBe(false);
    expect(pinned('postgres:16.9')).toBe(true);
  });

  it('runs Temporal on PostgreSQL with its schema set up by the official admin-tools first', () => {
    const temporal = compose.services.temporal!;
    expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    const deps = temporal.depends_on as Record<string, { condition?: string }>;
    const [schemaJob, dep] = Object.entries(deps).find(([n]) => compose.services[n]?.image?.startsWith('temporalio/admin-tools:')) ?? [];
    expect(schemaJob, 'temporal depends on an admin-tools schema job').toBeDefined();
    expect(dep!.condition).toBe('service_completed_successfully');
    const schema = compose.services[schemaJob!]!;
    expect((schema.depends_on as Record<string, { condition?: string }>).postgresql?.condition).toBe('service_healthy');
    const script = read('docker-compose.yml');
    expect(script).toContain('setup-schema -v 0.0');
    expect(script).toContain('update-schema -d "/etc/temporal/schema/postgresql/v12/$$dir/versioned"');
    // PostgreSQL keeps its data in a named volume.
    const firstVolume = compose.services.postgresql!.volumes?.[0];
    expect(typeof firstVolume).toBe('string');
    const pgVolume = (firstVolume as string).split(':')[0]!;
    expect(Object.keys(compose.volumes ?? {})).toContain(pgVolume);
  });

  it('gives the long-running services healthchecks and restart policies', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker']) {
      const s = compose.services[name]!;
      expect(s.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(s.healthcheck?.disable, `${name} healthcheck`).not.toBe(true);
      expect(s.restart, `${name} restart`).toMatch(/^(always|unless-stopped|on-failure)/);
    }
  });

  it('builds the worker from the Dockerfile that exists, scalable (no container_name, no host port)', () => {
    const build = typeof worker.build === 'string' ? { context: worker.build } : worker.build;
    expect(build, 'the worker is built, not pulled').toBeDefined();
    const dockerfile = path.resolve(root, build!.context ?? '.', build!.dockerfile ?? 'Dockerfile');
    expect(fs.existsSync(dockerfile), dockerfile).toBe(true);
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
  });

  it('sets on the worker only variables the config schema knows, and passes every one of them through', () => {
    const names = environmentNames(worker);
    const unknown = names.filter((n) => !KNOWN_ENV_VARS.includes(n));
    expect(unknown, 'variables the worker would ignore').toEqual([]);
    // An operator's .env setting must reach the worker: every schema variable is passed through.
    const missing = Object.keys(WorkerEnv.shape).filter((n) => !names.includes(n));
    expect(missing, 'schema variables docker-compose.yml does not pass to the worker').toEqual([]);
    expect(names).toContain('TEMPORAL_ADDRESS');
  });

  it('commits no secret: the token and the database password come from .env', () => {
    const env = worker.environment as Record<string, string>;
    expect(env.RIGBOX_TOKEN).toMatch(/^\$\{RIGBOX_TOKEN(:\?[^}]*)?\}$/);
    expect(compose.services.postgresql!.environment).toMatchObject({ POSTGRES_PASSWORD: expect.stringMatching(/^\$\{POSTGRES_PASSWORD:\?/) });
  });

  it('serves the worker metrics to other containers (0.0.0.0), while the default is loopback for npm start', () => {
    const env = worker.environment as Record<string, string>;
    expect(env.RIGSNAP_METRICS_HOST).toBe('${RIGSNAP_METRICS_HOST:-0.0.0.0}');
    expect(WorkerEnv.shape.RIGSNAP_METRICS_HOST.parse(undefined)).toBe('127.0.0.1');
  });

  it('logs JSON lines for log pipelines, while the default is text for npm start', () => {
    const env = worker.environment as Record<string, string>;
    expect(env.RIGSNAP_LOG_FORMAT).toBe('${RIGSNAP_LOG_FORMAT:-json}');
    expect(WorkerEnv.shape.RIGSNAP_LOG_FORMAT.parse(undefined)).toBe('text');
  });

  it('gives a stopping worker longer than its drain period', () => {
    const graceMs = WorkerEnv.shape.RIGSNAP_SHUTDOWN_GRACE_MS.parse(undefined);
    expect(durationSeconds(worker.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(graceMs);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const listed = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({ name: m[1]!, value: m[2]!.trim() }));
  const names = listed.map((l) => l.name);

  it('lists every variable the config schema knows, and every one docker-compose.yml reads', () => {
    const missing = KNOWN_ENV_VARS.filter((n) => !names.includes(n));
    expect(missing).toEqual([]);
    const composeVars = [...new Set(interpolatedNames(read('docker-compose.yml')))];
    expect(composeVars.filter((n) => !names.includes(n))).toEqual([]);
  });

  it('lists nothing else (no stale names)', () => {
    const composeVars = new Set(interpolatedNames(read('docker-compose.yml')));
    const stale = names.filter((n) => !KNOWN_ENV_VARS.includes(n) && !DEV_ENV_VARS.includes(n) && !composeVars.has(n));
    expect(stale).toEqual([]);
  });

  it('holds no secrets', () => {
    for (const secret of ['RIGBOX_TOKEN', 'POSTGRES_PASSWORD', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA']) {
      expect(listed.find((l) => l.name === secret)?.value, secret).toBe('');
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('pins its base images to node:20 slim', () => {
    const images = baseImages(dockerfile);
    expect(images.length).toBeGreaterThanOrEqual(1);
    for (const image of images) {
      expect(pinned(image), image).toBe(true);
      expect(image).toMatch(/^node:20\.\d+\.\d+-(bookworm-)?slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('is multi-stage: the runtime installs production dependencies only and copies only the build output', () => {
    expect(dockerfile.match(/^\s*FROM\s/gim)?.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.search(/^\s*FROM\s[^\n]*\n(?![\s\S]*^\s*FROM\s)/m));
    expect(runtime).toMatch(/npm ci [^\n]*--omit=dev/);
    expect(runtime).toMatch(/npm ci [^\n]*--ignore-scripts/);
    const copies = [...runtime.matchAll(/^\s*COPY\s+(.+)$/gm)].map((m) => m[1]!);
    for (const c of copies) expect(c, c).toMatch(/^(package\.json package-lock\.json \.\/|package\*\.json \.\/|--from=\S+ \/app\/dist \.\/dist)$/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/worker\/main\.js"\]$/m);
  });

  it('serves metrics on all interfaces of the container (the default, loopback, is for npm start)', () => {
    expect(dockerfile).toMatch(/^ENV [^\n]*\bRIGSNAP_METRICS_HOST=0\.0\.0\.0\b/m);
  });

  it('runs as a user that is not root', () => {
    const users = [...dockerfile.matchAll(/^\s*USER\s+(\S+)/gim)].map((m) => m[1]!);
    expect(users.length).toBeGreaterThanOrEqual(1);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('keeps secrets and host builds out of the build context', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.env', '.git', '.rigsnap']) expect(ignore).toContain(entry);
    expect(ignore).toContain('!.env.example');
  });
});
