import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { addCommon, examples, precheck, type Act, type CommonOptions } from '../options.js';
import { fmtTime, reportSchedule, scheduledReportInput } from '../run-deps.js';

/** `rigsnap schedule create-report` / `delete-report`: the compliance report on a schedule, posted to the webhook every time. */
export function registerReportSchedule(schedule: Command, act: Act): void {
  examples(
    addCommon(
      schedule
        .command('create-report')
        .description(
          'Run the compliance report (`rigsnap report`) on a schedule (rigsnap-report): each run posts the report to RIGSNAP_NOTIFY_URL and keeps it as its result ' +
            '(rigsnap status <run>, the Temporal UI). Creating it again updates it.',
        ),
    )
      .option('--every <duration>', 'how often (default 24h)')
      .option('--since <duration>', 'the period each report covers (default: --every)')
      .option('--rpo <duration>', 'recovery point objective (default 26h)')
      .option('--paused', 'create it paused'),
    ['rigsnap schedule create-report --every 24h', 'rigsnap schedule create-report --every 7d --rpo 26h'],
  ).action(
    act(async (o: CommonOptions & { every?: string; since?: string; rpo?: string; paused?: boolean }) => {
      const io = ioOf(o);
      const options = precheck(reportSchedule().ReportScheduleOptions, {
        ...(o.every !== undefined ? { every: o.every } : {}),
        ...(o.since !== undefined ? { since: o.since } : {}),
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
        paused: Boolean(o.paused),
      });
      scheduledReportInput(options); // a bad --since is refused here, before connecting
      return withClient(o, async (rig) => {
        const s = await rig.createReportSchedule(options);
        printJsonOr(io, s, () => [
          `${io.c.green('✓')} ${s.created ? 'created' : 'updated'} ${s.scheduleId}: backup report every ${s.every} (runs of the last ${s.since}), RPO ${s.rpo}${s.paused ? io.c.yellow(' (paused)') : ''}`,
          `  next runs   ${
            s.nextRuns
              .slice(0, 3)
              .map((t) => fmtTime(t))
              .join(', ') || '-'
          }`,
          `  link        ${io.c.dim(s.url)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );
  examples(addCommon(schedule.command('delete-report').description('Delete the compliance report’s schedule (asks first)'), { yes: true }), [
    'rigsnap schedule delete-report --yes',
  ]).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, { action: 'delete the backup report schedule rigsnap-report', declined: 'the report schedule rigsnap-report is unchanged' });
      return withClient(o, async (rig) => {
        await rig.deleteReportSchedule();
        printJsonOr(io, { scheduleId: 'rigsnap-report', deleted: true }, () => [`${io.c.green('✓')} deleted schedule rigsnap-report`]);
        return EXIT.ok;
      });
    }),
  );
}
