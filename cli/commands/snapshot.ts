import { Option, type Command } from 'commander';
import { ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { snapshotOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap snapshot <workspace> --name <name> [--notice 5m]`: (notice →) stop → snapshot → start, ending as the workspace began. */
export function registerSnapshot(program: Command, act: Act): void {
  examples(
    addCommon(program.command('snapshot').description('Take a named snapshot: stop → snapshot → start, ending as the workspace began'), {
      wait: true,
      requestKey: true,
    })
      .argument('<workspace>', 'workspace id, e.g. ws_demo')
      .requiredOption('--name <name>', 'snapshot name, e.g. before-migration')
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
    ],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { name: string; restart: string; notice?: string }) => {
      const io = ioOf(o);
      const input = precheck(domain().SnapshotWorkspaceInput, {
        workspaceId,
        name: o.name,
        restart: o.restart,
        ...(o.notice !== undefined ? { notice: o.notice } : {}),
      });
      return runOperation(io, o, (rig) => rig.startSnapshot(input, keyOf(o)), snapshotOutput());
    }),
  );
}
