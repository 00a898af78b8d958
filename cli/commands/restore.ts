import { Option, type Command } from 'commander';
import { UsageError, confirm, ioOf, type Io } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { groupRestoreOutput, restoreOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap restore`: one workspace to a snapshot, or (`--group --set`) a group to a set, all or nothing. */
type RestoreOptions = CommonOptions & { keepCurrent?: boolean; restart: string; group?: string; set?: string; allowIncomplete?: boolean };

/** `rigsnap restore <workspace> <snapshot>`: stop → restore → start, after asking (a restore replaces the current state); `--group --set`: a group, all or nothing. */
export function registerRestore(program: Command, act: Act): void {
  examples(
    addCommon(
      program.command('restore').description('Restore a snapshot into its workspace: stop → restore → start (asks first); or a group to a set, all or nothing'),
      {
        wait: true,
        yes: true,
        requestKey: true,
      },
    )
      .argument('[workspace]', 'workspace id (not with --group)')
      .argument('[snapshot]', 'snapshot id (snap_abc123) or a name unique in the workspace (see `rigsnap list <workspace>`)')
      .option('--keep-current', 'take a safety snapshot (pre-restore-…, held 24 h) of the current state first (the default)')
      .option('--no-keep-current', 'skip the safety snapshot: the current state is lost')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous'))
      .option('--group <group>', 'restore every member of this group to the set named by --set: a safety snapshot of each first, all or nothing')
      .option('--set <name>', 'with --group: the set (a group snapshot, see `rigsnap group snapshots <group>`) to restore')
      .option('--allow-incomplete', 'with --group: restore an incomplete set (the members it has a snapshot of)'),
    [
      'rigsnap restore ws_demo snap_abc123',
      'rigsnap restore ws_ml stable-model-v2 --yes',
      'rigsnap restore ws_demo snap_abc123 --no-keep-current --yes --json',
      'rigsnap restore --group shop --set nightly --yes',
    ],
  ).action(
    act(async (workspaceId: string | undefined, snapshotId: string | undefined, o: RestoreOptions) => {
      const io = ioOf(o);
      if (o.group !== undefined || o.set !== undefined || o.allowIncomplete) return restoreGroup(io, workspaceId, o);
      if (!workspaceId || !snapshotId) throw new UsageError('restore needs <workspace> <snapshot>, or --group <group> --set <name>');
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

/** `restore --group <group> --set <name>`: every member gets a safety snapshot; a member's failure puts every member back. */
async function restoreGroup(io: Io, workspaceId: string | undefined, o: RestoreOptions): Promise<number> {
  if (workspaceId) throw new UsageError('restore --group takes no <workspace>: the group names its members');
  if (o.keepCurrent === false)
    throw new UsageError('a group restore always takes a safety snapshot of each member (it is the way back): --no-keep-current does not apply');
  const input = precheck(domain().RestoreGroupInput, { group: o.group, set: o.set, ...(o.allowIncomplete ? { allowIncomplete: true } : {}) });
  await confirm(o, io, {
    action: `restore every member of group ${input.group} to its set "${input.set}" (a safety snapshot of each first; all or nothing)`,
    declined: `group ${input.group} was not restored and is unchanged`,
  });
  return runOperation(io, o, (rig) => rig.startRestoreGroup(input, keyOf(o)), groupRestoreOutput(io));
}
