import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { WORKFLOW_TYPES, workspaceStateQuery } from '../../contract/index.js';
import { workflowIds, type SnapshotWorkspaceResult } from '../../domain/index.js';
import type { EntityRequest, WorkspaceEntityInput } from '../../domain/workspace-entity.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { activityDepsFromConfig } from '../../worker/worker.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, testConfig, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { awaitStep, changesFor, eventually, testWorkflowId } from '../helpers/workflows.js';

/**
 * The workspace entity (issue 19) on the paths visibility used to decide: terminated while an
 * operation holds the workspace and others wait, with every visibility List failing. The entity is
 * recovered from its closed run's state (describe + query), never from a list.
 */

let temporal: TestTemporal;
beforeAll(async () => {
  temporal = await connectTestTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

/** The test's client with its visibility calls (list, count) answered by `list` and `count` instead. */
function withVisibility(client: Client, list: (query?: string) => unknown, count: (query?: string) => unknown): Client {
  const workflow = new Proxy(client.workflow, {
    get(target, prop) {
      if (prop === 'list') return (o?: { query?: string }) => list(o?.query);
      if (prop === 'count') return count;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'workflow') return workflow;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The test's client, except that visibility (list, count) fails: the worker's activities get this one. */
function withoutVisibility(client: Client): { client: Client; visibilityCalls: () => number } {
  let calls = 0;
  const refuse = () => {
    calls++;
    throw new Error('injected: visibility is unavailable');
  };
  return { client: withVisibility(client, refuse, refuse), visibilityCalls: () => calls };
}

/**
 * The test's client with visibility 5 s behind, as PostgreSQL or Elasticsearch visibility can be: a run
 * appears in a List `lagMs` after it started, and shows as still running until `lagMs` after it closed.
 */
function withLaggingVisibility(client: Client, lagMs: number): { client: Client; visibilityCalls: () => number } {
  let calls = 0;
  const lagged = (query?: string) => {
    calls++;
    const source = client.workflow.list(query === undefined ? undefined : { query });
    return (async function* () {
      const seenAt = Date.now() - lagMs;
      for await (const run of source) {
        if (run.startTime.getTime() > seenAt) continue;
        if (run.closeTime && run.closeTime.getTime() > seenAt) yield { ...run, status: { code: 1, name: 'RUNNING' as const }, closeTime: undefined };
        else yield run;
      }
    })();
  };
  const count = async (query?: string) => {
    let n = 0;
    for await (const _ of lagged(query)) n++;
    return { count: n, groups: [] };
  };
  return { client: withVisibility(client, lagged, count), visibilityCalls: () => calls };
}

async function setUp(name: string, snapshotMs: number, lockTiming?: { maxOperationsPerRun: number }, visibility: 'failing' | 'lagging' = 'failing') {
  const emu: Emulator = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 200, startMs: 200, snapshotMs, restoreMs: 100, latencyMs: 0 } });
  const taskQueue = uniqueTaskQueue(name);
  const workspaceId = `ws_${name}_${process.pid}`;
  emu.state.upsertWorkspace({ id: workspaceId, status: 'running', files: { v: '1' } });
  const config = testConfig({ RIGBOX_API_URL: emu.url, RIGSNAP_TASK_QUEUE: taskQueue });
  const blind = visibility === 'failing' ? withoutVisibility(temporal.client) : withLaggingVisibility(temporal.client, 5000);
  const activities = createActivities({ ...activityDepsFromConfig(config, blind.client), ...(lockTiming ? { lockTiming } : {}) });
  const worker: Worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url, activities });
  const start = (name: string) =>
    temporal.client.workflow.start<(i: unknown) => Promise<SnapshotWorkspaceResult>>(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: testWorkflowId('snapshot'),
      args: [{ workspaceId, name }],
    });
  const entity = () => temporal.client.workflow.getHandle(workflowIds.workspace(workspaceId));
  return { emu, taskQueue, workspaceId, worker, start, entity, activities, visibilityCalls: blind.visibilityCalls };
}

/** Index of the first and last successful change each origin made on the workspace, in Rigbox's order. */
function spanOf(emu: Emulator, workspaceId: string, origin: string): { first: number; last: number } {
  const changes = changesFor(emu, workspaceId).filter((c) => c.outcome === 'ok');
  const mine = changes.flatMap((c, i) => (c.origin === origin ? [i] : []));
  return { first: mine[0] ?? -1, last: mine[mine.length - 1] ?? -1 };
}

describe('the workspace entity without visibility (issue 19)', () => {
  it('terminated while A holds the workspace, with every List failing: B starts after A ends, and A’s release is honoured', async () => {
    const t = await setUp('entblind', 4000);
    try {
      await t.worker.runUntil(async () => {
        const a = await t.start('a');
        await awaitStep(temporal.client, a.workflowId, 'snapshot');
        const terminated = await t.entity().describe();
        await t.entity().terminate('operator test');
        t.emu.delays.snapshotMs = 100;
        const b = await t.start('b');
        // B's acquire found the entity closed and recovered it: A still holds, B waits.
        await eventually(async () => (await t.entity().query(workspaceStateQuery)).lock.queue.some((r) => r.workflowId === b.workflowId), 30_000, 'b queued');
        const recovered = await t.entity().describe();
        expect(recovered.runId).not.toBe(terminated.runId);
        expect((await t.entity().query(workspaceStateQuery)).lock.holder?.workflowId).toBe(a.workflowId);
        await a.result();
        const r = await b.result();
        expect(r.workspaceStatus).toBe('running');
        const spanA = spanOf(t.emu, t.workspaceId, a.workflowId);
        const spanB = spanOf(t.emu, t.workspaceId, b.workflowId);
        expect(spanA.last).toBeGreaterThanOrEqual(0);
        expect(spanB.first).toBeGreaterThan(spanA.last);
        // A's release freed the recovered run (no holder check was needed), and nothing is left.
        const state = await t.entity().query(workspaceStateQuery);
        expect(state.lock.holder).toBeNull();
        expect(state.lock.queue).toEqual([]);
        expect(state.lock.settled.some((id) => id.startsWith(`${a.workflowId}/`))).toBe(true);
        expect(state.lock.repairs).toEqual([]);
        expect(t.emu.state.workspace(t.workspaceId)!.status).toBe('running');
        expect(t.visibilityCalls()).toBe(0);
      });
    } finally {
      await t.emu.close();
    }
  }, 120_000);

  it('terminated with a holder and a queue: the recovered run has the same state, racing recoverers end on one run, a plain start cannot replace it', async () => {
    const t = await setUp('entrecover', 5000);
    try {
      await t.worker.runUntil(async () => {
        const a = await t.start('a');
        await awaitStep(temporal.client, a.workflowId, 'snapshot');
        const b = await t.start('b');
        await eventually(async () => (await t.entity().query(workspaceStateQuery)).lock.queue.length === 1, 30_000, 'b queued');
        const before = await t.entity().query(workspaceStateQuery);
        const terminatedRun = (await t.entity().describe()).runId;
        await t.entity().terminate('operator test');

        // A start as rigsnap makes it (REJECT_DUPLICATE) is refused: no empty run replaces the closed one.
        await expect(
          temporal.client.workflow.start(WORKFLOW_TYPES.workspace, {
            taskQueue: t.taskQueue,
            workflowId: workflowIds.workspace(t.workspaceId),
            args: [{ workspaceId: t.workspaceId } satisfies WorkspaceEntityInput],
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          }),
        ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

        // Two callers find it closed at once (requesters that have no run: granted later, they are skipped).
        const req = (n: string, runId = randomUUID()): EntityRequest => ({
          requestId: `ghost-${n}/${runId}/1`,
          workflowId: `ghost-${n}`,
          runId,
          operation: 'snapshot',
          requestedAt: new Date().toISOString(),
          requestedBy: 'test@host',
        });
        const answers = await Promise.all([
          t.activities.acquireWorkspace({ workspaceId: t.workspaceId, request: req('x') }),
          t.activities.acquireWorkspace({ workspaceId: t.workspaceId, request: req('y') }),
        ]);
        expect(answers.map((x) => x.status)).toEqual(['queued', 'queued']);
        const after = await t.entity().query(workspaceStateQuery);
        // Same holder and queue as before the termination, then both racers, in one run.
        expect(after.lock.holder).toEqual(before.lock.holder);
        expect(after.lock.queue.slice(0, 1)).toEqual(before.lock.queue);
        expect(
          after.lock.queue
            .map((r) => r.workflowId)
            .slice(1)
            .sort(),
        ).toEqual(['ghost-x', 'ghost-y']);
        const recovered = await t.entity().describe();
        expect(recovered.status.name).toBe('RUNNING');
        const startedWith = (await t.entity().fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
        expect((JSON.parse(Buffer.from(startedWith!).toString('utf8')) as WorkspaceEntityInput).recoveredFrom).toBe(terminatedRun);

        await Promise.all([a.result(), b.result()]);
        // The ghosts are granted in turn, found gone, and skipped: the entity ends free.
        await eventually(
          async () => {
            const s = await t.entity().query(workspaceStateQuery);
            return s.lock.holder === null && s.lock.queue.length === 0;
          },
          30_000,
          'the entity to be free',
        );
        expect(spanOf(t.emu, t.workspaceId, b.workflowId).first).toBeGreaterThan(spanOf(t.emu, t.workspaceId, a.workflowId).last);
        expect(t.visibilityCalls()).toBe(0);
        // The new protocol's histories replay: both entity runs (terminated, recovered) and an operation's.
        const replay = async (workflowId: string, runId?: string) =>
          Worker.runReplayHistory(
            { workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: workflowId },
            await temporal.client.workflow.getHandle(workflowId, runId).fetchHistory(),
            workflowId, // request ids name their workflow: replay it under its own id
          );
        await replay(workflowIds.workspace(t.workspaceId), terminatedRun);
        await replay(workflowIds.workspace(t.workspaceId));
        await replay(a.workflowId);
        await replay(b.workflowId);
      });
    } finally {
      await t.emu.close();
    }
  }, 120_000);

  it('continues as new when idle after its bound of operations, carrying its state: the next operation is served by the next run', async () => {
    const t = await setUp('entcan', 100, { maxOperationsPerRun: 2 });
    try {
      await t.worker.runUntil(async () => {
        const first = await t.start('one');
        await first.result();
        const firstRun = (await t.entity().describe()).runId;
        const second = await t.start('two');
        await second.result();
        // After its second operation, idle: the run continued as new.
        await eventually(async () => (await t.entity().describe()).runId !== firstRun, 30_000, 'continue-as-new');
        const next = await t.entity().describe();
        expect(next.status.name).toBe('RUNNING');
        const carried = await t.entity().query(workspaceStateQuery);
        expect(carried.v).toBe(1);
        expect(carried.lock.legacyLock).toBe('closed'); // carried: the old lock is not described again
        expect(carried.lock.settled.filter((id) => id.startsWith(first.workflowId) || id.startsWith(second.workflowId))).toHaveLength(2);
        const third = await t.start('three');
        expect((await third.result()).workspaceStatus).toBe('running');
        expect(t.emu.state.snapshotsOf(t.workspaceId)).toHaveLength(3);
        const old = await temporal.client.workflow.getHandle(workflowIds.workspace(t.workspaceId), firstRun).describe();
        expect(old.status.name).toBe('CONTINUED_AS_NEW');
        expect(t.visibilityCalls()).toBe(0);
      });
    } finally {
      await t.emu.close();
    }
  }, 120_000);

  it('visibility 5 s behind: six operations on one workspace at once, and a termination mid-way, never have two holders', async () => {
    const t = await setUp('entlag', 300, undefined, 'lagging');
    try {
      await t.worker.runUntil(async () => {
        const ops = await Promise.all(['l1', 'l2', 'l3', 'l4', 'l5', 'l6'].map((n) => t.start(n)));
        // While the third holds it, an operator terminates the entity: its successor is recovered
        // from the closed run's state, with visibility still showing the old run as running.
        await eventually(
          async () =>
            (
              await t
                .entity()
                .query(workspaceStateQuery)
                .catch(() => null)
            )?.lock.holder?.workflowId === ops[2]!.workflowId,
          60_000,
          'the third holding',
        );
        await t.entity().terminate('operator test, visibility lagging');
        const results = await Promise.all(ops.map((h) => h.result()));
        expect(results.map((r) => r.workspaceStatus)).toEqual(Array(6).fill('running'));
        // No two holders: in Rigbox's own order of changes, each operation's changes (stop, snapshot,
        // start) come in one block that no other operation's change interrupts.
        const spans = ops.map((h) => spanOf(t.emu, t.workspaceId, h.workflowId)).sort((x, y) => x.first - y.first);
        for (const span of spans) expect(span.first).toBeGreaterThanOrEqual(0);
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.first).toBeGreaterThan(spans[i - 1]!.last);
        const state = await t.entity().query(workspaceStateQuery);
        expect(state.lock.holder).toBeNull();
        expect(state.lock.queue).toEqual([]);
        expect(t.emu.state.workspace(t.workspaceId)!.status).toBe('running');
      });
    } finally {
      await t.emu.close();
    }
  }, 180_000);
});
