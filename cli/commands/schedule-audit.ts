import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { addCommon, examples, precheck, type Act, type CommonOptions } from '../options.js';
import { auditSchedule, fmtTime } from '../run-deps.js';

/** `rigsnap schedule create-audit` / `delete-audit`: the audit on a schedule, notifying when something needs attention. */
export function registerAuditSchedule(schedule: Command, act: Act): void {
  examples(
    addCommon(
      schedule
        .command('create-audit')
        .description(
          'Run the backup audit on a schedule (rigsnap-audit): one notification through RIGSNAP_NOTIFY_URL listing the workspaces that need attention, nothing when all is well. Creating it again updates it.',
        ),
    )
      .argument('[workspace...]', 'more workspaces to audit besides those of the schedules')
      .option('--every <duration>', 'how often (default 6h)')
      .option('--rpo <duration>', 'recovery point objective (default 26h)')
      .option('--prefix <prefix>', 'only snapshots named so count as backups (default: each schedule’s own prefix)')
      .option('--paused', 'create it paused'),
    ['rigsnap schedule create-audit --every 6h --rpo 26h'],
  ).action(
    act(async (workspaceIds: string[], o: CommonOptions & { every?: string; rpo?: string; prefix?: string; paused?: boolean }) => {
      const io = ioOf(o);
      const options = precheck(auditSchedule().AuditScheduleOptions, {
        ...(o.every !== undefined ? { every: o.every } : {}),
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
        ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
        workspaceIds,
        paused: Boolean(o.paused),
      });
      return withClient(o, async (rig) => {
        const s = await rig.createAuditSchedule(options);
        printJsonOr(io, s, () => [
          `${io.c.green('✓')} ${s.created ? 'created' : 'updated'} ${s.scheduleId}: backup audit every ${s.every}, RPO ${s.rpo}${s.paused ? io.c.yellow(' (paused)') : ''}`,
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
  examples(addCommon(schedule.command('delete-audit').description('Delete the backup audit’s schedule (asks first)'), { yes: true }), [
    'rigsnap schedule delete-audit --yes',
  ]).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, { action: 'delete the backup audit schedule rigsnap-audit', declined: 'the audit schedule rigsnap-audit is unchanged' });
      return withClient(o, async (rig) => {
        await rig.deleteAuditSchedule();
        printJsonOr(io, { scheduleId: 'rigsnap-audit', deleted: true }, () => [`${io.c.green('✓')} deleted schedule rigsnap-audit`]);
        return EXIT.ok;
      });
    }),
  );
}
