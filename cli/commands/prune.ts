import type { Command } from 'commander';
import { PruneSnapshotsInput } from '../../domain/index.js';
import { confirm, ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, addRetentionOptions, examples, keyOf, precheck, retentionFrom, type Act, type CommonOptions, type RetentionOptions } from '../options.js';
import { pruneOutput } from '../outputs.js';

/** `rigsnap prune <workspace> --prefix … --keep-…`: a retention policy applied once (asks first unless --dry-run). */
export function registerPrune(program: Command, act: Act): void {
  examples(
    addRetentionOptions(
      addCommon(
        program
          .command('prune')
          .description(
            'Apply a retention policy to the snapshots whose names start with --prefix (restic-style rules, ORed; the newest is always kept). Asks first unless --dry-run.',
          ),
        { wait: true, yes: true, requestKey: true },
      )
        .argument('<workspace>', 'workspace id')
        .requiredOption('--prefix <prefix>', 'only snapshots whose name starts with this are candidates, e.g. daily-backup-')
        .option('--dry-run', 'only show what would be kept (and why) and what would be deleted'),
      'timezone of the daily/weekly/monthly buckets (default UTC)',
    ),
    [
      'rigsnap prune ws_demo --prefix daily-backup- --keep-last 7 --dry-run',
      'rigsnap prune ws_demo --prefix daily-backup- --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --timezone Europe/Berlin --yes',
    ],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & RetentionOptions & { prefix: string; dryRun?: boolean }) => {
      const io = ioOf(o);
      const input = precheck(PruneSnapshotsInput, {
        workspaceId,
        namePrefix: o.prefix,
        retention: retentionFrom(o, true) ?? {},
        dryRun: Boolean(o.dryRun),
      });
      if (!input.dryRun) {
        await confirm(o, io, {
          action: `delete the "${input.namePrefix}*" snapshots of ${workspaceId} that the policy does not keep`,
          warning: 'See them first with --dry-run',
          declined: `no snapshot of ${workspaceId} was deleted`,
        });
      }
      return runOperation(io, o, (rig) => rig.startPrune(input, keyOf(o)), pruneOutput(io));
    }),
  );
}
