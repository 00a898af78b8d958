/**
 * Every query, signal and update a rigsnap workflow handles, defined once: the workflows register
 * handlers for these definitions and every caller (client, CLI, activities, tests) passes them, so a
 * name and the types of its arguments and answer cannot drift apart. Safe in the workflow sandbox:
 * only @temporalio/workflow's pure define* functions and types.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AbandonRequest,
  AbandonResult,
  LockGrant,
  LockParticipation,
  LockReleaseRequest,
  LockRequest,
  LockState,
  NoticeView,
  Progress,
  ReleaseCheckpointInput,
  RollbackResult,
  SkipRequest,
  SnoozeRequest,
} from '../domain/index.js';
import type { AcquireAnswer, EntityRequest, EntityState } from '../domain/workspace-entity.js';
import type {
  BaselineAnswer,
  BaselineRequest,
  DeleteAuthorisation,
  DeleteAuthorisationRequest,
  HoldAnswer,
  HoldRequest,
  HoldsView,
  UnholdAnswer,
  UnholdRequest,
} from '../domain/holds.js';
import type { EnrollRequest, EnrollmentView, UnenrollRequest } from '../domain/enrollment.js';
import type { CreateGroupRequest, DeleteGroupRequest, GroupSet, GroupState, GroupView, RecordGroupSetRequest, UpdateGroupRequest } from '../domain/groups.js';

/** Answered by every rigsnap operation: its steps with their times, its state and detail. */
export const progressQuery = defineQuery<Progress>('progress');

// The per-workspace lock (workflows/workspace-lock.ts) and the operations that queue on it.

/** To the lock: queue this request (signal-with-start, so the first one starts the lock). */
export const lockAcquireSignal = defineSignal<[LockRequest]>('acquire');
/** To the lock: the holder is done (or a waiter gives up). */
export const lockReleaseSignal = defineSignal<[LockReleaseRequest]>('release');
/** From the lock to the operation whose turn it is (Temporal's mutex pattern: grant by signal). */
export const lockGrantedSignal = defineSignal<[LockGrant]>('lockGranted');
/** Answered by the lock: who holds the workspace and who waits. */
export const lockStateQuery = defineQuery<LockState>('lockState');
/**
 * Answered by every operation: which lock request it holds or waits for. A lock run that starts
 * without carried state (first run, after a failure or a termination) asks the open operations of its
 * workspace, so that it never grants while someone still holds the workspace.
 */
export const lockParticipationQuery = defineQuery<LockParticipation>('lockParticipation');

// The workspace entity (workflows/workspace-entity.ts): the lock and the state of one workspace.
// It takes the lock's `release` signal and answers `lockState` too; it grants with `lockGranted`.

/**
 * To the entity: queue this request (Update-with-Start keyed by the request id, so a retry keeps its
 * one place). Answered at once with where the request stands; never waits for the grant. A validator
 * refuses bad requests and retries of requests already answered.
 */
export const workspaceAcquireUpdate = defineUpdate<AcquireAnswer, [EntityRequest]>('acquireWorkspace');
/** Answered by the entity: its whole versioned state (the lock today; holds, baseline, labels next). */
export const workspaceStateQuery = defineQuery<EntityState>('workspaceState');
/** To the entity: an operator abandoned this operation on purpose, so no repair is owed for it. */
export const operationAbandonedSignal = defineSignal<[{ workflowId: string }]>('operationAbandoned');

/**
 * To any operation: stop trying to start the workspace again, leave it as it is, and end with an
 * `Abandoned` failure (workflows/abandon.ts). Refused unless the run is in that loop and has failed a
 * round; answered once the run has stopped trying.
 */
export const abandonUpdate = defineUpdate<AbandonResult, [AbandonRequest]>('abandon');

// Holds and the baseline, kept by the workspace entity (rules: domain/holds.ts). Updates, so the caller
// learns at once whether it took effect; a validator refuses bad input before anything is recorded.

/** To the entity: hold a snapshot (holding it again updates reason and until). Refused while it is being deleted. */
export const holdSnapshotUpdate = defineUpdate<HoldAnswer, [HoldRequest]>('holdSnapshot');
/** To the entity: end a hold (`manual` by default; automatic holds by kind and owner). */
export const unholdSnapshotUpdate = defineUpdate<UnholdAnswer, [UnholdRequest]>('unholdSnapshot');
/**
 * To the entity, from a delete or prune holding the workspace: may these snapshots be deleted? Held ones
 * are refused unless `force` (then the override is recorded); allowed ones cannot be held until settled.
 */
export const authoriseDeletesUpdate = defineUpdate<DeleteAuthorisation, [DeleteAuthorisationRequest]>('authoriseDeletes');
/** To the entity: the authorised deletions of this workflow ended; `deleted` are gone. */
export const deletesSettledSignal = defineSignal<[{ workflowId: string; deleted: string[] }]>('deletesSettled');
/** To the entity: the team's baseline of this workspace (held while it is the baseline). */
export const setBaselineUpdate = defineUpdate<BaselineAnswer, [BaselineRequest]>('setBaseline');
/** To the entity, from an audit: these held or baseline snapshots are in Rigbox now (their "last seen" for tamper detection). */
export const heldSnapshotsSeenSignal = defineSignal<[{ seen: Array<{ snapshotId: string; name: string }> }]>('heldSnapshotsSeen');
/** Answered by the entity: its active holds, recent overrides, baseline and the deletions rigsnap made. */
export const workspaceHoldsQuery = defineQuery<HoldsView>('workspaceHolds');

// Enrollment and labels, kept by the workspace entity (rules: domain/enrollment.ts). The entity publishes
// them in the RigboxLabels search attribute; its own answer to `workspaceLabels` is what decides.

/** To the entity: enroll the workspace and set (or remove) labels. Answers the enrollment as it now is. */
export const enrollWorkspaceUpdate = defineUpdate<EnrollmentView, [EnrollRequest]>('enrollWorkspace');
/** To the entity: unenroll the workspace (its labels are forgotten: no selector selects it). */
export const unenrollWorkspaceUpdate = defineUpdate<EnrollmentView, [UnenrollRequest]>('unenrollWorkspace');
/** Answered by the entity: whether the workspace is enrolled, and its labels. */
export const workspaceLabelsQuery = defineQuery<EnrollmentView>('workspaceLabels');

// The group entity (workflows/group-entity.ts, rules in domain/groups.ts): one per group of workspaces.
// Updates, so the caller learns at once whether the change took effect; the validator refuses bad input
// and a create of an existing group with other members before anything is recorded.

/** To the group entity: create the group (the same create again is a retry and answers the same). */
export const createGroupUpdate = defineUpdate<GroupView, [CreateGroupRequest]>('createGroup');
/** To the group entity: change its members, its start order, or both. */
export const updateGroupUpdate = defineUpdate<GroupView, [UpdateGroupRequest]>('updateGroup');
/** To the group entity: delete the group; the entity ends after answering (its snapshots stay in Rigbox). */
export const deleteGroupUpdate = defineUpdate<GroupView, [DeleteGroupRequest]>('deleteGroup');
/**
 * To the group entity, from the group snapshot that took it: record a set (refused once the group is
 * deleted; the same run's set again replaces it). Answers the set as recorded.
 */
export const recordGroupSetUpdate = defineUpdate<GroupSet, [RecordGroupSetRequest]>('recordGroupSet');
/** Answered by the group entity (closed runs too, by replay): its whole versioned state. */
export const groupStateQuery = defineQuery<GroupState>('groupState');

// The checkpoint session (workflows/checkpoint-workspace.ts).

/** What the `release` update answers. */
export interface ReleaseUpdateResult {
  released: true;
  snapshotDeleted: boolean;
}

/** Stop, restore the checkpoint, start; answered once the workspace runs again. Repeatable. */
export const rollbackUpdate = defineUpdate<RollbackResult, []>('rollback');
/**
 * Ends the session; `{deleteSnapshot: true}` also deletes the checkpoint snapshot. The argument may be
 * left out on the wire (the handler takes none as `{}`), but the SDK's executeUpdate has no optional
 * arguments: TypeScript callers pass `{}`.
 */
export const releaseUpdate = defineUpdate<ReleaseUpdateResult, [ReleaseCheckpointInput]>('release');

// A stop announced in advance (workflows/notice.ts): the pending backup (or snapshot) waiting out its notice.

/** Moves the pending stop later; refused (validator) when the run is not waiting out a notice, or past the cap. */
export const snoozeUpdate = defineUpdate<NoticeView, [SnoozeRequest]>('snooze');
/** Skips the pending run: it ends as skipped, nothing stopped. Refused when not waiting out a notice. */
export const skipUpdate = defineUpdate<NoticeView, [SkipRequest]>('skip');
/** The pending stop (null: this run announces none, or has not reached its notice yet). */
export const noticeQuery = defineQuery<NoticeView | null>('notice');

/** The `event` field of the webhook POST sent before a stop: the name other services match on. */
export const STOP_NOTICE_EVENT = 'stop.notice';

/** Kept for callers of earlier versions (client/index.ts exported it): the progress query's name. */
export const PROGRESS_QUERY = progressQuery.name;
