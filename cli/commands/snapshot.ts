/**
 * `rigsnap snapshot`: a named snapshot of one workspace, or (`--group`) of every member of a group as one
 * set: every member stopped, snapshotted, and started in the group's start order.
 */
import { Option, type Command } from 'commander';
import { SnapshotGroupInput, SnapshotWorkspaceInput } from '../../domain/index.js';
import { UsageError, ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { groupSnapshotOutput, snapshotOutput } from '../outputs.js';

type SnapshotOptions = CommonOptions & { name: string; restart: string; notice?: string; group?: string };

/**
 * `rigsnap snapshot <workspace> --name <name> [--notice 5m]`: (notice →) stop → snapshot → start, ending as
 * the workspace began. `rigsnap snapshot --group <group> --name <name>`: the group snapshot (snapshotGroup).
 */
export function registerSnapshot(program: Command, act: Act): void {
  examples(
    addCommon(program.command('snapshot').description('Take a named snapshot: stop → snapshot → start, ending as the workspace began'), {
      wait: true,
      requestKey: true,
    })
      .argument('[workspace]', 'workspace id, e.g. ws_demo (or --group)')
      .requiredOption('--name <name>', 'snapshot name, e.g. before-migration')
      .option('--group <group>', 'snapshot every member of this group as one set (all stopped, then all snapshotted, then started in its start order)')
      .addOption(new Option('--restart <policy>', 'whether the workspace runs afterwards').choices(['previous', 'always', 'never']).default('previous'))
      .option(
        '--notice <duration>',
        'post a stop.notice (RIGSNAP_NOTIFY_URL) this long before the stop, e.g. 5m; people can snooze or skip it (a skip fails it with Skipped). Default: none, stop at once',
      ),
    [
      'rigsnap snapshot ws_demo --name before-migration',
      'rigsnap snapshot ws_demo --name nightly --restart never --json',
      'rigsnap snapshot ws_demo --name pre-deploy --no-wait',
      'rigsnap snapshot ws_demo --name before-migration --notice 5m',
      'rigsnap snapshot --group shop --name pre-demo',
    ],
  ).action(
    act(async (workspaceId: string | undefined, o: SnapshotOptions) => {
      const io = ioOf(o);
      if ((workspaceId === undefined) === (o.group === undefined)) throw new UsageError('give a workspace or --group <group> (not both)');
      if (o.group !== undefined) {
        if (o.notice !== undefined) throw new UsageError('--notice is for a single workspace; a group snapshot has none yet');
        const groupInput = precheck(SnapshotGroupInput, { group: o.group, name: o.name, restart: o.restart });
        return runOperation(io, o, (rig) => rig.startSnapshotGroup(groupInput, keyOf(o)), groupSnapshotOutput(io));
      }
      const input = precheck(SnapshotWorkspaceInput, {
        workspaceId: workspaceId!,
        name: o.name,
        restart: o.restart,
        ...(o.notice !== undefined ? { notice: o.notice } : {}),
      });
      return runOperation(io, o, (rig) => rig.startSnapshot(input, keyOf(o)), snapshotOutput());
    }),
  );
}
