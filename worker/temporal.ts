import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { type NativeConnection } from '@temporalio/worker';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../contract/index.js';

/**
 * Temporal connection settings from @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS files and profiles (temporal.toml). Works unchanged against a local dev
 * server, a self-hosted cluster and Temporal Cloud.
 */
export function temporalSettings(env: Record<string, string | undefined> = process.env) {
  // An empty variable means "not set" (compose files pass VAR= through): an empty TEMPORAL_API_KEY
  // would otherwise turn TLS on, and an empty TLS path would be read as a file.
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

/**
 * Makes sure the custom search attributes exist on the namespace (idempotent). On servers where the
 * operator API is not open to workers (Temporal Cloud), says how to add them instead of failing.
 */
export async function ensureSearchAttributes(
  connection: Connection | NativeConnection,
  namespace: string,
  log: (level: 'info' | 'warn', message: string) => void = () => {},
): Promise<string[]> {
  const wanted = CUSTOM_SEARCH_ATTRIBUTES.map((k) => k.name);
  // temporal.api.enums.v1.IndexedValueType: INDEXED_VALUE_TYPE_KEYWORD and INDEXED_VALUE_TYPE_KEYWORD_LIST.
  const INDEXED_TYPES = { KEYWORD: 2, KEYWORD_LIST: 7 } as const;
  const typeOf = new Map<string, number>(CUSTOM_SEARCH_ATTRIBUTES.map((k) => [k.name, INDEXED_TYPES[k.type]]));
  let existing: Record<string, unknown> = {};
  try {
    existing = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    log('warn', `cannot list search attributes (${(err as Error).message}); assuming they are registered`);
    return [];
  }
  const missing = wanted.filter((name) => !(name in existing));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, typeOf.get(name)!])),
    });
    log('info', `registered search attributes ${missing.join(', ')} on namespace ${namespace}`);
    return missing;
  } catch (err) {
    const message = (err as Error).message;
    if (/already exists/i.test(message)) return [];
    log(
      'warn',
      `could not register search attributes ${missing.join(', ')} (${message}). ` +
        `Add them (RigboxLabels as KeywordList, the others as Keyword), e.g. \`temporal operator search-attribute create --name ${missing[0]} --type Keyword\` ` +
        '(or in the Temporal Cloud UI); workflows fail to tag themselves until then.',
    );
    return [];
  }
}

export async function connectClient(
  env: Record<string, string | undefined> = process.env,
): Promise<{ client: Client; connection: Connection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace }), connection, namespace };
}
