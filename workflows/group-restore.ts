/**
 * restoreGroup (issue 23, item 3): restores several workspaces to one set of snapshots, all or nothing. A
 * thin shell over domain/group-restore.ts: take every member's lock (workflows/workspace-locks.ts), check
 * every member and its snapshot before any downtime, stop all, take a safety snapshot of each, restore
 * each; if any restore fails (or the run is cancelled meanwhile) put every member a restore touched back
 * on its safety snapshot; then start all in the start order (workflows/group-downtime.ts). Shared by the
 * group checkpoint's rollback (workflows/group-checkpoint.ts).
 *
 * Ends: every member restored (the result); none restored, each unchanged or back on its safety snapshot
 * (RolledBack, or CancelledAfterChange when cancelled after a safety snapshot landed); a member even the
 * rollback could not put back (PartialFailure naming each member's state and the command that finishes
 * the job). details[0] of those failures is the result's shape.
 */
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../contract/index.js';
import {
  describeMembers,
  groupVerdict,
  mayRestore,
  memberReport,
  memberStep,
  refuseOwnership,
  targetStartOrder,
  targetsOfSet,
  toRollBack,
  type MemberEvent,
  type MemberState,
  type RestoreTarget,
} from '../domain/group-restore.js';
import type { RestoreGroupInput } from '../domain/inputs.js';
import type { RestoreGroupResult } from '../domain/results.js';
import * as schemas from '../domain/schemas.js';
import type { PreflightResult } from '../activities/index.js';
import { activities, checkedInput, localActivities, runOperation, type ProgressTracker } from './common.js';
import { leftDownFailure, settleAll, whileAllStopped } from './group-downtime.js';
import { finishedWhileCancelled } from './landed.js';
import { describeFailure } from './notify.js';
import { holdSafetySnapshot, takeSafetySnapshot } from './restore-workspace.js';
import { withWorkspaceLocks } from './workspace-locks.js';

/** What a group restore restores, resolved before any lock is taken. */
export interface GroupRestorePlan {
  group: string | null;
  set: string | null;
  targets: RestoreTarget[];
  startOrder: string[];
}

type GroupRestoreOutcome = Omit<RestoreGroupResult, 'steps'>;

const failureText = (err: unknown) => {
  const { errorType, message } = describeFailure(err);
  return `${errorType}: ${message}`;
};

/** Each member's state through one group restore, and the calls that move it (the rules decide which). */
class GroupRestoreRun {
  readonly states: Record<string, MemberState>;
  cancelled = false;
  /** Why the run stopped short before any member's change (a stop that failed). */
  cause: string | null = null;

  constructor(
    readonly plan: GroupRestorePlan,
    private readonly tracker: ProgressTracker,
  ) {
    this.states = Object.fromEntries(plan.targets.map((t) => [t.workspaceId, { phase: 'locked' }]));
  }

  private apply(workspaceId: string, event: MemberEvent): void {
    this.states[workspaceId] = memberStep(this.states[workspaceId]!, event);
  }

  /** A cancellation seen by any member's call (or pending on the run) turns the run into its undoing. */
  private noteCancel(err?: unknown): void {
    if ((err !== undefined && isCancellation(err)) || CancellationScope.current().consideredCancelled) this.cancelled = true;
  }

  async safetySnapshots(preflights: Readonly<Record<string, PreflightResult>>): Promise<void> {
    this.tracker.begin('safety-snapshot', `safety snapshots of ${this.plan.targets.length} workspaces`);
    await Promise.all(
      this.plan.targets.map(async ({ workspaceId }) => {
        try {
          await takeSafetySnapshot(workspaceId, preflights[workspaceId]!, (s) => this.apply(workspaceId, { type: 'safety-taken', safetySnapshotId: s.id }));
        } catch (err) {
          this.noteCancel(err);
          this.apply(workspaceId, { type: 'safety-failed', error: failureText(err) });
        }
      }),
    );
    this.noteCancel();
  }

  async restores(): Promise<void> {
    this.tracker.begin('restore', `restoring ${this.plan.targets.length} workspaces`);
    await Promise.all(
      this.plan.targets.map(async ({ workspaceId, snapshotId }) => {
        this.apply(workspaceId, { type: 'restore-sent' });
        try {
          await activities('longCopy', `restore ${snapshotId} into ${workspaceId}`).restoreSnapshot({ workspaceId, snapshotId });
          this.apply(workspaceId, { type: 'restored' });
        } catch (err) {
          this.noteCancel(err);
          // Cancelled while Rigbox restored: the disk is overwritten all the same (and is rolled back with the rest).
          if (finishedWhileCancelled(err)?.restored === snapshotId) this.apply(workspaceId, { type: 'restored' });
          else this.apply(workspaceId, { type: 'restore-failed', error: failureText(err) });
        }
      }),
    );
    this.noteCancel();
  }

  /**
   * Puts members back on their safety snapshots, not cancellable: it is what a cancellation asks for. Each
   * restore retries transient errors for hours (longCopy); one that still fails is reported, never hidden.
   */
  async rollBack(workspaceIds: readonly string[]): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      this.tracker.begin('rollback', `putting ${workspaceIds.join(', ')} back on their safety snapshots`);
      await Promise.all(
        workspaceIds.map(async (workspaceId) => {
          const state = this.states[workspaceId]!;
          const safety = 'safetySnapshotId' in state ? state.safetySnapshotId : '';
          this.apply(workspaceId, { type: 'rollback-sent' });
          try {
            await activities('longCopy', `put ${workspaceId} back on its safety snapshot ${safety}`).restoreSnapshot({ workspaceId, snapshotId: safety });
            this.apply(workspaceId, { type: 'rolled-back' });
          } catch (err) {
            this.apply(workspaceId, { type: 'rollback-failed', error: failureText(err) });
          }
        }),
      );
    });
  }

  /** Everything done while every member is stopped; never throws (each member's failure is its state). */
  async whileStopped(preflights: Readonly<Record<string, PreflightResult>>): Promise<void> {
    await this.safetySnapshots(preflights);
    if (mayRestore(Object.values(this.states), this.cancelled)) await this.restores();
    const back = toRollBack(this.states, this.cancelled);
    if (back.length) await this.rollBack(back);
  }

  /** Holds each safety snapshot taken for 24 h, as a single restore does: the way back outlives a prune. */
  async holdSafetySnapshots(): Promise<void> {
    await CancellationScope.nonCancellable(() =>
      settleAll(
        Object.entries(this.states).flatMap(([workspaceId, s]) => ('safetySnapshotId' in s ? [holdSafetySnapshot(workspaceId, s.safetySnapshotId)] : [])),
      ),
    );
  }

  /** The result, or the failure that says how the group ended (the rules' verdict). */
  /** Each member's state and the verdict, as the run stands. */
  report(): GroupRestoreOutcome {
    const members = this.plan.targets.map((t) => memberReport(t, this.states[t.workspaceId]!));
    return { group: this.plan.group, set: this.plan.set, verdict: groupVerdict(members.map((m) => m.outcome)), members, startOrder: this.plan.startOrder };
  }

  finish(cancellation: { cancelled: boolean; failure: unknown }): GroupRestoreOutcome {
    const outcome = this.report();
    const { members, verdict } = outcome;
    const fail = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true, details: [outcome] });
    if (verdict === 'mixed') throw fail('PartialFailure', `the group restore is NOT all or nothing: ${describeMembers(members)}`);
    if (this.cancelled || cancellation.cancelled) {
      if (members.some((m) => m.safetySnapshotId)) {
        throw fail('CancelledAfterChange', `cancelled after its change landed in Rigbox; every member is back as it began: ${describeMembers(members)}`);
      }
      if (cancellation.cancelled) throw cancellation.failure;
      throw new CancelledFailure('cancelled before anything was changed');
    }
    if (verdict === 'undone') {
      const first = members.find((m) => m.error);
      const why = first ? `${first.workspaceId}: ${first.error}` : (this.cause ?? 'a member failed');
      throw fail('RolledBack', `the group restore failed (${why}); every member is back where it began: ${describeMembers(members)}`);
    }
    return outcome;
  }
}

/** Every member and its snapshot checked, in parallel, before anything is stopped: one missing or foreign snapshot fails the group here. */
async function preflightAll(targets: readonly RestoreTarget[], tracker: ProgressTracker): Promise<Record<string, PreflightResult>> {
  tracker.begin('preflight', `checking ${targets.length} workspaces and their snapshots`);
  const found = await settleAll(
    targets.map((t) =>
      localActivities('preflight', `check ${t.workspaceId} and ${t.snapshotId}`).preflight({ workspaceId: t.workspaceId, snapshotId: t.snapshotId }),
    ),
  );
  targets.forEach((t, i) => {
    const why = refuseOwnership(t, found[i]!.snapshot);
    if (why) throw ApplicationFailure.create({ type: 'NotFound', message: why, nonRetryable: true });
  });
  tracker.end();
  return Object.fromEntries(targets.map((t, i) => [t.workspaceId, { ...found[i]!, lockWaitMs: 0 }]));
}

/**
 * The group restore for a caller that holds every member's lock: preflight, downtime, the verdict. A stop
 * that fails leaves every member unchanged (started again) and ends RolledBack naming it.
 */
export async function restoreGroupUnderLocks(plan: GroupRestorePlan, tracker: ProgressTracker): Promise<GroupRestoreOutcome> {
  const preflights = await preflightAll(plan.targets, tracker);
  const run = new GroupRestoreRun(plan, tracker);
  const members = plan.targets.map((t) => ({ workspaceId: t.workspaceId, status: preflights[t.workspaceId]!.workspace.status }));
  const cancellation = { cancelled: false, failure: undefined as unknown };
  const downtime = await whileAllStopped(members, plan.startOrder, tracker, () => run.whileStopped(preflights));
  const { outcome } = downtime;
  if (!outcome.ok && isCancellation(outcome.failure)) Object.assign(cancellation, { cancelled: true, failure: outcome.failure });
  // A stop that failed: nothing was changed, every member was started again; the run ends RolledBack naming it.
  else if (!outcome.ok && outcome.phase === 'stop') run.cause = failureText(outcome.failure);
  else if (!outcome.ok) throw outcome.failure as Error;
  await run.holdSafetySnapshots();
  // After the change, only a start can fail (a member gone, or abandoned by an operator): that is the news,
  // with every member's state.
  if (outcome.ok && downtime.startFailure !== undefined) throw leftDownFailure(downtime, `group restore: ${run.report().verdict}`, run.report());
  return run.finish(cancellation);
}

/** The plan of explicit targets (in the given start order), or of the group's recorded set (in the group's start order). */
async function planOf(input: ReturnType<ReturnType<typeof schemas.restoreGroupInput>['parse']>, tracker: ProgressTracker): Promise<GroupRestorePlan> {
  if (input.targets) return { group: null, set: null, targets: input.targets, startOrder: targetStartOrder(input.targets, input.startOrder) };
  const [group, set] = [input.group!, input.set!];
  tracker.begin('resolve-group', `the set "${set}" of group ${group}`);
  const found = await activities('entityCall', `read the set "${set}" of group ${group}`).readGroupSet({ group, set });
  const resolved = targetsOfSet(found.set, input.allowIncomplete);
  if ('refused' in resolved) throw ApplicationFailure.create({ type: 'InvalidInput', message: `group ${group}: ${resolved.refused}`, nonRetryable: true });
  tracker.end();
  return { group, set, targets: resolved.targets, startOrder: targetStartOrder(resolved.targets, found.startOrder) };
}

/**
 * Restores a group of workspaces to one set of snapshots, all or nothing: `{group, set, allowIncomplete?}`
 * (a set recorded by snapshotGroup) or `{targets: [{workspaceId, snapshotId}], startOrder?}`.
 */
export async function restoreGroup(rawInput: RestoreGroupInput): Promise<RestoreGroupResult> {
  const input = await checkedInput(WORKFLOW_TYPES['group-restore'], schemas.restoreGroupInput, rawInput);
  return runOperation('group-restore', null, async (tracker) => {
    const plan = await planOf(input, tracker);
    const ids = plan.targets.map((t) => t.workspaceId);
    return withWorkspaceLocks(ids, { operation: 'group-restore' }, tracker, () => restoreGroupUnderLocks(plan, tracker));
  });
}
