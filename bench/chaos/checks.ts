import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { SAFETY_SNAPSHOT_PREFIX, workflowIds } from '../../domain/index.js';
import { BENCH_TOKEN } from '../stack.js';
import type { Disruptions } from './disruptions.js';
import {
  BACKUP_PREFIX,
  BACKUP_RETENTION,
  describeFiles,
  errorText,
  sameFiles,
  sleep,
  type ChaosCheck,
  type ChaosContext,
  type Files,
  type OperationOutcome,
  type PlannedOperation,
} from './model.js';

/**
 * The chaos run's exact checks, once every operation has ended: the emulator (the ground truth of what
 * Rigbox did) read against what the operations reported. Nothing lost, duplicated, deleted by mistake,
 * left down, overlapping on a workspace, restored wrong, or leaked (the token in a history or a log).
 */

type Role = 'snapshot' | 'safety' | 'backup';
type Claim = { op: PlannedOperation; snapshotId: string; role: Role };
type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** What the checks found, beyond pass or fail: the report's figures and the evidence. */
export interface CheckFindings {
  checks: ChaosCheck[];
  notCompleted: OperationOutcome[];
  cancelledOps: PlannedOperation[];
  /** Snapshots Rigbox made on the run's workspaces. */
  createdCount: number;
  /** Snapshots a prune reported deleting (or a cancelled backup deleted). */
  prunedCount: number;
  histories: Array<{ workflowId: string; runId?: string; history: History }>;
  historiesScanned: number;
  historyEventsScanned: number;
}

/**
 * Every string in a history, with every bytes field (payload data, search attributes, memo, failure
 * details) decoded as UTF-8, so a token inside a JSON payload shows in clear to a substring search.
 * A walk, not JSON.stringify: protobuf messages' toJSON would turn the bytes into base64 first.
 */
export function historyText(history: unknown): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string') out.push(`${key}=${v}`);
    else if (v instanceof Uint8Array) out.push(`${key}=${Buffer.from(v).toString('utf8')}`);
    else if (v && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const [k, child] of Object.entries(v)) walk(child, k);
    }
  };
  walk(history, '');
  return out.join('\n');
}

class Checks {
  readonly list: ChaosCheck[] = [];
  add(name: string, value: string, ok: boolean, details: string[] = []): void {
    this.list.push({ name, value, ok, details });
  }
}

/** Operations completed (or, for those the run cancelled, ended Cancelled). */
function checkCompletion(ctx: ChaosContext, checks: Checks): Pick<CheckFindings, 'notCompleted' | 'cancelledOps'> {
  const allOps = ctx.allOps;
  const notCompleted = [...ctx.outcomes.values()].filter((x) => x.status !== 'completed' && x.status !== 'cancelled');
  const cancelledOps = allOps.filter((op) => ctx.outcomeOf(op) === 'cancelled');
  checks.add(
    'operations completed (or cancelled as asked)',
    `${allOps.length - notCompleted.length}/${allOps.length}`,
    notCompleted.length === 0 && ctx.outcomes.size === allOps.length,
    notCompleted.map((x) => `${x.workflowId} (${x.type}, phase ${x.phase}) ${x.status}: ${x.error ?? ''}`),
  );
  return { notCompleted, cancelledOps };
}

/** Duplicates: every snapshot Rigbox made is claimed by exactly one operation (or the setup). */
function checkClaims(ctx: ChaosContext, checks: Checks, cancelledOps: PlannedOperation[]): Map<string, Claim[]> {
  const { emu } = ctx.stack;
  const claims = new Map<string, string[]>();
  const claim = (snapshotId: string, by: string) => claims.set(snapshotId, [...(claims.get(snapshotId) ?? []), by]);
  for (const [id, what] of ctx.setupClaims) claim(id, `setup (${what})`);
  const claimedBy = new Map<string, Claim[]>();
  for (const c of ctx.completed) {
    const list: Claim[] = [];
    if ((c.kind === 'snapshot' || c.kind === 'backup') && c.result.snapshot) list.push({ op: c.op, snapshotId: c.result.snapshot.id, role: c.kind });
    if (c.kind === 'restore' && c.result.safetySnapshot) list.push({ op: c.op, snapshotId: c.result.safetySnapshot.id, role: 'safety' });
    for (const x of list) claim(x.snapshotId, `${c.op.workflowId} (${x.role})`);
    claimedBy.set(c.op.workflowId, list);
  }
  // A cancelled operation may have made its snapshot (a copy cannot be stopped): the one Rigbox made at
  // its request (X-Rigsnap-Workflow-Id) is its claim. A second one would stay unclaimed: a duplicate.
  for (const op of cancelledOps) {
    const made = emu.state.created.find((c) => c.origin === op.workflowId);
    if (!made) continue;
    const role = op.type === 'restore' ? 'safety' : op.type;
    claim(made.id, `${op.workflowId} (cancelled ${op.type}: ${role})`);
    claimedBy.set(op.workflowId, [{ op, snapshotId: made.id, role }]);
  }
  const created = createdOnRun(ctx);
  const createdIds = new Set(created.map((c) => c.id));
  const unclaimed = created.filter((c) => !claims.has(c.id));
  checks.add(
    'duplicate snapshots (made by Rigbox, claimed by no operation)',
    String(unclaimed.length),
    unclaimed.length === 0,
    unclaimed.map((c) => `${c.id} "${c.name}" of ${c.workspace_id} at ${c.at}`),
  );
  const multiClaimed = [...claims.entries()].filter(([, by]) => by.length > 1);
  const phantom = [...claims.keys()].filter((id) => !createdIds.has(id));
  checks.add(
    'snapshots claimed by more than one operation (or never made)',
    String(multiClaimed.length + phantom.length),
    multiClaimed.length === 0 && phantom.length === 0,
    [...multiClaimed.map(([id, by]) => `${id} claimed by ${by.join(' and ')}`), ...phantom.map((id) => `${id} claimed but never made`)],
  );
  return claimedBy;
}

const createdOnRun = (ctx: ChaosContext) => ctx.stack.emu.state.created.filter((c) => ctx.workspaceIds.includes(c.workspace_id));

/** Deletions: only retention deletes, only candidates, and says so; hand-made snapshots stay; keepLast holds. */
function checkDeletions(ctx: ChaosContext, checks: Checks, cancelledOps: PlannedOperation[]): number {
  const { emu } = ctx.stack;
  const reportedDeleted = new Map<string, string>();
  for (const c of ctx.completed) {
    if (c.kind !== 'backup') continue;
    for (const d of c.result.prune?.deleted ?? []) reportedDeleted.set(d.id, c.op.workflowId);
  }
  // A backup cancelled while it pruned reports nothing; what Rigbox deleted at its request is its doing.
  for (const op of cancelledOps.filter((x) => x.type === 'backup')) {
    for (const c of emu.calls) {
      if (c.origin === op.workflowId && c.method === 'DELETE' && c.snapshotId && (c.outcome === 'ok' || c.outcome === 'lost'))
        reportedDeleted.set(c.snapshotId, op.workflowId);
    }
  }
  const gone = createdOnRun(ctx).filter((c) => !emu.state.data.snapshots[c.id]);
  const unexplained = gone.filter((c) => !reportedDeleted.has(c.id) || !c.name.startsWith(BACKUP_PREFIX));
  checks.add(
    'snapshots deleted without a prune reporting it (or not a retention candidate)',
    String(unexplained.length),
    unexplained.length === 0,
    unexplained.map((c) => `${c.id} "${c.name}" of ${c.workspace_id}`),
  );
  const handMadeGone = [...ctx.handMade.entries()].flatMap(([ws, list]) =>
    list.filter((m) => !emu.state.data.snapshots[m.id]).map((m) => `${m.id} "${m.name}" of ${ws}`),
  );
  checks.add('hand-made snapshots deleted', String(handMadeGone.length), handMadeGone.length === 0, handMadeGone);
  // Retention really ran: every workspace that had a backup ends with exactly keepLast backups.
  const overRetention: string[] = [];
  for (const id of ctx.workspaceIds) {
    if (!ctx.completed.some((c) => c.op.type === 'backup' && c.op.workspaceId === id)) continue;
    const n = emu.state.snapshotsOf(id).filter((s) => s.name.startsWith(BACKUP_PREFIX)).length;
    if (n !== BACKUP_RETENTION.keepLast) overRetention.push(`${id} has ${n} "${BACKUP_PREFIX}" snapshots`);
  }
  checks.add(
    `workspaces not left with keepLast ${BACKUP_RETENTION.keepLast} backups after pruning`,
    String(overRetention.length),
    overRetention.length === 0,
    overRetention,
  );
  return reportedDeleted.size;
}

/** Restored content (phase 2): the workspace now holds the restored snapshot; the safety snapshot holds what it had before. */
function checkPhase2Restores(ctx: ChaosContext, checks: Checks): void {
  const mismatches: string[] = [];
  for (const op of ctx.phase2Plan) {
    const done = ctx.completed.find((c) => c.op === op);
    if (done?.kind !== 'restore') {
      mismatches.push(`${op.workspaceId}: restore ${op.workflowId} did not complete`);
      continue;
    }
    const r = done.result;
    const target = ctx.handMade.get(op.workspaceId)!.find((m) => m.id === op.targetSnapshotId)!;
    const now = ctx.stack.emu.state.workspace(op.workspaceId)!.files;
    const before = ctx.preRestoreFiles.get(op.workspaceId);
    if (r.restored.id !== target.id) mismatches.push(`${op.workspaceId}: result says it restored ${r.restored.id}, asked ${target.id}`);
    if (!sameFiles(now, target.files))
      mismatches.push(`${op.workspaceId}: holds ${describeFiles(now)} after restoring "${target.name}" (${describeFiles(target.files)})`);
    if (!r.safetySnapshot) {
      mismatches.push(`${op.workspaceId}: no safety snapshot`);
      continue;
    }
    const safety = ctx.snapshotFiles(r.safetySnapshot.id);
    if (!r.safetySnapshot.name.startsWith(SAFETY_SNAPSHOT_PREFIX)) mismatches.push(`${op.workspaceId}: safety snapshot named "${r.safetySnapshot.name}"`);
    if (!ctx.stack.emu.state.data.snapshots[r.safetySnapshot.id]) mismatches.push(`${op.workspaceId}: safety snapshot ${r.safetySnapshot.id} is gone`);
    if (!sameFiles(safety, before)) {
      mismatches.push(`${op.workspaceId}: safety snapshot ${r.safetySnapshot.id} holds ${describeFiles(safety)}, the workspace held ${describeFiles(before)}`);
    }
  }
  checks.add('restored content that does not match its snapshot (phase 2)', String(mismatches.length), mismatches.length === 0, mismatches);
}

/**
 * The order in which operations held each workspace: the first Rigbox call each made for it (every
 * operation's first call, its check, is made under the lock; X-Rigsnap-Workflow-Id says whose it is).
 */
function lockOrder(ctx: ChaosContext): Map<string, number> {
  const firstCall = new Map<string, number>();
  ctx.stack.emu.calls.forEach((c, i) => {
    if (c.origin && !firstCall.has(c.origin)) firstCall.set(c.origin, i);
  });
  return firstCall;
}

/**
 * Every snapshot holds the workspace's content at its point in the lock order (phase 1 and 2): replay
 * each workspace's operations in the order they held its lock. A cancelled restore changed the disk
 * only if its restore request reached Rigbox.
 */
function checkTimeline(ctx: ChaosContext, checks: Checks, claimedBy: Map<string, Claim[]>): void {
  const { emu } = ctx.stack;
  const firstCall = lockOrder(ctx);
  const ended = (op: PlannedOperation) => ['completed', 'cancelled'].includes(ctx.outcomeOf(op) ?? '');
  const restoredDisk = (op: PlannedOperation) =>
    op.type === 'restore' &&
    (ctx.outcomeOf(op) === 'completed' ||
      emu.calls.some((c) => c.origin === op.workflowId && c.route.endsWith('/restore') && (c.outcome === 'ok' || c.outcome === 'lost')));
  const mismatches: string[] = [];
  let skipped = 0;
  for (const id of ctx.workspaceIds) {
    const mine = ctx.allOps.filter((op) => op.workspaceId === id);
    if (mine.some((op) => !ended(op))) {
      skipped++; // an unfinished operation may or may not have changed the disk
      continue;
    }
    const ops = mine.filter((op) => firstCall.has(op.workflowId)).sort((a, b) => firstCall.get(a.workflowId)! - firstCall.get(b.workflowId)!);
    let content: Files = ctx.initialFiles.get(id)!;
    let phase = 1;
    for (const op of ops) {
      if (op.phase === 2 && phase === 1) {
        phase = 2;
        const held = ctx.preRestoreFiles.get(id);
        if (!sameFiles(content, held)) mismatches.push(`${id}: held ${describeFiles(held)} after phase 1, expected ${describeFiles(content)}`);
      }
      for (const c of claimedBy.get(op.workflowId) ?? []) {
        const files = ctx.snapshotFiles(c.snapshotId);
        if (!sameFiles(files, content))
          mismatches.push(`${op.workflowId}: ${c.role} snapshot ${c.snapshotId} holds ${describeFiles(files)}, the workspace held ${describeFiles(content)}`);
      }
      if (restoredDisk(op)) content = ctx.snapshotFiles(op.targetSnapshotId!) ?? {};
    }
    const now = emu.state.workspace(id)!.files;
    if (!sameFiles(content, now)) mismatches.push(`${id}: holds ${describeFiles(now)} at the end, expected ${describeFiles(content)}`);
  }
  checks.add(
    'snapshots not holding the workspace content of their turn (all phases)',
    String(mismatches.length) + (skipped ? ` (${skipped} workspaces not checked: unfinished operations)` : ''),
    mismatches.length === 0 && skipped === 0,
    mismatches,
  );
}

/** One operation at a time per workspace: between an operation's first and last Rigbox call on a workspace, nobody else called for it. */
function checkOverlaps(ctx: ChaosContext, checks: Checks): void {
  const overlaps: string[] = [];
  for (const id of ctx.workspaceIds) {
    const calls = ctx.stack.emu.calls.filter((c) => c.workspaceId === id && c.origin);
    const spans = new Map<string, { first: number; last: number }>();
    calls.forEach((c, i) => {
      const sp = spans.get(c.origin!) ?? { first: i, last: i };
      sp.last = i;
      spans.set(c.origin!, sp);
    });
    for (const [origin, { first, last }] of spans) {
      const others = new Set(
        calls
          .slice(first, last + 1)
          .filter((c) => c.origin !== origin)
          .map((c) => c.origin),
      );
      for (const other of others) overlaps.push(`${id}: ${other} called Rigbox while ${origin} held the workspace`);
    }
  }
  checks.add('times two operations held one workspace', String(overlaps.length), overlaps.length === 0, overlaps);
}

/** Every run of the run's task queue (visibility, asked until the server answers) plus every id the run made. */
async function runsToScan(ctx: ChaosContext): Promise<Array<{ workflowId: string; runId?: string }>> {
  const ids = new Set<string>([...ctx.allOps.map((op) => op.workflowId), ...ctx.workspaceIds.map((w) => workflowIds.workspace(w))]);
  const runs: Array<{ workflowId: string; runId?: string }> = [];
  const scanDeadline = Date.now() + 120_000;
  for (;;) {
    try {
      runs.length = 0;
      for await (const wf of ctx.stack.client.workflow.list({ query: `TaskQueue = '${ctx.stack.taskQueue}'` }))
        runs.push({ workflowId: wf.workflowId, runId: wf.runId });
      break;
    } catch (err) {
      if (Date.now() > scanDeadline) throw err;
      await sleep(500);
    }
  }
  const listed = new Set(runs.map((r) => r.workflowId));
  for (const id of ids) if (!listed.has(id)) runs.push({ workflowId: id });
  return runs;
}

/** The token: in no history (every workflow of this task queue, every run, lock workflows included) and no log. */
async function checkTokenLeaks(ctx: ChaosContext, checks: Checks): Promise<Pick<CheckFindings, 'histories' | 'historiesScanned' | 'historyEventsScanned'>> {
  const { stack } = ctx;
  const runs = await runsToScan(ctx);
  const leaks: string[] = [];
  const unreadable: string[] = [];
  const histories: CheckFindings['histories'] = [];
  let historyEventsScanned = 0;
  let calibrated = false;
  for (const r of runs) {
    try {
      const history = await stack.client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      histories.push({ ...r, history });
      const text = historyText(history);
      historyEventsScanned += history.events?.length ?? 0;
      if (text.includes(BENCH_TOKEN)) leaks.push(`history of ${r.workflowId} (run ${r.runId ?? 'latest'})`);
      // The scan reads payload bytes: a backup's input (only in its payload) must be visible to it.
      if (r.workflowId.startsWith('backup-') && text.includes('"retention":{"keepLast":2}')) calibrated = true;
    } catch (err) {
      unreadable.push(`${r.workflowId}: ${errorText(err)}`);
    }
  }
  if (!calibrated && ctx.plan.some((op) => op.type === 'backup'))
    unreadable.push('the history scan could not see a backup input in its payload: the scan is blind');
  for (const w of stack.workers) if (w.output.join('').includes(BENCH_TOKEN)) leaks.push(`output of worker ${w.pid}`);
  for (const f of fs.readdirSync(stack.dir).filter((n) => n.endsWith('.log') || n.includes('.log.'))) {
    if (fs.readFileSync(path.join(stack.dir, f), 'utf8').includes(BENCH_TOKEN)) leaks.push(`Temporal server log ${f}`);
  }
  const ids = [...ctx.allOps.map((op) => op.workflowId), ...ctx.workspaceIds.map((w) => workflowIds.workspace(w))];
  checks.add(
    'token found in histories or logs',
    String(leaks.length) + ` (${histories.length} histories, ${historyEventsScanned} events, ${stack.workers.length} worker outputs)`,
    leaks.length === 0 && unreadable.length === 0 && ids.every((id) => runs.some((r) => r.workflowId === id)),
    [...leaks, ...unreadable.map((u) => `not scanned: ${u}`)],
  );
  return { histories, historiesScanned: histories.length, historyEventsScanned };
}

/** Every check, in the report's order. */
export async function runChecks(ctx: ChaosContext, disruptions: Disruptions): Promise<CheckFindings> {
  const checks = new Checks();
  const { notCompleted, cancelledOps } = checkCompletion(ctx, checks);
  const claimedBy = checkClaims(ctx, checks, cancelledOps);
  const prunedCount = checkDeletions(ctx, checks, cancelledOps);
  checks.add(
    'workspaces not in their expected state',
    String(new Set(ctx.workspaceStateProblems.map((p) => p.split(' ')[0])).size),
    ctx.workspaceStateProblems.length === 0,
    ctx.workspaceStateProblems,
  );
  checkPhase2Restores(ctx, checks);
  checkTimeline(ctx, checks, claimedBy);
  checkOverlaps(ctx, checks);
  const scanned = await checkTokenLeaks(ctx, checks);
  const { o } = ctx;
  checks.add('worker kills', String(disruptions.workerKills), o.killEverySeconds <= 0 || disruptions.workerKills >= 1);
  checks.add(
    'workspace entity terminations (an operator, mid-operation)',
    `${disruptions.lockTerminations}/${o.lockTerminations}`,
    disruptions.lockTerminations === o.lockTerminations,
  );
  checks.add('server restarts', `${disruptions.serverRestarts}/${o.serverRestarts}`, disruptions.serverRestarts === o.serverRestarts);
  return { checks: checks.list, notCompleted, cancelledOps, createdCount: createdOnRun(ctx).length, prunedCount, ...scanned };
}
