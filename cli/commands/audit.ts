import type { Command } from 'commander';
import { ioOf } from '../io.js';
import { runOperation } from '../operation.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { auditOutput } from '../outputs.js';
import { domain } from '../run-deps.js';

/** `rigsnap audit`: is everything backed up? Exit 1 when a protected workspace misses the RPO (cron, CI gates). */
export function registerAudit(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('audit')
        .description(
          'Is everything backed up? For every workspace under a backup or fleet schedule (and any given here): the newest backup in Rigbox, ' +
            'its age, whether the last backup run failed, and a verdict (ok, failed, stale, missing); and the workspaces with snapshots but no ' +
            'schedule. Exits 1 when any workspace misses the RPO.',
        ),
      { requestKey: true },
    )
      .argument('[workspace...]', 'more workspaces to audit (Rigbox has no list of workspaces)')
      .option('--rpo <duration>', 'recovery point objective: the newest backup may be at most this old (default 26h)')
      .option('--prefix <prefix>', "only snapshots named so count as backups (default: each schedule's own prefix, daily-backup- for the workspaces given)")
      .option('--notify', 'also send the offenders to the worker’s RIGSNAP_NOTIFY_URL (nothing is sent when all is well)'),
    ['rigsnap audit', 'rigsnap audit --rpo 26h --prefix daily-backup- --json', 'rigsnap audit ws_legacy ws_scratch --rpo 7d'],
  ).action(
    act(async (workspaceIds: string[], o: CommonOptions & { rpo?: string; prefix?: string; notify?: boolean }) => {
      const io = ioOf(o);
      const input = precheck(domain().AuditBackupsInput, {
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
        ...(o.prefix !== undefined ? { namePrefix: o.prefix } : {}),
        workspaceIds,
        notify: Boolean(o.notify),
      });
      return runOperation(io, o, (rig) => rig.startAudit(input, keyOf(o)), auditOutput(io));
    }),
  );
}
