import Fastify from 'fastify';
import { registerControlRoutes } from './control-routes.js';
import { Gateway } from './gateway.js';
import { registerRigboxRoutes } from './rigbox-routes.js';
import { EmulatorState } from './state.js';
import { DEFAULT_DELAYS, NO_FAULTS, type CallRecord, type Emulator, type EmulatorDelays, type EmulatorFaults, type EmulatorOptions } from './types.js';

/**
 * A local emulator of the Rigbox snapshot API as the docs describe it, for development, the default
 * local run, tests and benchmarks. Rigbox routes live under /api and need the bearer token
 * (rigbox-routes.ts, behind gateway.ts: auth, latency, faults, call log); the /_emulator routes let tests
 * and demos set up workspaces, write files and inject faults (control-routes.ts).
 */

export * from './types.js';

export function createEmulator(options: EmulatorOptions): Emulator {
  const state = new EmulatorState(options.stateFile);
  const delays: EmulatorDelays = { ...DEFAULT_DELAYS, ...options.delays };
  const faults: EmulatorFaults = { ...NO_FAULTS, ...options.faults };
  const calls: CallRecord[] = [];
  if (Object.keys(state.data.workspaces).length === 0) {
    for (const ws of options.seedWorkspaces ?? []) state.upsertWorkspace(ws);
  }
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  const emulator: Emulator = {
    app,
    state,
    delays,
    faults,
    calls,
    forbidden: new Set<string>(),
    token: options.token,
    arrivals: [],
    hooks: {},
    url: '',
    async listen(port = 0, host = '127.0.0.1') {
      const address = await app.listen({ port, host });
      emulator.url = `${address.replace('[::1]', '127.0.0.1')}/api`;
      return emulator.url;
    },
    async close() {
      await app.close();
      state.close();
    },
  };
  const gateway = new Gateway(emulator, options.recordCalls ?? true);
  registerRigboxRoutes(gateway, state, delays, options.pageSize);
  registerControlRoutes(app, emulator, state, gateway);
  return emulator;
}

/** Starts an emulator listening on loopback; returns it with `url` set. */
export async function startEmulator(options: EmulatorOptions & { port?: number; host?: string }): Promise<Emulator> {
  const emulator = createEmulator(options);
  await emulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return emulator;
}
