/**
 * Group restore, all or nothing (issue 23, item 3): the pure rules behind the restoreGroup workflow and a
 * group checkpoint's rollback. Which targets a restore takes (a recorded set, or explicit targets), each
 * member's state machine (safety snapshot taken → restored | restore failed → rolled back to safety), what
 * the workflow does next (restore all only when every safety snapshot exists; roll back every member a
 * restore touched as soon as one failed or the run was cancelled), and what each member ends as. No zod
 * and no I/O: the workflow bundle imports it. Property-tested in test/unit/group-restore.test.ts.
 */
import { MAX_GROUP_MEMBERS } from './groups.js';

/** One member of a group restore: the workspace and the snapshot of its own to restore. */
export interface RestoreTarget {
  workspaceId: string;
  snapshotId: string;
}

/** A recorded group set as a restore reads it (the group entity records more about each member). */
export interface RecordedSetView {
  name: string;
  complete: boolean;
  members: ReadonlyArray<{ workspaceId: string; snapshotId: string | null }>;
}

/** Why a list of targets is refused, or null: at least one, at most a group's size, each workspace once. */
export function refuseTargets(targets: readonly RestoreTarget[]): string | null {
  if (targets.length === 0) return 'targets: a group restore needs at least one workspace with a snapshot';
  if (targets.length > MAX_GROUP_MEMBERS) return `targets: a group restore takes at most ${MAX_GROUP_MEMBERS} workspaces (got ${targets.length})`;
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.workspaceId)) return `targets: ${t.workspaceId} is listed twice (a workspace is restored to exactly one snapshot)`;
    seen.add(t.workspaceId);
  }
  return null;
}

/**
 * The targets of a recorded set. An incomplete set (a member's snapshot failed) is never a restore point
 * unless the caller allows it; then only the members that have a snapshot are restored.
 */
export function targetsOfSet(set: RecordedSetView, allowIncomplete: boolean): { targets: RestoreTarget[] } | { refused: string } {
  const missing = set.members.filter((m) => !m.snapshotId).map((m) => m.workspaceId);
  if ((!set.complete || missing.length) && !allowIncomplete) {
    const which = missing.length ? ` (no snapshot of ${missing.join(', ')})` : '';
    return { refused: `set "${set.name}" is incomplete${which}: it is not a restore point; allow incomplete sets to restore the members it has` };
  }
  const targets = set.members.flatMap((m) => (m.snapshotId ? [{ workspaceId: m.workspaceId, snapshotId: m.snapshotId }] : []));
  const why = refuseTargets(targets);
  return why ? { refused: `set "${set.name}": ${why}` } : { targets };
}

/** Why a snapshot the preflight found cannot be this target's, or null: Rigbox restores a snapshot only into its own workspace. */
export function refuseOwnership(target: RestoreTarget, snapshot: { id: string; workspace_id: string } | null): string | null {
  if (!snapshot || snapshot.id !== target.snapshotId) return `snapshot ${target.snapshotId} does not exist in workspace ${target.workspaceId}`;
  if (snapshot.workspace_id !== target.workspaceId) return `snapshot ${target.snapshotId} belongs to ${snapshot.workspace_id}, not ${target.workspaceId}`;
  return null;
}

/** The start order of these targets: the group's order where given (members not in it follow in target order). */
export function targetStartOrder(targets: readonly RestoreTarget[], startOrder: readonly string[] | undefined): string[] {
  const ids = targets.map((t) => t.workspaceId);
  const ordered = (startOrder ?? []).filter((w) => ids.includes(w));
  return [...ordered, ...ids.filter((w) => !ordered.includes(w))];
}

// ---- each member's state machine ---------------------------------------------------------------------

/**
 * Where one member stands. `locked`: nothing of it changed yet (it may be stopped). A safety snapshot comes
 * before any restore; a member whose restore was sent has a disk that may have changed, so only `restored`
 * and `rolled-back` are settled states after one.
 */
export type MemberState =
  | { phase: 'locked' }
  | { phase: 'safety-failed'; error: string }
  | { phase: 'safety-taken'; safetySnapshotId: string }
  | { phase: 'restore-sent'; safetySnapshotId: string }
  | { phase: 'restored'; safetySnapshotId: string }
  | { phase: 'restore-failed'; safetySnapshotId: string; error: string }
  | { phase: 'rolling-back'; safetySnapshotId: string; error?: string }
  | { phase: 'rolled-back'; safetySnapshotId: string; error?: string }
  | { phase: 'rollback-failed'; safetySnapshotId: string; error: string; restoreError?: string };

export type MemberEvent =
  | { type: 'safety-taken'; safetySnapshotId: string }
  | { type: 'safety-failed'; error: string }
  | { type: 'restore-sent' }
  | { type: 'restored' }
  | { type: 'restore-failed'; error: string }
  | { type: 'rollback-sent' }
  | { type: 'rolled-back' }
  | { type: 'rollback-failed'; error: string };

/** The next state of a member; an event that does not apply in this state changes nothing. */
export function memberStep(s: MemberState, e: MemberEvent): MemberState {
  switch (e.type) {
    case 'safety-taken':
      return s.phase === 'locked' ? { phase: 'safety-taken', safetySnapshotId: e.safetySnapshotId } : s;
    case 'safety-failed':
      return s.phase === 'locked' ? { phase: 'safety-failed', error: e.error } : s;
    case 'restore-sent':
      return s.phase === 'safety-taken' ? { phase: 'restore-sent', safetySnapshotId: s.safetySnapshotId } : s;
    case 'restored':
      return s.phase === 'restore-sent' ? { phase: 'restored', safetySnapshotId: s.safetySnapshotId } : s;
    case 'restore-failed':
      return s.phase === 'restore-sent' ? { phase: 'restore-failed', safetySnapshotId: s.safetySnapshotId, error: e.error } : s;
    case 'rollback-sent':
      return s.phase === 'restored' || s.phase === 'restore-failed'
        ? { phase: 'rolling-back', safetySnapshotId: s.safetySnapshotId, ...(s.phase === 'restore-failed' ? { error: s.error } : {}) }
        : s;
    case 'rolled-back':
      return s.phase === 'rolling-back' ? { ...s, phase: 'rolled-back' } : s;
    case 'rollback-failed':
      return s.phase === 'rolling-back'
        ? { phase: 'rollback-failed', safetySnapshotId: s.safetySnapshotId, error: e.error, ...(s.error ? { restoreError: s.error } : {}) }
        : s;
  }
}

// ---- what the group does next ------------------------------------------------------------------------

/** Restores begin only when every member has its safety snapshot and the run is not cancelled: otherwise nothing is restored. */
export function mayRestore(members: readonly MemberState[], cancelled: boolean): boolean {
  return !cancelled && members.length > 0 && members.every((m) => m.phase === 'safety-taken');
}

/**
 * The members to put back on their safety snapshot: once any restore failed (or the run was cancelled),
 * every member a restore was sent to, failed ones included (a failed restore may have half-written the
 * disk). None while every restore succeeded and the run goes on.
 */
export function toRollBack(members: Readonly<Record<string, MemberState>>, cancelled: boolean): string[] {
  const states = Object.values(members);
  const failed = states.some((m) => m.phase === 'restore-failed');
  if (!failed && !cancelled) return [];
  return Object.entries(members)
    .filter(([, m]) => m.phase === 'restored' || m.phase === 'restore-failed')
    .map(([id]) => id);
}

// ---- the result --------------------------------------------------------------------------------------

/** What a member ends as: the result's word for it. */
export type MemberOutcome = 'restored' | 'rolled-back-to-safety' | 'unchanged' | 'rollback-failed';
/** restored: every member is; undone: none is (each unchanged or back on its safety snapshot); mixed: not all or nothing. */
export type GroupVerdict = 'restored' | 'undone' | 'mixed';

export function memberOutcome(s: MemberState): MemberOutcome {
  switch (s.phase) {
    case 'restored':
      return 'restored';
    case 'rolled-back':
      return 'rolled-back-to-safety';
    case 'locked':
    case 'safety-failed':
    case 'safety-taken':
      return 'unchanged';
    default:
      // restore-sent, restore-failed or rolling-back at the end: the disk is in an unknown state.
      return 'rollback-failed';
  }
}

export function groupVerdict(outcomes: readonly MemberOutcome[]): GroupVerdict {
  if (outcomes.length > 0 && outcomes.every((o) => o === 'restored')) return 'restored';
  if (outcomes.every((o) => o === 'unchanged' || o === 'rolled-back-to-safety')) return 'undone';
  return 'mixed';
}

/** One member in the result. */
export interface MemberReport {
  workspaceId: string;
  snapshotId: string;
  outcome: MemberOutcome;
  /** The member's disk from before the restore (held 24 h); null when none was taken. */
  safetySnapshotId: string | null;
  /** Why this member's safety snapshot, restore or rollback failed. */
  error?: string;
}

export function memberReport(target: RestoreTarget, s: MemberState): MemberReport {
  const safetySnapshotId = 'safetySnapshotId' in s ? s.safetySnapshotId : null;
  const error = 'restoreError' in s && s.restoreError ? `${s.restoreError}; then ${s.error}` : 'error' in s ? s.error : undefined;
  return { ...target, outcome: memberOutcome(s), safetySnapshotId, ...(error ? { error } : {}) };
}

/** One line per member, for a failure's message: what state it is in and, where it needs a hand, the command. */
export function describeMembers(reports: readonly MemberReport[]): string {
  return reports
    .map((r) => {
      const why = r.error ? ` (${r.error})` : '';
      switch (r.outcome) {
        case 'restored':
          return `${r.workspaceId}: restored to ${r.snapshotId}`;
        case 'rolled-back-to-safety':
          return `${r.workspaceId}: rolled back to its safety snapshot ${r.safetySnapshotId}${why}`;
        case 'unchanged':
          return `${r.workspaceId}: unchanged${why}`;
        case 'rollback-failed':
          return (
            `${r.workspaceId}: NEEDS ATTENTION, its restore was undone only in part${why}; its disk from before is safety snapshot ` +
            `${r.safetySnapshotId ?? '(none)'}: rigsnap restore ${r.workspaceId} ${r.safetySnapshotId ?? '<snapshot>'}`
          );
      }
    })
    .join('; ');
}
