import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, UsageError, ioOf, printJsonOr } from '../io.js';
import { addCommon, examples, keyOf, precheck, type Act, type CommonOptions } from '../options.js';
import { checkpointEnded, snap } from '../outputs.js';
import { finalSteps, newSeen, stepsSince, watch } from '../watch.js';
import { domain, fmtTime, formatDuration } from '../run-deps.js';

/**
 * `rigsnap checkpoint` (snapshot now, then a session), `rigsnap rollback <id>` (as often as needed) and
 * `rigsnap release <id>` (or the TTL) to end it: the checkpointWorkspace workflow and its updates.
 */
export function registerCheckpoint(program: Command, act: Act): void {
  addCheckpoint(program, act);
  addRollback(program, act);
  addRelease(program, act);
}

/** `checkpoint <workspace> --name`: returns once the session is active, with the commands that go on. */
function addCheckpoint(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('checkpoint')
        .description(
          'Start a checkpoint session: snapshot now, then `rigsnap rollback <id>` as often as needed, and `rigsnap release <id>` (or the TTL) to end it',
        ),
      { wait: true, requestKey: true },
    )
      .argument('[workspace]', 'workspace id (not with --group)')
      .requiredOption('--name <name>', 'checkpoint snapshot name, e.g. pre-demo')
      .option('--ttl <duration>', 'end the session (keeping the snapshot) after this long, e.g. 2h (default 24h)')
      .option('--group <group>', 'a checkpoint of every member of this group: a set now; rollback restores the set, all or nothing'),
    [
      'rigsnap checkpoint ws_demo --name pre-demo --ttl 2h',
      'rigsnap checkpoint --group shop --name pre-demo',
      'rigsnap rollback checkpoint-ws_demo-pre-demo-m1abc2',
      'rigsnap release checkpoint-ws_demo-pre-demo-m1abc2',
    ],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions & { name: string; ttl?: string; group?: string }) => {
      const io = ioOf(o);
      if (o.group !== undefined && workspaceId) throw new UsageError('checkpoint --group takes no <workspace>: the group names its members');
      if (o.group === undefined && !workspaceId) throw new UsageError('checkpoint needs <workspace>, or --group <group>');
      const ttl = o.ttl !== undefined ? { ttl: o.ttl } : {};
      const of = o.group !== undefined ? `group ${o.group}` : workspaceId!;
      const group = o.group !== undefined ? precheck(domain().CheckpointGroupInput, { group: o.group, name: o.name, ...ttl }) : null;
      const input = group ? null : precheck(domain().CheckpointWorkspaceInput, { workspaceId, name: o.name, ...ttl });
      return withClient(o, async (rig) => {
        const started = group ? await rig.startCheckpointGroup(group, keyOf(o)) : await rig.startCheckpoint(input!, keyOf(o));
        const ref = { workflowId: started.workflowId, runId: started.runId, url: started.url, workflowType: started.workflowType };
        if (o.wait === false) {
          printJsonOr(io, { ...ref, status: 'started' }, () => [started.workflowId, `  ${io.c.dim(started.url)}`]);
          return EXIT.ok;
        }
        if (!io.json) io.out(`${io.c.cyan('→')} ${started.workflowId}\n  ${io.c.dim(started.url)}`);
        if (started.existing) {
          // The session already ended: show how.
          const r = await started.result();
          printJsonOr(io, { ...ref, status: 'completed', result: r }, () => [`${io.c.green('✓')} ${checkpointEnded(r)}`]);
          return EXIT.ok;
        }
        const seen = newSeen();
        const active = await watch(rig, io, started.workflowId, rig.awaitCheckpointActive(started.workflowId), seen);
        const now = await rig.progress(started.workflowId).catch(() => seen.last);
        finalSteps(io, now?.progress?.steps, false, seen);
        printJsonOr(io, { ...ref, status: 'active', checkpoint: active }, () => [
          `${io.c.green('✓')} checkpoint "${active.snapshotName}" of ${of} is active: ${group ? 'set' : 'snapshot'} ${active.snapshotId}${active.expiresAt ? `, released at ${fmtTime(active.expiresAt)}` : ''}`,
          `  roll back:  rigsnap rollback ${started.workflowId}`,
          `  release:    rigsnap release ${started.workflowId} [--delete-snapshot]`,
        ]);
        return EXIT.ok;
      });
    }),
  );
}

/** `rollback <checkpoint-id>`: returns when the workspace runs again, showing only this rollback's steps. */
function addRollback(program: Command, act: Act): void {
  examples(
    addCommon(
      program.command('rollback').description('Roll a checkpoint back: stop → restore the checkpoint → start; returns when the workspace runs again'),
    ).argument('<checkpoint-id>', 'workflow id printed by `rigsnap checkpoint`'),
    ['rigsnap rollback checkpoint-ws_demo-pre-demo-m1abc2'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const before = await rig.progress(workflowId, undefined, 1000).catch(() => null);
        const url = before?.url ?? rig.workflowUrl(workflowId); // without a run id: the list filtered to this id
        if (!io.json && before) io.out(`${io.c.cyan('→')} rollback of ${workflowId}\n  ${io.c.dim(url)}`);
        const t0 = Date.now();
        const seen = newSeen();
        const r = await watch(rig, io, workflowId, rig.rollback(workflowId), seen, t0);
        const after = await rig.progress(workflowId, undefined, 2000).then(
          (p) => stepsSince(p, t0),
          () => seen.last,
        );
        finalSteps(io, after?.progress?.steps, false, seen);
        const took = io.c.dim(`(${formatDuration(Date.now() - t0)})`);
        printJsonOr(io, { workflowId, url, status: 'completed', result: r }, () =>
          'verdict' in r
            ? [
                `${io.c.green('✓')} group ${r.group} rolled back to its set "${r.set}" (rollback ${r.rollbacks}): all ${r.members.length} members restored, started in order ${r.startOrder.join(' → ')} ${took}`,
                ...r.members.map((m) => `  ${m.workspaceId}  ${m.outcome}  ${m.snapshotId}  (safety snapshot ${m.safetySnapshotId ?? '-'})`),
              ]
            : [
                `${io.c.green('✓')} ${r.snapshot.workspace_id} rolled back to ${snap(r.snapshot)} (rollback ${r.rollbacks}); workspace ${r.workspaceStatus} ${took}`,
              ],
        );
        return EXIT.ok;
      });
    }),
  );
}

/** `release <checkpoint-id> [--delete-snapshot]`: a session that already ended is a no-op. */
function addRelease(program: Command, act: Act): void {
  examples(
    addCommon(program.command('release').description('End a checkpoint session (the snapshot stays unless --delete-snapshot)'))
      .argument('<checkpoint-id>', 'workflow id printed by `rigsnap checkpoint`')
      .option('--delete-snapshot', 'also delete the checkpoint snapshot'),
    ['rigsnap release checkpoint-ws_demo-pre-demo-m1abc2', 'rigsnap release checkpoint-ws_demo-pre-demo-m1abc2 --delete-snapshot'],
  ).action(
    act(async (workflowId: string, o: CommonOptions & { deleteSnapshot?: boolean }) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const r = await rig.release(workflowId, { deleteSnapshot: Boolean(o.deleteSnapshot) });
        const url = rig.workflowUrl(workflowId, r.runId);
        printJsonOr(io, { workflowId, url, status: 'completed', result: r }, () => [
          r.alreadyReleased
            ? `${io.c.green('✓')} ${workflowId} had already ended; nothing to do (snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'})`
            : `${io.c.green('✓')} released ${workflowId}; snapshot ${r.snapshotDeleted ? 'deleted' : 'kept'}`,
          `  ${io.c.dim(url)}`,
        ]);
        return EXIT.ok;
      });
    }),
  );
}
