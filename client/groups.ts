/**
 * Groups of workspaces from outside (the CLI, another service): create, update, show, list and delete the
 * group entity (workflows/group-entity.ts, rules in domain/groups.ts). Create is an Update-with-Start, so
 * the first create starts the entity; the others act only on a group that exists, so a typo never starts
 * an empty entity. A terminated entity is recovered from its closed run's state (never replaced by an empty
 * one); a deleted one has ended, and a create of the same name starts afresh. `listGroups` finds candidates
 * through visibility and asks each entity: visibility finds, the entity decides.
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  WORKFLOW_TYPES,
  createGroupUpdate,
  deleteGroupUpdate,
  groupCandidatesQuery,
  groupStateQuery,
  operationKey,
  updateGroupUpdate,
} from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import {
  emptyGroupState,
  groupSets,
  groupView,
  migrateGroupState,
  normaliseMembers,
  refuseGroupName,
  refuseMembers,
  refuseStartOrder,
  type GroupEntityInput,
  type GroupSet,
  type GroupState,
  type GroupView,
} from '../domain/groups.js';
import type { TemporalContext } from './context.js';
import { RigsnapError, invalidInput } from './errors.js';

export interface CreateGroupOptions {
  /** The order a group operation starts the members in; default: member order. */
  startOrder?: string[];
  /** Who creates it; default the client's identity. */
  by?: string;
}

export interface UpdateGroupOptions {
  members?: string[];
  startOrder?: string[];
  by?: string;
}

/** What `listGroups` answers: the groups their entities confirm, and the candidates they did not. */
export interface GroupList {
  groups: GroupView[];
  /** Names visibility listed whose entity says there is no such group (deleted; visibility lags). */
  notConfirmed: string[];
}

function checkedName(name: string): string {
  const why = refuseGroupName(name);
  if (why) throw invalidInput(why, ['group']);
  return name;
}

function checkedMembers(members: string[]): string[] {
  const m = normaliseMembers(members);
  const why = refuseMembers(m);
  if (why) throw invalidInput(why, ['members']);
  return m;
}

function checkedStartOrder(members: string[], startOrder: string[] | undefined): string[] | undefined {
  if (startOrder === undefined) return undefined;
  const order = startOrder.map((w) => w.trim());
  const why = refuseStartOrder(members, order);
  if (why) throw invalidInput(why, ['startOrder']);
  return order;
}

function startOf(ctx: TemporalContext, input: GroupEntityInput) {
  return {
    workflowId: workflowIds.group(input.name),
    taskQueue: ctx.taskQueue,
    args: [input] as [GroupEntityInput],
    typedSearchAttributes: [{ key: operationKey, value: 'group' }],
    staticSummary: `rigsnap internal: the members of group ${input.name}`,
  };
}

/** The state of the group's latest run (a closed run answers by replay); an empty state when it never ran. */
async function stateOf(ctx: TemporalContext, name: string): Promise<GroupState> {
  try {
    return await ctx.client.workflow.getHandle(workflowIds.group(name)).query(groupStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return emptyGroupState(name);
    throw ctx.error(err, { workflowId: workflowIds.group(name) });
  }
}

/**
 * Makes sure the group's entity runs: nothing when it does; after a termination, a successor from the
 * closed run's state; after a delete (the run completed, or its state says deleted), a fresh run.
 */
async function recover(ctx: TemporalContext, name: string): Promise<void> {
  const id = workflowIds.group(name);
  const latest = await ctx.client.workflow.getHandle(id).describe();
  if (latest.status.name === 'RUNNING') return;
  const state = await ctx.client.workflow.getHandle(id, latest.runId).query(groupStateQuery);
  const carried = state.status === 'active' ? { state, recoveredFrom: latest.runId } : {};
  try {
    await ctx.client.workflow.start(WORKFLOW_TYPES.group, {
      ...startOf(ctx, { name, ...carried }),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Creates a group; the same create again (same members and start order) answers the same. */
export async function createGroup(ctx: TemporalContext, name: string, members: string[], options: CreateGroupOptions = {}): Promise<GroupView> {
  const group = checkedName(name);
  const m = checkedMembers(members);
  const startOrder = checkedStartOrder(m, options.startOrder);
  const request = { members: m, ...(startOrder ? { startOrder } : {}), by: options.by ?? ctx.client.options.identity ?? 'unknown' };
  const where = { workflowId: workflowIds.group(group) };
  // At most three tries: each AlreadyStarted (a closed run holds the id) is followed by recover(), which starts its successor.
  for (let attempt = 0; ; attempt++) {
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPES.group, {
      ...startOf(ctx, { name: group }),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      // Never a silent empty run in place of a closed one: recover() decides what the successor carries.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    try {
      return await ctx.client.workflow.executeUpdateWithStart(createGroupUpdate, { args: [request], startWorkflowOperation: start });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 2) throw ctx.error(err, where);
      await ctx.call(where, () => recover(ctx, group));
    }
  }
}

/** One Update on a group that exists (recovering its entity if it was terminated); NotFound otherwise. */
async function onExistingGroup<R>(ctx: TemporalContext, name: string, run: (id: string) => Promise<R>): Promise<R> {
  const group = checkedName(name);
  const where = { workflowId: workflowIds.group(group) };
  if ((await stateOf(ctx, group)).status !== 'active') throw new RigsnapError({ type: 'NotFound', message: `group ${group} does not exist`, ...where });
  return ctx.call(where, async () => {
    await recover(ctx, group);
    return run(where.workflowId);
  });
}

/** Changes a group's members, start order, or both (members without a start order keep the order of those that stay). */
export async function updateGroup(ctx: TemporalContext, name: string, options: UpdateGroupOptions): Promise<GroupView> {
  const members = options.members === undefined ? undefined : checkedMembers(options.members);
  if (members === undefined && options.startOrder === undefined) throw invalidInput('give members, a start order, or both', ['members', 'startOrder']);
  const current = members ?? (await stateOf(ctx, checkedName(name))).members;
  const startOrder = checkedStartOrder(current, options.startOrder);
  const request = { ...(members ? { members } : {}), ...(startOrder ? { startOrder } : {}), by: options.by ?? ctx.client.options.identity ?? 'unknown' };
  return onExistingGroup(ctx, name, (id) => ctx.client.workflow.getHandle(id).executeUpdate(updateGroupUpdate, { args: [request] }));
}

/** Deletes a group (its workspaces and their snapshots are untouched); NotFound when there is none. */
export async function deleteGroup(ctx: TemporalContext, name: string, by?: string): Promise<GroupView> {
  const request = { by: by ?? ctx.client.options.identity ?? 'unknown' };
  return onExistingGroup(ctx, name, (id) => ctx.client.workflow.getHandle(id).executeUpdate(deleteGroupUpdate, { args: [request] }));
}

/** A group as its entity says it is (`exists: false` when it never existed or was deleted). */
export async function showGroup(ctx: TemporalContext, name: string): Promise<GroupView> {
  return groupView(await stateOf(ctx, checkedName(name)));
}

/** The group snapshots its entity recorded, newest first; NotFound when there is no such group. */
export async function listGroupSets(ctx: TemporalContext, name: string): Promise<GroupSet[]> {
  const state = await stateOf(ctx, checkedName(name));
  if (state.status !== 'active') throw new RigsnapError({ type: 'NotFound', message: `group ${name} does not exist`, workflowId: workflowIds.group(name) });
  return groupSets(migrateGroupState(name, state));
}

/** Every group, sorted by name: candidates from visibility, each confirmed by its entity's own state. */
export async function listGroups(ctx: TemporalContext): Promise<GroupList> {
  const prefix = workflowIds.group('');
  const candidates = new Set<string>();
  await ctx.call({}, async () => {
    for await (const w of ctx.client.workflow.list({ query: groupCandidatesQuery(ctx.taskQueue) })) {
      if (w.workflowId.startsWith(prefix)) candidates.add(w.workflowId.slice(prefix.length));
    }
  });
  const groups: GroupView[] = [];
  const notConfirmed: string[] = [];
  for (const name of [...candidates].sort()) {
    if (refuseGroupName(name)) continue;
    const view = groupView(await stateOf(ctx, name));
    if (view.exists) groups.push(view);
    else notConfirmed.push(name);
  }
  return { groups, notConfirmed };
}
