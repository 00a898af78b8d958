/**
 * Resolving a fleet's selector when its run starts (workflows/backup-fleet.ts): visibility lists the
 * candidate entities by the RigboxLabels search attribute, then each entity's `workspaceLabels` query
 * decides (visibility lags and may be stale: a workspace unenrolled a second ago may still be listed).
 * Reads Temporal only, never Rigbox.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { enrolledCandidatesQuery, workspaceIdKey, workspaceLabelsQuery } from '../contract/index.js';
import { labelTerms, matchesSelector, type Selector } from '../domain/enrollment.js';
import { MAX_FLEET_SIZE, workflowIds } from '../domain/index.js';
import type { ActivityEnv } from './env.js';
import { failure } from './failures.js';
import { mapLimit } from './workspace-existence.js';

/** Entity queries in flight at once. */
const QUERY_CONCURRENCY = 8;

export interface SelectionResult {
  /** The enrolled workspaces whose entity confirmed the selector, sorted. */
  workspaceIds: string[];
  /** Candidates visibility listed whose entity said it is not enrolled or does not match. */
  notConfirmed: string[];
}

/**
 * The enrolled workspaces of `taskQueue` whose entity confirms `selector` (empty: every enrolled one).
 * Shared by the fleet's selection and the audit's view of who a fleet schedule by selector protects.
 */
export async function selectEnrolled(temporal: { client: Client; taskQueue: string }, selector: Selector): Promise<SelectionResult> {
  const { client, taskQueue } = temporal;
  const input = { selector };
  const candidates = new Set<string>();
  for await (const w of client.workflow.list({ query: enrolledCandidatesQuery(labelTerms(input.selector), taskQueue) })) {
    const id = w.searchAttributes?.[workspaceIdKey.name];
    if (Array.isArray(id) && typeof id[0] === 'string') candidates.add(id[0]);
  }
  const ids = [...candidates].sort();
  const confirmed = await mapLimit(ids, QUERY_CONCURRENCY, async (id) => {
    try {
      // The latest run: a closed (terminated) entity answers from its history, as recovery reads it.
      return matchesSelector(await client.workflow.getHandle(workflowIds.workspace(id)).query(workspaceLabelsQuery), input.selector);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  });
  return { workspaceIds: ids.filter((_, i) => confirmed[i]), notConfirmed: ids.filter((_, i) => !confirmed[i]) };
}

async function resolveSelector(env: ActivityEnv, input: { selector: Selector }): Promise<SelectionResult> {
  if (!env.deps.temporal) throw new Error('resolving a selector needs a Temporal client (ActivityDeps.temporal)');
  const { workspaceIds, notConfirmed } = await selectEnrolled(env.deps.temporal, input.selector);
  if (workspaceIds.length > MAX_FLEET_SIZE)
    throw failure('InvalidInput', `the selector matches ${workspaceIds.length} workspaces; a fleet backs up at most ${MAX_FLEET_SIZE}`);
  return { workspaceIds, notConfirmed };
}

export function createSelectionActivities(env: ActivityEnv) {
  return {
    resolveSelector: (input: { selector: Selector }) => resolveSelector(env, input),
  };
}
