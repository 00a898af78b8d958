import { Option, type Command } from 'commander';
import { confirm, ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { restoreOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap restore <workspace> <snapshot>`: stop → restore → start, after asking (a restore replaces the current state). */
export function registerRestore(program: Command, act: Act): void {
  examples(
    addCommon(program.command('restore').description('Restore a snapshot into its workspace: stop → restore → start (asks first)'), {
      wait: true,
      yes: true,
      requestKey: true,
    })
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id (snap_abc123) or a name unique in the workspace (see `rigsnap list <workspace>`)')
      .option('--keep-current', 'take a safety snapshot (pre-restore-…, held 24 h) of the current state first (the default)')
      .option('--no-keep-current', 'skip the safety snapshot: the current state is lost')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous')),
    [
      'rigsnap restore ws_demo snap_abc123',
      'rigsnap restore ws_ml stable-model-v2 --yes',
      'rigsnap restore ws_demo snap_abc123 --no-keep-current --yes --json',
    ],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { keepCurrent?: boolean; restart: string }) => {
      const io = ioOf(o);
      const keepCurrent = o.keepCurrent !== false;
      const byName = !snapshotId.startsWith('snap_');
      // A name is looked up first (it needs the server); an id is checked before anything is sent.
      const checked = (id: string) => precheck(domain().RestoreWorkspaceInput, { workspaceId, snapshotId: id, keepCurrent, restart: o.restart });
      if (!byName) checked(snapshotId);
      else precheck(domain().RestoreWorkspaceInput, { workspaceId, snapshotId: 'snap_name', keepCurrent, restart: o.restart });
      await confirm(o, io, {
        action: `restore ${workspaceId} to ${snapshotId}`,
        ...(keepCurrent ? {} : { warning: `Its current state is replaced without a safety snapshot` }),
        declined: `${workspaceId} was not restored and is unchanged`,
      });
      return runOperation(
        io,
        o,
        async (rig) => rig.startRestore(checked(byName ? await rig.resolveSnapshot(workspaceId, snapshotId) : snapshotId), keyOf(o)),
        restoreOutput(),
      );
    }),
  );
}
