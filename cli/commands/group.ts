/**
 * `rigsnap group create|update|show|list|snapshots|delete` (issue 23): groups of workspaces that group operations act on
 * together, kept by the group entity (client/groups.ts, rules in domain/groups.ts). `create` checks through
 * a worker that the members exist, as `enroll` does; `list` finds candidates by visibility and confirms
 * each with its entity.
 */
import type { Command } from 'commander';
import { fmtTime } from '../../client/format.js';
import type { GroupView } from '../../domain/groups.js';
import { withClient } from '../connect.js';
import { EXIT, UsageError, confirm, ioOf, printJsonOr, table, type Io } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';
import { ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP, requireExistingWorkspaces } from '../workspace-check.js';

/** `ws_a,ws_b` (spaces allowed); the client validates what it gets. */
const idList = (v: string): string[] => v.split(',').map((s) => s.trim());

function groupLines(io: Io, g: GroupView): string[] {
  if (!g.exists) return [`group ${g.name} does not exist`];
  return [
    `group ${io.c.bold(g.name)}: ${g.members.length} workspaces`,
    `  members      ${g.members.join(', ')}`,
    `  start order  ${g.startOrder.join(' → ')}`,
    `  lock order   ${g.lockOrder.join(', ')}`,
    `  created      ${g.createdAt ? fmtTime(g.createdAt) : '-'} by ${g.createdBy ?? '-'}`,
    `  updated      ${g.updatedAt ? fmtTime(g.updatedAt) : '-'} by ${g.updatedBy ?? '-'}`,
  ];
}

function addCreate(group: Command, act: Act): void {
  examples(
    addCommon(group.command('create').description('Create a group of 2 to 50 workspaces that group snapshots and restores act on together'))
      .argument('<group>', 'group name: lowercase letters, digits and dashes')
      .requiredOption('--members <ids>', 'the member workspaces, comma-separated', idList)
      .option('--start-order <ids>', 'the order to start them in after a group operation, every member once (default: member order)', idList)
      .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
    ['rigsnap group create shop --members ws_web,ws_api,ws_db --start-order ws_db,ws_api,ws_web'],
  ).action(
    act(async (name: string, o: CommonOptions & { members: string[]; startOrder?: string[]; allowMissing?: boolean }) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        await requireExistingWorkspaces(rig, io, o.members, o, 'Nothing was created');
        const g = await rig.createGroup(name, o.members, o.startOrder ? { startOrder: o.startOrder } : {});
        printJsonOr(io, g, () => [`${io.c.green('✓')} created group ${g.name}`, ...groupLines(io, g).slice(1)]);
        return EXIT.ok;
      });
    }),
  );
}

function addUpdate(group: Command, act: Act): void {
  examples(
    addCommon(group.command('update').description('Change a group: its members, its start order, or both (new members are checked in Rigbox)'))
      .argument('<group>', 'group name')
      .option('--members <ids>', 'the new member list, comma-separated (without --start-order the members that stay keep their order)', idList)
      .option('--start-order <ids>', 'the new start order, every member once', idList)
      .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
    ['rigsnap group update shop --members ws_web,ws_api,ws_db,ws_cache', 'rigsnap group update shop --start-order ws_db,ws_cache,ws_api,ws_web'],
  ).action(
    act(async (name: string, o: CommonOptions & { members?: string[]; startOrder?: string[]; allowMissing?: boolean }) => {
      const io = ioOf(o);
      if (!o.members && !o.startOrder) throw new UsageError('give --members, --start-order or both');
      return withClient(o, async (rig) => {
        if (o.members) await requireExistingWorkspaces(rig, io, o.members, o, 'Nothing was changed');
        const g = await rig.updateGroup(name, { ...(o.members ? { members: o.members } : {}), ...(o.startOrder ? { startOrder: o.startOrder } : {}) });
        printJsonOr(io, g, () => [`${io.c.green('✓')} updated group ${g.name}`, ...groupLines(io, g).slice(1)]);
        return EXIT.ok;
      });
    }),
  );
}

function addShowAndList(group: Command, act: Act): void {
  examples(addCommon(group.command('show').description('Show a group: members, start order, lock order')).argument('<group>', 'group name'), [
    'rigsnap group show shop',
  ]).action(
    act(async (name: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const g = await rig.group(name);
        printJsonOr(io, g, () => groupLines(io, g));
        return g.exists ? EXIT.ok : EXIT.failed;
      });
    }),
  );
  examples(addCommon(group.command('list').description('List the groups (found by visibility, confirmed by each group entity)')), [
    'rigsnap group list',
    'rigsnap group list --json',
  ]).action(
    act(async (o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const r = await rig.groups();
        printJsonOr(io, r, () => {
          const lines = r.groups.length
            ? table(
                ['GROUP', 'MEMBERS', 'START ORDER'],
                r.groups.map((g) => [g.name, g.members.join(','), g.startOrder.join(',')]),
                io.c,
              )
            : ['no groups'];
          if (r.notConfirmed.length) lines.push(io.c.dim(`(visibility also listed ${r.notConfirmed.join(', ')}; their entities say they are deleted)`));
          return lines;
        });
        return EXIT.ok;
      });
    }),
  );
}

/** The group snapshots its entity recorded, newest first; an incomplete set is marked, never offered as whole. */
function addSnapshots(group: Command, act: Act): void {
  examples(
    addCommon(
      group.command('snapshots').description('List the group snapshots (sets) recorded for a group, newest first; incomplete sets are marked'),
    ).argument('<group>', 'group name'),
    ['rigsnap group snapshots shop', 'rigsnap group snapshots shop --json'],
  ).action(
    act(async (name: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const sets = await rig.groupSnapshots(name);
        printJsonOr(io, { group: name, sets }, () =>
          sets.length
            ? table(
                ['SET', 'TAKEN', 'COMPLETE', 'SNAPSHOTS'],
                sets.map((x) => [
                  x.name,
                  fmtTime(x.at),
                  x.complete ? io.c.green('yes') : io.c.red('INCOMPLETE'),
                  x.members.map((m) => `${m.workspaceId}=${m.snapshotId ?? `(${m.outcome}${m.errorType ? `: ${m.errorType}` : ''})`}`).join(' '),
                ]),
                io.c,
              )
            : [`no group snapshots recorded for ${name}`],
        );
        return EXIT.ok;
      });
    }),
  );
}

function addDelete(group: Command, act: Act): void {
  examples(
    addCommon(group.command('delete').description('Delete a group (asks first). Its workspaces and their snapshots stay.'), { yes: true }).argument(
      '<group>',
      'group name',
    ),
    ['rigsnap group delete shop --yes'],
  ).action(
    act(async (name: string, o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, { action: `delete group ${name}`, warning: 'Its workspaces and their snapshots stay', declined: `group ${name} was not deleted` });
      return withClient(o, async (rig) => {
        const g = await rig.deleteGroup(name);
        printJsonOr(io, g, () => [`${io.c.green('✓')} deleted group ${name}`]);
        return EXIT.ok;
      });
    }),
  );
}

export function registerGroup(program: Command, act: Act): void {
  const group = program.command('group').description('Groups of workspaces that belong together (an application spanning several)');
  addCreate(group, act);
  addUpdate(group, act);
  addShowAndList(group, act);
  addSnapshots(group, act);
  addDelete(group, act);
}
