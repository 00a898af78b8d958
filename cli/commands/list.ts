import type { Command } from 'commander';
import { ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, precheck, type Act, type CommonOptions } from '../options.js';
import { listOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap list [workspace]`: the snapshots Rigbox has, read through a worker (the CLI has no Rigbox token). */
export function registerList(program: Command, act: Act): void {
  examples(
    addCommon(program.command('list').description('List snapshots of a workspace, or of all workspaces (read through a worker)'), {}).argument(
      '[workspace]',
      'workspace id; all workspaces if omitted',
    ),
    ['rigsnap list ws_demo', 'rigsnap list --json'],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions) => {
      const io = ioOf(o);
      const input = precheck(domain().ListSnapshotsInput, workspaceId ? { workspaceId } : {});
      return runOperation(io, o, (rig) => rig.startListSnapshots(input), listOutput(io));
    }),
  );
}
