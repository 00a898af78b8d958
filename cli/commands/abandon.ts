/** `rigsnap abandon <workflow-id> --reason <text>`: the way out of an operation that keeps trying to start its workspace again. */
import os from 'node:os';
import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';

/** Who asks, recorded with the abandon: --by, else the OS user. */
function operator(by: string | undefined): string {
  if (by !== undefined) return by;
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

export function registerAbandon(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('abandon')
        .description(
          'Stop an operation that keeps trying to start its workspace again (a revoked token, a long maintenance): it ends Abandoned, ' +
            'the workspace is left stopped, its lock is released (asks first)',
        ),
      { yes: true },
    )
      .argument('<workflow-id>', 'workflow id of the operation (its current details say "rigsnap keeps trying")')
      .requiredOption('--reason <text>', 'why (recorded in its failure, progress and the worker log)')
      .option('--by <name>', 'who abandons it (default: your OS user name)'),
    [
      'rigsnap abandon backup-ws_demo-m1abc2 --reason "workspace retired; token revoked on purpose"',
      'rigsnap abandon snapshot-ws_ml-pre-m1abc2 --reason "Rigbox maintenance all day" --yes',
    ],
  ).action(
    act(async (workflowId: string, o: CommonOptions & { reason: string; by?: string }) => {
      const io = ioOf(o);
      await confirm(o, io, {
        action: `abandon ${workflowId}`,
        warning: 'It stops trying to start its workspace again and leaves the workspace stopped',
        declined: `${workflowId} was not abandoned and keeps trying`,
      });
      return withClient(o, async (rig) => {
        const r = await rig.abandon(workflowId, { reason: o.reason, by: operator(o.by) });
        printJsonOr(io, r, () => [
          r.outcome === 'abandoned'
            ? `${io.c.green('✓')} ${workflowId} abandoned by ${r.by}: it stopped trying; ${r.workspaceId} is left stopped (start it in Rigbox once the cause is fixed)`
            : r.outcome === 'gone'
              ? `${io.c.yellow('!')} ${workflowId}: ${r.workspaceId} no longer exists in Rigbox; the run ends WorkspaceGone`
              : `${io.c.yellow('!')} ${workflowId}: the attempt in flight started ${r.workspaceId} before it could stop; nothing is left down, the run ends with its own failure`,
          `  ${io.c.dim(r.url)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );
}
