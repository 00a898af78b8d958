/**
 * The workspace entity's handlers for holds, deletions and the baseline (rules: domain/holds.ts). Kept
 * apart from workflows/workspace-entity.ts so the lock's shell stays as it is: each handler turns a
 * message into one event and answers with what the rules say. None starts a timer: expiry is read at
 * check time, so an idle entity stays idle.
 */
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import {
  authoriseDeletesUpdate,
  deletesSettledSignal,
  heldSnapshotsSeenSignal,
  holdSnapshotUpdate,
  setBaselineUpdate,
  unholdSnapshotUpdate,
  workspaceHoldsQuery,
} from '../contract/index.js';
import {
  holdsView,
  refuseDeleteAuthorisation,
  refuseHoldRequest,
  refuseUnholdRequest,
  type BaselineAnswer,
  type BaselineRequest,
  type DeleteAuthorisation,
  type DeleteAuthorisationRequest,
  type HoldAnswer,
  type HoldRequest,
  type UnholdRequest,
  type HoldsAnswer,
  type HoldsEvent,
  type UnholdAnswer,
} from '../domain/holds.js';
import type { EntityState } from '../domain/workspace-entity.js';
import { nowIso } from './common.js';

export interface HoldsHost {
  readonly state: EntityState;
  applyHolds(event: HoldsEvent): HoldsAnswer | undefined;
}

/** A validator's refusal: the update is rejected before it is recorded, typed for the caller. */
function refuse(why: string | null): void {
  if (why) throw ApplicationFailure.create({ type: 'InvalidInput', message: why, nonRetryable: true });
}

export function setHoldsHandlers(entity: HoldsHost): void {
  setHandler(holdSnapshotUpdate, (request) => entity.applyHolds({ type: 'hold', request, at: nowIso() }) as HoldAnswer, {
    validator: (request: HoldRequest) => refuse(refuseHoldRequest(request)),
  });
  setHandler(unholdSnapshotUpdate, (request) => entity.applyHolds({ type: 'unhold', request, at: nowIso() }) as UnholdAnswer, {
    validator: (request: UnholdRequest) => refuse(refuseUnholdRequest(request)),
  });
  setHandler(authoriseDeletesUpdate, (request) => entity.applyHolds({ type: 'authorise-deletes', request, at: nowIso() }) as DeleteAuthorisation, {
    validator: (request: DeleteAuthorisationRequest) => refuse(refuseDeleteAuthorisation(request)),
  });
  setHandler(deletesSettledSignal, ({ workflowId, deleted }) => void entity.applyHolds({ type: 'deletes-settled', workflowId, deleted, at: nowIso() }));
  setHandler(heldSnapshotsSeenSignal, ({ seen }) => void entity.applyHolds({ type: 'held-seen', seen, at: nowIso() }));
  setHandler(setBaselineUpdate, (request) => entity.applyHolds({ type: 'baseline-set', request, at: nowIso() }) as BaselineAnswer, {
    validator: (request: BaselineRequest | undefined) =>
      refuse(refuseHoldRequest(request ? { snapshotId: request.snapshotId, by: request.by, reason: 'team baseline' } : undefined)),
  });
  setHandler(workspaceHoldsQuery, () => holdsView(entity.state.workspaceId, entity.state.holds, entity.state.baseline, nowIso()));
}
