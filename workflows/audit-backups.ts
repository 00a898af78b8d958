import { WORKFLOW_TYPES } from '../contract/index.js';
import { auditOffenders, evaluateAudit } from '../domain/audit.js';
import type { AuditBackupsInput } from '../domain/inputs.js';
import { VERDICT_LABELS } from '../domain/labels.js';
import type { AuditBackupsResult } from '../domain/results.js';
import { describeMissing } from '../domain/tamper.js';
import { formatDuration, parseDuration } from '../domain/time.js';
import * as schemas from '../domain/schemas.js';
import { ProgressTracker, activities, asWorkflowFailure, tagWorkflow, checkedInput } from './common.js';
import { reportAudit } from './metrics.js';
import { notifyFailure } from './notify.js';
import { PATCHES, hasPatch } from './patches.js';

/** Offenders named in one notification; the rest are counted. */
const MAX_NOTIFIED = 50;

/**
 * "Is everything backed up?": for every workspace under protection (the backup and fleet schedules of
 * this task queue, plus the ids given) the newest backup in Rigbox, its age, whether the last backup
 * run failed, and a verdict; and every workspace with snapshots but no schedule. Read through the
 * worker, so callers need no Rigbox token. With `notify`, sends one notification listing the
 * offenders, and nothing when all is well. Read-only: it takes no lock.
 */
export async function auditBackups(rawInput: AuditBackupsInput = {}): Promise<AuditBackupsResult> {
  const input = await checkedInput(WORKFLOW_TYPES.audit, schemas.auditBackupsInput, rawInput);
  tagWorkflow(null, 'audit');
  const tracker = new ProgressTracker('audit', null);
  const rpoMs = parseDuration(input.rpo)!;
  let report: Omit<AuditBackupsResult, 'notified'>;
  try {
    tracker.begin('list');
    // Runs that closed long before the RPO cannot change a verdict: the backup they made, if any, is stale anyway.
    const runsSinceMs = Date.now() - Math.max(2 * rpoMs, 2 * 86_400_000);
    // Histories from before it replay without the existence check (the activity's input changed).
    const checkExistence = hasPatch(PATCHES.inventory2026_12);
    // And without the tamper check (the activity's input changed again).
    const checkHolds = hasPatch(PATCHES.tamper2026_12);
    const inventory = await activities('inventory', 'read schedules, snapshots and backup runs').auditInventory({
      workspaceIds: input.workspaceIds,
      ...(input.namePrefix ? { namePrefix: input.namePrefix } : {}),
      runsSinceMs,
      ...(checkExistence ? { checkExistence } : {}),
      ...(checkHolds ? { checkHolds } : {}),
    });
    report = evaluateAudit(inventory, input.rpo, Date.now());
    tracker.end();
  } catch (err) {
    tracker.finish('failed');
    throw asWorkflowFailure(err, 'list');
  }
  reportAudit(report);
  tracker.setDetail({ ...report.counts, ok: report.ok });

  const offenders = auditOffenders(report);
  let notified = false;
  if (input.notify && offenders.length > 0) {
    tracker.begin('notify');
    const lines = offenders
      .slice(0, MAX_NOTIFIED)
      .map(
        (w) =>
          `${w.workspaceId}: ${w.verdict} (${VERDICT_LABELS[w.verdict]})` +
          (w.ageSeconds !== null ? `, newest backup ${formatDuration(w.ageSeconds * 1000)} old` : '') +
          (w.lastRunFailed ? `, last run ${w.lastRun!.status}` : '') +
          (w.missingHeld?.length ? `: ${w.missingHeld.map(describeMissing).join('; ')}` : ''),
      );
    if (offenders.length > MAX_NOTIFIED) lines.push(`… and ${offenders.length - MAX_NOTIFIED} more`);
    const misses = report.counts.missing + report.counts.stale;
    await notifyFailure({
      text:
        `rigsnap audit: ${offenders.length} of ${report.workspaces.length} protected workspaces need attention ` +
        `(${misses} miss the ${input.rpo} RPO)\n${lines.join('\n')}`,
      workspaceId: null,
      errorType: report.counts.tampered ? 'HeldSnapshotDeleted' : misses > 0 ? 'RpoMissed' : 'BackupFailed',
      message:
        (report.counts.tampered ? `${report.counts.tampered} workspaces lost a held snapshot outside rigsnap; ` : '') +
        `${misses} workspaces miss the ${input.rpo} RPO; ${report.counts.failed} had their last backup run fail`,
      failures: offenders.slice(0, MAX_NOTIFIED).map((w) => ({
        workspaceId: w.workspaceId,
        errorType: w.verdict,
        message: VERDICT_LABELS[w.verdict],
      })),
    });
    notified = true;
  }
  tracker.finish('completed');
  return { ...report, notified };
}
