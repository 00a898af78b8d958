import pc from 'picocolors';
import { fmtTime } from './format.js';
import { STEP_LABELS, formatDuration, type Progress, type StepRecord } from '../domain/index.js';
import type { LockWait, PendingActivityView } from './rigsnap-client.js';

/**
 * Turns recorded progress (the workflow's `progress` query, the pending activity's heartbeat) into the
 * lines the CLI shows while it waits. Pure: the same frame always renders the same lines, so it is
 * tested with recorded states and no terminal.
 */
export interface ProgressFrame {
  progress: Progress | null;
  activity?: PendingActivityView | null;
  /** Epoch ms "now" (the caller's clock). */
  now: number;
  /** When the workflow started (ISO or epoch ms), for the header's total. */
  startedAt?: string | number | null;
  /** Where the operation waits for its workspace's lock (the lock's `lockState` query), if it does. */
  lock?: LockWait | null;
  /** Seen waiting for the lock earlier in this run: said on the finished step it waited in. */
  lockWaited?: boolean;
  /** Something the user must act on (no worker polls the task queue), shown under the header. */
  notice?: string | null;
  /** What a fleet backs up right now: the workspaces of its running children. */
  running?: string[] | null;
}

export interface RenderOptions {
  color?: boolean;
  /** Animation frame of the spinner on the running step; omitted: a static mark. */
  spinnerFrame?: number;
  /** Show the workflow's own state (fleet tallies, checkpoint) under the steps; default true. */
  detail?: boolean;
}

/** Width of the longest step label, so lines printed one at a time still line up. */
const LABEL_WIDTH = Math.max(...Object.values(STEP_LABELS).map((l) => l.length));

export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const toMs = (t: string | number) => (typeof t === 'number' ? t : Date.parse(t));

/** Elapsed time of a step: finished ones from their records, the running one up to `now`. */
export function stepElapsedMs(step: StepRecord, now: number): number {
  const start = toMs(step.startedAt);
  const end = step.finishedAt ? toMs(step.finishedAt) : now;
  return Math.max(0, end - start);
}

export function stepLabel(step: StepRecord['step']): string {
  return STEP_LABELS[step] ?? step;
}

/** Said of a finished check that included a wait for the lock (before the wait had a step of its own). */
export const PREFLIGHT_AFTER_WAIT_LABEL = `${STEP_LABELS.preflight} (after waiting its turn)`;

/** "waiting for backup-ws_demo-m1abc2 (backup); 2 ahead of you". */
export function describeLockWait(wait: LockWait): string {
  const who = wait.holder ? `waiting for ${wait.holder.workflowId} (${wait.holder.operation})` : 'waiting for the lock to pass on';
  return `${who}; ${wait.ahead <= 1 ? 'next in line' : `${wait.ahead} ahead of you`}`;
}

/** Whether a step is, right now, a wait for the workspace lock (its own step, or inside the check). */
function waitsForLock(step: StepRecord, frame: ProgressFrame): boolean {
  return step.step === 'wait-for-lock' || (step.step === 'preflight' && (Boolean(frame.lock) || frame.activity?.heartbeat?.phase === 'waiting for lock'));
}

function labelOf(step: StepRecord, frame: ProgressFrame, running: boolean, steps: StepRecord[]): string {
  if (running && waitsForLock(step, frame)) return STEP_LABELS['wait-for-lock'];
  if (!running && step.step === 'preflight' && frame.lockWaited && !steps.some((s) => s.step === 'wait-for-lock')) return PREFLIGHT_AFTER_WAIT_LABEL;
  return stepLabel(step.step);
}

/** One line about the pending activity: its heartbeat phase, Rigbox status, polls, queue place, retries. */
export function describeActivity(activity: PendingActivityView | null | undefined): string | null {
  if (!activity) return null;
  const parts: string[] = [];
  const hb = activity.heartbeat;
  if (hb?.phase === 'waiting for lock' && hb.queuePosition !== undefined && hb.queuePosition > 0) {
    // Without the lock's own answer: the heartbeat's queue place ("held by <id>" when someone holds it).
    const heldBy = /^held by (.+)$/.exec(hb.status ?? '')?.[1];
    const ahead = hb.queuePosition - 1 + (heldBy ? 1 : 0);
    parts.push(`${heldBy ? `waiting for ${heldBy}` : 'waiting for the lock'}; ${ahead <= 1 ? 'next in line' : `${ahead} ahead of you`}`);
  } else {
    if (hb?.phase) parts.push(hb.phase);
    if (hb?.status) parts.push(`status ${hb.status}`);
  }
  if (hb?.polls) parts.push(`${hb.polls} poll${hb.polls === 1 ? '' : 's'}`);
  if (activity.attempt > 1) parts.push(`attempt ${activity.attempt}`);
  if (activity.lastFailure) parts.push(`last error: ${activity.lastFailure}`);
  return parts.length ? parts.join(' · ') : null;
}

/** One line about a long-running workflow's own state (fleet tallies, checkpoint session, backup name). */
export function describeDetail(detail: Record<string, unknown> | undefined): string | null {
  if (!detail) return null;
  const d = detail;
  if (typeof d.total === 'number' && typeof d.done === 'number') {
    const parts = [`${d.done}/${d.total} done`];
    if (typeof d.running === 'number') parts.push(`${d.running} running`);
    if (typeof d.succeeded === 'number') parts.push(`${d.succeeded} succeeded`);
    if (typeof d.failed === 'number') parts.push(`${d.failed} failed`);
    if (typeof d.run === 'number' && d.run > 1) parts.push(`run ${d.run}`);
    return parts.join(' · ');
  }
  if (typeof d.state === 'string' && 'rollbacks' in d) {
    const parts = [`checkpoint ${d.state}`];
    if (typeof d.snapshotId === 'string') parts.push(`snapshot ${d.snapshotId}`);
    if (typeof d.snapshotGoneAt === 'string')
      parts.push(`snapshot GONE from Rigbox (deleted outside rigsnap; found ${fmtTime(d.snapshotGoneAt)}): rollback refused, release it`);
    if (typeof d.rollbacks === 'number') parts.push(`${d.rollbacks} rollback${d.rollbacks === 1 ? '' : 's'}`);
    if (typeof d.expiresAt === 'string') parts.push(`expires ${fmtTime(d.expiresAt)}`);
    return parts.join(' · ');
  }
  const parts = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k} ${String(v)}`);
  return parts.length ? parts.join(' · ') : null;
}

/**
 * The live block: a header (operation, workspace, total time), one line per step with its elapsed
 * time (✓ done, spinner on the running one, ✗ where it failed), and under the running step what its
 * activity reports.
 */
export function renderProgress(frame: ProgressFrame, opts: RenderOptions = {}): string[] {
  const c = pc.createColors(opts.color ?? false);
  const p = frame.progress;
  const lines: string[] = [];
  const total = frame.startedAt !== undefined && frame.startedAt !== null ? Math.max(0, frame.now - toMs(frame.startedAt)) : null;

  if (!p) {
    const waiting = opts.spinnerFrame !== undefined ? SPINNER_FRAMES[opts.spinnerFrame % SPINNER_FRAMES.length]! : '…';
    lines.push(`${c.cyan(waiting)} waiting for a worker to report progress${total !== null ? ` ${c.dim(formatDuration(total))}` : ''}`);
    if (frame.notice) lines.push(`    ${c.yellow(frame.notice)}`);
    const act = describeActivity(frame.activity);
    if (act) lines.push(`    ${c.dim(act)}`);
    return lines;
  }

  const title = `${p.operation}${p.workspaceId ? ` of ${p.workspaceId}` : ''}`;
  const stateText = p.state === 'running' ? 'running' : p.state === 'completed' ? c.green('completed') : c.red('failed');
  lines.push(`${c.bold(title)} ${stateText}${total !== null ? ` ${c.dim(formatDuration(total))}` : ''}`);

  if (frame.notice) lines.push(`  ${c.yellow(frame.notice)}`);
  const isRunning = (s: StepRecord) => s.finishedAt === null && p.state === 'running';
  const labels = p.steps.map((s) => labelOf(s, frame, isRunning(s), p.steps));
  const width = Math.max(0, ...labels.map((l) => l.length));
  const lastIndex = p.steps.length - 1;
  p.steps.forEach((s, i) => {
    const running = isRunning(s);
    const failedHere = p.state === 'failed' && i === lastIndex;
    const mark = running
      ? c.cyan(opts.spinnerFrame !== undefined ? SPINNER_FRAMES[opts.spinnerFrame % SPINNER_FRAMES.length]! : '…')
      : failedHere
        ? c.red('✗')
        : c.green('✓');
    const elapsed = formatDuration(stepElapsedMs(s, frame.now));
    lines.push(`  ${mark} ${labels[i]!.padEnd(width)}  ${c.dim(elapsed)}`);
    if (running) {
      const act = frame.lock && waitsForLock(s, frame) ? describeLockWait(frame.lock) : describeActivity(frame.activity);
      if (act) lines.push(`      ${c.dim(act)}`);
    }
  });

  if (p.state === 'running' && p.currentStep === null) {
    // Between steps, or a workflow that waits (a checkpoint session): show what the activity says, if any.
    const act = describeActivity(frame.activity);
    if (act) lines.push(`      ${c.dim(act)}`);
  }
  const detail = opts.detail === false ? null : describeDetail(p.detail);
  if (detail) lines.push(`  ${c.dim(detail)}`);
  if (frame.running?.length) lines.push(`  ${c.dim(`backing up ${frame.running.join(', ')}`)}`);
  return lines;
}

/**
 * For logs without a terminal: the lines for steps that finished between two progress states, so a
 * step is printed once, when it ends ("✓ taking snapshot 1.2s").
 */
export function finishedStepLines(previous: Progress | null, next: Progress | null, opts: { lockWaited?: boolean } = {}): string[] {
  if (!next) return [];
  const before = new Set((previous?.steps ?? []).filter((s) => s.finishedAt !== null).map((s) => `${s.step}@${s.startedAt}`));
  const last = next.steps[next.steps.length - 1];
  const frame: ProgressFrame = { progress: next, now: 0, lockWaited: Boolean(opts.lockWaited) };
  return next.steps
    .filter((s) => s.finishedAt !== null && !before.has(`${s.step}@${s.startedAt}`))
    .map((s) => {
      const mark = next.state === 'failed' && s === last ? '✗' : '✓';
      return `  ${mark} ${labelOf(s, frame, false, next.steps).padEnd(LABEL_WIDTH)}  ${formatDuration(stepElapsedMs(s, 0))}`;
    });
}
