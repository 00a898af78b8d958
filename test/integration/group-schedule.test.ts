import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigsnapClient, RigsnapError } from '../../client/index.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { MEMO_KEYS, PRIORITY, scheduleIds, workflowIds } from '../../domain/index.js';
import type { BackupGroupResult, PruneSnapshotsResult } from '../../domain/results.js';
import type { ScheduleInfo, ScheduleListItem } from '../../client/views.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { workflowFailure } from '../helpers/workflows.js';

/**
 * Group schedules (issue 23, item 4) on the run's dev server with a real worker and emulated workspaces:
 * a group schedule triggered three times with --keep-last 2 keeps exactly two sets, the oldest set's
 * snapshots gone from every member; a held snapshot keeps its old set whole; a single workspace's prune
 * leaves the snapshots of kept sets; one slot never makes two sets; bad input fails fast and reaches no
 * Rigbox API.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('group-schedule');
const suffix = Date.now().toString(36);

function workspaces(prefix: string, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `ws_gsch_${prefix}_${i}`);
  for (const id of ids) emu.state.upsertWorkspace({ id, status: 'running', files: { 'f.txt': id } });
  return ids;
}

function snapshotIdsOf(workspaceId: string): string[] {
  return emu.state.snapshotsOf(workspaceId).map((s) => s.id);
}

/** Triggers the schedule and waits for its run; a second apart, so each trigger is its own slot (names carry seconds). */
async function triggerAndWait(scheduleId: string): Promise<BackupGroupResult> {
  await new Promise((r) => setTimeout(r, 1100));
  const t = await rig.schedules.trigger(scheduleId, { waitMs: 30_000 });
  expect(t.run, 'the trigger started a run').not.toBeNull();
  return temporal.client.workflow.getHandle(t.run!.workflowId, t.run!.runId).result();
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 20, startMs: 20, snapshotMs: 10, restoreMs: 10, latencyMs: 0 } });
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

describe('group schedules', () => {
  it('triggered 3 times with --keep-last 2: exactly 2 sets, the oldest deleted from every member, at priority 3 keyed by the schedule', async () => {
    const members = workspaces('keep', 3);
    const group = `keep-${suffix}`;
    await rig.createGroup(group, members);
    const created = await rig.schedules.createGroup({ group, retention: { keepLast: 2 }, paused: true });
    const scheduleId = scheduleIds.group(group);
    try {
      expect(created).toMatchObject({ scheduleId, kind: 'group', group, namePrefix: 'group-backup-', retention: { keepLast: 2 } });
      expect(created.priority).toEqual({ priorityKey: PRIORITY.scheduledBackup, fairnessKey: scheduleId, fairnessWeight: 1 });

      const runs = [await triggerAndWait(scheduleId), await triggerAndWait(scheduleId), await triggerAndWait(scheduleId)];
      for (const r of runs) expect(r.set).toMatchObject({ group, complete: true, recorded: true });
      const [first, second, third] = runs as [BackupGroupResult, BackupGroupResult, BackupGroupResult];

      const sets = await rig.groupSnapshots(group);
      expect(sets.map((s) => s.name)).toEqual([third.name, second.name]);
      expect(third.retention?.deleted.map((d) => d.name)).toEqual([first.name]);
      for (const m of first.set!.members) expect(snapshotIdsOf(m.workspaceId), `${m.workspaceId} lost ${first.name}`).not.toContain(m.snapshotId);
      for (const r of [second, third]) for (const m of r.set!.members) expect(snapshotIdsOf(m.workspaceId)).toContain(m.snapshotId);

      // The run and its set ran at the schedule's priority, fair by the schedule id.
      const desc = await temporal.client.workflow.getHandle(workflowIds.groupScheduledSet(group, third.name)).describe();
      expect(desc.raw.workflowExecutionInfo?.priority).toMatchObject({ priorityKey: PRIORITY.scheduledBackup, fairnessKey: scheduleId });

      // A single workspace's prune with the group's prefix leaves the kept sets (they are held by the schedule).
      const pruned: PruneSnapshotsResult = await temporal.client.workflow.execute(WORKFLOW_TYPES.prune, {
        taskQueue,
        workflowId: `prune-${members[0]}-${suffix}`,
        args: [{ workspaceId: members[0]!, namePrefix: 'group-backup-', retention: { keepLast: 1 } }],
      });
      expect(pruned.deletedCount).toBe(0);
      for (const r of [second, third]) expect(snapshotIdsOf(members[0]!)).toContain(r.set!.members[0]!.snapshotId);
      expect(members.every((w) => emu.state.workspace(w)?.status === 'running')).toBe(true);
    } finally {
      await rig.schedules.delete(scheduleId).catch(() => undefined);
    }
  });

  it('a held snapshot of an old set keeps that set whole (listed, every member present); the unheld old set goes', async () => {
    const members = workspaces('held', 2);
    const group = `held-${suffix}`;
    await rig.createGroup(group, members);
    await rig.schedules.createGroup({ group, retention: { keepLast: 1 }, paused: true });
    const scheduleId = scheduleIds.group(group);
    try {
      const first = await triggerAndWait(scheduleId);
      const heldId = first.set!.members[1]!.snapshotId!;
      await rig.hold(members[1]!, heldId, { reason: 'legal' });
      const second = await triggerAndWait(scheduleId);
      const third = await triggerAndWait(scheduleId);

      const sets = await rig.groupSnapshots(group);
      expect(sets.map((s) => s.name)).toEqual([third.name, first.name]);
      expect(third.retention?.kept.find((k) => k.name === first.name)?.reasons).toEqual(['hold: legal']);
      for (const m of first.set!.members) expect(snapshotIdsOf(m.workspaceId)).toContain(m.snapshotId);
      for (const m of second.set!.members) expect(snapshotIdsOf(m.workspaceId)).not.toContain(m.snapshotId);
    } finally {
      await rig.schedules.delete(scheduleId).catch(() => undefined);
    }
  });

  it('a deletion that fails fails the run loudly (PartialFailure) and leaves the set listed; the next run deletes it', async () => {
    const [a, b] = workspaces('fail', 2) as [string, string];
    const group = `fail-${suffix}`;
    await rig.createGroup(group, [a, b]);
    await rig.schedules.createGroup({ group, retention: { keepLast: 1 }, paused: true });
    const scheduleId = scheduleIds.group(group);
    try {
      const first = await triggerAndWait(scheduleId);
      // b's snapshot delete is refused once (403, non-retryable); its token works again afterwards.
      emu.hooks.onArrival = (arrival) => {
        if (arrival.workspaceId === b && arrival.method === 'DELETE') emu.forbidden.add(b);
      };
      emu.hooks.onCall = (call) => {
        if (call.workspaceId === b && call.status === 403) emu.forbidden.delete(b);
      };
      await new Promise((r) => setTimeout(r, 1100));
      const t = await rig.schedules.trigger(scheduleId, { waitMs: 30_000 });
      const failure = await workflowFailure(temporal.client.workflow.getHandle(t.run!.workflowId, t.run!.runId).result());
      expect(failure).toMatchObject({ type: 'PartialFailure', nonRetryable: true });
      emu.hooks.onArrival = undefined;
      emu.hooks.onCall = undefined;
      expect((await rig.groupSnapshots(group)).map((s) => s.name)).toContain(first.name);
      expect(snapshotIdsOf(b)).toContain(first.set!.members[1]!.snapshotId);

      const third = await triggerAndWait(scheduleId);
      expect((await rig.groupSnapshots(group)).map((s) => s.name)).toEqual([third.name]);
      for (const m of first.set!.members) expect(snapshotIdsOf(m.workspaceId)).not.toContain(m.snapshotId);
    } finally {
      emu.hooks.onArrival = undefined;
      emu.hooks.onCall = undefined;
      await rig.schedules.delete(scheduleId).catch(() => undefined);
    }
  });

  it('one slot never makes two sets: a second run with the same nominal time finds the first one’s set', async () => {
    const members = workspaces('slot', 2);
    const group = `slot-${suffix}`;
    await rig.createGroup(group, members);
    const start = (n: number) =>
      temporal.client.workflow.execute(WORKFLOW_TYPES['group-backup'], {
        taskQueue,
        workflowId: `slot-${suffix}-${n}`,
        args: [{ group, retention: { keepLast: 3 } }],
        memo: { [MEMO_KEYS.backupTime]: '2026-12-01T03:00:00Z' },
      }) as Promise<BackupGroupResult>;
    const a = await start(1);
    const b = await start(2);
    expect(a.name).toBe('group-backup-2026-12-01-0300');
    expect(b).toMatchObject({ name: a.name, set: null, duplicateOf: workflowIds.groupScheduledSet(group, a.name), retention: null });
    expect((await rig.groupSnapshots(group)).map((s) => s.name)).toEqual([a.name]);
    for (const w of members) expect(emu.state.snapshotsOf(w)).toHaveLength(1);
  });

  it('bad input fails fast, non-retryable, and reaches no Rigbox API: an unknown group, keep 0', async () => {
    const before = emu.calls.length;
    const unknown = `nosuch-${suffix}`;
    const refused = await rig.schedules.createGroup({ group: unknown, retention: { keepLast: 2 } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RigsnapError);
    expect((refused as RigsnapError).type).toBe('NotFound');
    const noSchedule = await rig.schedules.describe(scheduleIds.group(unknown)).catch((e: unknown) => e);
    expect((noSchedule as RigsnapError).type).toBe('ScheduleNotFound');
    const keep0 = await rig.schedules.createGroup({ group: unknown, retention: { keepLast: 0 } }).catch((e: unknown) => e);
    expect((keep0 as RigsnapError).type).toBe('InvalidInput');

    // The workflow itself, started by another service: the same refusals as typed, non-retryable failures.
    const run = (workflowId: string, input: unknown) =>
      workflowFailure(temporal.client.workflow.execute(WORKFLOW_TYPES['group-backup'], { taskQueue, workflowId, args: [input] }));
    const notFound = await run(`bad-group-${suffix}`, { group: unknown });
    expect(notFound).toMatchObject({ type: 'NotFound', nonRetryable: true });
    const zero = await run(`bad-keep-${suffix}`, { group: unknown, retention: { keepLast: 0 } });
    expect(zero).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(emu.calls.length).toBe(before);
  });

  it('the CLI (dist/cli/main.js): schedule create --group, list, describe, trigger, delete; usage errors exit 2', async () => {
    const members = workspaces('cli', 2);
    const group = `cli-${suffix}`;
    await rig.createGroup(group, members);
    const scheduleId = scheduleIds.group(group);
    const both = await runCli(['schedule', 'create', members[0]!, '--group', group], taskQueue);
    expect(both.code).toBe(2);
    const keep0 = await runCli(['schedule', 'create', '--group', group, '--keep-last', '0'], taskQueue);
    expect(keep0.code).toBe(2);
    const unknown = await runCli(['schedule', 'create', '--group', `nosuch-${suffix}`, '--keep-last', '2'], taskQueue);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/NotFound/);

    const created = cliJson<ScheduleInfo>(await runCli(['schedule', 'create', '--group', group, '--keep-last', '2', '--paused', '--json'], taskQueue));
    try {
      expect(created).toMatchObject({ scheduleId, kind: 'group', group, retention: { keepLast: 2 } });
      const described = await runCli(['schedule', 'describe', scheduleId], taskQueue);
      expect(described.stdout).toContain(`backupGroup of group ${group}`);
      await eventuallyListed(scheduleId);
      const updated = cliJson<ScheduleInfo>(await runCli(['schedule', 'update', scheduleId, '--keep-last', '3', '--at', '02:30', '--json'], taskQueue));
      expect(updated).toMatchObject({ kind: 'group', group, at: ['02:30'], namePrefix: 'group-backup-', retention: { keepLast: 3 } });
      const notice = await runCli(['schedule', 'update', scheduleId, '--notice', '10m'], taskQueue);
      expect(notice.code).toBe(2);
      expect(notice.stderr).toMatch(/does not announce its stops/);
      const triggered = cliJson<{ run: { workflowId: string; runId: string } | null }>(await runCli(['schedule', 'trigger', scheduleId, '--json'], taskQueue));
      const result: BackupGroupResult = await temporal.client.workflow.getHandle(triggered.run!.workflowId, triggered.run!.runId).result();
      expect(result.set).toMatchObject({ group, complete: true });
    } finally {
      const deleted = await runCli(['schedule', 'delete', scheduleId, '--yes'], taskQueue);
      expect(deleted.code).toBe(0);
    }
    // The schedule is gone; the set it kept stays held for it. `unhold` alone names that hold's owner;
    // `unhold --owner` releases it, and then a delete goes through.
    const [kept] = await rig.groupSnapshots(group);
    const { workspaceId, snapshotId } = kept!.members[0]! as { workspaceId: string; snapshotId: string };
    const owner = `group-schedule:${group}`;
    const plain = await runCli(['unhold', workspaceId, snapshotId], taskQueue);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`${snapshotId} had no manual hold`);
    expect(plain.stdout).toContain(`still held: ${snapshotId}`);
    expect(plain.stdout).toContain(`for ${owner}`);
    const byOwner = await runCli(['unhold', workspaceId, snapshotId, '--owner', owner], taskQueue);
    expect(byOwner.code, byOwner.stderr).toBe(0);
    expect(byOwner.stdout).toContain(`released the hold of ${snapshotId}`);
    const gone = await runCli(['delete', workspaceId, snapshotId, '--yes'], taskQueue);
    expect(gone.code, gone.stderr).toBe(0);
    expect(emu.state.snapshotsOf(workspaceId).map((s) => s.id)).not.toContain(snapshotId);
  });
});

/** `schedule list` reads visibility: a new schedule may take a moment to appear. */
async function eventuallyListed(scheduleId: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const items = cliJson<ScheduleListItem[]>(await runCli(['schedule', 'list', '--json'], taskQueue));
    const found = items.find((x) => x.scheduleId === scheduleId);
    if (found) {
      expect(found).toMatchObject({ kind: 'group', group: scheduleId.slice(scheduleIds.group('').length) });
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${scheduleId} never appeared in schedule list`);
}
