#!/usr/bin/env node
import { runDevStack } from './dev-stack.js';

/**
 * `npm start` / `node dist/worker/dev.js`: the whole stack on an embedded default (see dev-stack.ts).
 * Exits 0 after a clean stop on Ctrl-C/SIGTERM, 1 on bad configuration, busy ports or a fatal error.
 */
runDevStack().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rigsnap: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
