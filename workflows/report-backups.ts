import type { ReportBackupsInput } from '../domain/inputs.js';
import { backupReport } from '../domain/inventory-views.js';
import type { ReportBackupsResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import { formatDuration, parseDuration } from '../domain/time.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, validateInput } from './common.js';
import { notifyFailure } from './notify.js';

/** Workspaces named in the notification's text; the report itself (its `report` field) has them all. */
const MAX_LINES = 50;

/**
 * The compliance report: per workspace that exists, protected or not, its last backup against the RPO,
 * the backup runs of the period (succeeded, failed, skipped) and its holds, with totals; `ok` false when
 * a protected workspace misses the RPO. A view of the same inventory as `usage` and `discover`, built
 * with workflow time. With `notify` (the report's schedule) it posts the report to RIGSNAP_NOTIFY_URL
 * every time, and the result keeps it. Read-only: it takes no lock.
 */
export async function reportBackups(rawInput: ReportBackupsInput = {}): Promise<ReportBackupsResult> {
  const input = validateInput(schemas.reportBackupsInput(), rawInput);
  tagWorkflow(null, 'report');
  const tracker = new ProgressTracker('report', null);
  let report: Omit<ReportBackupsResult, 'notified'>;
  try {
    tracker.begin('list');
    const inventory = await activities('inventory', 'read snapshots, workspaces, schedules and runs').workspaceInventory({
      checkExistence: true,
      sinceMs: Date.now() - parseDuration(input.since)!,
      workspaceIds: [],
    });
    report = backupReport(inventory, { rpo: input.rpo, rpoMs: parseDuration(input.rpo)!, nowMs: Date.now() });
    tracker.end();
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, 'list');
  }
  const t = report.totals;
  tracker.setDetail({ ok: report.ok, workspaces: t.workspaces, missesRpo: t.missesRpo, failedRuns: t.failed });
  if (input.notify) {
    tracker.begin('notify');
    const lines = report.workspaces
      .filter((w) => w.status !== 'ok' && w.status !== 'unprotected')
      .slice(0, MAX_LINES)
      .map(
        (w) =>
          `${w.workspaceId}: ${w.status}${w.ageSeconds !== null ? `, last backup ${formatDuration(w.ageSeconds * 1000)} old` : ''}${w.failed ? `, ${w.failed} failed runs` : ''}`,
      );
    await notifyFailure({
      text:
        `rigsnap report since ${report.since} (RPO ${report.rpo}): ${t.protected} of ${t.workspaces} workspaces protected, ${t.withinRpo} within the RPO, ` +
        `${t.missesRpo} miss it, ${t.pending} pending; runs: ${t.succeeded} ok, ${t.failed} failed, ${t.skipped} skipped` +
        (lines.length ? `\n${lines.join('\n')}` : ''),
      workspaceId: null,
      errorType: report.ok ? null : 'RpoMissed',
      message: report.ok ? 'every protected workspace has a backup within the RPO' : `${t.missesRpo} protected workspaces miss the ${report.rpo} RPO`,
      report,
    });
  }
  tracker.finish('completed');
  return { ...report, notified: input.notify };
}
