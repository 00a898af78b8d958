/**
 * `rigsnap hold`, `unhold`, `holds`: snapshots that must not go away (kept by every prune, refused by
 * delete unless forced), kept by the workspace entity (client/holds.ts, rules in domain/holds.ts).
 */
import type { Command } from 'commander';
import type { Hold, HoldsView } from '../../domain/holds.js';
import { withClient } from '../connect.js';
import { EXIT, ioOf, printJsonOr, table, type Io } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';
import { fmtTime } from '../run-deps.js';

function holdLine(h: Hold): string {
  return `${h.snapshotId}: "${h.reason}" (${h.kind ?? 'manual'}${h.owner ? ` for ${h.owner}` : ''}, by ${h.by}${h.until ? `, until ${h.until}` : ''})`;
}

function holdsLines(views: HoldsView[], io: Io): string[] {
  const rows = views.flatMap((v) =>
    v.holds.map((h) => [
      v.workspaceId,
      h.snapshotId,
      `${h.kind ?? 'manual'}${h.owner ? ` for ${h.owner}` : ''}`,
      h.reason,
      h.by,
      h.until ? fmtTime(h.until) : 'until unheld',
    ]),
  );
  const lines = rows.length ? table(['WORKSPACE', 'SNAPSHOT', 'KIND', 'REASON', 'BY', 'UNTIL'], rows, io.c) : ['no holds'];
  for (const v of views) {
    if (v.baseline.snapshotId)
      lines.push(`baseline of ${v.workspaceId}: ${v.baseline.snapshotId} (set by ${v.baseline.by ?? '?'} at ${v.baseline.setAt ?? '?'})`);
    for (const o of v.overrides)
      lines.push(`override: ${o.snapshotId} of ${v.workspaceId} deleted while held, by ${o.by} at ${o.at}: "${o.reason}" (${o.workflowId})`);
  }
  return lines;
}

export function registerHolds(program: Command, act: Act): void {
  examples(
    addCommon(program.command('hold').description('Hold a snapshot: every prune keeps it and delete refuses it until it is unheld (or --until passes)'))
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id')
      .requiredOption('--reason <text>', 'why it must not go away (shown by delete and prune)')
      .option('--until <when>', 'an ISO date (2026-12-24, 2026-12-24T18:00:00Z) or a duration from now (2h, 7d); default: until unheld'),
    ['rigsnap hold ws_ml snap_abc123 --reason "model v2 training data"', 'rigsnap hold ws_demo snap_abc123 --reason "demo on Friday" --until 3d'],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { reason: string; until?: string }) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const hold = await rig.hold(workspaceId, snapshotId, { reason: o.reason, ...(o.until ? { until: o.until } : {}) });
        printJsonOr(io, hold, () => [`held ${holdLine(hold)}`]);
        return EXIT.ok;
      });
    }),
  );
  examples(
    addCommon(program.command('unhold').description("Release a snapshot's hold (automatic holds of a checkpoint or the baseline stay)"))
      .argument('<workspace>', 'workspace id')
      .argument('<snapshot>', 'snapshot id')
      .option('--owner <owner>', "the hold placed for this owner (a group schedule's: group-schedule:<group>, as `rigsnap holds` shows it)"),
    ['rigsnap unhold ws_ml snap_abc123', 'rigsnap unhold ws_db snap_abc123 --owner group-schedule:shop'],
  ).action(
    act(async (workspaceId: string, snapshotId: string, o: CommonOptions & { owner?: string }) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const r = await rig.unhold(workspaceId, snapshotId, undefined, o.owner);
        printJsonOr(io, r, () => [
          r.released.length ? `released the hold of ${snapshotId}` : `${snapshotId} had no manual hold${o.owner ? ` of ${o.owner}` : ''}`,
          ...r.remaining.map((h) => `still held: ${holdLine(h)}`),
        ]);
        return EXIT.ok;
      });
    }),
  );
  examples(
    addCommon(program.command('holds').description('List held snapshots, baselines and the holds overridden by forced deletes')).argument(
      '[workspace]',
      'only this workspace (default: every workspace with rigsnap state)',
    ),
    ['rigsnap holds', 'rigsnap holds ws_ml --json'],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const ids = workspaceId ? [workspaceId] : await rig.workspacesWithHolds();
        const views = await Promise.all(ids.map((id) => rig.holds(id)));
        printJsonOr(io, workspaceId ? views[0] : views, () => holdsLines(views, io));
        return EXIT.ok;
      });
    }),
  );
}
