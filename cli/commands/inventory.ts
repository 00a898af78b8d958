import type { Command } from 'commander';
import type { RigsnapClient } from '../../client/rigsnap-client.js';
import type { InventoryWorkspacesInput, BackupReport, InventoryWorkspacesResult, UsageView } from '../../domain/index.js';
import { withClient } from '../connect.js';
import { EXIT, UsageError, ioOf, table, type Io } from '../io.js';
import { addCommon, examples, keyOf, numberArg, precheck, type Act, type CommonOptions } from '../options.js';
import { discoverWorkspaces, domain, fmtBytes, fmtTime, formatDuration, protectedBySchedule, reportCsv, usageView } from '../run-deps.js';
import { DEFAULT_EXPIRE_CHECKPOINTS_AFTER, DEFAULT_EXPIRE_SAFETY_AFTER, DEFAULT_RPO } from '../../domain/constants.js';

/**
 * `rigsnap discover`, `usage` and `report`: views of one inventory (the inventoryWorkspaces workflow,
 * read through a worker: the CLI has no Rigbox token). Rigbox has no list of workspaces; it reveals
 * them only through their snapshots (GET /api/snapshots).
 */

async function takeInventory(rig: RigsnapClient, o: CommonOptions, input: InventoryWorkspacesInput): Promise<{ inv: InventoryWorkspacesResult; url: string }> {
  const started = await rig.startInventory(precheck(domain().InventoryWorkspacesInput, input), keyOf(o));
  return { inv: await started.result(), url: started.url };
}

const gib = (n: number) => n.toFixed(3);
const money = (n: number | null) => (n === null ? '-' : n.toFixed(2));
const existsText = (e: boolean | null) => (e === null ? '?' : e ? 'yes' : 'GONE');

function registerDiscover(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('discover')
        .description(
          'Workspaces Rigbox reveals (through their snapshots: it has no list of workspaces) that are neither enrolled nor protected by a rigsnap schedule, with their snapshot count and size. ' +
            'Deleted workspaces are orphans: see `rigsnap usage`.',
        ),
      { requestKey: true },
    ),
    ['rigsnap discover', 'rigsnap discover --json'],
  ).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const { inv, url } = await takeInventory(rig, o, { checkExistence: true });
        // Enrolled (confirmed by each entity) or under a schedule: rigsnap knows it already.
        const enrolled = new Set((await rig.enrolledWorkspaces()).workspaces.map((w) => w.workspaceId));
        const found = discoverWorkspaces(inv.workspaces, (w) => protectedBySchedule(w) || enrolled.has(w.workspaceId));
        const rows = found.map((w) => ({
          workspaceId: w.workspaceId,
          snapshotCount: w.snapshotCount,
          snapshotBytes: w.snapshotBytes,
          newestSnapshot: w.newestSnapshot,
        }));
        if (io.json) {
          io.out(JSON.stringify({ takenAt: inv.takenAt, workspaces: rows }));
          return EXIT.ok;
        }
        io.out(
          `${found.length} workspace${found.length === 1 ? '' : 's'} with snapshots, not enrolled and with no rigsnap schedule (of ${inv.workspaces.length} known)`,
        );
        if (rows.length) {
          const cells = rows.map((w) => [
            w.workspaceId,
            String(w.snapshotCount),
            fmtBytes(w.snapshotBytes),
            w.newestSnapshot ? `${w.newestSnapshot.name} ${fmtTime(w.newestSnapshot.created_at)}` : '-',
          ]);
          for (const l of table(['WORKSPACE', 'SNAPSHOTS', 'SIZE', 'NEWEST'], cells, io.c)) io.out(l);
          io.out(io.c.dim(`enroll one: rigsnap enroll <workspace> --label team=…; protect one: rigsnap schedule create <workspace> --keep-last 7`));
        }
        io.out(io.c.dim(url));
        return EXIT.ok;
      });
    }),
  );
}

function usageLines(v: UsageView, io: Io): string[] {
  const priced = v.pricePerGibMonth !== null;
  const head = [
    'WORKSPACE',
    'EXISTS',
    'SNAPSHOTS',
    'BACKUPS',
    'CHECKPOINTS',
    'HELD',
    'SAFETY',
    'HAND-MADE',
    'TOTAL GiB',
    'IN 30 DAYS',
    ...(priced ? ['COST/MONTH', 'IN 30 DAYS'] : []),
  ];
  const cells = (
    name: string,
    exists: string,
    r: Pick<UsageView['totals'], 'snapshotCount' | 'gib' | 'forecastGib' | 'monthlyCost' | 'forecastMonthlyCost'>,
  ) => [
    name,
    exists,
    String(r.snapshotCount),
    gib(r.gib.backup),
    gib(r.gib.checkpoint),
    gib(r.gib.held),
    gib(r.gib.safety),
    gib(r.gib.manual),
    gib(r.gib.total),
    gib(r.forecastGib),
    ...(priced ? [money(r.monthlyCost), money(r.forecastMonthlyCost)] : []),
  ];
  const rows = v.workspaces.map((w) => cells(w.workspaceId + (w.protected ? '' : ' *'), existsText(w.exists), w));
  rows.push(cells(io.c.bold('TOTAL'), '', v.totals));
  const lines = table(head, rows, io.c);
  lines.push(io.c.dim('* not protected by a rigsnap schedule. IN 30 DAYS: retention slots × the recent size trend of the backups, less what expires by then.'));
  lines.push(...expiringLines(v));
  if (v.orphans.count) {
    lines.push(
      io.c.yellow(
        `${v.orphans.count} orphan snapshot${v.orphans.count === 1 ? '' : 's'} (${gib(v.orphans.gib)} GiB) of deleted workspaces (${v.orphans.workspaceIds.join(', ')}): ` +
          'they can never be restored. `rigsnap prune --orphans --older-than 30d` deletes them.',
      ),
    );
  }
  return lines;
}

/** One kind's expiry in words: "2 checkpoint snapshots, 1.500 GiB: 1 due now (0.500 GiB), the rest by 2026-12-20 03:00". */
function expiringText(what: string, k: UsageView['totals']['expiring']['checkpoint']): string | null {
  if (k.count === 0) return null;
  const due = k.dueNowCount ? `${k.dueNowCount} due now (${gib(k.dueNowGib)} GiB)` : '';
  const rest = k.count - k.dueNowCount;
  const later =
    rest === 0
      ? ''
      : k.firstDueAt === k.lastDueAt || k.dueNowCount
        ? `${rest} by ${fmtTime(k.lastDueAt)}`
        : `${rest} from ${fmtTime(k.firstDueAt)} to ${fmtTime(k.lastDueAt)}`;
  return `${k.count} ${what}${k.count === 1 ? '' : 's'}, ${gib(k.gib)} GiB: ${[due, later].filter(Boolean).join(', then ')}`;
}

/** What retention will expire: per workspace and in all (the next prune or scheduled backup with retention deletes what is due now). */
function expiringLines(v: UsageView): string[] {
  const of = (e: UsageView['totals']['expiring']) =>
    [expiringText('checkpoint snapshot', e.checkpoint), expiringText('safety snapshot', e.safety)].filter(Boolean).join('; ');
  const rows = v.workspaces.map((w) => [w.workspaceId, of(w.expiring)] as const).filter(([, t]) => t);
  if (!rows.length) return ['Due to expire: nothing (no ended checkpoint or restore safety snapshot, or all held for good).'];
  return [
    `Due to expire (checkpoints ${DEFAULT_EXPIRE_CHECKPOINTS_AFTER} after their session ended, safety snapshots ${DEFAULT_EXPIRE_SAFETY_AFTER} after the restore, unless the schedule's retention says otherwise; a held one once its hold ends too): ${of(v.totals.expiring)}`,
    ...rows.map(([ws, t]) => `  ${ws}: ${t}`),
  ];
}

function registerUsage(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('usage')
        .description(
          'Storage per workspace in GiB, split into backups, checkpoints, held snapshots, restore safety snapshots (pre-restore-…) and hand-made ones; ' +
            'what retention will expire of the checkpoint and safety snapshots, and when; ' +
            'a monthly cost at --price-per-gib-month; a 30-day forecast from each schedule’s retention slots × the recent size trend of its backups; the orphans of deleted workspaces. ' +
            'Totals are the sum of every snapshot’s size_bytes in Rigbox.',
        ),
      { requestKey: true },
    ).option('--price-per-gib-month <n>', 'storage price per GiB and month, for the cost columns', numberArg),
    ['rigsnap usage', 'rigsnap usage --price-per-gib-month 0.05', 'rigsnap usage --json'],
  ).action(
    act(async (o: CommonOptions & { pricePerGibMonth?: number | string }) => {
      const io = ioOf(o);
      const price = o.pricePerGibMonth;
      if (price !== undefined && (typeof price !== 'number' || !(price >= 0)))
        throw new UsageError(`--price-per-gib-month: must be a number of 0 or more (got "${price}")`);
      return withClient(o, async (rig) => {
        const { inv, url } = await takeInventory(rig, o, { checkExistence: true });
        const view = usageView(inv, price ?? null);
        if (io.json) io.out(JSON.stringify(view));
        else for (const l of [...usageLines(view, io), io.c.dim(url)]) io.out(l);
        return EXIT.ok;
      });
    }),
  );
}

const STATUS_COLORS = { missing: 'red', stale: 'red', failed: 'yellow', pending: 'cyan', ok: 'green', unprotected: 'dim' } as const;

function reportLines(r: BackupReport, io: Io): string[] {
  const rows = r.workspaces.map((w) => [
    w.workspaceId,
    w.protected ? 'yes' : 'no',
    io.c[STATUS_COLORS[w.status]](w.status),
    w.lastBackupAt ? `${w.lastBackupName} ${fmtTime(w.lastBackupAt)}` : '-',
    w.ageSeconds === null ? '-' : formatDuration(w.ageSeconds * 1000),
    String(w.succeeded),
    String(w.failed),
    String(w.skipped),
    String(w.holds),
  ]);
  const t = r.totals;
  rows.push([
    io.c.bold('TOTAL'),
    `${t.protected}/${t.workspaces}`,
    r.ok ? 'ok' : `${t.missesRpo} miss`,
    '',
    `${t.withinRpo} within`,
    String(t.succeeded),
    String(t.failed),
    String(t.skipped),
    String(t.holds),
  ]);
  return [
    `backup report since ${fmtTime(r.since)} (RPO ${r.rpo}): ${r.ok ? 'every protected workspace has a backup within the RPO' : `${t.missesRpo} protected workspace${t.missesRpo === 1 ? '' : 's'} miss the RPO`}`,
    ...table(['WORKSPACE', 'PROTECTED', 'STATUS', 'LAST BACKUP', 'AGE', 'OK RUNS', 'FAILED', 'SKIPPED', 'HOLDS'], rows, io.c),
  ];
}

const FORMATS = ['table', 'json', 'csv'] as const;

function registerReport(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('report')
        .description(
          'The compliance report: per workspace, protected by a schedule or not, the last backup and its age against the RPO, the backup runs that succeeded, failed or were skipped ' +
            '(cancelled, terminated) in the period, and held snapshots; totals at the end. Exits 1 when a protected workspace misses the RPO, like `rigsnap audit`.',
        ),
      { requestKey: true },
    )
      .option('--since <duration>', 'the period whose backup runs are counted (default 24h)')
      .option('--rpo <duration>', `recovery point objective (default ${DEFAULT_RPO})`)
      .option('--format <format>', 'table, json or csv (columns: see docs/cli.md)'),
    ['rigsnap report', 'rigsnap report --since 7d --format csv > report.csv', 'rigsnap report --format json'],
  ).action(
    act(async (o: CommonOptions & { since?: string; rpo?: string; format?: string }) => {
      const format = o.json ? 'json' : (o.format ?? 'table');
      if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: must be table, json or csv (got "${format}")`);
      const io = ioOf({ json: format !== 'table' });
      const input = precheck(domain().ReportBackupsInput, {
        ...(o.since !== undefined ? { since: o.since } : {}),
        ...(o.rpo !== undefined ? { rpo: o.rpo } : {}),
      });
      return withClient(o, async (rig) => {
        const report = await (await rig.startReport(input, keyOf(o))).result();
        if (format === 'csv') process.stdout.write(reportCsv(report));
        else if (format === 'json') io.out(JSON.stringify(report));
        else for (const l of reportLines(report, io)) io.out(l);
        return report.ok ? EXIT.ok : EXIT.failed;
      });
    }),
  );
}

/** Registers discover, usage and report. */
export function registerInventory(program: Command, act: Act): void {
  registerDiscover(program, act);
  registerUsage(program, act);
  registerReport(program, act);
}
