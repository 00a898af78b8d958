import { patched, workflowInfo } from '@temporalio/workflow';
import { VERSIONING_BEHAVIOR, type WorkflowTypeName } from '../contract/workflow-types.js';

/**
 * Patch ids of workflow changes that alter commands (see `patched()`), in one place so that a later
 * deprecation finds every use. A running workflow whose history predates a change replays the old way;
 * new runs and new steps take the new way.
 *
 * One id covers one release's changes: each distinct id costs every new history two events (a marker
 * and Temporal's TemporalChangeVersion search attribute), so changes shipped together share one.
 */
export const PATCHES = {
  /**
   * The November 2026 core (issue 10): activities wait for their cancellation to complete before the
   * workflow compensates; operations queue with a local activity and wait for the lock's grant signal
   * in workflow code, then check the workspace under the lock; starting a workspace again retries every
   * error type until it runs; the lock rebuilds from the open operations, grants by signal and repairs
   * what a terminated holder left; a fleet with failed workspaces fails with PartialFailure; prune
   * deletes in bounded rounds; backup names carry their run's time (`daily-backup-YYYY-MM-DD-HHMM`);
   * reads (listSnapshots) leave the workspace's search attribute unset.
   */
  core2026_11: 'core-2026-11',
  /**
   * The workspace entity (issue 19): operations queue on `rigsnap-workspace-<id>` by Update-with-Start
   * and release to it; operations that took the old lock before this finish on it.
   */
  entity2026_12: 'entity-2026-12',
  /**
   * December 2026, terminal conditions (issue 18): a workspace Rigbox says is gone ends the restart
   * loop (and the stop's compensation) with WorkspaceGone instead of retrying forever, and the lock's
   * repair treats it as settled; a fleet hands its running children over to its next run instead of
   * draining to zero, and carries bounded state.
   */
  terminal2026_12: 'terminal-2026-12',
  /**
   * December 2026 (issue 18, items 2 and 5): a run cancelled after its change landed in Rigbox ends with
   * CancelledAfterChange (what landed in its details) instead of Cancelled; a snapshot whose earlier run
   * of the same workflow id was cancelled after its copy adopts that run's snapshot. (Its first form also
   * recorded the validated input as a local activity's result; that broke replays split after the check,
   * and was taken out before release: schema changes go through domain/input-revisions.ts instead.)
   */
  truth2026_12: 'truth-2026-12',
  /**
   * December 2026, knowing every workspace (issue 22): the audit asks Rigbox whether each workspace with
   * snapshots still exists, to list the orphans (its inventory activity gets `checkExistence`).
   */
  inventory2026_12: 'inventory-2026-12',
  /**
   * December 2026 (issue 21): a backup (or fleet child) given a notice, a window or quiet hours decides
   * when its stop may begin, sends a `stop.notice`, and waits on a timer (snooze and skip by update)
   * before it queues on the lock. Only runs given those inputs take it: a run without them issues the
   * same commands as before, this marker included.
   */
  notice2026_12: 'notice-2026-12',
  /**
   * December 2026 (issue 21, item 4): a snapshot asked for by hand with a notice (`rigsnap snapshot
   * --notice 5m`) sends a `stop.notice` and waits it out (snooze and skip by update) before it queues on
   * the lock; a skip fails it with `Skipped`. A snapshot without a notice issues the same commands as
   * before, this marker included.
   */
  manualNotice2026_12: 'manual-notice-2026-12',
  /**
   * Holds (issue 20): deleteSnapshot and prune ask the workspace entity before deleting (held snapshots
   * are refused or kept) and report what they deleted; a checkpoint holds its snapshot while open; a
   * restore holds its safety snapshot for 24 h.
   */
  holds2026_12: 'holds-2026-12',
  /**
   * Tamper detection (issue 20, item 3): the audit's inventory activity also checks every workspace
   * entity's held and baseline snapshots against Rigbox (its input gets `checkHolds`), and a checkpoint
   * checks that its snapshot still exists before a rollback stops the workspace.
   */
  tamper2026_12: 'tamper-2026-12',
  /**
   * Enrollment and selection (issue 22, items 1 and 2): a fleet given a `selector` instead of
   * `workspaceIds` resolves it when its run starts (an activity lists the candidates by the RigboxLabels
   * search attribute and each workspace entity confirms), and carries what it matched in its state and
   * summary. Only runs given a selector take it: a fleet with listed workspaces issues the same commands
   * as before, without this marker.
   */
  enroll2026_12: 'enroll-2026-12',
  /**
   * Retention of checkpoint and safety snapshots (issue 22, item 6): after its backups, a prune (and so a
   * scheduled backup with retention) selects the checkpoint snapshots whose session ended more than
   * `expireCheckpointsAfter` ago (default 7d) and the restore safety snapshots older than
   * `expireSafetyAfter` (default 14d), and deletes those not held, with the entity's authorisation.
   */
  retention2026_12: 'retention-2026-12',
  /**
   * December 2026, cost per backup (issue 24, item 5): a new run records this one patch instead of every
   * earlier one (see `hasPatch`): one marker and one TemporalChangeVersion upsert (a billed action each) where
   * a backup recorded four of each; and a prune reads the workspace's holds from the lock's grant.
   */
  actions2026_12: 'actions-2026-12',
} as const;

/**
 * The patches released before actions-2026-12, and those released with it (no released build recorded
 * actions-2026-12 without them): every run started since takes them all (`hasPatch`).
 */
const ABSORBED: ReadonlySet<string> = new Set([
  PATCHES.core2026_11,
  PATCHES.entity2026_12,
  PATCHES.terminal2026_12,
  PATCHES.truth2026_12,
  PATCHES.inventory2026_12,
  PATCHES.notice2026_12,
  PATCHES.manualNotice2026_12,
  PATCHES.holds2026_12,
  PATCHES.tamper2026_12,
  PATCHES.enroll2026_12,
  PATCHES.retention2026_12,
]);

/**
 * Whether this run's type is Pinned: a run that never moves to another build. Only those record
 * actions-2026-12. An Auto-Upgrade run (an entity, a fleet, a checkpoint session) moves to whatever build
 * is current, back to the previous release too when a deploy is rolled back, and that build must replay
 * its history: a marker it does not know stops it (the rolling-upgrade cluster test's rollback saw the
 * workspace entity stuck on "patch marker actions-2026-12 … no corresponding change command").
 */
function isPinned(): boolean {
  return VERSIONING_BEHAVIOR[workflowInfo().workflowType as WorkflowTypeName] === 'PINNED';
}

/** Whether this run takes actions-2026-12's own changes: a Pinned run started on (or replaying) a build that has them. */
export function takesActions2026_12(): boolean {
  return isPinned() && patched(PATCHES.actions2026_12);
}

/**
 * `patched(patchId)` for a patch released before actions-2026-12, at the cost of one marker per run: a
 * Pinned run that recorded actions-2026-12 (every one started since) takes every earlier change without
 * recording its marker. A run replaying a point before that marker asks the patch itself, so old
 * histories replay as recorded. Auto-Upgrade runs ask each patch itself, as before (see isPinned). A patch
 * released after it must not come here: a run started between the two releases would replay as if it
 * had taken it.
 */
export function hasPatch(patchId: string): boolean {
  if (!ABSORBED.has(patchId) || !isPinned()) return patched(patchId);
  return patched(PATCHES.actions2026_12) || patched(patchId);
}
