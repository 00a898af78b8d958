/**
 * Groups of workspaces (issue 23): the pure rules of the group entity (workflows/group-entity.ts, id
 * `rigsnap-group-<name>`) and of the group operations that come next (docs/design-groups.md). Group names,
 * member lists, the start order, the one global lock order, and the entity's versioned state with its
 * `step(state, event)`. No zod and no I/O: the workflow bundle imports it. Property-tested in
 * test/unit/groups.test.ts.
 */
import { WORKSPACE_ID_PATTERN } from './ids.js';

/**
 * Group names: lowercase letters, digits and inner dashes, at most 63 (a DNS label). Lowercase only, so
 * `Shop` and `shop` cannot become two groups whose workflow ids differ only by case; safe in a workflow id
 * and a visibility query without quoting.
 */
export const GROUP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A group is a set: fewer than two members is a single workspace, which the single operations serve. */
export const MIN_GROUP_MEMBERS = 2;
/**
 * A group operation holds every member's lock at once and runs every member's stop, snapshot and start in
 * one workflow: this bounds its history, its payloads and how many workspaces one request keeps down.
 */
export const MAX_GROUP_MEMBERS = 50;

/** Why a group name is refused, or null. */
export function refuseGroupName(name: unknown): string | null {
  if (typeof name !== 'string' || !GROUP_NAME_PATTERN.test(name))
    return `group name ${JSON.stringify(name)} must be 1-63 lowercase letters, digits and inner dashes (like "shop" or "demo-stack")`;
  return null;
}

/**
 * The member list as stored: each id once, in the order first given (a repeat is a slip, not a second
 * member). The caller validates it with `refuseMembers`.
 */
export function normaliseMembers(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.trim()).filter((id) => id !== ''))];
}

/** Why a (normalised) member list is refused, or null. */
export function refuseMembers(members: unknown): string | null {
  if (!Array.isArray(members)) return 'members must be a list of workspace ids';
  const bad = members.filter((m) => typeof m !== 'string' || !WORKSPACE_ID_PATTERN.test(m));
  if (bad.length)
    return `members: ${bad.map((m) => JSON.stringify(m)).join(', ')} ${bad.length === 1 ? 'is not a workspace id' : 'are not workspace ids'} (like "ws_demo")`;
  if (new Set(members).size !== members.length) return 'members: a workspace is listed twice';
  if (members.length < MIN_GROUP_MEMBERS) return `members: a group has at least ${MIN_GROUP_MEMBERS} workspaces (got ${members.length})`;
  if (members.length > MAX_GROUP_MEMBERS) return `members: a group has at most ${MAX_GROUP_MEMBERS} workspaces (got ${members.length})`;
  return null;
}

/**
 * Why a start order is refused for these members, or null. It must be a permutation of the members: every
 * member once, nothing else (a member left out would never be started again after a group snapshot).
 */
export function refuseStartOrder(members: readonly string[], startOrder: unknown): string | null {
  if (!Array.isArray(startOrder)) return 'startOrder must be a list of workspace ids';
  const given = new Set<unknown>(startOrder);
  if (given.size !== startOrder.length) return 'startOrder: a workspace is listed twice';
  const unknown = startOrder.filter((w) => !members.includes(w as string));
  if (unknown.length) return `startOrder: ${unknown.map(String).join(', ')} ${unknown.length === 1 ? 'is not a member' : 'are not members'}`;
  const missing = members.filter((m) => !given.has(m));
  if (missing.length) return `startOrder: ${missing.join(', ')} ${missing.length === 1 ? 'is missing' : 'are missing'} (it lists every member once)`;
  return null;
}

/**
 * The start order after the members change without a new start order: members that stay keep their
 * relative order, new ones follow in member order (so adding a workspace never reshuffles the others).
 */
export function carriedStartOrder(previous: readonly string[], members: readonly string[]): string[] {
  const kept = previous.filter((w) => members.includes(w));
  return [...kept, ...members.filter((m) => !kept.includes(m))];
}

/** Plain code-unit comparison: the same on every machine, unlike localeCompare (locale- and ICU-dependent). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The one global order in which every group operation takes its members' workspace locks: ascending
 * workspace id by code units, each id once, whatever order the members were given in.
 *
 * Why it cannot deadlock: a deadlock needs a cycle of operations, each holding a lock the next one waits
 * for. Every operation acquires in ascending order and holds a lock only while it waits for a greater one,
 * so along any chain of waits the ids strictly increase, and a chain of strictly increasing ids cannot
 * close into a cycle. A single operation takes one lock, which is trivially in order; two groups sharing
 * members both climb the same order, so whichever gets the smallest shared member first gets all of them.
 * This holds only if the order is total and the same for every caller: hence code units, not a locale.
 */
export function lockOrder(workspaceIds: readonly string[]): string[] {
  return [...new Set(workspaceIds)].sort(byCodeUnits);
}

// ---- the group entity's state ----------------------------------------------------------------------

/** What became of one member in a group snapshot (docs/design-groups.md, item 2). */
export type GroupMemberOutcome =
  /** Its snapshot was made (or adopted): `snapshotId` names it. */
  | 'snapshotted'
  /** Its own stop or snapshot failed: `errorType` says why. */
  | 'failed'
  /** Nothing of it failed, but the group stopped before its snapshot (another member failed, or a cancel). */
  | 'not-snapshotted';

export interface GroupSetMember {
  workspaceId: string;
  outcome: GroupMemberOutcome;
  snapshotId: string | null;
  /** For `failed`: the error type from domain/errors.ts (or the SDK's) and its message. */
  errorType?: string;
  message?: string;
}

/**
 * One group snapshot as the group entity records it: a set of snapshots taken together, one per member,
 * while every member was stopped. `complete` only when every member has its snapshot: an incomplete set is
 * kept (its snapshots stay in Rigbox) but is never a restore point without `--allow-incomplete`.
 */
export interface GroupSet {
  name: string;
  at: string;
  complete: boolean;
  members: GroupSetMember[];
  /** The run that took it: recording the same run's set again (a retried activity) replaces it. */
  workflowId: string;
  runId: string;
  /**
   * Set when a group schedule's retention deleted the set's snapshots (domain/group-retention.ts): it is
   * no longer listed nor a restore point. Recorded again through the same recordGroupSet Update, so the
   * group entity's code is unchanged. `survivors`: snapshots held meanwhile, left in place.
   */
  retired?: { at: string; by: string; survivors: string[] };
}

/** Sets the entity keeps, newest last; the oldest drop out of the record (their snapshots stay in Rigbox). */
export const MAX_RECORDED_SETS = 100;
/**
 * The most sets a group schedule's retention may keep: a retired set stays in the record (marked) until
 * it drops out, about one per set taken, so kept and retired sets together must fit MAX_RECORDED_SETS.
 */
export const MAX_KEPT_GROUP_SETS = 40;

/** The state carried by the group entity across continue-as-new. `v` says which shape; `migrateGroupState` upgrades. */
export interface GroupState {
  /** 1: before sets were recorded; 2: with `sets`. */
  v: 2;
  name: string;
  /** `absent`: never created (or only refused); `deleted`: the entity ends after answering. */
  status: 'absent' | 'active' | 'deleted';
  members: string[];
  startOrder: string[];
  createdAt: string | null;
  createdBy: string | null;
  updatedAt: string | null;
  updatedBy: string | null;
  /** The group snapshots taken, oldest first, at most MAX_RECORDED_SETS. */
  sets: GroupSet[];
}

/** The group entity's input: its name, and the state a previous run carried (continue-as-new, recovery). */
export interface GroupEntityInput {
  name: string;
  state?: GroupState;
  /** Set when a client started this run from a terminated run's state: that run's id. */
  recoveredFrom?: string;
}

export interface CreateGroupRequest {
  members: string[];
  /** Default: member order. */
  startOrder?: string[];
  by: string;
}
export interface UpdateGroupRequest {
  members?: string[];
  startOrder?: string[];
  by: string;
}
export interface DeleteGroupRequest {
  by: string;
}
/** A group snapshot's set, recorded by the run that took it (recordGroupSet Update). */
export type RecordGroupSetRequest = GroupSet;

export type GroupEvent =
  | { type: 'create'; request: CreateGroupRequest; at: string }
  | { type: 'update'; request: UpdateGroupRequest; at: string }
  | { type: 'delete'; request: DeleteGroupRequest; at: string }
  | { type: 'record-set'; request: RecordGroupSetRequest; at: string };

/** What `group show` and the entity's updates answer. */
export interface GroupView {
  name: string;
  exists: boolean;
  members: string[];
  startOrder: string[];
  /** The order its operations take the member locks in (lockOrder of the members). */
  lockOrder: string[];
  createdAt: string | null;
  createdBy: string | null;
  updatedAt: string | null;
  updatedBy: string | null;
}

export function emptyGroupState(name: string): GroupState {
  return { v: 2, name, status: 'absent', members: [], startOrder: [], createdAt: null, createdBy: null, updatedAt: null, updatedBy: null, sets: [] };
}

/** Carried state of any known version (v1: no sets yet; v2), or none: the entity's state now. */
export function migrateGroupState(name: string, carried: unknown): GroupState {
  const s = carried as (Omit<Partial<GroupState>, 'v'> & { v?: number }) | undefined;
  if (!s || (s.v !== 1 && s.v !== 2)) return emptyGroupState(name);
  return { ...emptyGroupState(name), ...s, v: 2, sets: s.v === 2 && Array.isArray(s.sets) ? s.sets : [], name };
}

export function groupView(s: GroupState): GroupView {
  const exists = s.status === 'active';
  return {
    name: s.name,
    exists,
    members: exists ? s.members : [],
    startOrder: exists ? s.startOrder : [],
    lockOrder: exists ? lockOrder(s.members) : [],
    createdAt: exists ? s.createdAt : null,
    createdBy: exists ? s.createdBy : null,
    updatedAt: exists ? s.updatedAt : null,
    updatedBy: exists ? s.updatedBy : null,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Why a create is refused: bad input, or the group exists with other members (the same create again is a retry: accepted). */
function refuseCreate(s: GroupState, r: CreateGroupRequest | undefined): string | null {
  if (!r || typeof r.by !== 'string') return 'a create needs members and by';
  const why = refuseMembers(r.members) ?? (r.startOrder === undefined ? null : refuseStartOrder(r.members, r.startOrder));
  if (why) return why;
  if (s.status !== 'active') return null;
  const same = sameList(s.members, r.members) && sameList(s.startOrder, r.startOrder ?? r.members);
  return same ? null : `group ${s.name} already exists with members ${s.members.join(',')}`;
}

function refuseUpdate(s: GroupState, r: UpdateGroupRequest | undefined): string | null {
  if (!r || typeof r.by !== 'string') return 'an update needs by';
  if (s.status !== 'active') return `group ${s.name} does not exist`;
  if (r.members === undefined && r.startOrder === undefined) return 'an update changes members, startOrder or both';
  const members = r.members ?? s.members;
  return (r.members === undefined ? null : refuseMembers(members)) ?? (r.startOrder === undefined ? null : refuseStartOrder(members, r.startOrder));
}

/** Why the entity refuses this event in this state (its Updates' validator), or null. */
export function refuseGroupEvent(s: GroupState, e: GroupEvent): string | null {
  switch (e.type) {
    case 'create':
      return refuseCreate(s, e.request);
    case 'update':
      return refuseUpdate(s, e.request);
    case 'delete':
      if (!e.request || typeof e.request.by !== 'string') return 'a delete needs by';
      return s.status === 'active' ? null : `group ${s.name} does not exist`;
    case 'record-set':
      return refuseRecordSet(s, e.request);
  }
}

/** Why a set is refused: the group is gone, or the set is malformed (each member once, a snapshot id exactly when snapshotted). */
function refuseRecordSet(s: GroupState, r: RecordGroupSetRequest | undefined): string | null {
  if (s.status !== 'active') return `group ${s.name} does not exist`;
  if (!r || typeof r.name !== 'string' || typeof r.workflowId !== 'string' || typeof r.runId !== 'string' || !Array.isArray(r.members))
    return 'a set needs name, workflowId, runId and members';
  if (new Set(r.members.map((m) => m.workspaceId)).size !== r.members.length) return 'a set lists a workspace twice';
  if (r.members.some((m) => (m.outcome === 'snapshotted') !== (typeof m.snapshotId === 'string')))
    return 'a set member has a snapshot id exactly when it was snapshotted';
  if (r.complete !== r.members.every((m) => m.outcome === 'snapshotted')) return 'a set is complete exactly when every member was snapshotted';
  return null;
}

/** The recorded sets with `set` added (or, recorded again by the same run, replaced), the oldest dropped past the bound. */
function withSet(sets: readonly GroupSet[], set: GroupSet): GroupSet[] {
  const others = sets.filter((x) => !(x.workflowId === set.workflowId && x.runId === set.runId));
  return [...others, set].slice(-MAX_RECORDED_SETS);
}

/**
 * The recorded sets, newest first (what `rigsnap group snapshots` lists and a restore finds), without the
 * sets a group schedule's retention retired. A retired set is recorded again, so it moves to the end of
 * the record; the live ones never move, so their position still says their age.
 */
export function groupSets(s: GroupState): GroupSet[] {
  return s.sets.filter((x) => !x.retired).reverse();
}

/**
 * The set a group snapshot records from its members' outcomes, in member order. Complete exactly when
 * every member was snapshotted. Null when no snapshot landed: there is nothing to keep or find again.
 */
export function groupSetOf(run: { name: string; at: string; workflowId: string; runId: string }, members: readonly GroupSetMember[]): GroupSet | null {
  if (!members.some((m) => m.outcome === 'snapshotted')) return null;
  return { ...run, complete: members.every((m) => m.outcome === 'snapshotted'), members: members.map((m) => ({ ...m })) };
}

/**
 * The members to start at the end of a group snapshot, in the start order: those it stopped (or tried to)
 * that should end running. Every one of them, whatever else failed: the restart guarantee of the group.
 */
export function membersToStart(startOrder: readonly string[], mustStart: ReadonlySet<string>): string[] {
  return startOrder.filter((w) => mustStart.has(w));
}

/** The next state. A refused event (refuseGroupEvent) changes nothing: the validator keeps it out of history. */
export function step(s: GroupState, e: GroupEvent): GroupState {
  if (refuseGroupEvent(s, e)) return s;
  switch (e.type) {
    case 'create': {
      const { members, startOrder, by } = e.request;
      if (s.status === 'active') return s; // the same create again
      return {
        ...s,
        v: 2,
        name: s.name,
        status: 'active',
        members,
        startOrder: startOrder ?? members,
        createdAt: e.at,
        createdBy: by,
        updatedAt: e.at,
        updatedBy: by,
      };
    }
    case 'update': {
      const members = e.request.members ?? s.members;
      const startOrder = e.request.startOrder ?? carriedStartOrder(s.startOrder, members);
      return { ...s, members, startOrder, updatedAt: e.at, updatedBy: e.request.by };
    }
    case 'delete':
      return { ...emptyGroupState(s.name), status: 'deleted', updatedAt: e.at, updatedBy: e.request.by };
    case 'record-set':
      return { ...s, sets: withSet(s.sets, e.request) };
  }
}
