import type { z } from 'zod';
import { formatSelector } from '../domain/enrollment.js';
// The type names only: contract/index.js also defines messages with @temporalio/workflow, which --help must not load.
import { WORKFLOW_TYPES } from '../contract/workflow-types.js';
import type {
  AuditBackupsResult,
  BackupFleetResult,
  BackupWorkspaceResult,
  CheckpointGroupResult,
  CheckpointWorkspaceResult,
  DeleteSnapshotResult,
  ListSnapshotsResult,
  PruneSnapshotsResult,
  RestoreGroupResult,
  RestoreWorkspaceResult,
  RigboxSnapshot,
  SnapshotGroupResult,
  SnapshotWorkspaceResult,
} from '../domain/index.js';
import type { RigsnapClient } from '../client/rigsnap-client.js';
import { EXIT, table, type Io } from './io.js';
import type { OperationOutput } from './operation.js';
import { domain, fleetSummaryOf, fmtBytes, fmtTime, formatDuration, groupRestoreOf, groupSnapshotOf } from './run-deps.js';

/**
 * How each workflow's result reads: the one-line result and the tables the command that ran it prints,
 * and `status` prints for a finished run of that type.
 */

/** GiB with three decimals, as `usage` shows them. */
export const fmtGib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(3)} GiB`;

export const snap = (s: RigboxSnapshot) => `${s.id} "${s.name}"`;

export function snapshotOutput(): OperationOutput<SnapshotWorkspaceResult> {
  return {
    line: (r) =>
      `snapshot "${r.snapshot.name}" of ${r.snapshot.workspace_id} is ${r.snapshot.id} (${fmtBytes(r.snapshot.size_bytes)}); workspace ${r.workspaceStatus}${r.adopted ? ' (recovered after a lost response)' : ''}`,
  };
}

/** A group snapshot: the set, and a table of each member's outcome (also for its PartialFailure). */
export function groupSnapshotOutput(io: Io): OperationOutput<SnapshotGroupResult> {
  return {
    line: (r) =>
      `group snapshot "${r.name}" of ${r.group ? `group ${r.group}` : `${r.members.length} workspaces`}: ` +
      `${r.members.filter((m) => m.snapshotId).length} of ${r.members.length} snapshots${r.complete ? '' : ', INCOMPLETE'}` +
      (r.recorded ? '' : ` (not recorded: ${r.recordedWhy ?? 'unknown'})`),
    more: (r) =>
      table(
        ['WORKSPACE', 'OUTCOME', 'SNAPSHOT', 'NOW'],
        r.members.map((m) => [
          m.workspaceId,
          m.outcome === 'snapshotted' ? io.c.green(m.outcome) : io.c.red(m.errorType ? `${m.outcome}: ${m.errorType}` : m.outcome),
          m.snapshotId ?? '-',
          m.workspaceStatus,
        ]),
        io.c,
      ),
    exitCode: (r) => (r.complete ? EXIT.ok : EXIT.failed),
    resultOfFailure: (err) => groupSnapshotOf(err),
  };
}

export function restoreOutput(): OperationOutput<RestoreWorkspaceResult> {
  return {
    line: (r) =>
      `${r.restored.workspace_id} restored to ${snap(r.restored)}${r.safetySnapshot ? `; safety snapshot ${snap(r.safetySnapshot)}` : ''}; workspace ${r.workspaceStatus}`,
  };
}

/** A group restore: one line, then each member's state; a RolledBack or PartialFailure carries the same (exit 1). */
export function groupRestoreOutput(io: Io): OperationOutput<RestoreGroupResult> {
  return {
    line: (r) => {
      const what = r.group ? `group ${r.group} (set "${r.set}")` : `${r.members.length} workspaces`;
      if (r.verdict === 'restored') return `${what} restored, all ${r.members.length} members; started in order ${r.startOrder.join(' → ')}`;
      if (r.verdict === 'undone') return `${what} NOT restored: a member failed, and every member is back as it began (all or nothing)`;
      return `${what} is NOT all or nothing: see the members below; the ones marked rollback-failed need a hand`;
    },
    more: (r) =>
      table(
        ['WORKSPACE', 'STATE', 'SNAPSHOT', 'SAFETY SNAPSHOT', 'WHY'],
        r.members.map((m) => [m.workspaceId, m.outcome, m.snapshotId, m.safetySnapshotId ?? '-', m.error ?? '']),
        io.c,
      ),
    resultOfFailure: (err) => {
      const r = groupRestoreOf(err);
      return r && err.type !== 'CancelledAfterChange' ? { ...r, steps: [] } : null;
    },
  };
}

export function deleteOutput(): OperationOutput<DeleteSnapshotResult> {
  return { line: (r) => `deleted ${snap(r.snapshot)} of ${r.workspaceId}` };
}

export function listOutput(io: Io): OperationOutput<ListSnapshotsResult> {
  return {
    line: (r) => `${r.count} snapshot${r.count === 1 ? '' : 's'}${r.workspaceId ? ` of ${r.workspaceId}` : ''}, ${fmtBytes(r.totalSizeBytes)} in all`,
    more: (r) =>
      r.count === 0
        ? []
        : table(
            ['ID', 'NAME', ...(r.workspaceId ? [] : ['WORKSPACE']), 'SIZE', 'CREATED'],
            r.snapshots.map((s) => [s.id, s.name, ...(r.workspaceId ? [] : [s.workspace_id]), fmtBytes(s.size_bytes), fmtTime(s.created_at)]),
            io.c,
          ),
  };
}

/** The checkpoint and safety snapshots past their retention: "expired 2 checkpoint and safety snapshots (1.5 GiB); 1 more waits, the next due 2026-12-20 03:00". */
function expiredText(e: NonNullable<PruneSnapshotsResult['expired']>, dryRun: boolean): string {
  const head = `${dryRun ? 'would expire' : 'expired'} ${e.count} checkpoint and safety snapshot${e.count === 1 ? '' : 's'}${e.count ? ` (${fmtGib(e.bytes)})` : ''}`;
  if (!e.waitingCount) return head;
  return `${head}; ${e.waitingCount} more kept for now${e.nextDueAt ? `, the next due ${fmtTime(e.nextDueAt)}` : ''}`;
}

export function pruneOutput(io: Io): OperationOutput<PruneSnapshotsResult> {
  return {
    line: (r) =>
      `${r.dryRun ? 'dry run: would keep' : 'kept'} ${r.keptCount ?? r.kept.length}, ${r.dryRun ? 'would delete' : 'deleted'} ${r.deletedCount ?? r.deleted.length} of the "${r.namePrefix}*" snapshots of ${r.workspaceId}` +
      (r.deletedBytes !== undefined ? `, ${r.dryRun ? 'freeing' : 'freed'} ${fmtGib(r.deletedBytes)}` : '') +
      (r.ignored ? ` (${r.ignored} other snapshot${r.ignored === 1 ? '' : 's'} not touched)` : '') +
      (r.expired ? `; ${expiredText(r.expired, r.dryRun)}` : ''),
    more: (r) => {
      const rows = [
        ...r.kept.map((k) => [io.c.green('keep'), k.snapshot.id, k.snapshot.name, fmtTime(k.snapshot.created_at), k.reasons.join(', ')]),
        ...r.deleted.map((s) => [io.c.red(r.dryRun ? 'would delete' : 'deleted'), s.id, s.name, fmtTime(s.created_at), '']),
        ...(r.expired?.snapshots ?? []).map((s) => [io.c.red(r.dryRun ? 'would expire' : 'expired'), s.id, s.name, fmtTime(s.created_at), '']),
      ];
      return rows.length ? table(['ACTION', 'ID', 'NAME', 'CREATED', 'KEPT BECAUSE'], rows, io.c) : [];
    },
  };
}

/** How many of a fleet's backups the CLI looks up and lists after the run. */
const FLEET_BACKUPS_LISTED = 50;

export function fleetOutput(io: Io, workspaceIds?: string[]): OperationOutput<BackupFleetResult> {
  return {
    line: (r) =>
      `fleet backup: ${r.succeeded} of ${r.total} succeeded${r.failedCount ? `, ${r.failedCount} failed` : ''}${r.runs > 1 ? ` (${r.runs} runs)` : ''}`,
    // With the workspaces known (the run was started here), the backups table below says it all.
    more: (r) => [
      ...(r.selector
        ? [
            `selector ${formatSelector(r.selector)} matched ${r.total}: ${(r.matched ?? []).join(', ') || 'none'}${r.total > (r.matched?.length ?? 0) ? ', …' : ''}`,
          ]
        : []),
      ...(workspaceIds || !r.failed.length
        ? []
        : table(
            ['WORKSPACE', 'ERROR', 'MESSAGE'],
            r.failed.map((f) => [f.workspaceId, f.errorType, f.message]),
            io.c,
          )),
    ],
    exitCode: (r) => (r.failedCount > 0 ? EXIT.failed : EXIT.ok),
    resultOfFailure: (err) => fleetSummaryOf(err),
    ...(workspaceIds
      ? {
          extra: async (rig: RigsnapClient, workflowId: string) => {
            const backups = await rig.fleetBackups(workflowId, workspaceIds, FLEET_BACKUPS_LISTED);
            const rows = backups.map((b) =>
              b.snapshot
                ? [b.workspaceId, io.c.green('backed up'), b.snapshot.id, b.snapshot.name]
                : [b.workspaceId, io.c.red(b.status.toLowerCase()), b.error ? `${b.error.type}: ${b.error.message}` : '', ''],
            );
            const lines = rows.length ? table(['WORKSPACE', 'RESULT', 'SNAPSHOT', 'NAME'], rows, io.c) : [];
            if (workspaceIds.length > backups.length) {
              lines.push(`… and ${workspaceIds.length - backups.length} more: \`rigsnap status ${workflowId}-<workspace>\` shows each`);
            }
            return { lines, json: { backups } };
          },
        }
      : {}),
  };
}

export function checkpointEnded(r: CheckpointWorkspaceResult | CheckpointGroupResult): string {
  if ('group' in r) {
    return `checkpoint "${r.name}" of group ${r.group} ended by ${r.endedBy} after ${r.rollbacks} rollback${r.rollbacks === 1 ? '' : 's'}; its set's ${r.members.length} snapshots ${r.snapshotDeleted ? 'deleted' : 'kept'}`;
  }
  return `checkpoint of ${r.workspaceId} (${snap(r.snapshot)}) ended by ${r.endedBy} after ${r.rollbacks} rollback${r.rollbacks === 1 ? '' : 's'}; snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'}`;
}

export function backupOutput(io: Io): OperationOutput<BackupWorkspaceResult> {
  return {
    line: (r) =>
      !r.snapshot
        ? `backup skipped by ${r.skipped?.by ?? 'rigsnap'} (${r.skipped?.reason ?? 'skipped'}): nothing was stopped`
        : `backup "${r.snapshot.name}" of ${r.snapshot.workspace_id} is ${r.snapshot.id} (${fmtBytes(r.snapshot.size_bytes)}); workspace ${r.workspaceStatus}` +
          (r.prune ? `; retention kept ${r.prune.kept.length}, deleted ${r.prune.deleted.length}` : ''),
    more: (r) => (r.prune ? pruneOutput(io).more!(r.prune) : []),
  };
}

const VERDICT_COLORS = { tampered: 'red', missing: 'red', stale: 'red', failed: 'yellow', pending: 'cyan', ok: 'green' } as const;

/** The audit's tampered section: each held or baseline snapshot gone from Rigbox without rigsnap deleting it. */
function tamperedLines(io: Io, r: AuditBackupsResult): string[] {
  const rows = r.workspaces.flatMap((w) =>
    (w.missingHeld ?? []).map((m) => [
      w.workspaceId,
      m.snapshotId,
      m.name ?? '-',
      m.guardedBy.map((g) => (g.kind === 'baseline' ? 'baseline' : `hold "${g.reason}" (${g.kind}, by ${g.by})`)).join('; '),
      m.lastSeen ? fmtTime(m.lastSeen) : `never audited; held since ${m.heldSince ? fmtTime(m.heldSince) : '?'}`,
    ]),
  );
  if (!rows.length) return [];
  return [
    '',
    io.c.bold(io.c.red('tampered: held or baseline snapshots gone from Rigbox that rigsnap did not delete')),
    ...table(['WORKSPACE', 'SNAPSHOT', 'NAME', 'GUARDED BY', 'LAST SEEN'], rows, io.c),
    'see who deleted them in Rigbox’s logs; `rigsnap holds <workspace>` shows the holds, `rigsnap unhold` ends one (docs/operations.md)',
  ];
}

export function auditOutput(io: Io): OperationOutput<AuditBackupsResult> {
  const age = (s: number | null) => (s === null ? '-' : formatDuration(s * 1000));
  return {
    line: (r) => {
      const misses = r.counts.missing + r.counts.stale;
      // A row the tamper check added for a workspace nothing schedules or names has no backup prefix: not "protected".
      const total = r.workspaces.filter((w) => w.namePrefixes.length > 0).length;
      return (
        `audit (RPO ${r.rpo}): ` +
        (r.counts.tampered ? `${r.counts.tampered} workspace${r.counts.tampered === 1 ? '' : 's'} TAMPERED (held snapshots deleted outside rigsnap); ` : '') +
        `${misses === 0 ? `all ${total} protected workspaces have a backup within the RPO` : `${misses} of ${total} protected workspaces miss the RPO`}` +
        (r.counts.failed ? `, ${r.counts.failed} with a failed last run` : '') +
        (r.counts.pending ? `, ${r.counts.pending} pending (new schedule, no backup yet)` : '') +
        (r.counts.unprotected ? `; ${r.counts.unprotected} unprotected` : '') +
        (r.orphans?.count ? `; ${r.orphans.count} orphan snapshot${r.orphans.count === 1 ? '' : 's'} of deleted workspaces` : '') +
        (r.notified ? '; notification sent' : '')
      );
    },
    more: (r) => {
      const lines: string[] = [];
      if (r.workspaces.length) {
        lines.push(
          ...table(
            ['WORKSPACE', 'VERDICT', 'NEWEST BACKUP', 'AGE', 'LAST RUN', 'SCHEDULES'],
            r.workspaces.map((w) => [
              w.workspaceId,
              io.c[VERDICT_COLORS[w.verdict]](w.verdict),
              w.newestBackup ? `${w.newestBackup.name} (${w.newestBackup.id})` : '-',
              age(w.ageSeconds),
              w.lastRun
                ? `${w.lastRun.skipped ? `skipped (${w.lastRun.skipped.reason}, by ${w.lastRun.skipped.by})` : w.lastRun.status} ${fmtTime(w.lastRun.closedAt)}${w.lastRun.requestedBy ? ` (asked by ${w.lastRun.requestedBy})` : ''}`
                : '-',
              w.schedules.length
                ? `${w.schedules.join(', ')}${w.paused ? ' (paused)' : ''}`
                : w.namePrefixes.length
                  ? '(named on the command line)'
                  : '(none: audited for its holds)',
            ]),
            io.c,
          ),
        );
      }
      lines.push(...tamperedLines(io, r));
      if (r.unprotected.length) {
        lines.push('', io.c.bold('unprotected: snapshots in Rigbox, but no schedule'));
        lines.push(
          ...table(
            ['WORKSPACE', 'SNAPSHOTS', 'SIZE', 'NEWEST'],
            r.unprotected.map((u) => [
              u.workspaceId,
              String(u.snapshotCount),
              fmtBytes(u.snapshotBytes),
              u.newestSnapshot ? `${u.newestSnapshot.name} ${fmtTime(u.newestSnapshot.created_at)}` : '-',
            ]),
            io.c,
          ),
        );
      }
      if (r.orphans?.count) {
        lines.push(
          '',
          io.c.bold('orphans: snapshots of workspaces that no longer exist (never restorable)'),
          `${r.orphans.count} snapshot${r.orphans.count === 1 ? '' : 's'}, ${fmtBytes(r.orphans.bytes)}, of ${r.orphans.workspaceIds.join(', ')}: ` +
            '`rigsnap prune --orphans --older-than 30d` deletes them',
        );
      }
      return lines;
    },
    exitCode: (r) => (r.ok ? EXIT.ok : EXIT.failed),
  };
}

/** A finished run's result read with its type's schema, then described as its command would. */
function describedWith<S extends z.ZodType>(schema: S, output: OperationOutput<z.output<S>>) {
  return (result: unknown): { line: string; more: string[] } | null => {
    const parsed = schema.safeParse(result);
    return parsed.success ? { line: output.line(parsed.data), more: output.more?.(parsed.data) ?? [] } : null;
  };
}

/** How each workflow type's result reads, for `status`: the same line the command that ran it prints. */
export function resultLines(io: Io, workflowType: string, result: unknown): string[] {
  const describers: Record<string, (result: unknown) => { line: string; more: string[] } | null> = {
    [WORKFLOW_TYPES.snapshot]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.snapshot], snapshotOutput()),
    [WORKFLOW_TYPES.restore]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.restore], restoreOutput()),
    [WORKFLOW_TYPES.delete]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.delete], deleteOutput()),
    [WORKFLOW_TYPES.list]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.list], listOutput(io)),
    [WORKFLOW_TYPES.prune]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.prune], pruneOutput(io)),
    [WORKFLOW_TYPES.backup]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.backup], backupOutput(io)),
    [WORKFLOW_TYPES['fleet-backup']]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES['fleet-backup']], fleetOutput(io)),
    [WORKFLOW_TYPES.checkpoint]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES.checkpoint], { line: checkpointEnded }),
    [WORKFLOW_TYPES['group-snapshot']]: describedWith(domain().RESULT_SCHEMAS[WORKFLOW_TYPES['group-snapshot']], groupSnapshotOutput(io)),
  };
  const describe = describers[workflowType];
  if (!describe || result === null || typeof result !== 'object') return [`  result      ${result === undefined ? '-' : 'see --json'}`];
  const d = describe(result);
  if (!d) return ['  result      (a shape this version does not know; see --json)'];
  return [`  result      ${d.line}`, ...d.more.map((l) => `  ${l}`)];
}

/** How a closed run ended, in words. */
export const ENDED: Record<string, string> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed out',
  CONTINUED_AS_NEW: 'continued as new',
};
