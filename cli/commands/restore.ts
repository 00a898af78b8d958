import { Option, type Command } from 'commander';
import { RestoreWorkspaceInput } from '../../domain/index.js';
import { confirm, ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { restoreOutput } from '../outputs.js';

/** `rigsnap restore <workspace> <snapshot>`: stop → restore → start, after asking (a restore replaces the current state). */
export function registerRestore(program: Command, act: Act): void {
  examples(
    addCommon(program.command('restore').description('Restore a snapshot into its workspace: stop → restore → start (asks first)'), {
      wait: true,
      yes: true,
      requestKey: true,
    })
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id, e.g. snap_abc123 (see `rigsnap list <workspace>`)')
      .option('--keep-current', 'take a safety snapshot (pre-restore-…) of the current state first')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous')),
    ['rigsnap restore ws_demo snap_abc123 --keep-current', 'rigsnap restore ws_demo snap_abc123 --yes --json'],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { keepCurrent?: boolean; restart: string }) => {
      const io = ioOf(o);
      const input = precheck(RestoreWorkspaceInput, { workspaceId, snapshotId, keepCurrent: Boolean(o.keepCurrent), restart: o.restart });
      await confirm(o, io, {
        action: `restore ${workspaceId} to ${snapshotId}`,
        ...(input.keepCurrent ? {} : { warning: `Its current state is replaced (--keep-current saves it first)` }),
        declined: `${workspaceId} was not restored and is unchanged`,
      });
      return runOperation(io, o, (rig) => rig.startRestore(input, keyOf(o)), restoreOutput());
    }),
  );
}
