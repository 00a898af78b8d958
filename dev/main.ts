#!/usr/bin/env node
import { runDevStack } from './stack.js';

/**
 * `npm start` / `node dist/dev/main.js`: the whole local stack, on an embedded default (see stack.ts).
 * Exits 0 after a clean stop on Ctrl-C/SIGTERM, 1 on bad configuration, busy ports or a fatal error.
 */
// The terminal may be gone when the stack stops (a closed window, a killed `npm start`): a write to it
// must not crash the way down, which saves the emulator's state and stops the dev server.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

runDevStack().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rigsnap: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
