import { spawn } from 'node:child_process';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RigsnapClient, RigsnapError, type GroupList, type GroupView } from '../../client/index.js';
import { groupStateQuery, operationKey } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Groups of workspaces (issue 23, item 1): the group entity on the run's dev server with a real worker and
 * emulated workspaces, through the real CLI (dist/cli/main.js) where a user would type it: create (with
 * the members' existence check), show, list (visibility finds, the entity confirms), a retried and a
 * conflicting create, delete, a create again after the delete, and an entity terminated by an operator,
 * which keeps its group.
 */

const CLI = path.resolve('dist/cli/main.js');
let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('groups');
const suffix = Date.now().toString(36);
const SHOP = `shop-${suffix}`;
const OTHER = `other-${suffix}`;
const WS = ['ws_grp_web', 'ws_grp_api', 'ws_grp_db'] as const;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rigsnap(args: string[]): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...clean, TEMPORAL_ADDRESS: inject('temporalAddress'), RIGSNAP_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function json<T>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

async function listed(): Promise<string[]> {
  return (await rig.groups()).groups.map((g) => g.name);
}

/** Whether any run of this workflow id exists at all (nothing started for refused input). */
async function everStarted(workflowId: string): Promise<boolean> {
  try {
    await temporal.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 20, startMs: 20, snapshotMs: 10, restoreMs: 10, latencyMs: 0 } });
  for (const id of WS) emu.state.upsertWorkspace({ id, status: 'running', files: { 'f.txt': id } });
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

describe('group create, show, list, delete', () => {
  it('refuses bad input before anything starts: a bad name, one member, a start order that is not a permutation, a missing workspace', async () => {
    const badName = await rigsnap(['group', 'create', 'Shop_1', '--members', 'ws_grp_web,ws_grp_api']);
    expect(badName.code, badName.stderr).toBe(2);
    expect(badName.stderr).toContain('lowercase letters, digits and inner dashes');
    const one = await rigsnap(['group', 'create', SHOP, '--members', 'ws_grp_web,ws_grp_web', '--allow-missing']);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('a group has at least 2 workspaces (got 1)');
    const order = await rigsnap(['group', 'create', SHOP, '--members', WS.join(','), '--start-order', 'ws_grp_db,ws_grp_web', '--allow-missing']);
    expect(order.code).toBe(2);
    expect(order.stderr).toContain('startOrder: ws_grp_api is missing');
    const typo = await rigsnap(['group', 'create', SHOP, '--members', 'ws_grp_web,ws_grp_apj']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('ws_grp_apj does not exist in Rigbox');
    expect(typo.stderr).toContain('Nothing was created');
    expect(await everStarted(workflowIds.group(SHOP))).toBe(false);
  });

  it('creates through the CLI, shows it with its start and lock order, lists it, and takes the same create again', async () => {
    const created = await rigsnap(['group', 'create', SHOP, '--members', WS.join(','), '--start-order', 'ws_grp_db,ws_grp_api,ws_grp_web', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(json<GroupView>(created)).toMatchObject({
      name: SHOP,
      exists: true,
      members: [...WS],
      startOrder: ['ws_grp_db', 'ws_grp_api', 'ws_grp_web'],
      lockOrder: ['ws_grp_api', 'ws_grp_db', 'ws_grp_web'],
    });
    // The entity is what a later group operation reads, with the attribute `group list` searches.
    const handle = temporal.client.workflow.getHandle(workflowIds.group(SHOP));
    expect((await handle.query(groupStateQuery)).members).toEqual([...WS]);
    expect((await handle.describe()).typedSearchAttributes.get(operationKey)).toBe('group');

    const shown = await rigsnap(['group', 'show', SHOP]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('start order  ws_grp_db → ws_grp_api → ws_grp_web');
    expect(shown.stdout).toContain('lock order   ws_grp_api, ws_grp_db, ws_grp_web');

    const again = await rig.createGroup(SHOP, [...WS], { startOrder: ['ws_grp_db', 'ws_grp_api', 'ws_grp_web'] });
    expect(again.createdAt).toBe(json<GroupView>(created).createdAt);
    const conflict = await rig.createGroup(SHOP, ['ws_grp_web', 'ws_grp_api']).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RigsnapError);
    expect((conflict as RigsnapError).message).toContain(`group ${SHOP} already exists with members ws_grp_web,ws_grp_api,ws_grp_db`);
    expect((await rig.group(SHOP)).members).toEqual([...WS]);

    await rig.createGroup(OTHER, ['ws_grp_web', 'ws_grp_db']); // shares members with SHOP: allowed
    await eventually(async () => (await listed()).length === 2, 30_000, 'visibility to list both groups');
    const list = await rigsnap(['group', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(json<GroupList>(list).groups.map((g) => g.name)).toEqual([OTHER, SHOP].sort());
  });

  it('keeps the group when an operator terminates its entity, and changes it (group update) after recovering the entity from its state', async () => {
    await temporal.client.workflow.getHandle(workflowIds.group(OTHER)).terminate('testing recovery');
    expect((await rig.group(OTHER)).members).toEqual(['ws_grp_web', 'ws_grp_db']);
    const update = await rigsnap(['group', 'update', OTHER, '--members', 'ws_grp_db,ws_grp_api,ws_grp_web', '--json']);
    expect(update.code, update.stderr).toBe(0);
    const updated = json<GroupView>(update);
    expect(updated.members).toEqual(['ws_grp_db', 'ws_grp_api', 'ws_grp_web']);
    expect(updated.startOrder).toEqual(['ws_grp_web', 'ws_grp_db', 'ws_grp_api']); // the kept ones first, in their order
    const reorder = await rig.updateGroup(OTHER, { startOrder: ['ws_grp_api', 'ws_grp_db'] }).catch((e: unknown) => e);
    expect(reorder).toMatchObject({ type: 'InvalidInput' });
    expect((reorder as Error).message).toContain('startOrder: ws_grp_web is missing');
    expect((await temporal.client.workflow.getHandle(workflowIds.group(OTHER)).describe()).status.name).toBe('RUNNING');
  });

  it('deletes (asking first), then the group is gone from show and list, and the name can be used again', async () => {
    const unasked = await rigsnap(['group', 'delete', SHOP]);
    expect(unasked.code).toBe(2);
    expect((await rig.group(SHOP)).exists).toBe(true);

    const deleted = await rigsnap(['group', 'delete', SHOP, '--yes']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`deleted group ${SHOP}`);
    const shown = await rigsnap(['group', 'show', SHOP]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toContain(`group ${SHOP} does not exist`);
    // Whatever visibility still lists, the entity's answer decides.
    expect(await listed()).toEqual([OTHER]);
    const twice = await rigsnap(['group', 'delete', SHOP, '--yes']);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain(`group ${SHOP} does not exist`);

    const recreated = await rig.createGroup(SHOP, ['ws_grp_api', 'ws_grp_db']);
    expect(recreated).toMatchObject({ exists: true, members: ['ws_grp_api', 'ws_grp_db'], startOrder: ['ws_grp_api', 'ws_grp_db'] });
    // Visibility lists the new run once it has indexed it (the deleted run, completed, is no candidate).
    await eventually(async () => (await listed()).length === 2, 30_000, 'visibility to list the group created again');
    expect(await listed()).toEqual([OTHER, SHOP].sort());
    await rig.deleteGroup(SHOP);
    await rig.deleteGroup(OTHER);
    expect(await listed()).toEqual([]);
  });
});
