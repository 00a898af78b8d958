import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT } from '../io.js';
import { examples, type Act } from '../options.js';

/** `rigsnap worker` and `rigsnap dev`: the worker, or the whole local stack, as a child with the terminal. */
export function registerWorker(program: Command, act: Act): void {
  examples(
    program
      .command('worker')
      .description('Run a rigsnap worker (needs RIGBOX_TOKEN; see the worker settings in the README)')
      .allowUnknownOption()
      .allowExcessArguments(),
    ['RIGBOX_TOKEN=… rigsnap worker'],
  ).action(act(async () => runNode('worker/main.js', [])));
  examples(
    program
      .command('dev')
      .description('The local stack in one command: Temporal dev server with its UI, the Rigbox emulator and a worker')
      .allowUnknownOption()
      .allowExcessArguments(),
    ['rigsnap dev'],
  ).action(act(async (_o: unknown, cmd: Command) => runNode('dev/main.js', cmd.args)));
}

/**
 * Runs one of the package's own Node entry points (dist/worker/…), resolved next to this file, with
 * the terminal inherited. The child gets its own process group so that Ctrl-C reaches it once, from
 * here, and shuts it down gracefully; a second Ctrl-C is forwarded too, which stops it at once.
 */
async function runNode(relative: string, args: string[]): Promise<number> {
  const entry = fileURLToPath(new URL(`../../${relative}`, import.meta.url));
  if (!fs.existsSync(entry)) {
    process.stderr.write(`rigsnap: ${entry} not found; run \`npm run build\` first\n`);
    return EXIT.failed;
  }
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit', detached: true });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code !== null) resolve(code);
        else resolve(128 + (signal ? (os.constants.signals[signal] ?? 1) : 1));
      });
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('exit', killOnExit);
  }
}
