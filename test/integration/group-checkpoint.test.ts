import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { cliJson, runCli, type CliRun } from '../helpers/cli.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, lockStateOf } from '../helpers/workflows.js';

/**
 * A group checkpoint (issue 23, item 3) through the built CLI, as a person types it: `checkpoint --group`
 * takes a set, `rollback <id>` restores every member to it (all or nothing) and starts them in the start
 * order, `release <id>` ends the session. With TRANSCRIPT=1 the commands and what they printed are logged.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('groupcheckpoint');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 } });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

async function rigsnap(...args: string[]): Promise<CliRun> {
  const r = await runCli(args, taskQueue, { NO_COLOR: '1' });
  if (process.env.TRANSCRIPT) console.log(`$ rigsnap ${args.join(' ')}\n${r.stdout}${r.stderr}(exit ${r.code})\n`);
  return r;
}

const dataOf = (id: string) => emu.state.workspace(id)!.files['data.txt'];
const setData = (ids: readonly string[], v: string) => ids.forEach((id) => (emu.state.data.workspaces[id]!.files = { 'data.txt': `${id} ${v}` }));

describe('checkpoint --group, rollback, release', () => {
  it('takes a set, rolls every member back to it in the start order, again, and releases', async () => {
    const group = `demo-${Date.now().toString(36)}`;
    const ids = ['ws_gc_db', 'ws_gc_api', 'ws_gc_web'];
    for (const id of ids) emu.state.upsertWorkspace({ id, status: 'running', files: { 'data.txt': `${id} before-demo` } });
    const created = await rigsnap('group', 'create', group, '--members', ids.join(','), '--start-order', ids.join(','));
    expect(created.code, created.stderr).toBe(0);

    const cp = await rigsnap('checkpoint', '--group', group, '--name', 'pre-demo', '--ttl', '2h');
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stdout).toContain(`checkpoint "pre-demo" of group ${group} is active: set pre-demo`);
    const id = /rigsnap rollback (\S+)/.exec(cp.stdout)![1]!;
    // The set is recorded in the group entity like any group snapshot.
    const sets = await rig.groupSnapshots(group);
    expect(sets.map((s) => [s.name, s.complete])).toContainEqual(['pre-demo', true]);
    // Each member's snapshot of the set is held while the session is open, by the session.
    const setIds = Object.fromEntries(sets.find((s) => s.name === 'pre-demo')!.members.map((m) => [m.workspaceId, m.snapshotId]));
    const heldBySession = async (ws: string) => (await rig.holds(ws)).holds.filter((h) => h.snapshotId === setIds[ws] && h.owner === id);
    await eventually(async () => (await Promise.all(ids.map(heldBySession))).every((h) => h.length === 1), 30_000, 'every member of the set held');
    const refused = await rigsnap('delete', ids[0]!, setIds[ids[0]!]!, '--yes');
    expect(refused.code, refused.stdout).not.toBe(0);
    expect(emu.state.snapshotsOf(ids[0]).map((s) => s.id)).toContain(setIds[ids[0]!]);

    setData(ids, 'broken-by-the-demo');
    const since = emu.calls.length;
    const back = await rigsnap('rollback', id);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`group ${group} rolled back to its set "pre-demo" (rollback 1): all 3 members restored`);
    for (const ws of ids) expect(dataOf(ws)).toBe(`${ws} before-demo`);
    for (const ws of ids) expect(emu.state.workspace(ws)!.status).toBe('running');
    const starts = emu.calls.slice(since).filter((c) => c.method === 'POST' && c.route.endsWith('/start'));
    expect(starts.map((c) => c.workspaceId)).toEqual(ids);

    setData(ids, 'broken-again');
    const again = cliJson<{ result: { verdict: string; rollbacks: number } }>(await rigsnap('rollback', id, '--json'));
    expect(again.result).toMatchObject({ verdict: 'restored', rollbacks: 2 });
    for (const ws of ids) expect(dataOf(ws)).toBe(`${ws} before-demo`);

    const rel = await rigsnap('release', id);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.stdout).toContain(`released ${id}; snapshot kept`);
    const ended = await temporal.client.workflow.getHandle(id).result();
    expect(ended).toMatchObject({ group, name: 'pre-demo', endedBy: 'release', rollbacks: 2, snapshotDeleted: false });
    // Released: the holds end with it.
    for (const ws of ids) expect(await heldBySession(ws)).toEqual([]);
    const late = await rigsnap('rollback', id);
    expect(late.code).toBe(1);

    // The set stays a restore point after the session: restore --group puts every member back on it.
    setData(ids, 'after-the-demo');
    const restored = await rigsnap('restore', '--group', group, '--set', 'pre-demo', '--yes');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`group ${group} (set "pre-demo") restored, all 3 members; started in order ${ids.join(' → ')}`);
    for (const ws of ids) expect(dataOf(ws)).toBe(`${ws} before-demo`);
    const usage = await rigsnap('restore', '--group', group);
    expect(usage.code).toBe(2);
    for (const ws of ids) {
      const lock = await lockStateOf(temporal.client, ws);
      expect(lock === null || (lock.holder === null && lock.queue.length === 0)).toBe(true);
    }
  });

  it('release --delete-snapshot deletes every snapshot of the set', async () => {
    const group = `del-${Date.now().toString(36)}`;
    const ids = ['ws_gcd_a', 'ws_gcd_b'];
    for (const id of ids) emu.state.upsertWorkspace({ id, status: 'running', files: { 'data.txt': id } });
    await rig.createGroup(group, ids);
    const cp = cliJson<{ workflowId: string }>(await rigsnap('checkpoint', '--group', group, '--name', 'tmp', '--json'));
    const before = emu.state.snapshotsOf().filter((s) => ids.includes(s.workspace_id) && s.name === 'tmp');
    expect(before).toHaveLength(2);
    const rel = await rigsnap('release', cp.workflowId, '--delete-snapshot');
    expect(rel.code, rel.stderr).toBe(0);
    expect(emu.state.snapshotsOf().filter((s) => before.some((b) => b.id === s.id))).toEqual([]);
  });
});
