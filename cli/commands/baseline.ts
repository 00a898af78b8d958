/**
 * `rigsnap baseline set|show` and `rigsnap reset`: the team's known-good state of a workspace (the
 * docs' reproducibility use), held while it is the baseline, and one safe command to go back to it.
 * Rigbox restores a snapshot only into its own workspace: a baseline resets the workspace it came from.
 */
import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, type Act, type CommonOptions } from '../options.js';
import { restoreOutput } from '../outputs.js';

const SAME_WORKSPACE =
  'Rigbox restores a snapshot only into the workspace it was taken from: a teammate resets this shared workspace; another workspace needs a baseline of its own.';

export function registerBaseline(program: Command, act: Act): void {
  const group = program.command('baseline').description(`The team's known-good snapshot of a workspace (held while it is the baseline). ${SAME_WORKSPACE}`);
  examples(
    addCommon(group.command('set').description('Make a snapshot the baseline of its workspace (and hold it)'))
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id (snap_…) or a name unique in the workspace'),
    ['rigsnap baseline set ws_ml snap_abc123', 'rigsnap baseline set ws_ml stable-model-v2'],
  ).action(
    act(async (workspaceId: string, snapshot: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const r = await rig.setBaseline(workspaceId, await rig.resolveSnapshot(workspaceId, snapshot));
        printJsonOr(io, r, () => [
          `baseline of ${workspaceId}: ${r.status === 'set' ? r.baseline.snapshotId : '?'} (held; was ${r.status === 'set' ? (r.previous ?? 'none') : '?'})`,
          `reset to it with \`rigsnap reset ${workspaceId}\``,
        ]);
        return EXIT.ok;
      });
    }),
  );
  examples(addCommon(group.command('show').description('Show the baseline of a workspace')).argument('<workspace>', 'workspace id'), [
    'rigsnap baseline show ws_ml',
    'rigsnap baseline show ws_ml --json',
  ]).action(
    act(async (workspaceId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const { baseline } = await rig.holds(workspaceId);
        printJsonOr(io, baseline, () =>
          baseline.snapshotId
            ? [`baseline of ${workspaceId}: ${baseline.snapshotId} (set by ${baseline.by ?? '?'} at ${baseline.setAt ?? '?'})`]
            : [`${workspaceId} has no baseline; set one with \`rigsnap baseline set ${workspaceId} <snapshot>\``],
        );
        return EXIT.ok;
      });
    }),
  );
  examples(
    addCommon(program.command('reset').description(`Restore the workspace's baseline, with a safety snapshot first (asks first). ${SAME_WORKSPACE}`), {
      wait: true,
      yes: true,
      requestKey: true,
    }).argument('<workspace>', 'workspace id'),
    ['rigsnap reset ws_ml', 'rigsnap reset ws_ml --yes --json'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, {
        action: `reset ${workspaceId} to its baseline`,
        warning: 'Its current state is saved first in a safety snapshot (held 24 h)',
        declined: `${workspaceId} was not reset and is unchanged`,
      });
      return runOperation(io, o, (rig) => rig.startReset(workspaceId, keyOf(o)), restoreOutput());
    }),
  );
}
