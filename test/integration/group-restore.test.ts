import type { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { WORKFLOW_TYPES, progressQuery } from '../../contract/index.js';
import type { RestoreGroupResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, expectCancelled, lockStateOf, testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * restoreGroup (issue 23, item 3) end to end: real dev server, real worker, the emulator over HTTP. All
 * members restored; a member's restore refused by Rigbox (fault injected on that member alone), after
 * which every member is back on its safety snapshot's data and running; a rollback that fails too
 * (PartialFailure naming each member); a foreign snapshot refused before anything stops; a cancellation in
 * each phase, after which nothing is left down and every lock is free.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('grouprestore');
const FAST = { stopMs: 100, startMs: 100, snapshotMs: 50, restoreMs: 50, latencyMs: 0 };

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { ...FAST } });
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

/** Three running workspaces, each with a snapshot of `v1` content, then changed to `v2`: the targets. */
function stack(prefix: string) {
  const ids = ['db', 'api', 'web'].map((n) => `ws_${prefix}_${n}`);
  const targets = ids.map((id) => {
    const ws = emu.state.upsertWorkspace({ id, status: 'running', files: { 'data.txt': `${id} v1` } });
    const snap = emu.state.addSnapshot(ws, 'good');
    emu.state.data.workspaces[id]!.files = { 'data.txt': `${id} v2` };
    return { workspaceId: id, snapshotId: snap.id };
  });
  return { ids, targets };
}

function start(input: unknown) {
  return temporal.client.workflow.start<(i: unknown) => Promise<RestoreGroupResult>>(WORKFLOW_TYPES['group-restore'], {
    taskQueue,
    workflowId: testWorkflowId('group-restore'),
    args: [input],
  });
}

const dataOf = (id: string) => emu.state.workspace(id)!.files['data.txt'];
const statusOf = (id: string) => emu.state.workspace(id)!.status;

/** Every member running and every member's lock free: what a user checks after any end of a group restore. */
async function expectAllRunningAndFree(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    expect(statusOf(id), id).toBe('running');
    const lock = await lockStateOf(temporal.client, id);
    expect(lock === null || (lock.holder === null && lock.queue.length === 0), `${id} lock ${JSON.stringify(lock)}`).toBe(true);
  }
}

/** Refuses one member's restore of `snapshotId` with 403 (a non-retryable failure), once. */
function refuseRestoreOf(workspaceId: string, snapshotId: string): void {
  emu.hooks.onArrival = (a) => {
    if (a.workspaceId === workspaceId && a.route === '/workspaces/:id/snapshots/:sid/restore' && a.snapshotId === snapshotId) emu.forbidden.add(workspaceId);
  };
  emu.hooks.onCall = (c) => {
    if (c.workspaceId === workspaceId && c.status === 403) emu.forbidden.delete(workspaceId);
  };
}

function clearHooks(): void {
  emu.hooks.onArrival = undefined;
  emu.hooks.onCall = undefined;
  emu.forbidden.clear();
  Object.assign(emu.delays, FAST);
}

describe('restoreGroup', () => {
  it('restores every member, each after a held safety snapshot, stops all before any restore and starts in the start order', async () => {
    const { ids, targets } = stack('gr_ok');
    const since = emu.calls.length;
    const startOrder = [ids[0]!, ids[1]!, ids[2]!];
    const r = await (await start({ targets: [...targets].reverse(), startOrder })).result();
    expect(r.verdict).toBe('restored');
    expect(r.members.map((m) => [m.workspaceId, m.outcome])).toEqual([...targets].reverse().map((t) => [t.workspaceId, 'restored']));
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v1`);
    await expectAllRunningAndFree(ids);
    // Each safety snapshot holds the disk from before, and is held.
    for (const m of r.members) {
      expect(emu.state.data.snapshots[m.safetySnapshotId!]!.files['data.txt']).toBe(`${m.workspaceId} v2`);
      expect((await rig.holds(m.workspaceId)).holds.map((h) => h.snapshotId)).toContain(m.safetySnapshotId);
    }
    const calls = emu.calls
      .slice(since)
      .filter((c) => c.method === 'POST' && ids.includes(c.workspaceId ?? ''))
      .map((c) => ({ route: c.route.replace('/api', ''), workspaceId: c.workspaceId }));
    const routes = calls.map((c) => c.route);
    // The emulator's log: every stop before any safety snapshot or restore, every restore before any start.
    expect(routes.filter((r) => r === '/workspaces/:id/stop')).toHaveLength(3);
    expect(routes.lastIndexOf('/workspaces/:id/stop')).toBeLessThan(routes.indexOf('/workspaces/:id/snapshots'));
    expect(routes.lastIndexOf('/workspaces/:id/snapshots')).toBeLessThan(routes.indexOf('/workspaces/:id/snapshots/:sid/restore'));
    expect(routes.lastIndexOf('/workspaces/:id/snapshots/:sid/restore')).toBeLessThan(routes.indexOf('/workspaces/:id/start'));
    expect(calls.filter((c) => c.route === '/workspaces/:id/start').map((c) => c.workspaceId)).toEqual(startOrder);
  });

  it('all or nothing: one member’s restore fails, every member ends on its safety snapshot’s data, running; RolledBack names each', async () => {
    const { ids, targets } = stack('gr_fail');
    refuseRestoreOf(ids[1]!, targets[1]!.snapshotId);
    try {
      const failure = await workflowFailure((await start({ targets })).result());
      expect(failure.type).toBe('RolledBack');
      expect(failure.nonRetryable).toBe(true);
      const details = failure.details?.[0] as RestoreGroupResult;
      expect(details.verdict).toBe('undone');
      expect(details.members.map((m) => m.outcome)).toEqual(['rolled-back-to-safety', 'rolled-back-to-safety', 'rolled-back-to-safety']);
      expect(details.members[1]!.error).toMatch(/^Unauthorized/);
      for (const id of ids) expect(failure.message).toContain(id);
      expect(failure.message).toContain(`${ids[1]}: Unauthorized`);
      for (const id of ids) expect(dataOf(id)).toBe(`${id} v2`);
      await expectAllRunningAndFree(ids);
    } finally {
      clearHooks();
    }
  });

  it('a rollback that fails too is named: PartialFailure with each member’s state and the command that finishes the job', async () => {
    const { ids, targets } = stack('gr_mixed');
    // web's restore fails; api's rollback (a restore of a snapshot other than its target) is refused.
    emu.hooks.onArrival = (a) => {
      if (a.route !== '/workspaces/:id/snapshots/:sid/restore') return;
      if (a.workspaceId === ids[2] && a.snapshotId === targets[2]!.snapshotId) emu.forbidden.add(ids[2]);
      if (a.workspaceId === ids[1] && a.snapshotId !== targets[1]!.snapshotId) emu.forbidden.add(ids[1]);
    };
    emu.hooks.onCall = (c) => {
      if (c.status === 403 && c.workspaceId) emu.forbidden.delete(c.workspaceId);
    };
    try {
      const failure = await workflowFailure((await start({ targets })).result());
      expect(failure.type).toBe('PartialFailure');
      const details = failure.details?.[0] as RestoreGroupResult;
      expect(details.verdict).toBe('mixed');
      expect(details.members.map((m) => m.outcome)).toEqual(['rolled-back-to-safety', 'rollback-failed', 'rolled-back-to-safety']);
      const api = details.members[1]!;
      expect(failure.message).toContain(`rigsnap restore ${ids[1]} ${api.safetySnapshotId}`);
      expect(dataOf(ids[0]!)).toBe(`${ids[0]} v2`);
      expect(dataOf(ids[1]!)).toBe(`${ids[1]} v1`); // restored, and not put back: what the failure says
      expect(dataOf(ids[2]!)).toBe(`${ids[2]} v2`);
      await expectAllRunningAndFree(ids);
    } finally {
      clearHooks();
    }
  });

  it('refuses a snapshot of another member before anything stops (NotFound, nothing stopped)', async () => {
    const { ids, targets } = stack('gr_foreign');
    const since = emu.calls.length;
    const swapped = [targets[0]!, { workspaceId: targets[1]!.workspaceId, snapshotId: targets[2]!.snapshotId }, targets[2]!];
    const failure = await workflowFailure((await start({ targets: swapped })).result());
    expect(failure.type).toBe('NotFound');
    expect(failure.message).toContain(`belongs to workspace ${ids[2]}, not ${ids[1]}`);
    expect(emu.calls.slice(since).filter((c) => c.method === 'POST')).toEqual([]);
    await expectAllRunningAndFree(ids);
  });

  it('refuses bad input at once: a workspace twice, a group without its set', async () => {
    const twice = await workflowFailure(
      (
        await start({
          targets: [
            { workspaceId: 'ws_a', snapshotId: 'snap_1' },
            { workspaceId: 'ws_a', snapshotId: 'snap_2' },
          ],
        })
      ).result(),
    );
    expect([twice.type, twice.nonRetryable]).toEqual(['InvalidInput', true]);
    expect(twice.message).toContain('ws_a is listed twice');
    const noSet = await workflowFailure((await start({ group: 'shop' })).result());
    expect(noSet.type).toBe('InvalidInput');
    expect(noSet.message).toContain('set');
  });
});

describe('restoreGroup of a recorded set', () => {
  it('restores the set snapshotGroup recorded, in the group’s start order; an incomplete set only when allowed', async () => {
    const suffix = Date.now().toString(36);
    const group = `shop-${suffix}`;
    const { ids } = stack(`gr_set_${suffix}`);
    for (const id of ids) emu.state.data.workspaces[id]!.files = { 'data.txt': `${id} v1` };
    const startOrder = [ids[2]!, ids[0]!, ids[1]!];
    await rig.createGroup(group, ids, { startOrder });
    await rig.snapshotGroup({ group, name: 'nightly' });
    for (const id of ids) emu.state.data.workspaces[id]!.files = { 'data.txt': `${id} v2` };

    const since = emu.calls.length;
    const r = await rig.restoreGroup({ group, set: 'nightly' });
    expect([r.group, r.set, r.verdict]).toEqual([group, 'nightly', 'restored']);
    expect(r.startOrder).toEqual(startOrder);
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v1`);
    const starts = emu.calls.slice(since).filter((c) => c.method === 'POST' && c.route.endsWith('/start'));
    expect(starts.map((c) => c.workspaceId)).toEqual(startOrder);
    await expectAllRunningAndFree(ids);

    // An incomplete set: the api member's snapshot is refused.
    emu.hooks.onArrival = (a) => {
      if (a.workspaceId === ids[1] && a.method === 'POST' && a.route === '/workspaces/:id/snapshots') emu.forbidden.add(ids[1]);
    };
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === ids[1] && c.status === 403) emu.forbidden.delete(ids[1]);
    };
    try {
      await expect(rig.snapshotGroup({ group, name: 'partial' })).rejects.toMatchObject({ type: 'PartialFailure' });
    } finally {
      clearHooks();
    }
    for (const id of ids) emu.state.data.workspaces[id]!.files = { 'data.txt': `${id} v3` };
    const refused = await rig.restoreGroup({ group, set: 'partial' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/incomplete \(no snapshot of ws_gr_set_\w+_api\)/) });
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v3`);
    const allowed = await rig.restoreGroup({ group, set: 'partial', allowIncomplete: true });
    expect(allowed.members.map((m) => m.workspaceId)).toEqual([ids[0], ids[2]]);
    // The partial set was taken after the first restore (v1); api, not in it, keeps what it has.
    expect([dataOf(ids[0]!), dataOf(ids[1]!), dataOf(ids[2]!)]).toEqual([`${ids[0]} v1`, `${ids[1]} v3`, `${ids[2]} v1`]);
    await expectAllRunningAndFree(ids);
  });

  it('a set the group does not have: NotFound naming the command that lists them, nothing stopped', async () => {
    const group = `empty-${Date.now().toString(36)}`;
    const { ids } = stack(`gr_noset`);
    await rig.createGroup(group, ids);
    const since = emu.calls.length;
    await expect(rig.restoreGroup({ group, set: 'never-taken' })).rejects.toMatchObject({
      type: 'NotFound',
      message: expect.stringContaining(`rigsnap group snapshots ${group}`),
    });
    expect(emu.calls.slice(since).filter((c) => c.method === 'POST')).toEqual([]);
  });
});

describe('restoreGroup cancelled', () => {
  /** Cancels when the run reaches `step` (slowed down so it is seen there), and checks what a user would. */
  async function cancelAt(prefix: string, step: string, slow: Partial<typeof FAST>) {
    const { ids, targets } = stack(prefix);
    Object.assign(emu.delays, slow);
    try {
      const h = await start({ targets });
      await awaitStep(temporal.client, h.workflowId, step);
      await h.cancel();
      const outcome = await h.result().then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      await expectAllRunningAndFree(ids);
      return { ids, outcome, h };
    } finally {
      clearHooks();
    }
  }

  it('while waiting for a member’s lock (another operation holds it): the locks taken are released, nothing stopped', async () => {
    const { ids, targets } = stack('gr_cx_lock');
    Object.assign(emu.delays, { snapshotMs: 3000 });
    try {
      // web is last in lock order: the group takes api and db, then waits for web behind a snapshot.
      const web = ids[2]!;
      const single = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
        taskQueue,
        workflowId: testWorkflowId('snapshot'),
        args: [{ workspaceId: web, name: 'in-the-way' }],
      });
      await awaitStep(temporal.client, single.workflowId, 'snapshot');
      const since = emu.calls.length;
      const h = await start({ targets });
      await eventually(async () => (await lockStateOf(temporal.client, ids[1]!))?.holder?.workflowId === h.workflowId, 30_000, 'the group holds api');
      await eventually(async () => (await lockStateOf(temporal.client, ids[0]!))?.holder?.workflowId === h.workflowId, 30_000, 'the group holds db');
      await h.cancel();
      await expectCancelled(h.result());
      await single.result();
      expect(emu.calls.slice(since).filter((c) => c.method === 'POST' && c.workspaceId !== web)).toEqual([]);
      await expectAllRunningAndFree(ids);
    } finally {
      clearHooks();
    }
  });

  it('while stopping: nothing changed, plain Cancelled, all running again, locks free', async () => {
    const { ids, h } = await cancelAt('gr_cx_stop', 'stop', { stopMs: 1500 });
    await expectCancelled(h.result());
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v2`);
  });

  it('while taking safety snapshots: nothing restored, CancelledAfterChange naming the safety snapshots', async () => {
    const { ids, h } = await cancelAt('gr_cx_safety', 'safety-snapshot', { snapshotMs: 1500 });
    const failure = await workflowFailure(h.result());
    expect(failure.type).toBe('CancelledAfterChange');
    const details = failure.details?.[0] as RestoreGroupResult;
    expect(details.members.every((m) => m.outcome === 'unchanged' && m.safetySnapshotId)).toBe(true);
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v2`);
  });

  it('while restoring: every member is put back on its safety snapshot, CancelledAfterChange says so', async () => {
    const { ids, h } = await cancelAt('gr_cx_restore', 'restore', { restoreMs: 1500 });
    const failure = await workflowFailure(h.result());
    expect(failure.type).toBe('CancelledAfterChange');
    const details = failure.details?.[0] as RestoreGroupResult;
    expect(details.members.map((m) => m.outcome)).toEqual(['rolled-back-to-safety', 'rolled-back-to-safety', 'rolled-back-to-safety']);
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v2`);
  });

  it('while starting: the restore stands (every member restored and started), the run completes', async () => {
    const { ids, outcome } = await cancelAt('gr_cx_start', 'start', { startMs: 1500 });
    expect(outcome.ok).toBe(true);
    for (const id of ids) expect(dataOf(id)).toBe(`${id} v1`);
  });
});

describe('restoreGroup with members that cannot be started again', () => {
  let ids: string[];
  let failure: ApplicationFailure | undefined;

  it('abandon ends the run with Abandoned: the stuck members left stopped (restored), the other running, every lock released', async () => {
    const s = stack('gr_abandon');
    ids = s.ids;
    const [db, api, web] = ids as [string, string, string];
    // db's and web's access is revoked once their restores are applied (403 on every call, as a revoked
    // token answers, per workspace); api's stays.
    emu.hooks.onCall = (c) => {
      if ((c.workspaceId === db || c.workspaceId === web) && c.route.endsWith('/snapshots/:sid/restore') && c.status === 200) emu.forbidden.add(c.workspaceId);
    };
    try {
      const handle = await start({ targets: s.targets });
      const alertOf = () =>
        handle
          .query(progressQuery)
          .then((p) => p.alert ?? '')
          .catch(() => '');
      await eventually(async () => /keeps trying/.test(await alertOf()), 90_000, 'the restart loop of the first stuck member');
      const answer = await rig.abandon(handle.workflowId, { reason: 'access revoked on purpose', by: 'group-test' });
      expect(answer).toMatchObject({ outcome: 'abandoned', workspaceId: db });
      failure = await workflowFailure(handle.result());
    } finally {
      clearHooks();
    }
    expect([failure.type, failure.nonRetryable]).toEqual(['Abandoned', true]);
    expect([statusOf(db), statusOf(api), statusOf(web)]).toEqual(['stopped', 'running', 'stopped']);
    for (const id of ids) expect(dataOf(id), id).toBe(`${id} v1`);
    for (const id of ids)
      await eventually(
        async () => {
          const lock = await lockStateOf(temporal.client, id);
          return lock === null || (lock.holder === null && lock.queue.length === 0);
        },
        30_000,
        `the lock of ${id} to be free`,
      );
  }, 150_000);

  it('…and the failure says which members were left in which state', () => {
    expect(failure, 'the run above failed').toBeDefined();
    const said = JSON.stringify([failure!.message, failure!.details]);
    for (const id of ids) expect(said, id).toContain(id);
    // Every member left down is named in the message, and each member's restore outcome is in the details.
    const [db, api, web] = ids as [string, string, string];
    expect(failure!.message).toContain(`${db} (stopped)`);
    expect(failure!.message).toContain(`${web} (stopped)`);
    expect(failure!.message).not.toContain(`${api} (`);
    const details = failure!.details?.[0] as RestoreGroupResult;
    expect(details.members.map((m) => [m.workspaceId, m.outcome])).toEqual(ids.map((id) => [id, 'restored']));
  });
});
