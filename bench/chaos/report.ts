import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import type { CheckFindings } from './checks.js';
import type { WorkspaceDeletions } from './deletions.js';
import type { Disruptions } from './disruptions.js';
import { quantiles, stopStepAt, type ChaosContext, type ChaosReport, type Quantiles } from './model.js';
import { stoppedAtStart } from './setup.js';

/**
 * The chaos run's report: its figures (faults met, time per operation, idle time between queued
 * operations), the evidence written when a check fails (histories, emulator calls, results, worker
 * output), and the text `npm run chaos` prints.
 */

/** Seconds per operation from its stop to its end, and a workspace's idle seconds between queued phase-1 operations. */
function timing(ctx: ChaosContext): ChaosReport['timing'] {
  const busy: number[] = [];
  const idleBetween: number[] = [];
  for (const id of ctx.workspaceIds) {
    const ops = ctx.completed.filter((c) => c.op.workspaceId === id).sort((a, b) => stopStepAt(a.result.steps) - stopStepAt(b.result.steps));
    for (const [i, c] of ops.entries()) {
      const end = Date.parse(c.result.steps[c.result.steps.length - 1]?.finishedAt ?? '');
      busy.push((end - stopStepAt(c.result.steps)) / 1000);
      const next = ops[i + 1];
      if (next && next.op.phase === 1 && c.op.phase === 1) idleBetween.push((stopStepAt(next.result.steps) - end) / 1000);
    }
  }
  return { busy: quantiles(busy), idleBetween: quantiles(idleBetween) };
}

/** Writes the evidence when asked (always, or when a check failed); returns where, or null. */
function writeEvidence(ctx: ChaosContext, findings: CheckFindings, ok: boolean): string | null {
  const mode = ctx.o.writeEvidence ?? 'on-failure';
  if (!(mode === 'always' || (mode === 'on-failure' && !ok))) return null;
  const { emu } = ctx.stack;
  const dir = ctx.o.evidenceDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-chaos-evidence-'));
  fs.mkdirSync(path.join(dir, 'histories'), { recursive: true });
  const write = (name: string, data: unknown) => fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2));
  write('checks.json', findings.checks);
  write(
    'operations.json',
    ctx.allOps.map((op) => ({
      ...op,
      workflowType: WORKFLOW_TYPES[op.type],
      outcome: ctx.outcomes.get(op.workflowId),
      result: ctx.completed.find((c) => c.op === op)?.result ?? null,
    })),
  );
  write('emulator-calls.json', emu.calls);
  write('emulator-created.json', emu.state.created);
  write('emulator-state.json', { ...emu.state.data, deleted: Object.fromEntries(ctx.deletedSnapshots) });
  for (const h of findings.histories) write(path.join('histories', `${h.workflowId}__${h.runId ?? 'latest'}.json`), historyToJSON(h.history));
  for (const w of ctx.stack.workers) write(`worker-${w.pid}.log`, w.output.join(''));
  ctx.log(`chaos: evidence written to ${dir}`);
  return dir;
}

/** The report of a finished run (writing the evidence if it is due). */
/** The figures of the terminal conditions, read from the checks that measure them. */
function terminalFigures(findings: CheckFindings, deletions: WorkspaceDeletions): ChaosReport['terminal'] {
  const figure = (name: string) => Number.parseInt(findings.checks.find((c) => c.name.startsWith(name))?.value ?? 'NaN', 10);
  return {
    workspacesDeleted: deletions.deleted,
    endedWorkspaceGone: deletions.outcomes.filter((o) => o.ended === 'WorkspaceGone').length,
    leftDown: figure('workspaces not in their expected state'),
    duplicates: figure('duplicate snapshots'),
    stuckRuns: figure('runs still open at the end'),
  };
}

export function buildReport(ctx: ChaosContext, disruptions: Disruptions, findings: CheckFindings, deletions: WorkspaceDeletions): ChaosReport {
  const { o, faults, delays } = ctx;
  const ok = findings.checks.every((c) => c.ok);
  const allOps = ctx.allOps;
  const calls = ctx.stack.emu.calls.slice(ctx.callsBefore);
  const byType: Record<string, number> = {};
  for (const op of allOps) if (ctx.outcomeOf(op) === 'completed') byType[op.type] = (byType[op.type] ?? 0) + 1;
  const adopted = ctx.completed.filter((c) => 'adopted' in c.result && c.result.adopted).length;
  return {
    ok,
    seed: o.seed,
    settings: {
      operations: o.operations,
      phase1Operations: ctx.phase1Count,
      phase2Operations: ctx.phase2Plan.length,
      workspaces: o.workspaces,
      stoppedWorkspaces: stoppedAtStart(ctx),
      killEverySeconds: o.killEverySeconds,
      serverRestarts: o.serverRestarts,
      cancelRate: o.cancelRate,
      workers: o.workers,
      topology: o.topology,
      faults,
      delays,
    },
    operations: {
      total: allOps.length,
      completed: allOps.length - findings.notCompleted.length - findings.cancelledOps.length,
      cancelled: findings.cancelledOps.length,
      cancelRequested: ctx.cancelRequested,
      byType,
      notCompleted: findings.notCompleted,
    },
    faults: {
      apiCalls: calls.length,
      unavailable: calls.filter((c) => c.outcome === 'unavailable').length,
      rateLimited: calls.filter((c) => c.outcome === 'rate-limited').length,
      lost: calls.filter((c) => c.outcome === 'lost').length,
      lostCreates: calls.filter((c) => c.outcome === 'lost' && c.method === 'POST' && c.route === '/api/workspaces/:id/snapshots').length,
    },
    snapshots: {
      created: findings.createdCount,
      handMade: [...ctx.handMade.values()].flat().length,
      seededBackups: ctx.seededBackups,
      pruned: findings.prunedCount,
      adopted,
    },
    workerKills: disruptions.workerKills,
    lockTerminations: disruptions.lockTerminations,
    terminal: terminalFigures(findings, deletions),
    workersStarted: disruptions.workersStarted,
    unexpectedWorkerExits: disruptions.unexpectedWorkerExits,
    serverRestarts: disruptions.serverRestarts,
    serverDownMs: disruptions.serverDownMs,
    historiesScanned: findings.historiesScanned,
    historyEventsScanned: findings.historyEventsScanned,
    evidenceDir: writeEvidence(ctx, findings, ok),
    wallTimeMs: Date.now() - ctx.wallStart,
    phase1Ms: ctx.phase1Ms,
    timing: timing(ctx),
    phase2Ms: ctx.phase2Ms,
    checks: findings.checks,
  };
}

const pct = (n: number) => `${Math.round(n * 100)}%`;

/** The report as `npm run chaos` prints it. */
export function formatReport(r: ChaosReport): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push('rigsnap chaos report');
  lines.push('');
  lines.push(
    `  ${s.operations} operations (${s.phase1Operations} concurrent in phase 1, then ${s.phase2Operations} restores in phase 2) on ` +
      `${s.workspaces} workspaces (${s.stoppedWorkspaces} created stopped)`,
  );
  lines.push(
    `  completed by type: ${Object.entries(r.operations.byType)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(
    `  cancelled (as from the UI, 0-4 s after the start): ${r.operations.cancelRequested} requested (${pct(s.cancelRate)} of phase 1), ` +
      `${r.operations.cancelled} ended Cancelled, the rest had finished first`,
  );
  lines.push(
    `  faults (seed ${r.seed}): ${r.faults.unavailable} × 503, ${r.faults.rateLimited} × 429 (Retry-After ${s.faults.retryAfterSeconds} s), ` +
      `${r.faults.lost} lost answers (${r.faults.lostCreates} of them to snapshot creates), of ${r.faults.apiCalls} Rigbox API calls ` +
      `(rates ${pct(s.faults.unavailableRate)} / ${pct(s.faults.rateLimitRate)} / ${pct(s.faults.lostResponseRate)})`,
  );
  lines.push(
    `  worker kills: ${r.workerKills} (SIGKILL every ~${s.killEverySeconds} s); workers started ${r.workersStarted}; ` +
      `workers that died on their own ${r.unexpectedWorkerExits}`,
  );
  lines.push(`  topology: ${s.topology}; ${s.workers} worker process${s.workers === 1 ? '' : 'es'} at once`);
  lines.push(`  server restarts: ${r.serverRestarts} (Temporal down ${(r.serverDownMs / 1000).toFixed(1)} s, on the same state)`);
  lines.push(`  workspace entities terminated while held: ${r.lockTerminations}`);
  const t = r.terminal;
  lines.push(
    `  workspaces deleted mid-run: ${t.workspacesDeleted}, their operations ended WorkspaceGone: ${t.endedWorkspaceGone}; ` +
      `left down ${t.leftDown}, duplicates ${t.duplicates}, stuck runs ${t.stuckRuns}`,
  );
  lines.push(
    `  snapshots made by Rigbox: ${r.snapshots.created} (${r.snapshots.handMade} hand-made and ${r.snapshots.seededBackups} older backups at setup); ` +
      `pruned ${r.snapshots.pruned}; snapshot/backup results that adopted a snapshot a lost answer or killed worker left ${r.snapshots.adopted}`,
  );
  lines.push(`  wall time: ${(r.wallTimeMs / 1000).toFixed(1)} s (phase 1 ${(r.phase1Ms / 1000).toFixed(1)} s, phase 2 ${(r.phase2Ms / 1000).toFixed(1)} s)`);
  const q = (x: Quantiles) => `median ${x.median.toFixed(1)} s, p90 ${x.p90.toFixed(1)} s, max ${x.max.toFixed(1)} s (n ${x.n})`;
  lines.push(`  operation time, stop to end: ${q(r.timing.busy)}`);
  lines.push(`  workspace idle between queued operations (phase 1): ${q(r.timing.idleBetween)}`);
  lines.push('');
  const width = Math.max(...r.checks.map((c) => c.name.length));
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.value}`);
    for (const d of c.details.slice(0, 20)) lines.push(`          - ${d}`);
    if (c.details.length > 20) lines.push(`          … and ${c.details.length - 20} more`);
  }
  lines.push('');
  if (r.evidenceDir) lines.push(`  evidence (histories, emulator calls, results, worker output): ${r.evidenceDir}`);
  lines.push(r.ok ? '  RESULT: PASS' : '  RESULT: FAIL');
  return lines.join('\n');
}
