/**
 * The rules of a fleet backup's carried state (workflows/backup-fleet.ts), pure so they are property
 * tested: tallies and failures in bounded form (counts by type and a capped sample, never one entry per
 * failed workspace), the children one run hands to the next, and which children count as slow. Whatever
 * the size of the fleet, what a run carries into the next stays a few kilobytes.
 */

export interface FleetFailureEntry {
  workspaceId: string;
  errorType: string;
  message: string;
}

/** A child that one run started and the next one waits for (by id: its parent-close policy is ABANDON). */
export interface HandedOverChild {
  workspaceId: string;
  workflowId: string;
}

export interface FleetTally {
  succeeded: number;
  failedCount: number;
  /** The first failures, up to MAX_FAILURE_SAMPLE (failedCount and failedByType count them all). */
  failed: FleetFailureEntry[];
  failedByType?: Record<string, number>;
  cancelledCount?: number;
}

/** Failures listed by name in the summary; the rest are counted by type. */
export const MAX_FAILURE_SAMPLE = 50;
export const MAX_FAILURE_MESSAGE = 300;
/** A child running longer than this is shown in the fleet's current details, with why (its alert). */
export const FLEET_CHILD_SLOW_MS = 10 * 60_000;
/** How often a fleet asks its handed-over and slow children how they are. */
export const FLEET_CHECK_MS = 30_000;
/** Workspaces a fleet's selector matched, named in its summary and current details (the rest are counted). */
export const MAX_MATCHED_LISTED = 100;
/** Slow children named in the current details (the rest are counted). */
export const MAX_SLOW_SHOWN = 10;

/** Counts one failed workspace: always in the counts, by name only while the sample has room. */
export function recordFailure(t: FleetTally, f: FleetFailureEntry): void {
  t.failedCount++;
  const byType = (t.failedByType ??= {});
  byType[f.errorType] = (byType[f.errorType] ?? 0) + 1;
  if (t.failed.length < MAX_FAILURE_SAMPLE) t.failed.push({ ...f, message: f.message.slice(0, MAX_FAILURE_MESSAGE) });
}

/**
 * State carried by runs from before bounded state (up to 1000 failures listed, no counts by type):
 * bounded the same way, the counts by type rebuilt from what was listed (the rest as `unlisted`).
 */
export function boundTally(t: FleetTally): FleetTally {
  if (t.failedByType && t.failed.length <= MAX_FAILURE_SAMPLE) return t;
  const byType: Record<string, number> = { ...(t.failedByType ?? {}) };
  if (!t.failedByType) {
    for (const f of t.failed) byType[f.errorType] = (byType[f.errorType] ?? 0) + 1;
    const unlisted = t.failedCount - t.failed.length;
    if (unlisted > 0) byType.unlisted = unlisted;
  }
  return { ...t, failed: t.failed.slice(0, MAX_FAILURE_SAMPLE), failedByType: byType };
}

/** How many more children may start now: `concurrency` counts this run's children and those handed over. */
export function freeSlots(concurrency: number, running: number, handedOver: number): number {
  return Math.max(0, concurrency - running - handedOver);
}

/**
 * Whether a run must hand over and continue as new now: its share of children is started (or its
 * history is large) while workspaces remain to be started. A run with nothing left to start drains
 * instead: it is the last, and waits for every child to report the summary.
 */
export function mustContinueAsNew(p: { startedThisRun: number; childrenPerRun: number; historyLarge: boolean; next: number; total: number }): boolean {
  return p.next < p.total && (p.historyLarge || p.startedThisRun >= p.childrenPerRun);
}

export interface SlowChild {
  workspaceId: string;
  workflowId: string;
  /** How long it has run (text). */
  running: string;
  step?: string | null;
  /** Why, from its progress query (a restart that keeps failing, a lock it waits for…). */
  why?: string;
}

/** The lines of the fleet's current details about slow children: the first few by name, then a count. */
export function describeSlow(slow: SlowChild[]): string[] {
  const shown = slow.slice(0, MAX_SLOW_SHOWN).map((s) => {
    const at = s.step ? ` in ${s.step}` : '';
    return `${s.workspaceId} (${s.workflowId}) running ${s.running}${at}${s.why ? `: ${s.why}` : ''}`;
  });
  if (slow.length > MAX_SLOW_SHOWN) shown.push(`and ${slow.length - MAX_SLOW_SHOWN} more`);
  return shown;
}
