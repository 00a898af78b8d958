/**
 * The activity a group restore (workflows/group-restore.ts) uses to find the set it restores: the group
 * entity's recorded sets (its query, strongly consistent, never visibility), the newest of that name, with
 * the group's start order. None calls Rigbox.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { groupStateQuery } from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import { groupSets } from '../domain/groups.js';
import type { RecordedSetView } from '../domain/group-restore.js';
import type { ActivityEnv } from './env.js';

export interface GroupSetFound {
  set: RecordedSetView;
  startOrder: string[];
}

const notFound = (message: string) => ApplicationFailure.create({ type: 'NotFound', message, nonRetryable: true });

/** The newest set named `set` of the group; NotFound (naming the command that lists them) when there is none. */
async function readGroupSet(env: ActivityEnv, input: { group: string; set: string }): Promise<GroupSetFound> {
  const client = env.deps.temporal?.client;
  if (!client) throw new Error('the group activities need a Temporal client (ActivityDeps.temporal)');
  let state;
  try {
    state = await client.workflow.getHandle(workflowIds.group(input.group)).query(groupStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(`group ${input.group} does not exist`);
    throw err;
  }
  if (state.status !== 'active') throw notFound(`group ${input.group} does not exist`);
  const found = groupSets(state).find((s) => s.name === input.set);
  if (!found) throw notFound(`group ${input.group} has no set "${input.set}"; \`rigsnap group snapshots ${input.group}\` lists its sets`);
  const { name, complete, members } = found;
  return { set: { name, complete, members: members.map((m) => ({ workspaceId: m.workspaceId, snapshotId: m.snapshotId })) }, startOrder: state.startOrder };
}

export function createGroupSetActivities(env: ActivityEnv) {
  return { readGroupSet: (input: { group: string; set: string }) => readGroupSet(env, input) };
}
