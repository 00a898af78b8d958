/**
 * The group entity (id `rigsnap-group-<name>`, issue 23): one long-lived workflow per group of workspaces
 * that holds its members and start order, built like the workspace entity (workflows/workspace-entity.ts)
 * as a thin shell over domain/groups.ts.
 *
 * - Changes arrive as Updates (create, update, delete) whose validator runs the domain's refusal, so a bad
 *   or conflicting request is refused before anything is recorded; reads are the `groupState` query.
 * - Idle it waits on a condition with no timer: no events until the next message. It continues as new
 *   when suggested or past IDLE_HISTORY_EVENTS, carrying its small versioned state (`v`).
 * - A delete ends it once every handler has answered: the id is free for a new group of that name. A
 *   terminated entity is recovered by the next client call from the closed run's state (client/groups.ts).
 * - It holds no workspace lock: group operations (docs/design-groups.md) read its members and take the
 *   locks themselves, from the workspace entities, in domain/groups.ts lockOrder.
 */
import { allHandlersFinished, condition, continueAsNew, log, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { createGroupUpdate, deleteGroupUpdate, groupStateQuery, recordGroupSetUpdate, updateGroupUpdate } from '../contract/index.js';
import {
  groupSets,
  groupView,
  migrateGroupState,
  refuseGroupEvent,
  step,
  type CreateGroupRequest,
  type DeleteGroupRequest,
  type GroupEntityInput,
  type GroupEvent,
  type UpdateGroupRequest,
  type GroupSet,
  type GroupState,
  type GroupView,
  type RecordGroupSetRequest,
} from '../domain/groups.js';
import { nowIso, tagWorkflow } from './common.js';

/** Continue as new past this many events: each change adds a handful, so this is hundreds of changes. */
const IDLE_HISTORY_EVENTS = 1000;

class GroupEntity {
  state: GroupState;

  constructor(input: GroupEntityInput) {
    this.state = migrateGroupState(input.name, input.state);
    this.render();
  }

  validate(event: GroupEvent): void {
    const why = refuseGroupEvent(this.state, event);
    if (why) throw new Error(why);
  }

  apply(event: GroupEvent): GroupView {
    this.state = step(this.state, event);
    this.render();
    return groupView(this.state);
  }

  recordSet(request: RecordGroupSetRequest): GroupSet {
    this.state = step(this.state, { type: 'record-set', request, at: nowIso() });
    this.render();
    return request;
  }

  render(): void {
    const s = this.state;
    setCurrentDetails(
      s.status === 'active'
        ? `**Group ${s.name}**: ${s.members.length} workspaces: ${s.members.join(', ')}\n\nStart order: ${s.startOrder.join(' → ')}` +
            // Sets a group schedule retired are left out (current details are no command: replays are unaffected).
            (groupSets(s).length ? `\n\n${groupSets(s).length} group snapshots recorded, newest "${groupSets(s)[0]!.name}"` : '')
        : `**Group ${s.name}**: ${s.status === 'deleted' ? 'deleted' : 'not created'}`,
    );
  }
}

/** The Updates' handlers; each validator builds the same event the handler applies (its time is not checked). */
function setGroupHandlers(entity: GroupEntity): void {
  setHandler(createGroupUpdate, (request) => entity.apply({ type: 'create', request, at: nowIso() }), {
    validator: (request: CreateGroupRequest) => entity.validate({ type: 'create', request, at: '' }),
  });
  setHandler(updateGroupUpdate, (request) => entity.apply({ type: 'update', request, at: nowIso() }), {
    validator: (request: UpdateGroupRequest) => entity.validate({ type: 'update', request, at: '' }),
  });
  setHandler(deleteGroupUpdate, (request) => entity.apply({ type: 'delete', request, at: nowIso() }), {
    validator: (request: DeleteGroupRequest) => entity.validate({ type: 'delete', request, at: '' }),
  });
  setHandler(recordGroupSetUpdate, (request) => entity.recordSet(request), {
    validator: (request: RecordGroupSetRequest) => entity.validate({ type: 'record-set', request, at: '' }),
  });
  setHandler(groupStateQuery, () => entity.state);
}

export async function groupEntity(input: GroupEntityInput): Promise<GroupState> {
  const entity = new GroupEntity(input);
  // Clients start it tagged; this covers a start by hand (`temporal workflow start`), which `group list` would miss.
  tagWorkflow(null, 'group');
  if (input.recoveredFrom) log.warn('group entity recovered from a closed run', { group: input.name, recoveredFrom: input.recoveredFrom });
  setGroupHandlers(entity);

  // Ends when the group is deleted (the loop's only return) or by continue-as-new; meanwhile it waits with
  // no timer, so it blocks nothing: every Update and query is handled while it waits.
  for (;;) {
    const due = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > IDLE_HISTORY_EVENTS;
    await condition(() => entity.state.status === 'deleted' || due());
    await condition(allHandlersFinished);
    if (entity.state.status === 'deleted') return entity.state;
    if (due()) await continueAsNew<typeof groupEntity>({ name: input.name, state: entity.state });
  }
}
