import type { Command } from 'commander';
import type { PruneOrphansResult } from '../../domain/index.js';
import { withClient } from '../connect.js';
import { EXIT, UsageError, confirm, ioOf, table, type Io } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, addRetentionOptions, examples, keyOf, precheck, retentionFrom, type Act, type CommonOptions, type RetentionOptions } from '../options.js';
import { pruneOutput } from '../outputs.js';
import { domain, fmtBytes, fmtTime } from '../run-deps.js';

/** `rigsnap prune <workspace> --prefix … --keep-…`: a retention policy applied once (asks first unless --dry-run); `--orphans`: the snapshots of deleted workspaces. */
export function registerPrune(program: Command, act: Act): void {
  examples(
    addRetentionOptions(
      addCommon(
        program
          .command('prune')
          .description(
            'Apply a retention policy to the snapshots whose names start with --prefix (restic-style rules, ORed; the newest is always kept). Asks first unless --dry-run. ' +
              'It also deletes the checkpoint snapshots whose session ended more than --expire-checkpoints-after ago and the restore safety snapshots older than --expire-safety-after (held ones and open checkpoints stay). ' +
              'With --orphans instead: delete the snapshots of workspaces that no longer exist (Rigbox answers 404; they can never be restored) once they are --older-than; ' +
              'a dry run lists them first, then it asks.',
          ),
        { wait: true, yes: true, requestKey: true },
      )
        .argument('[workspace]', 'workspace id (not with --orphans)')
        .option('--prefix <prefix>', 'only snapshots whose name starts with this are candidates, e.g. daily-backup- (required without --orphans)')
        .option('--dry-run', 'only show what would be kept (and why) and what would be deleted, and the GiB it would free')
        .option('--orphans', 'prune the snapshots of deleted workspaces instead of a retention policy')
        .option('--older-than <duration>', 'with --orphans: only orphans at least this old (default 30d)'),
      'timezone of the daily/weekly/monthly buckets (default UTC)',
    ),
    [
      'rigsnap prune ws_demo --prefix daily-backup- --keep-last 7 --dry-run',
      'rigsnap prune ws_demo --prefix daily-backup- --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --timezone Europe/Berlin --yes',
      'rigsnap prune ws_demo --prefix daily-backup- --keep-last 7 --expire-checkpoints-after 2d --expire-safety-after never --dry-run',
      'rigsnap prune --orphans --older-than 30d',
    ],
  ).action(
    act(async (workspaceId: string | undefined, o: PruneOptions) => {
      const io = ioOf(o);
      if (o.orphans) {
        if (workspaceId || o.prefix) throw new UsageError('--orphans prunes every deleted workspace: give no <workspace> and no --prefix');
        return pruneOrphans(io, o);
      }
      if (o.olderThan !== undefined) throw new UsageError('--older-than goes with --orphans');
      if (!workspaceId) throw new UsageError("missing required argument 'workspace' (or --orphans)");
      if (o.prefix === undefined) throw new UsageError("required option '--prefix <prefix>' not specified");
      const input = precheck(domain().PruneSnapshotsInput, {
        workspaceId,
        namePrefix: o.prefix,
        retention: retentionFrom(o, true) ?? {},
        dryRun: Boolean(o.dryRun),
      });
      if (!input.dryRun) {
        await confirm(o, io, {
          action: `delete the "${input.namePrefix}*" snapshots of ${workspaceId} that the policy does not keep, and its checkpoint and safety snapshots past their retention`,
          warning: 'See them first with --dry-run',
          declined: `no snapshot of ${workspaceId} was deleted`,
        });
      }
      return runOperation(io, o, (rig) => rig.startPrune(input, keyOf(o)), pruneOutput(io));
    }),
  );
}

type PruneOptions = CommonOptions & RetentionOptions & { prefix?: string; dryRun?: boolean; orphans?: boolean; olderThan?: string };

function orphanLines(r: PruneOrphansResult, io: Io): string[] {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `${r.dryRun ? 'dry run: ' : ''}${verb} ${r.dryRun ? r.selectedCount : r.deletedCount} orphan snapshot${r.selectedCount === 1 ? '' : 's'} older than ${r.olderThan}, ` +
      `freeing ${fmtBytes(r.selectedBytes)}` +
      (r.tooRecent ? `; ${r.tooRecent} younger orphan${r.tooRecent === 1 ? '' : 's'} left` : '') +
      (r.held ? `; ${r.held} held, left` : ''),
  ];
  if (r.selected.length) {
    lines.push(
      ...table(
        ['ID', 'NAME', 'WORKSPACE (GONE)', 'SIZE', 'CREATED'],
        r.selected.map((s) => [s.id, s.name, s.workspace_id, fmtBytes(s.size_bytes), fmtTime(s.created_at)]),
        io.c,
      ),
    );
  }
  if (r.selectedCount > r.selected.length) lines.push(`… and ${r.selectedCount - r.selected.length} more`);
  for (const f of r.failed) lines.push(io.c.red(`not deleted: ${f.snapshotId}: ${f.message}`));
  return lines;
}

/** The dry run first (always), then a confirmation, then the deletion of exactly what the dry run listed. */
async function pruneOrphans(io: Io, o: PruneOptions): Promise<number> {
  const base = { ...(o.olderThan !== undefined ? { olderThan: o.olderThan } : {}) };
  const preview = precheck(domain().PruneOrphansInput, { ...base, dryRun: true });
  return withClient(o, async (rig) => {
    const planned = await (await rig.startPruneOrphans(preview, keyOf(o))).result();
    if (o.dryRun || planned.selectedCount === 0) {
      if (io.json) io.out(JSON.stringify({ result: planned }));
      else for (const l of orphanLines(planned, io)) io.out(l);
      return EXIT.ok;
    }
    if (!io.json) for (const l of orphanLines(planned, io)) io.out(l);
    await confirm(o, io, {
      action: `delete these ${planned.selected.length} orphan snapshots (${fmtBytes(planned.selected.reduce((a, s) => a + s.size_bytes, 0))})`,
      warning: 'They belong to deleted workspaces and can never be restored; deletion is final',
      declined: 'no snapshot was deleted',
    });
    const input = precheck(domain().PruneOrphansInput, { ...base, dryRun: false, snapshotIds: planned.selected.map((s) => s.id) });
    const started = await rig.startPruneOrphans(input, keyOf(o));
    if (o.wait === false) {
      io.out(io.json ? JSON.stringify({ workflowId: started.workflowId, url: started.url, status: 'started' }) : started.workflowId);
      return EXIT.ok;
    }
    const done = await started.result();
    if (io.json) io.out(JSON.stringify({ workflowId: started.workflowId, result: done }));
    else for (const l of orphanLines(done, io)) io.out(l);
    return done.failed.length ? EXIT.failed : EXIT.ok;
  });
}
