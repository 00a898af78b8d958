import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient } from '../../client/index.js';
import { groupStateQuery, progressQuery } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import type { SnapshotGroupResult } from '../../domain/results.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, eventually, expectCancelled, lockStateOf, workflowFailure } from '../helpers/workflows.js';

/**
 * Group snapshots (issue 23, item 2) on the run's dev server with a real worker and emulated workspaces:
 * the phases as the emulator's request log shows them (every stop before any snapshot, every snapshot
 * before any start, starts in the start order), all or nothing on a member whose snapshot fails, no
 * deadlock between two groups sharing a member and a single snapshot of it, a cancel in each phase, a
 * worker killed mid-group (the built worker, dist/worker/main.js), and the CLI (dist/cli/main.js).
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('group-snapshot');
const suffix = Date.now().toString(36);

function workspaces(prefix: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `ws_gs_${prefix}_${i}`);
  for (const id of ids) emu.state.upsertWorkspace({ id, status: 'running', files: { 'f.txt': id } });
  return ids;
}

/** The changes (POSTs) a run sent to Rigbox, in the order Rigbox answered them, as "stop ws_x". */
function changesOf(workflowId: string, since: number): string[] {
  return emu.calls
    .slice(since)
    .filter((c) => c.origin === workflowId && c.method === 'POST')
    .map((c) => `${c.route.replace('/api/workspaces/:id/', '')} ${c.workspaceId}`);
}

function statusOf(id: string): string | undefined {
  return emu.state.workspace(id)?.status;
}

/** Every workspace runs and no entity holds or queues anything: nothing left down, every lock released. */
async function expectAllRunningAndFree(ids: readonly string[]): Promise<void> {
  for (const id of ids) expect(statusOf(id), id).toBe('running');
  for (const id of ids) {
    await eventually(
      async () => {
        const s = await lockStateOf(temporal.client, id);
        return !s || (s.holder === null && s.queue.length === 0);
      },
      30_000,
      `the lock of ${id} to be free`,
    );
  }
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 30, startMs: 30, snapshotMs: 20, restoreMs: 10, latencyMs: 0 } });
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

describe('snapshotGroup', () => {
  it('stops every member before any snapshot, snapshots every member before any start, starts in the start order, and records the set', async () => {
    const [web, api, db] = workspaces('order', 3) as [string, string, string];
    const group = `order-${suffix}`;
    await rig.createGroup(group, [web, api, db], { startOrder: [db, api, web] });
    const since = emu.calls.length;
    const started = await rig.startSnapshotGroup({ group, name: 'pre-demo' });
    const result: SnapshotGroupResult = await started.result();

    const changes = changesOf(started.workflowId, since);
    const kinds = changes.map((c) => c.split(' ')[0]);
    expect(kinds.filter((k) => k === 'stop')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'snapshots')).toHaveLength(3);
    expect(kinds.lastIndexOf('stop')).toBeLessThan(kinds.indexOf('snapshots'));
    expect(kinds.lastIndexOf('snapshots')).toBeLessThan(kinds.indexOf('start'));
    expect(changes.filter((c) => c.startsWith('start'))).toEqual([`start ${db}`, `start ${api}`, `start ${web}`]);
    // The starts overlap: asked for in order by one activity, then every member's wait scheduled before any ends.
    const events = (await started.handle.fetchHistory()).events ?? [];
    const scheduled = new Map<string, string>();
    const order: string[] = [];
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      if (s) order.push(`scheduled ${s.activityType?.name}`);
      const done = e.activityTaskCompletedEventAttributes;
      if (done) order.push(`completed ${scheduled.get(String(done.scheduledEventId))}`);
    }
    const starts = order.slice(order.indexOf('scheduled requestStarts'));
    expect(starts.slice(0, 5)).toEqual([
      'scheduled requestStarts',
      'completed requestStarts',
      'scheduled startWorkspace',
      'scheduled startWorkspace',
      'scheduled startWorkspace',
    ]);

    expect(result).toMatchObject({ group, name: 'pre-demo', complete: true, recorded: true, startOrder: [db, api, web] });
    for (const m of result.members) {
      expect(m.outcome).toBe('snapshotted');
      const snap = emu.state.snapshotsOf(m.workspaceId).find((s) => s.id === m.snapshotId);
      expect(snap?.name, m.workspaceId).toBe('pre-demo');
    }
    const sets = await rig.groupSnapshots(group);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ name: 'pre-demo', complete: true, workflowId: started.workflowId });
    expect(sets[0]!.members.map((m) => m.snapshotId)).toEqual(result.members.map((m) => m.snapshotId));
    await expectAllRunningAndFree([web, api, db]);
  });

  it('all or nothing: a member whose snapshot fails fails the group with PartialFailure, every member runs again, the set is recorded incomplete', async () => {
    const [a, b, c] = workspaces('fail', 3) as [string, string, string];
    const group = `fail-${suffix}`;
    await rig.createGroup(group, [a, b, c]);
    // b's snapshot request is refused (403, non-retryable); b's token works again for its start.
    emu.hooks.onArrival = (arrival) => {
      if (arrival.workspaceId === b && arrival.method === 'POST' && arrival.route === '/workspaces/:id/snapshots') emu.forbidden.add(b);
    };
    emu.hooks.onCall = (call) => {
      if (call.workspaceId === b && call.method === 'POST' && call.status === 403) emu.forbidden.delete(b);
    };
    try {
      const started = await rig.startSnapshotGroup({ group, name: 'nightly' });
      const failure = await workflowFailure(started.handle.result());
      expect(failure.type).toBe('PartialFailure');
      expect(failure.nonRetryable).toBe(true);
      const details = failure.details?.[0] as SnapshotGroupResult;
      expect(details.complete).toBe(false);
      expect(details.members.map((m) => [m.workspaceId, m.outcome, m.workspaceStatus])).toEqual([
        [a, 'snapshotted', 'running'],
        [b, 'failed', 'running'],
        [c, 'snapshotted', 'running'],
      ]);
      expect(details.members[1]!.errorType).toBe('Unauthorized');
      expect(emu.state.snapshotsOf(b).filter((s) => s.name === 'nightly')).toEqual([]);
      for (const id of [a, c]) expect(emu.state.snapshotsOf(id).filter((s) => s.name === 'nightly')).toHaveLength(1);
      const sets = await rig.groupSnapshots(group);
      expect(sets[0]).toMatchObject({ name: 'nightly', complete: false });
      expect(sets[0]!.members.find((m) => m.workspaceId === b)).toMatchObject({ outcome: 'failed', snapshotId: null, errorType: 'Unauthorized' });
      await expectAllRunningAndFree([a, b, c]);
    } finally {
      emu.hooks.onCall = undefined;
      emu.hooks.onArrival = undefined;
      emu.forbidden.delete(b);
    }
  });

  it('refuses a group that does not exist with NotFound, nothing stopped', async () => {
    const since = emu.calls.length;
    const started = await rig.startSnapshotGroup({ group: `nosuch-${suffix}`, name: 'x' });
    const failure = await workflowFailure(started.handle.result());
    expect(failure.type).toBe('NotFound');
    expect(changesOf(started.workflowId, since)).toEqual([]);
  });

  it('does not deadlock: two groups sharing a member and a single snapshot of the shared member, started at the same moment, all finish', async () => {
    const [x, shared, y] = workspaces('dl', 3) as [string, string, string];
    const g1 = `dl-one-${suffix}`;
    const g2 = `dl-two-${suffix}`;
    // Given in opposite orders: the lock order (ascending ids) is what makes this safe.
    await rig.createGroup(g1, [x, shared]);
    await rig.createGroup(g2, [y, shared, x]);
    const runs = await Promise.all([
      rig.startSnapshotGroup({ group: g1, name: 'dl-1' }),
      rig.startSnapshotGroup({ group: g2, name: 'dl-2' }),
      rig.startSnapshot({ workspaceId: shared, name: 'dl-single' }),
    ]);
    const results = await Promise.all(runs.map((r) => r.result()));
    expect((results[0] as SnapshotGroupResult).complete).toBe(true);
    expect((results[1] as SnapshotGroupResult).complete).toBe(true);
    expect(
      emu.state
        .snapshotsOf(shared)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['dl-1', 'dl-2', 'dl-single']);
    await expectAllRunningAndFree([x, shared, y]);
  });
});

describe('snapshotGroup cancelled', () => {
  const phases = [
    { step: 'wait-for-lock', slow: {} },
    { step: 'stop', slow: { stopMs: 1500 } },
    { step: 'snapshot', slow: { snapshotMs: 1500 } },
    { step: 'start', slow: { startMs: 1500 } },
  ] as const;

  it.each(phases)('in phase $step: nothing left down, every lock released', async ({ step, slow }) => {
    const ids = workspaces(`cancel_${step.replace(/-/g, '_')}`, 3);
    const group = `cancel-${step}-${suffix}`;
    await rig.createGroup(group, ids);
    // Waiting for a lock: another operation holds the last member's lock (a slow single snapshot).
    const blocker = step === 'wait-for-lock' ? await rig.startSnapshot({ workspaceId: ids[2]!, name: 'blocker' }) : null;
    const saved = { ...emu.delays };
    Object.assign(emu.delays, slow, step === 'wait-for-lock' ? { snapshotMs: 1500 } : {});
    try {
      if (blocker) await awaitStep(temporal.client, blocker.workflowId, 'snapshot');
      const started = await rig.startSnapshotGroup({ group, name: `cancel-${step}` });
      await awaitStep(temporal.client, started.workflowId, step);
      await started.handle.cancel();
      // Before any snapshot: Cancelled. After (the start phase runs to its end first): CancelledAfterChange with the set.
      if (step === 'wait-for-lock' || step === 'stop') await expectCancelled(started.handle.result());
      if (step === 'start') {
        const failure = await workflowFailure(started.handle.result());
        expect([failure.type, failure.nonRetryable]).toEqual(['CancelledAfterChange', true]);
        expect((failure.details?.[0] as SnapshotGroupResult).members.map((m) => m.outcome)).toEqual(['snapshotted', 'snapshotted', 'snapshotted']);
      }
      if (step === 'snapshot')
        await started.handle.result().then(
          () => expect.fail('the cancelled run completed'),
          () => undefined,
        );
      if (blocker) await blocker.result();
      await expectAllRunningAndFree(ids);
      const sets = await rig.groupSnapshots(group);
      const made = ids.flatMap((id) => emu.state.snapshotsOf(id).filter((s) => s.name === `cancel-${step}`));
      // Before any snapshot: nothing made, nothing recorded. In the start phase: all made, recorded complete.
      // During the copies: a copy cannot be stopped; each that landed is in the recorded set.
      if (step === 'wait-for-lock' || step === 'stop') expect([made, sets]).toEqual([[], []]);
      if (step === 'start') expect(sets[0]).toMatchObject({ complete: true });
      if (step === 'snapshot') expect(sets[0]?.members.flatMap((m) => (m.snapshotId ? [m.snapshotId] : [])).sort()).toEqual(made.map((s) => s.id).sort());
      const state = await temporal.client.workflow.getHandle(workflowIds.group(group)).query(groupStateQuery);
      expect(state.status).toBe('active');
    } finally {
      Object.assign(emu.delays, saved);
    }
  });
});

describe('snapshotGroup cancelled, then the same request again', () => {
  // A group's set is one moment of all its members: the re-run does not adopt the cancelled run's
  // snapshots (that would join a and b from then with c from now). It takes a new set; the cancelled run's
  // stays recorded as it was, incomplete, and a restore by the name takes the newest (docs/cli.md).
  it('the re-run takes a new, complete set (one create per member); the cancelled run’s stays recorded incomplete; every member running', async () => {
    const [a, b, c] = workspaces('rerun', 3) as [string, string, string];
    const group = `rerun-${suffix}`;
    await rig.createGroup(group, [a, b, c]);
    const isCreate = (x: { method: string; route: string }) => x.method === 'POST' && x.route.endsWith('/workspaces/:id/snapshots');
    // c's copy is refused while busy (409, retried), only for the moment of its request; a's and b's land.
    let refusedC = 0;
    emu.hooks.onArrival = (x) => {
      if (x.workspaceId === c && isCreate(x)) emu.state.workspace(c)!.busyUntil = Date.now() + 60_000;
    };
    emu.hooks.onCall = (x) => {
      if (x.workspaceId === c && isCreate(x) && x.status === 409) {
        emu.state.workspace(c)!.busyUntil = null;
        refusedC++;
      }
    };
    const requestKey = `rerun-${suffix}`;
    let cancelled: SnapshotGroupResult;
    try {
      const first = await rig.startSnapshotGroup({ group, name: 'release-1' }, { requestKey });
      const made = (id: string) => emu.state.snapshotsOf(id).some((s) => s.name === 'release-1');
      await eventually(() => made(a) && made(b) && refusedC > 0, 30_000, "a's and b's snapshots, c's refused");
      await first.handle.cancel();
      const failure = await workflowFailure(first.handle.result());
      expect([failure.type, failure.nonRetryable]).toEqual(['CancelledAfterChange', true]);
      cancelled = failure.details?.[0] as SnapshotGroupResult;
      expect(cancelled.members.map((m) => [m.workspaceId, m.outcome])).toEqual([
        [a, 'snapshotted'],
        [b, 'snapshotted'],
        [c, 'not-snapshotted'],
      ]);
    } finally {
      emu.hooks.onArrival = undefined;
      emu.hooks.onCall = undefined;
    }
    await expectAllRunningAndFree([a, b, c]);

    const sinceRerun = emu.calls.length;
    const again = await rig.startSnapshotGroup({ group, name: 'release-1' }, { requestKey });
    const result = await again.result();
    expect(result.complete).toBe(true);
    // A new moment for every member: new snapshot ids, one create each by the re-run.
    for (const m of cancelled.members.filter((x) => x.snapshotId))
      expect(result.members.find((x) => x.workspaceId === m.workspaceId)?.snapshotId, m.workspaceId).not.toBe(m.snapshotId);
    for (const id of [a, b, c])
      expect(
        emu.calls.slice(sinceRerun).filter((x) => x.workspaceId === id && isCreate(x) && x.status === 201),
        `creates of ${id} by the re-run`,
      ).toHaveLength(1);
    // Both sets are listed: the re-run's complete, the cancelled run's incomplete; the name restores the newest.
    const sets = (await rig.groupSnapshots(group)).filter((x) => x.name === 'release-1');
    expect(sets.map((x) => x.complete)).toEqual([true, false]);
    expect(sets[0]!.members.map((m) => m.snapshotId)).toEqual(result.members.map((m) => m.snapshotId));
    await expectAllRunningAndFree([a, b, c]);
  });
});

describe('snapshotGroup with members that cannot be started again', () => {
  let ids: [string, string, string];
  /** How the run ended after the abandon: its result, or its failure. */
  let end: { result: SnapshotGroupResult | null; failure: ApplicationFailure | null } | undefined;

  it('abandon ends the run: the stuck members left stopped, the others running, every lock released, each member’s state said', async () => {
    ids = workspaces('abandon', 3) as [string, string, string];
    const [a, b, c] = ids;
    const group = `abandon-${suffix}`;
    await rig.createGroup(group, ids);
    // a's and c's access is revoked once their snapshots are made (403 on every call, as a revoked token
    // answers, per workspace); b's stays.
    emu.hooks.onCall = (x) => {
      if ((x.workspaceId === a || x.workspaceId === c) && x.method === 'POST' && x.route.endsWith('/workspaces/:id/snapshots') && x.status === 201)
        emu.forbidden.add(x.workspaceId);
    };
    try {
      const started = await rig.startSnapshotGroup({ group, name: 'stuck' });
      const alertOf = () =>
        temporal.client.workflow
          .getHandle(started.workflowId)
          .query(progressQuery)
          .then((p) => p.alert ?? '')
          .catch(() => '');
      await eventually(async () => /keeps trying/.test(await alertOf()), 90_000, 'the restart loop of the first stuck member');
      const answer = await rig.abandon(started.workflowId, { reason: 'access revoked on purpose', by: 'group-test' });
      expect(answer).toMatchObject({ outcome: 'abandoned', workspaceId: a, by: 'group-test', reason: 'access revoked on purpose' });
      end = await started.handle.result().then(
        (result) => ({ result, failure: null }),
        (e: unknown) => ({ result: null, failure: e instanceof WorkflowFailedError && e.cause instanceof ApplicationFailure ? e.cause : null }),
      );
    } finally {
      emu.hooks.onCall = undefined;
      emu.forbidden.delete(a);
      emu.forbidden.delete(c);
    }
    expect([statusOf(a), statusOf(b), statusOf(c)]).toEqual(['stopped', 'running', 'stopped']);
    for (const id of ids)
      await eventually(
        async () => {
          const s = await lockStateOf(temporal.client, id);
          return !s || (s.holder === null && s.queue.length === 0);
        },
        30_000,
        `the lock of ${id} to be free`,
      );
    // Each member's state, in the result or the failure's details.
    const said = end.result ?? (end.failure?.details?.[0] as SnapshotGroupResult | undefined);
    expect(said?.members.map((m) => [m.workspaceId, m.workspaceStatus])).toEqual([
      [a, 'stopped'],
      [b, 'running'],
      [c, 'stopped'],
    ]);
  }, 150_000);

  it('…and the run ends with an Abandoned failure naming each member left stopped (docs/cli.md "abandon")', () => {
    expect(end, 'the run above ended').toBeDefined();
    expect(end!.result, 'the run did not complete as a success').toBeNull();
    expect([end!.failure?.type, end!.failure?.nonRetryable]).toEqual(['Abandoned', true]);
    expect(end!.failure?.message).toContain(`${ids[0]} (stopped)`);
    expect(end!.failure?.message).toContain(`${ids[2]} (stopped)`);
    expect(end!.failure?.message).not.toContain(`${ids[1]} (`);
    // The set itself is whole: every snapshot was made before the starts.
    expect(end!.failure?.message).toContain('is complete and recorded');
    expect((end!.failure?.details?.[0] as SnapshotGroupResult).complete).toBe(true);
  });
});

describe('snapshotGroup with its worker killed', () => {
  it('completes after a new worker takes over: every member running, one snapshot each, the set recorded complete', async () => {
    const queue = uniqueTaskQueue('group-crash');
    const ids = workspaces('crash', 3);
    const group = `crash-${suffix}`;
    await rig.createGroup(group, ids);
    const workerEnv = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      RIGBOX_API_URL: emu.url,
      RIGSNAP_TASK_QUEUE: queue,
      RIGSNAP_POLL_MAX_MS: '500',
    };
    const saved = emu.delays.snapshotMs;
    emu.delays.snapshotMs = 2500;
    let crashWorker = await startWorkerProcess(workerEnv);
    try {
      const crashRig = await RigsnapClient.connect({ client: temporal.client, taskQueue: queue });
      const started = await crashRig.startSnapshotGroup({ group, name: 'survives-crash' });
      // Killed while Rigbox copies the disks: every member is stopped, no answer reaches anyone.
      await eventually(() => ids.every((id) => emu.state.data.workspaces[id]!.busyUntil !== null), 60_000, 'the copies to begin');
      await crashWorker.stop('SIGKILL');
      for (const id of ids) expect(statusOf(id), id).toBe('stopped');
      crashWorker = await startWorkerProcess(workerEnv);
      const result = await started.result();
      expect(result.complete).toBe(true);
      for (const id of ids)
        expect(
          emu.state.snapshotsOf(id).filter((s) => s.name === 'survives-crash'),
          id,
        ).toHaveLength(1);
      expect((await crashRig.groupSnapshots(group))[0]).toMatchObject({ name: 'survives-crash', complete: true });
      await expectAllRunningAndFree(ids);
    } finally {
      emu.delays.snapshotMs = saved;
      await crashWorker.stop();
    }
  }, 180_000);
});

describe('rigsnap snapshot --group and rigsnap group snapshots', () => {
  it('takes a group snapshot from the CLI and lists the set, an incomplete one marked', async () => {
    const ids = workspaces('cli', 2);
    const group = `cli-${suffix}`;
    await rig.createGroup(group, ids);
    const usage = await runCli(['snapshot', ids[0]!, '--group', group, '--name', 'x'], taskQueue);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give a workspace or --group <group> (not both)');
    const ok = await runCli(['snapshot', '--group', group, '--name', 'from-cli', '--json'], taskQueue);
    expect(ok.code, ok.stderr).toBe(0);
    const out = cliJson<{ status: string; result: SnapshotGroupResult }>(ok);
    expect(out.result).toMatchObject({ group, complete: true, recorded: true });
    // An incomplete set: the second member's snapshot is refused.
    emu.hooks.onArrival = (a) => {
      if (a.workspaceId === ids[1] && a.method === 'POST' && a.route === '/workspaces/:id/snapshots') emu.forbidden.add(ids[1]);
    };
    emu.hooks.onCall = (c) => {
      if (c.workspaceId === ids[1] && c.status === 403) emu.forbidden.delete(ids[1]);
    };
    try {
      const failed = await runCli(['snapshot', '--group', group, '--name', 'half'], taskQueue);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/✗ group snapshot "half" of group \S+: 1 of 2 snapshots, INCOMPLETE/);
      expect(failed.stdout).toMatch(new RegExp(`${ids[1]}\\s+failed: Unauthorized\\s+-\\s+running`));
    } finally {
      emu.hooks.onArrival = undefined;
      emu.hooks.onCall = undefined;
      emu.forbidden.delete(ids[1]!);
    }
    const listed = await runCli(['group', 'snapshots', group], taskQueue);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, newest, older] = listed.stdout.trim().split('\n');
    expect(header).toContain('COMPLETE');
    expect(newest).toMatch(/half .*INCOMPLETE/);
    expect(newest).toContain(`${ids[1]}=(failed: Unauthorized)`);
    expect(older).toMatch(/from-cli .*yes/);
    const json = await runCli(['group', 'snapshots', group, '--json'], taskQueue);
    expect(cliJson<{ sets: Array<{ name: string; complete: boolean }> }>(json).sets.map((x) => [x.name, x.complete])).toEqual([
      ['half', false],
      ['from-cli', true],
    ]);
  });
});
