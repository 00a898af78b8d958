/**
 * The workspace entity's handlers for enrollment and labels (rules: domain/enrollment.ts), apart from the
 * lock's shell like the holds' (workflows/entity-holds.ts). Each update is one event; the entity then
 * publishes what selectors search, the RigboxLabels search attribute, from its state. No timer.
 */
import { ApplicationFailure, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { enrollWorkspaceUpdate, labelsKey, unenrollWorkspaceUpdate, workspaceLabelsQuery } from '../contract/index.js';
import { enrollmentView, labelsAttribute, refuseEnrollRequest, type EnrollRequest, type EnrollmentEvent, type UnenrollRequest } from '../domain/enrollment.js';
import type { EntityState } from '../domain/workspace-entity.js';
import { nowIso } from './common.js';

export interface LabelsHost {
  readonly state: EntityState;
  applyEnrollment(event: EnrollmentEvent): void;
}

function refuse(why: string | null): void {
  if (why) throw ApplicationFailure.create({ type: 'InvalidInput', message: why, nonRetryable: true });
}

/**
 * Makes RigboxLabels say what the state says, only when it differs: a run that starts from carried or
 * recovered state (continue-as-new, a recovery by a client) publishes it again; an entity never enrolled
 * issues no command at all, so the histories of entities from before enrollment replay unchanged.
 */
export function publishLabels(state: EntityState): void {
  const want = labelsAttribute(state.labels);
  const have = workflowInfo().typedSearchAttributes.get(labelsKey) ?? [];
  if (want.length === have.length && want.every((v, i) => v === have[i])) return;
  // An empty list removes the attribute: an unenrolled workspace is found by no selector.
  upsertSearchAttributes([{ key: labelsKey, value: want }]);
}

export function setLabelsHandlers(entity: LabelsHost): void {
  const view = () => enrollmentView(entity.state.workspaceId, entity.state.labels);
  setHandler(
    enrollWorkspaceUpdate,
    (request) => {
      entity.applyEnrollment({ type: 'enroll', request, at: nowIso() });
      publishLabels(entity.state);
      return view();
    },
    { validator: (request: EnrollRequest) => refuse(refuseEnrollRequest(request, entity.state.labels)) },
  );
  setHandler(
    unenrollWorkspaceUpdate,
    (request) => {
      entity.applyEnrollment({ type: 'unenroll', request, at: nowIso() });
      publishLabels(entity.state);
      return view();
    },
    { validator: (request: UnenrollRequest) => refuse(request && typeof request.by === 'string' && request.by ? null : 'unenroll: must say who (by)') },
  );
  setHandler(workspaceLabelsQuery, view);
}
