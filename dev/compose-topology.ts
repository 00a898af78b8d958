import path from 'node:path';
import { parse } from 'yaml';

/**
 * What docker-compose.yml says of the Temporal part of the production topology (image versions, the
 * server's and the UI's environment, the files it mounts, the setup scripts), read so that
 * `npm run cluster` (cluster.ts) runs the same without Docker: compose is the single source of truth.
 */

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  entrypoint?: string[] | string;
  configs?: Array<string | { source: string; target?: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  configs?: Record<string, { file?: string; content?: string }>;
}

export interface ComposeTopology {
  serverVersion: string;
  uiVersion: string;
  postgresImage: string;
  /** The `temporal` service's environment, not interpolated. */
  serverEnvironment: Record<string, string>;
  /** The `temporal-ui` service's environment, not interpolated. */
  uiEnvironment: Record<string, string>;
  /** Files (relative to the project root) that compose mounts: what the server reads as dynamic config, and the two setup scripts. */
  dynamicConfigFile: string;
  schemaScript: string;
  namespaceScript: string;
}

function environmentOf(s: ComposeService): Record<string, string> {
  if (!s.environment) return {};
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function tagOf(image: string | undefined, repository: string): string {
  const m = image ? new RegExp(`^${repository.replace('/', '\\/')}:([^@]+)`).exec(image) : null;
  if (!m) throw new Error(`docker-compose.yml: expected an image ${repository}:<version>, found ${image ?? 'none'}`);
  return m[1]!;
}

/** The project file compose mounts at `target` in `service`. */
function mountedFile(compose: ComposeFile, serviceName: string, target: string): string {
  const service = compose.services[serviceName];
  const ref = (service?.configs ?? []).find((c) => typeof c === 'object' && c.target === target);
  const source = typeof ref === 'object' ? ref.source : undefined;
  const file = source ? compose.configs?.[source]?.file : undefined;
  if (!file) throw new Error(`docker-compose.yml: service ${serviceName} mounts no config file at ${target}`);
  return path.normalize(file);
}

function scriptOf(compose: ComposeFile, serviceName: string): string {
  const entrypoint = compose.services[serviceName]?.entrypoint;
  const script = Array.isArray(entrypoint) ? entrypoint[entrypoint.length - 1] : undefined;
  if (!script) throw new Error(`docker-compose.yml: service ${serviceName} has no script entrypoint`);
  return mountedFile(compose, serviceName, script);
}

export function readComposeTopology(text: string): ComposeTopology {
  const compose = parse(text) as ComposeFile;
  const s = compose.services;
  const server = s.temporal;
  if (!server || !s['temporal-ui'] || !s.postgresql) throw new Error('docker-compose.yml: expected services postgresql, temporal and temporal-ui');
  const serverEnvironment = environmentOf(server);
  const dynamicConfigPath = serverEnvironment.DYNAMIC_CONFIG_FILE_PATH;
  if (!dynamicConfigPath) throw new Error('docker-compose.yml: the temporal service sets no DYNAMIC_CONFIG_FILE_PATH');
  return {
    serverVersion: tagOf(server.image, 'temporalio/server'),
    uiVersion: tagOf(s['temporal-ui'].image, 'temporalio/ui'),
    postgresImage: s.postgresql.image ?? '',
    serverEnvironment,
    uiEnvironment: environmentOf(s['temporal-ui']),
    dynamicConfigFile: mountedFile(compose, 'temporal', dynamicConfigPath),
    schemaScript: scriptOf(compose, 'temporal-schema'),
    namespaceScript: scriptOf(compose, 'temporal-namespace'),
  };
}

/** Compose's interpolation: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`. */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name: string | undefined, colon: string, op: string, arg: string) => {
      if (whole === '$$') return '$';
      const v = vars[name!];
      const unset = v === undefined || (colon === ':' && v === '');
      if (!op) return v ?? '';
      if (op === '-') return unset ? arg : v;
      if (unset) throw new Error(`\${${name}} is required: ${arg}`);
      return v;
    },
  );
}

/**
 * The variables of the server's config template that hold addresses and ports: the only ones the
 * cluster sets differently from compose (one host, free ports, loopback instead of a container network).
 */
export const SERVER_PORT_VARIABLES = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
  'INTERNAL_FRONTEND_HTTP_PORT',
] as const;

/** The server's environment: compose's, interpolated, with the local addresses, ports and dynamic-config path. */
export function temporalServerEnvironment(
  topology: ComposeTopology,
  o: { root: string; postgres: { port: number; user: string; password: string }; ports: Record<(typeof SERVER_PORT_VARIABLES)[number], number> },
): { env: Record<string, string>; local: string[] } {
  const vars = { POSTGRES_USER: o.postgres.user, POSTGRES_PASSWORD: o.postgres.password };
  const env = Object.fromEntries(Object.entries(topology.serverEnvironment).map(([k, v]) => [k, interpolate(v, vars)]));
  const local: Record<string, string> = {
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(o.postgres.port),
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(o.root, topology.dynamicConfigFile),
    ...Object.fromEntries(Object.entries(o.ports).map(([k, v]) => [k, String(v)])),
  };
  return { env: { ...env, ...local }, local: Object.keys(local) };
}
