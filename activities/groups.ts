/**
 * The activities a group operation (workflows/snapshot-group.ts) uses to talk to its group entity
 * (workflows/group-entity.ts): read the members and start order (the entity's query: strongly consistent,
 * never visibility), and record the set it took (an Update keyed by the run, so a retry is the same
 * update). None calls Rigbox.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { groupStateQuery, recordGroupSetUpdate } from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import { migrateGroupState, type GroupSet } from '../domain/groups.js';
import type { ActivityEnv } from './env.js';

function temporalOf(env: ActivityEnv): Client {
  if (!env.deps.temporal) throw new Error('the group activities need a Temporal client (ActivityDeps.temporal)');
  return env.deps.temporal.client;
}

export interface GroupMembers {
  members: string[];
  startOrder: string[];
}

/** The group's members and start order, from its entity (a terminated one answers by replay); NotFound when there is no such group. */
async function readGroup(env: ActivityEnv, input: { group: string }): Promise<GroupMembers> {
  const notFound = () => ApplicationFailure.create({ type: 'NotFound', message: `group ${input.group} does not exist`, nonRetryable: true });
  try {
    const state = await temporalOf(env).workflow.getHandle(workflowIds.group(input.group)).query(groupStateQuery);
    if (state.status !== 'active') throw notFound();
    return { members: state.members, startOrder: state.startOrder };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound();
    throw err;
  }
}

/**
 * Records the set in the group entity. Answers whether it was recorded, and why not: the group was deleted
 * meanwhile (the validator refuses) or its entity is not running (an operator terminated it; the next
 * `rigsnap group` command recovers it). The snapshots exist either way; the workflow's result names them.
 */
async function recordGroupSet(env: ActivityEnv, input: { group: string; set: GroupSet }): Promise<{ recorded: boolean; why?: string }> {
  try {
    await temporalOf(env)
      .workflow.getHandle(workflowIds.group(input.group))
      .executeUpdate(recordGroupSetUpdate, { args: [input.set], updateId: `${input.set.workflowId}/${input.set.runId}/record-set` });
    return { recorded: true };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { recorded: false, why: err.cause?.message ?? err.message };
    if (err instanceof WorkflowNotFoundError) return { recorded: false, why: `the entity of group ${input.group} is not running` };
    throw err;
  }
}

/**
 * Every set the group entity recorded, oldest first, retired ones included (a group schedule's retention
 * decides from them: domain/group-retention.ts). From its query: strongly consistent, never visibility.
 */
async function readGroupSets(env: ActivityEnv, input: { group: string }): Promise<GroupSet[]> {
  try {
    const state = await temporalOf(env).workflow.getHandle(workflowIds.group(input.group)).query(groupStateQuery);
    if (state.status !== 'active') throw ApplicationFailure.create({ type: 'NotFound', message: `group ${input.group} does not exist`, nonRetryable: true });
    return migrateGroupState(input.group, state).sets;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw ApplicationFailure.create({ type: 'NotFound', message: `group ${input.group} does not exist`, nonRetryable: true });
    throw err;
  }
}

/**
 * Marks a set retired in the group entity: the same recordGroupSet Update with the set as recorded plus
 * `retired` (the entity replaces the record of the same run), so the entity's code is unchanged and a
 * release without group schedules still replays it. Its own update id, so it is not taken for the record.
 */
async function retireGroupSet(env: ActivityEnv, input: { group: string; set: GroupSet }): Promise<{ recorded: boolean; why?: string }> {
  try {
    await temporalOf(env)
      .workflow.getHandle(workflowIds.group(input.group))
      .executeUpdate(recordGroupSetUpdate, { args: [input.set], updateId: `${input.set.workflowId}/${input.set.runId}/retire-set` });
    return { recorded: true };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { recorded: false, why: err.cause?.message ?? err.message };
    if (err instanceof WorkflowNotFoundError) return { recorded: false, why: `the entity of group ${input.group} is not running` };
    throw err;
  }
}

export function createGroupActivities(env: ActivityEnv) {
  return {
    readGroup: (input: { group: string }) => readGroup(env, input),
    recordGroupSet: (input: { group: string; set: GroupSet }) => recordGroupSet(env, input),
    readGroupSets: (input: { group: string }) => readGroupSets(env, input),
    retireGroupSet: (input: { group: string; set: GroupSet }) => retireGroupSet(env, input),
  };
}
