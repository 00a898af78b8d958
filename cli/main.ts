#!/usr/bin/env node
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerAbandon } from './commands/abandon.js';
import { registerAudit } from './commands/audit.js';
import { registerBaseline } from './commands/baseline.js';
import { registerCancel } from './commands/cancel.js';
import { registerCheckpoint } from './commands/checkpoint.js';
import { registerDelete } from './commands/delete.js';
import { registerEnroll } from './commands/enroll.js';
import { registerFleet } from './commands/fleet.js';
import { registerGroup } from './commands/group.js';
import { registerInventory } from './commands/inventory.js';
import { registerHolds } from './commands/holds.js';
import { registerList } from './commands/list.js';
import { registerNotice } from './commands/notice.js';
import { registerPrune } from './commands/prune.js';
import { registerRestore } from './commands/restore.js';
import { registerRuns } from './commands/runs.js';
import { registerSchedule } from './commands/schedule.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerStatus } from './commands/status.js';
import { registerWorker } from './commands/worker.js';
import { Declined, EXIT, UsageError } from './io.js';
import { actionsFor, addCommonOptions, reportUnknownOptionsFirst, withFlagNames } from './options.js';
import { errors, loadRunDeps } from './run-deps.js';

/**
 * `rigsnap`: trigger, watch and manage rigsnap operations from a terminal. This file is the program
 * (its commands register themselves from cli/commands/), error reporting and exit codes: 0 success,
 * 1 the operation failed, 2 bad usage or invalid input (nothing was started), 3 Temporal unreachable.
 */

export { EXIT } from './io.js';
export { requiredOptionsOf, withFlagNames } from './options.js';

/** The command groups, in the order `rigsnap --help` lists them. */
const COMMANDS = [
  registerSnapshot,
  registerRestore,
  registerDelete,
  registerHolds,
  registerBaseline,
  registerList,
  registerPrune,
  registerSchedule,
  registerFleet,
  registerGroup,
  registerCheckpoint,
  registerAudit,
  registerInventory,
  registerEnroll,
  registerStatus,
  registerCancel,
  registerAbandon,
  registerNotice,
  registerRuns,
  registerWorker,
];

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command()
    .name('rigsnap')
    .description(
      'Durable snapshots of Rigbox workspaces on Temporal: snapshot, restore, retention, scheduled backups and checkpoints.\n' +
        'Talks to Temporal only (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles); the Rigbox token stays with the workers.',
    )
    .version(readVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const act = actionsFor(setExit);
  for (const register of COMMANDS) register(program, act);
  addCommonOptions();
  reportUnknownOptionsFirst(program);
  // What an action needs (zod, the schemas, the client's helpers) loads once the command line is
  // parsed: help and usage errors end before this (cli/run-deps.ts).
  program.hook('preAction', () => loadRunDeps());
  return program;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Prints an error the way a user can act on it and returns the exit code. Errors other than commander's
 * need cli/run-deps.ts loaded (main does it; a caller of its own awaits loadRunDeps first).
 */
export function reportError(err: unknown, json: boolean): number {
  const write = (s: string) => process.stderr.write(`${s}\n`);
  const emitJson = (body: Record<string, unknown>) => {
    if (json) process.stdout.write(`${JSON.stringify({ error: body })}\n`);
  };
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.ok;
    emitJson({ type: 'Usage', message: err.message });
    return EXIT.usage; // commander already printed the message and the hint
  }
  if (err instanceof Declined) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Declined', message: err.message });
    return EXIT.usage;
  }
  if (err instanceof UsageError || err instanceof errors().ClientConfigError) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Usage', message: err.message });
    return EXIT.usage;
  }
  if (err instanceof errors().TemporalConnectionError) {
    write(`rigsnap: ${err.message}`);
    emitJson({ type: 'Unreachable', message: err.message, address: err.address });
    return EXIT.unreachable;
  }
  if (err instanceof errors().RigsnapError) {
    const beforeStart = err.type === 'InvalidInput' && !err.workflowId;
    const message = beforeStart ? withFlagNames(err.message) : err.message;
    write(`rigsnap: ${err.type}: ${message}`);
    write(`  what to do: ${err.advice}`);
    if (err.workflowId && err.type !== 'WorkflowNotFound') write(`  workflow: ${err.workflowId} (rigsnap status ${err.workflowId})`);
    emitJson({ ...err.toJSON(), message });
    return beforeStart ? EXIT.usage : EXIT.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`rigsnap: ${message}`);
  emitJson({ type: 'Unknown', message });
  return EXIT.failed;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (!(err instanceof CommanderError)) await loadRunDeps();
    return reportError(err, argv.includes('--json'));
  }
}

/** Runs the CLI as a program: sets the exit code, and never lets a slow handle hang the shell. */
export function run(argv: string[] = process.argv): void {
  // Whoever reads the output may stop early (`rigsnap list ws_demo | head`): end quietly, not with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
      // Should a handle outlive the command (a gRPC channel closing slowly), do not hang the shell.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`rigsnap: ${String(err)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

// Run when executed (node dist/cli/main.js, the npm bin link), not when imported (tests, ./rigsnap).
const invokedAs = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) run();
