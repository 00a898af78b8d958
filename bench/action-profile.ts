/**
 * Where a backup's Temporal actions come from, read from the histories it wrote (its own and the
 * workspace entity's share): every event that Temporal Cloud bills, by kind and by what issued it (the
 * activity type, the timer's summary, the patch id or local activity of a marker, the search
 * attributes an upsert set, the signal or update's name). Heartbeats leave no event: they come from the
 * server's `action` counter (bench/actions.ts). Bench only.
 */
import type { Client } from '@temporalio/client';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface ProfiledAction {
  /** Which history: `backup` or `entity`. */
  history: string;
  kind: 'start' | 'activity' | 'timer' | 'marker' | 'local-activity markers' | 'search attributes' | 'signal received' | 'signal sent' | 'update' | 'child';
  what: string;
}

const text = new TextDecoder();

/** A payload's JSON, or undefined (a binary or encrypted payload). */
function json(payload: { data?: Uint8Array | null } | undefined | null): unknown {
  if (!payload?.data) return undefined;
  try {
    return JSON.parse(text.decode(payload.data));
  } catch {
    return undefined;
  }
}

function summaryOf(e: HistoryEvent): string {
  const s = json(e.userMetadata?.summary);
  return typeof s === 'string' ? s : '';
}

/** A marker's name and what it records: the patch id of `core_patch`, the activity type of `core_local_activity`. */
function markerWhat(e: HistoryEvent): { local: boolean; what: string } {
  const a = e.markerRecordedEventAttributes!;
  const details = a.details ?? {};
  if (a.markerName === 'core_local_activity') {
    const data = json(details.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    return { local: true, what: data?.activity_type ?? 'local activity' };
  }
  const patch = json(details['patch-data']?.payloads?.[0]) as { id?: string } | undefined;
  return { local: false, what: `${a.markerName ?? 'marker'}${patch?.id ? ` ${patch.id}` : ''}` };
}

/**
 * The billed events of one history from `afterEventId` on. Local activity markers are billed once per
 * workflow task that records any (Temporal Cloud's rule), so they are grouped by the task that completed them.
 */
export function profileHistory(history: History, label: string, afterEventId = 0): ProfiledAction[] {
  const out: ProfiledAction[] = [];
  let localBatch: string[] = [];
  const flushLocal = () => {
    if (localBatch.length) out.push({ history: label, kind: 'local-activity markers', what: localBatch.join(' + ') });
    localBatch = [];
  };
  for (const e of history.events ?? []) {
    if (Number(e.eventId) <= afterEventId) continue;
    const add = (kind: ProfiledAction['kind'], what: string) => out.push({ history: label, kind, what });
    if (e.workflowTaskCompletedEventAttributes) flushLocal();
    else if (e.workflowExecutionStartedEventAttributes) add('start', e.workflowExecutionStartedEventAttributes.workflowType?.name ?? '');
    else if (e.activityTaskScheduledEventAttributes) add('activity', `${e.activityTaskScheduledEventAttributes.activityType?.name ?? ''} (${summaryOf(e)})`);
    else if (e.timerStartedEventAttributes)
      add('timer', `${summaryOf(e) || 'timer'} (${Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0)} s)`);
    else if (e.timerCanceledEventAttributes) add('timer', 'cancelled (counted at its start)');
    else if (e.markerRecordedEventAttributes) {
      const m = markerWhat(e);
      if (m.local) localBatch.push(m.what);
      else add('marker', m.what);
    } else if (e.upsertWorkflowSearchAttributesEventAttributes)
      add('search attributes', Object.keys(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {}).join(', '));
    else if (e.workflowExecutionSignaledEventAttributes) add('signal received', e.workflowExecutionSignaledEventAttributes.signalName ?? '');
    else if (e.signalExternalWorkflowExecutionInitiatedEventAttributes)
      add('signal sent', e.signalExternalWorkflowExecutionInitiatedEventAttributes.signalName ?? '');
    else if (e.workflowExecutionUpdateAcceptedEventAttributes)
      add('update', e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name ?? '');
    else if (e.startChildWorkflowExecutionInitiatedEventAttributes)
      add('child', e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType?.name ?? '');
  }
  flushLocal();
  // A cancelled timer is counted once, at its start: keep the note but not as a second action.
  return out;
}

/** The profile as rows of (history, kind, what, count), in the order first seen. */
export function tally(actions: ProfiledAction[]): Array<ProfiledAction & { count: number }> {
  const rows = new Map<string, ProfiledAction & { count: number }>();
  for (const a of actions) {
    const key = `${a.history}|${a.kind}|${a.what}`;
    const row = rows.get(key);
    if (row) row.count++;
    else rows.set(key, { ...a, count: 1 });
  }
  return [...rows.values()];
}

/** Billed actions in a profile: everything but the notes on cancelled timers. */
export function billed(actions: ProfiledAction[]): number {
  return actions.filter((a) => !(a.kind === 'timer' && a.what.startsWith('cancelled'))).length;
}
