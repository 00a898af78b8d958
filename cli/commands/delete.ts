import type { Command } from 'commander';
import { confirm, ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, precheck, type Act, type CommonOptions } from '../options.js';
import { deleteOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap delete <workspace> <snapshot>`: deletes a snapshot, after asking. */
export function registerDelete(program: Command, act: Act): void {
  examples(
    addCommon(program.command('delete').description('Delete a snapshot (asks first)'), { wait: true, yes: true })
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id')
      .option('--force', 'delete even if held (needs --reason; the override is recorded and shown by `rigsnap holds`)')
      .option('--reason <text>', 'why a held snapshot is deleted anyway'),
    [
      'rigsnap delete ws_demo snap_abc123',
      'rigsnap delete ws_demo snap_abc123 --yes',
      'rigsnap delete ws_demo snap_abc123 --force --reason "disk full, approved by ops" --yes',
    ],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { force?: boolean; reason?: string }) => {
      const io = ioOf(o);
      const input = precheck(domain().DeleteSnapshotInput, {
        workspaceId,
        snapshotId,
        ...(o.force ? { force: true } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      });
      await confirm(o, io, { action: `delete snapshot ${snapshotId} of ${workspaceId}`, declined: `snapshot ${snapshotId} was not deleted` });
      return runOperation(io, o, (rig) => rig.startDeleteSnapshot(input), deleteOutput());
    }),
  );
}
