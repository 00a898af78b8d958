/**
 * The wait before an announced stop (issue 21), for a backup (or a fleet's child) given a notice, a
 * window or quiet hours, or a snapshot asked for by hand with a notice: decide when the stop may begin, send a `stop.notice`, wait on a durable timer
 * until the stop is due, and take snoozes and skips as validated updates meanwhile. The rules are
 * domain/notice.ts; this is the shell that feeds them workflow time and performs what they decide.
 *
 * It runs BEFORE the operation queues on the workspace lock: holding the lock through a 10-minute notice
 * would block every on-demand operation (a restore someone needs now) for those 10 minutes, and the
 * stop is due only at its deadline, so the lock is asked for then. The cost: another operation holding
 * the lock at the deadline delays the stop further (never brings it earlier than announced).
 */
import { condition, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { noticeQuery, skipUpdate, snoozeUpdate } from '../contract/messages.js';
import { MEMO_KEYS } from '../domain/constants.js';
import {
  DEFAULT_MAX_SNOOZE,
  applySkip,
  applySnooze,
  decideStop,
  describeNotice,
  noticeView,
  parseQuietHours,
  type NoticeChange,
  type NoticeState,
  type QuietRange,
  type SkipRecord,
  type SkipRequest,
  type SnoozeRequest,
} from '../domain/notice.js';
import { parseDuration } from '../domain/time.js';
import { localActivities, activities, type ProgressTracker } from './common.js';

/** The optional inputs of an announced stop (validated by the workflow's schema before they get here). */
export interface AnnouncedStopInput {
  notice?: string;
  window?: string;
  quietHours?: string[];
  maxSnooze?: string;
}

/** Whether the input asks for anything before the stop; without it the operation runs as it always did. */
export function announcesStop(input: AnnouncedStopInput): boolean {
  return (parseDuration(input.notice ?? '0s') ?? 0) > 0 || input.window !== undefined || (input.quietHours?.length ?? 0) > 0;
}

const MAX_BY = 100;
const MAX_REASON = 200;
const iso = (ms: number) => new Date(ms).toISOString();

/** `by` and `reason` as people typed them, bounded: refused when empty or long (validators throw, nothing reaches history). */
function checkedText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || !value.trim() || value.length > max) throw new Error(`${field}: must be text of 1-${max} characters`);
  return value.trim();
}

/**
 * The notice state of one run and its handlers. Constructed by every run that may announce a stop, so
 * a snooze or skip sent to a run without a notice is refused by the validator with a message that
 * says so (registering handlers issues no commands).
 */
export class StopNotice {
  private state: NoticeState | null = null;
  /** Bumped by every accepted change: the waits wake on it. */
  private version = 0;

  constructor(
    private readonly workspaceId: string,
    private readonly operation: 'backup' | 'snapshot',
    private readonly timeZone: string,
  ) {
    setHandler(noticeQuery, () => (this.state ? noticeView(this.state, this.timeZone) : null));
    setHandler(snoozeUpdate, (req) => this.accept(this.snooze(req)), { validator: (req: SnoozeRequest) => this.refuseUnless(this.snooze(req)) });
    setHandler(skipUpdate, (req) => this.accept(this.skip(req)), { validator: (req: SkipRequest) => this.refuseUnless(this.skip(req)) });
  }

  private pending(): NoticeState {
    if (!this.state)
      throw new Error(`this ${this.operation} of ${this.workspaceId} announces no stop (it was started without a notice, window or quiet hours)`);
    return this.state;
  }

  private snooze(req: SnoozeRequest): NoticeChange {
    const s = this.pending();
    const forMs = parseDuration(typeof req?.for === 'string' ? req.for : '');
    if (forMs === undefined) throw new Error('for: must be a duration such as "1h" or "30m"');
    return applySnooze(s, { forMs, by: checkedText(req.by, 'by', MAX_BY), nowMs: Date.now() });
  }

  private skip(req: SkipRequest): NoticeChange {
    const s = this.pending();
    const reason = req?.reason === undefined ? 'manual' : checkedText(req.reason, 'reason', MAX_REASON);
    return applySkip(s, { reason, by: checkedText(req?.by, 'by', MAX_BY), nowMs: Date.now() });
  }

  private refuseUnless(change: NoticeChange): void {
    if (!change.ok) throw new Error(change.reason);
  }

  private accept(change: NoticeChange) {
    if (!change.ok) throw new Error(change.reason);
    this.state = change.state;
    this.version++;
    return noticeView(this.state, this.timeZone);
  }

  /** True if a snooze or skip arrived within `ms`; false when the timer ran out. */
  private async changedWithin(ms: number): Promise<boolean> {
    const seen = this.version;
    return condition(() => this.version !== seen, Math.max(0, ms));
  }

  private show(tracker: ProgressTracker, name: string): void {
    if (this.state) tracker.setDetail({ name, notice: describeNotice(this.state, this.timeZone) });
  }

  /**
   * Waits until the stop may begin: resolves null when it is due (the caller stops now), or with the
   * skip. Ends because every turn of its loop either returns, or moves `stopAt` later within a bound
   * (the end of quiet hours found once, the window, the snooze cap with its one-minute floor); the
   * progress query and current details show each turn; it holds no lock and no activity slot.
   */
  async awaitTurn(input: AnnouncedStopInput, scheduledAt: Date, tracker: ProgressTracker, name: string): Promise<SkipRecord | null> {
    const noticeMs = parseDuration(input.notice ?? '0s') ?? 0;
    const windowMs = input.window !== undefined ? parseDuration(input.window)! : null;
    const quiet = (input.quietHours ?? []).map((t) => parseQuietHours(t)).filter((r): r is QuietRange => r !== undefined);
    tracker.begin('notice');
    const expected = await localActivities('hint', `expected downtime of ${this.workspaceId}`).expectedDowntime({ workspaceId: this.workspaceId });
    this.state = {
      version: 1,
      workspaceId: this.workspaceId,
      operation: this.operation,
      phase: 'waiting',
      noticeMs,
      stopAt: iso(Date.now() + noticeMs),
      noticeSentAt: null,
      windowEnd: windowMs === null ? null : iso(scheduledAt.getTime() + windowMs),
      maxSnoozeMs: parseDuration(input.maxSnooze ?? DEFAULT_MAX_SNOOZE)!,
      expectedDowntimeMs: expected.ms,
      snoozes: [],
      skipped: null,
    };
    let announcedFor: string | null = null;
    for (;;) {
      const s: NoticeState = this.state;
      this.show(tracker, name);
      if (s.skipped) return this.skipped(s.skipped);
      const dueMs = Date.parse(s.stopAt);
      const d = decideStop({
        earliestMs: dueMs,
        windowEndMs: s.windowEnd ? Date.parse(s.windowEnd) : null,
        expectedDowntimeMs: s.expectedDowntimeMs,
        quietHours: quiet,
        timeZone: this.timeZone,
      });
      if (d.kind === 'skip') {
        this.state = { ...s, phase: 'skipped', skipped: { kind: 'window', reason: 'window', by: 'rigsnap', at: iso(Date.now()) } };
        continue;
      }
      if (d.kind === 'wait') {
        this.state = { ...s, phase: 'waiting', stopAt: iso(d.untilMs) };
        continue;
      }
      if (noticeMs > 0 && announcedFor !== s.stopAt) {
        if (Date.now() < dueMs - noticeMs && (await this.changedWithin(dueMs - noticeMs - Date.now()))) continue;
        // A notice comes about `notice` before its stop: one that would leave less than 90 % of it (a snooze
        // shorter than the notice, a worker that was down) moves the stop. Timers fire a little late; that stays.
        if (Date.now() + noticeMs * 0.9 > dueMs) {
          this.state = { ...s, stopAt: iso(Date.now() + noticeMs) };
          continue;
        }
        announcedFor = await this.announce(s, () => this.show(tracker, name));
        continue;
      }
      if (Date.now() < dueMs && (await this.changedWithin(dueMs - Date.now()))) continue;
      this.state = { ...s, phase: 'stopping' };
      this.show(tracker, name);
      tracker.end();
      return null;
    }
  }

  /** Sends the notice (best effort, like every notification: a webhook that fails does not hold the stop back). */
  private async announce(s: NoticeState, show: () => void): Promise<string> {
    const info = workflowInfo();
    this.state = { ...s, phase: 'notice', noticeSentAt: iso(Date.now()) };
    // The query and the current details say "notice sent" from the moment the phase says it.
    show();
    try {
      await activities('notification', `notice: stop ${this.workspaceId} at ${s.stopAt}`).sendStopNotice({
        workspaceId: this.workspaceId,
        stopAt: s.stopAt,
        expectedDowntimeSeconds: Math.round(s.expectedDowntimeMs / 1000),
        operation: this.operation,
        workflowId: info.workflowId,
        runId: info.runId,
        text: `rigsnap: ${this.workspaceId} will be stopped for a ${this.operation} at ${s.stopAt} (${describeNotice(this.state, this.timeZone)}), for about ${Math.max(1, Math.round(s.expectedDowntimeMs / 60_000))} min`,
      });
    } catch {
      // Nothing to do: the wait goes on, and its current details still show the stop time.
    }
    return s.stopAt;
  }

  private skipped(skip: SkipRecord): SkipRecord {
    upsertMemo({ [MEMO_KEYS.skipped]: { kind: skip.kind, reason: skip.reason, by: skip.by } });
    return skip;
  }
}
