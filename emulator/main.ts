#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { DEMO_WORKSPACES } from './demo.js';
import { startEmulator } from './server.js';

/** `npm run emulator -- --port 8787 --token dev-token --stop-ms 2000 --unavailable-rate 0.1` */

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
  return n;
};
const rate = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1`);
  return n;
};

const program = new Command()
  .name('rigbox-emulator')
  .description('Local emulator of the Rigbox snapshot API (https://api.rigbox.dev/api), for development and tests.')
  .option('--port <n>', 'port to listen on', int('--port'), 8787)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--token <token>', 'bearer token the API accepts (default: $RIGBOX_TOKEN or "dev-token")')
  .option('--state <file>', 'persist state to this JSON file')
  .option('--stop-ms <n>', 'how long a stop takes', int('--stop-ms'), 1500)
  .option('--start-ms <n>', 'how long a start takes', int('--start-ms'), 1500)
  .option('--snapshot-ms <n>', 'how long a snapshot takes', int('--snapshot-ms'), 1000)
  .option('--restore-ms <n>', 'how long a restore takes', int('--restore-ms'), 1000)
  .option('--latency-ms <n>', 'added to every request', int('--latency-ms'), 5)
  .option('--unavailable-rate <r>', 'share of requests answered 503', rate('--unavailable-rate'), 0)
  .option('--rate-limit-rate <r>', 'share of requests answered 429 with Retry-After', rate('--rate-limit-rate'), 0)
  .option('--retry-after <s>', 'Retry-After seconds on a 429', int('--retry-after'), 1)
  .option('--lost-response-rate <r>', 'share of requests committed but answered 502', rate('--lost-response-rate'), 0)
  .option('--seed <n>', 'seed of the fault sequence', int('--seed'), 1)
  .option('--page-size <n>', 'paginate list answers ({data, next_cursor})', int('--page-size'))
  .option('--no-demo', 'start without the demo workspaces')
  .addHelpText(
    'after',
    `
Examples:
  $ npm run emulator
  $ npm run emulator -- --port 9000 --stop-ms 10000
  $ npm run emulator -- --unavailable-rate 0.15 --lost-response-rate 0.15 --seed 7`,
  );

interface EmulatorCliOptions {
  port: number;
  host: string;
  token?: string;
  state?: string;
  stopMs: number;
  startMs: number;
  snapshotMs: number;
  restoreMs: number;
  latencyMs: number;
  unavailableRate: number;
  rateLimitRate: number;
  retryAfter: number;
  lostResponseRate: number;
  seed: number;
  pageSize?: number;
  demo: boolean;
}

async function main() {
  program.parse();
  const o = program.opts<EmulatorCliOptions>();
  const token = o.token ?? process.env.RIGBOX_TOKEN ?? 'dev-token';
  const emulator = await startEmulator({
    port: o.port,
    host: o.host,
    token,
    stateFile: o.state,
    pageSize: o.pageSize,
    recordCalls: false,
    delays: { stopMs: o.stopMs, startMs: o.startMs, snapshotMs: o.snapshotMs, restoreMs: o.restoreMs, latencyMs: o.latencyMs },
    faults: {
      unavailableRate: o.unavailableRate,
      rateLimitRate: o.rateLimitRate,
      retryAfterSeconds: o.retryAfter,
      lostResponseRate: o.lostResponseRate,
      seed: o.seed,
    },
    seedWorkspaces: o.demo ? DEMO_WORKSPACES : [],
  });
  const ids = Object.keys(emulator.state.data.workspaces);
  process.stdout.write(`Rigbox emulator listening on ${emulator.url} (workspaces: ${ids.join(', ') || 'none'})\n`);
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`rigbox-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
