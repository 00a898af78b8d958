import type { Command } from 'commander';
import type { PendingStopChange } from '../../client/notices.js';
import { withClient } from '../connect.js';
import { EXIT, ioOf, printJsonOr, type Io } from '../io.js';
import { addCommon, examples, precheck, type Act, type CommonOptions } from '../options.js';
import { checkReason, checkSnooze, domain, formatShortDuration } from '../run-deps.js';

/**
 * `rigsnap snooze <workspace> --for <duration>` and `rigsnap skip <workspace> [--reason]`: "not now" to
 * the workspace's pending backup (or snapshot asked for with --notice), the one waiting out its stop
 * notice. Refused, with what was found, when none waits out a notice: nothing carries over to a later run.
 */
export function registerNotice(program: Command, act: Act): void {
  examples(
    addCommon(program.command('snooze').description("Move the stop of a workspace's pending backup or snapshot (waiting out its notice) later"))
      .argument('<workspace>', 'workspace id, e.g. ws_demo')
      .requiredOption(
        '--for <duration>',
        'how much later, e.g. 1h or 30m (at least 1m; all snoozes of one run are capped by the schedule’s --max-snooze, default 4h)',
      ),
    ['rigsnap snooze ws_demo --for 1h', 'rigsnap snooze ws_demo --for 30m --json'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { for: string }) => {
      const io = ioOf(o);
      precheck(domain().WorkspaceId, workspaceId);
      checkSnooze(o.for);
      return withClient(o, async (rig) => answer(io, 'snooze', await rig.snooze(workspaceId, { for: o.for })));
    }),
  );
  examples(
    addCommon(
      program
        .command('skip')
        .description(
          "Skip a workspace's pending backup or snapshot (waiting out its notice): nothing is stopped; a backup ends as skipped, a snapshot fails with Skipped",
        ),
    )
      .argument('<workspace>', 'workspace id, e.g. ws_demo')
      .option('--reason <text>', 'why (shown by `rigsnap audit` and in the run’s result)'),
    ['rigsnap skip ws_demo', 'rigsnap skip ws_demo --reason "demo until 11:00"'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { reason?: string }) => {
      const io = ioOf(o);
      precheck(domain().WorkspaceId, workspaceId);
      checkReason(o.reason);
      return withClient(o, async (rig) => answer(io, 'skip', await rig.skip(workspaceId, o.reason !== undefined ? { reason: o.reason } : {})));
    }),
  );
}

function answer(io: Io, kind: 'snooze' | 'skip', r: PendingStopChange): number {
  const n = r.notice;
  printJsonOr(io, r, () => [
    n.phase === 'skipped'
      ? `${io.c.green('✓')} the ${n.operation} of ${n.workspaceId} is skipped (${n.skipped?.reason ?? kind}, by ${n.skipped?.by ?? '-'}): nothing will be stopped` +
        (kind === 'snooze' ? ' — the snooze reached past its window' : '')
      : `${io.c.green('✓')} ${n.summary}; ${formatShortDuration(n.maxSnoozeMs - n.snoozedMs)} of snoozes left`,
    `  ${io.c.dim(`${r.workflowId} ${r.url}`)}`,
  ]);
  return EXIT.ok;
}
