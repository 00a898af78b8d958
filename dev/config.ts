import { z } from 'zod';
import { ConfigError, int } from '../worker/config.js';

/**
 * Settings of the local stack behind `npm start` (dev/main.ts) only: where it keeps its state and
 * which ports the embedded Temporal dev server, its Web UI and the Rigbox emulator use. The production
 * worker never reads them, so they are not in KNOWN_ENV_VARS.
 */
export const DevEnv = z.object({
  /** State of the local stack: temporal.db (SQLite), emulator.json, temporal.log. Relative to the working directory. */
  RIGSNAP_DEV_DIR: z.string().min(1).default('.rigsnap'),
  RIGSNAP_DEV_TEMPORAL_PORT: int('RIGSNAP_DEV_TEMPORAL_PORT', 1, 65_535).default(7233),
  RIGSNAP_DEV_UI_PORT: int('RIGSNAP_DEV_UI_PORT', 1, 65_535).default(8233),
  RIGSNAP_DEV_EMULATOR_PORT: int('RIGSNAP_DEV_EMULATOR_PORT', 1, 65_535).default(8787),
});
export type DevConfig = z.output<typeof DevEnv>;

export const DEV_ENV_VARS: readonly string[] = Object.keys(DevEnv.shape);

/** Parses the local stack's settings; throws ConfigError naming every bad variable. */
export function loadDevConfig(env: Record<string, string | undefined> = process.env): DevConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => DEV_ENV_VARS.includes(k) && v !== undefined && v !== ''));
  const r = DevEnv.safeParse(present);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const name = String(i.path[0] ?? '');
      return `  - ${i.message}${name && present[name] !== undefined ? ` (got ${JSON.stringify(present[name])})` : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = r.data;
  const ports: Array<[string, number]> = [
    ['RIGSNAP_DEV_TEMPORAL_PORT', c.RIGSNAP_DEV_TEMPORAL_PORT],
    ['RIGSNAP_DEV_UI_PORT', c.RIGSNAP_DEV_UI_PORT],
    ['RIGSNAP_DEV_EMULATOR_PORT', c.RIGSNAP_DEV_EMULATOR_PORT],
  ];
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i]![1] === ports[j]![1]) {
        throw new ConfigError(`invalid configuration:\n  - ${ports[i]![0]} and ${ports[j]![0]} must differ (both are ${ports[i]![1]})`);
      }
    }
  }
  return c;
}
