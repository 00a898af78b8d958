/**
 * Enrollment and labels from outside (the CLI, another service): `enroll`/`unenroll` are Updates on the
 * workspace entity through client/entity.ts (started if it never ran, recovered if terminated), and
 * `enrolledWorkspaces` finds candidates through the RigboxLabels search attribute, then asks each entity
 * (its `workspaceLabels` query) whether it is enrolled and matches: visibility finds, the entity decides.
 * The rules: domain/enrollment.ts.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { enrollWorkspaceUpdate, enrolledCandidatesQuery, unenrollWorkspaceUpdate, workspaceIdKey, workspaceLabelsQuery } from '../contract/index.js';
import { WorkspaceId, workflowIds } from '../domain/index.js';
import { enrollmentView, labelTerms, matchesSelector, refuseEnrollRequest, type EnrollmentView, type Selector } from '../domain/enrollment.js';
import type { TemporalContext } from './context.js';
import { onEntity } from './entity.js';
import { invalidInput, validateField } from './errors.js';

export interface EnrollOptions {
  /** Labels to set (added, or replacing the value of the same key). */
  labels?: Record<string, string>;
  /** Label keys to remove. */
  remove?: string[];
  /** Who enrolls; default the client's identity. */
  by?: string;
}

/** Enrolls a workspace (again: sets and removes labels, keeps the others). Answers its enrollment as it now is. */
export async function enroll(ctx: TemporalContext, workspaceId: string, options: EnrollOptions = {}): Promise<EnrollmentView> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const request = {
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.remove?.length ? { remove: options.remove } : {}),
    by: options.by ?? ctx.client.options.identity ?? 'unknown',
  };
  // The entity's validator refuses the same; checked here first so bad input reaches no workflow.
  const why = refuseEnrollRequest(request);
  if (why) throw invalidInput(why, ['labels']);
  return onEntity(ctx, ws, (start) => ctx.client.workflow.executeUpdateWithStart(enrollWorkspaceUpdate, { args: [request], startWorkflowOperation: start }));
}

/** Unenrolls a workspace: no selector selects it any more, and its labels are forgotten. */
export async function unenroll(ctx: TemporalContext, workspaceId: string, by?: string): Promise<EnrollmentView> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const request = { by: by ?? ctx.client.options.identity ?? 'unknown' };
  return onEntity(ctx, ws, (start) => ctx.client.workflow.executeUpdateWithStart(unenrollWorkspaceUpdate, { args: [request], startWorkflowOperation: start }));
}

/** A workspace's enrollment, from its entity (closed runs answer too); not enrolled when it never had one. */
export async function enrollmentOf(ctx: TemporalContext, workspaceId: string): Promise<EnrollmentView> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  try {
    return await ctx.client.workflow.getHandle(workflowIds.workspace(ws)).query(workspaceLabelsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return enrollmentView(ws, undefined);
    throw ctx.error(err, { workflowId: workflowIds.workspace(ws) });
  }
}

/** The result of a selection: what matched (by the entities' own answers), and how many candidates visibility offered. */
export interface EnrolledWorkspaces {
  selector: Selector;
  workspaces: EnrollmentView[];
  /** Candidates visibility listed whose entity said it is not enrolled or does not match (stale visibility). */
  notConfirmed: string[];
}

/** The enrolled workspaces that match `selector` (empty: every enrolled one), sorted by id. */
export async function enrolledWorkspaces(ctx: TemporalContext, selector: Selector = {}): Promise<EnrolledWorkspaces> {
  const candidates = new Set<string>();
  await ctx.call({}, async () => {
    for await (const w of ctx.client.workflow.list({ query: enrolledCandidatesQuery(labelTerms(selector), ctx.taskQueue) })) {
      const id = w.searchAttributes?.[workspaceIdKey.name];
      if (Array.isArray(id) && typeof id[0] === 'string') candidates.add(id[0]);
    }
  });
  const workspaces: EnrollmentView[] = [];
  const notConfirmed: string[] = [];
  for (const id of [...candidates].sort()) {
    const view = await enrollmentOf(ctx, id);
    if (matchesSelector(view, selector)) workspaces.push(view);
    else notConfirmed.push(id);
  }
  return { selector, workspaces, notConfirmed };
}
