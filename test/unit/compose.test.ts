import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { interpolate, readComposeTopology, SERVER_PORT_VARIABLES, temporalServerEnvironment } from '../../dev/compose-topology.js';
import { CUSTOM_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES } from '../../contract/index.js';
// @ts-expect-error: plain JavaScript module without types
import { composeVersions } from '../../scripts/ensure-temporal-server.mjs';
import { DEV_ENV_VARS } from '../../dev/config.js';
import { KNOWN_ENV_VARS, WorkerEnv, shutdownForceMs } from '../../worker/config.js';

/**
 * Docker has no engine here, so the compose file is checked statically: what `docker compose` would
 * read, checked against what the worker's configuration schema knows, and against what `npm run
 * cluster` (dev/cluster.ts) takes from it to run the same Temporal part without Docker (which
 * `npm run test:cluster` tests for real).
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
    // The schema step: the committed script compose mounts (and `npm run cluster` runs), with the
    // schema files embedded in temporal-sql-tool, so it needs no files of the image.
    const script = read(readComposeTopology(read('docker-compose.yml')).schemaScript);
    expect(script).toContain('setup-schema -v 0.0');
    expect(script).toMatch(/update-schema --schema-name "postgresql\/v12\/\$\{schema\}"/);
    expect(script).toContain('for db in temporal temporal_visibility; do');
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

  it('gives a stopping worker longer than its drain period and its force time', () => {
    const graceMs = WorkerEnv.shape.RIGSNAP_SHUTDOWN_GRACE_MS.parse(undefined);
    expect(durationSeconds(worker.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(graceMs);
    expect(durationSeconds(worker.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(shutdownForceMs({ RIGSNAP_SHUTDOWN_GRACE_MS: graceMs }));
  });
});

describe('docker-compose.yml and `npm run cluster` share one definition of the Temporal part', () => {
  const text = read('docker-compose.yml');
  const topology = readComposeTopology(text);
  const services = compose.services as Record<string, Service & { entrypoint?: string[]; configs?: Array<{ source: string; target: string }> }>;

  it('the build script and the cluster read the same versions: server and admin-tools together, and the UI', () => {
    const versions = composeVersions(text) as { server: string; ui: string };
    expect(versions).toEqual({ server: topology.serverVersion, ui: topology.uiVersion });
    expect(compose.services.temporal!.image).toBe(`temporalio/server:${versions.server}`);
    for (const job of ['temporal-schema', 'temporal-namespace']) expect(compose.services[job]!.image).toBe(`temporalio/admin-tools:${versions.server}`);
    expect(compose.services['temporal-ui']!.image).toBe(`temporalio/ui:${versions.ui}`);
    // The scan refuses a file where they drift apart.
    expect(() => composeVersions(text.replaceAll('temporalio/admin-tools:1', 'temporalio/admin-tools:9'))).toThrow(/move them together/);
    expect(() => composeVersions(text.replace('temporalio/admin-tools:1', 'temporalio/admin-tools:9'))).toThrow(/exactly one version/);
  });

  it('mounts the committed dynamic config and setup scripts, which the cluster passes to the same programs', () => {
    expect(topology.dynamicConfigFile).toBe(path.normalize('deploy/temporal/dynamicconfig/rigsnap.yaml'));
    expect(topology.schemaScript).toBe(path.normalize('deploy/temporal/setup-schema.sh'));
    expect(topology.namespaceScript).toBe(path.normalize('deploy/temporal/setup-namespace.sh'));
    const dynamicConfig = parse(read(topology.dynamicConfigFile)) as Record<string, Array<{ value: unknown }>>;
    expect(dynamicConfig['limit.maxIDLength']?.[0]?.value).toBe(255);
    // The server reads the file where compose mounts it.
    const mount = services.temporal!.configs!.find((c) => c.source === 'temporal-dynamic-config')!;
    expect((services.temporal!.environment as Record<string, string>).DYNAMIC_CONFIG_FILE_PATH).toBe(mount.target);
    for (const [job, script] of [
      ['temporal-schema', topology.schemaScript],
      ['temporal-namespace', topology.namespaceScript],
    ] as const) {
      expect(services[job]!.entrypoint).toEqual(['/bin/sh', services[job]!.configs![0]!.target]);
      expect(fs.existsSync(path.join(root, script)), script).toBe(true);
    }
  });

  it('registers exactly the search attributes rigsnap uses, as Keyword and KeywordList, with the namespace retention', () => {
    const script = read(topology.namespaceScript);
    const keywords = /^SEARCH_ATTRIBUTES="([^"]*)"$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
    const lists = /^KEYWORD_LIST_ATTRIBUTES="([^"]*)"$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
    expect([...keywords, ...lists].sort()).toEqual(Object.values(SEARCH_ATTRIBUTES).sort());
    expect(lists).toEqual(CUSTOM_SEARCH_ATTRIBUTES.filter((k) => k.type === 'KEYWORD_LIST').map((k) => k.name));
    expect(script).toContain('--type Keyword');
    expect(script).toContain('--type KeywordList');
    expect(script).toMatch(/^RETENTION=30d$/m);
    expect(script).toContain('--retention "${RETENTION}"');
  });

  it('runs the server from compose’s own environment, changing only addresses, ports and the dynamic-config path', () => {
    const ports = Object.fromEntries(SERVER_PORT_VARIABLES.map((v, i) => [v, 20_000 + i])) as Record<(typeof SERVER_PORT_VARIABLES)[number], number>;
    const { env, local } = temporalServerEnvironment(topology, { root: '/checkout', postgres: { port: 5433, user: 'temporal', password: 'pw' }, ports });
    const composeEnv = services.temporal!.environment as Record<string, string>;
    for (const [k, v] of Object.entries(composeEnv)) {
      if (local.includes(k)) continue;
      expect(env[k], k).toBe(interpolate(v, { POSTGRES_USER: 'temporal', POSTGRES_PASSWORD: 'pw' }));
    }
    expect(env).toMatchObject({
      DB: 'postgres12',
      POSTGRES_USER: 'temporal',
      POSTGRES_PWD: 'pw',
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: '5433',
      BIND_ON_IP: '127.0.0.1',
    });
    expect(env.DYNAMIC_CONFIG_FILE_PATH).toBe(path.join('/checkout', 'deploy/temporal/dynamicconfig/rigsnap.yaml'));
    expect(local.filter((k) => !(SERVER_PORT_VARIABLES as readonly string[]).includes(k)).sort()).toEqual([
      'BIND_ON_IP',
      'DB_PORT',
      'DYNAMIC_CONFIG_FILE_PATH',
      'POSTGRES_SEEDS',
    ]);
  });

  it('interpolates like compose', () => {
    expect(interpolate('${A:-x}/${B-y}/${C}/$$D', { A: '', B: '', C: 'c' })).toBe('x//c/$D');
    expect(interpolate('${A:?set A}', { A: 'a' })).toBe('a');
    expect(() => interpolate('${A:?set A in .env}', {})).toThrow(/set A in \.env/);
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
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.env', '.git', '.rigsnap']) expect(ignore).toContain(entry);
    expect(ignore).toContain('!.env.example');
  });
});

describe('docker-compose.yml: the optional monitoring profile', () => {
  const services = compose.services as Record<string, Service & { profiles?: string[]; command?: string[] }>;

  it('runs Prometheus and Grafana only with `--profile monitoring`, the rest always', () => {
    expect(services.prometheus?.profiles).toEqual(['monitoring']);
    expect(services.grafana?.profiles).toEqual(['monitoring']);
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker']) expect(services[name]!.profiles, name).toBeUndefined();
  });

  it('mounts files that exist: the scrape config, the shipped rules, Grafana provisioning and the dashboard', () => {
    const mounts = ['prometheus', 'grafana'].flatMap((name) =>
      (services[name]!.volumes ?? []).filter((v): v is string => typeof v === 'string' && v.startsWith('./')).map((v) => v.split(':')),
    );
    const hostPaths = mounts.map(([host]) => host!);
    expect(hostPaths).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.yml',
        './deploy/prometheus/rigsnap-alerts.yml',
        './deploy/grafana/provisioning',
        './deploy/grafana/rigsnap.json',
      ]),
    );
    for (const host of hostPaths) expect(fs.existsSync(path.join(root, host)), host).toBe(true);
    // Prometheus reads the rules where its config says they are.
    const rulesMount = mounts.find(([host]) => host === './deploy/prometheus/rigsnap-alerts.yml')!;
    expect(read('deploy/prometheus/prometheus.yml')).toContain(rulesMount[1]!);
    const dashboardMount = mounts.find(([host]) => host === './deploy/grafana/rigsnap.json')!;
    expect(read('deploy/grafana/provisioning/dashboards/rigsnap.yml')).toContain(path.dirname(dashboardMount[1]!));
  });

  it('keeps their data in named volumes and gives them healthchecks', () => {
    for (const name of ['prometheus', 'grafana']) {
      const s = services[name]!;
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(s.restart, name).toMatch(/^(always|unless-stopped|on-failure)/);
      const named = (s.volumes ?? []).filter((v): v is string => typeof v === 'string' && !v.startsWith('./')).map((v) => v.split(':')[0]!);
      for (const v of named) expect(Object.keys(compose.volumes ?? {}), `${name}: ${v}`).toContain(v);
      expect(named.length, name).toBe(1);
    }
  });
});
