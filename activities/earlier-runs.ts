/**
 * What an earlier run of the same request left (issue 18.2): a run of a snapshot cancelled during its
 * copy ends CancelledAfterChange with the snapshot it made; a later run of the same workflow id (the same
 * request: the client's `snapshot-<workspace>-<name>-<request key>`, or any starter's id) adopts that
 * snapshot instead of making a second one.
 *
 * Visibility only finds the earlier runs (candidates); what each left is read from its result, which
 * comes from its history (strongly consistent). Were visibility late to show a run closed seconds ago,
 * the re-run would make its own snapshot: a second one, never a wrong adoption.
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ChangesLanded, RigboxSnapshot } from '../domain/index.js';
import type { ActivityEnv } from './env.js';

export interface EarlierRunInput {
  workflowId: string;
  /** This run: not an earlier one. */
  runId: string;
  workspaceId: string;
  name: string;
  /** Snapshots with this name that exist now (read under the lock): only one of these can be adopted. */
  existingIds: string[];
}

/** How many closed runs of the id are looked at, newest first: a request is re-run a few times at most. */
const MAX_RUNS = 20;

const quoted = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The snapshot a closed run left, if it ended CancelledAfterChange with one of this name in this workspace. */
async function leftBy(env: ActivityEnv, input: EarlierRunInput, runId: string): Promise<RigboxSnapshot | undefined> {
  const client = env.deps.temporal!.client;
  try {
    await client.workflow.getHandle(input.workflowId, runId, { followRuns: false }).result();
    return undefined;
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (!(cause instanceof ApplicationFailure) || cause.type !== 'CancelledAfterChange') return undefined;
    const landed = cause.details?.[0] as Partial<ChangesLanded> | undefined;
    const s = landed?.snapshot;
    if (!s || s.name !== input.name || s.workspace_id !== input.workspaceId || !input.existingIds.includes(s.id)) return undefined;
    return s;
  }
}

/** The snapshot an earlier, cancelled run of this workflow id made, still in Rigbox; or null. */
async function findEarlierRunSnapshot(env: ActivityEnv, input: EarlierRunInput): Promise<RigboxSnapshot | null> {
  if (!env.deps.temporal) throw new Error('findEarlierRunSnapshot needs a Temporal client (ActivityDeps.temporal)');
  const runs = env.deps.temporal.client.workflow.list({ query: `WorkflowId = ${quoted(input.workflowId)} AND ExecutionStatus = "Failed"` });
  let seen = 0;
  for await (const wf of runs) {
    if (wf.runId === input.runId) continue;
    const found = await leftBy(env, input, wf.runId);
    if (found) {
      Context.current().log.info('adopting the snapshot an earlier, cancelled run of this request made', { snapshotId: found.id, earlierRunId: wf.runId });
      return found;
    }
    if (++seen >= MAX_RUNS) break;
  }
  return null;
}

export function createEarlierRunActivities(env: ActivityEnv) {
  return {
    findEarlierRunSnapshot: (input: EarlierRunInput) => findEarlierRunSnapshot(env, input),
  };
}
