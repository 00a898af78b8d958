import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RigboxApiError, createActivities, createRigboxClient, type RigboxClient, type TransitionResult } from '../../activities/index.js';
import type { RigboxWorkspace } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

/**
 * The activities whose failure handling decides whether a workspace is left down, or whether a snapshot
 * is made twice, in the SDK's MockActivityEnvironment (which sets the attempt and the heartbeat details a
 * retry starts from): with a scripted Rigbox client, or the emulator over HTTP.
 */

/** A Rigbox client whose getWorkspace/startWorkspace answer from a script; the rest is never called here. */
function scripted(answers: Array<RigboxWorkspace | RigboxApiError>): RigboxClient {
  let i = 0;
  const next = () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    return a instanceof RigboxApiError ? Promise.reject(a) : Promise.resolve(a);
  };
  return {
    getWorkspace: next,
    startWorkspace: () => Promise.resolve(),
    stopWorkspace: () => Promise.resolve(),
  } as unknown as RigboxClient;
}

/** The transition activities as plain functions (what the SDK calls). */
function transitions(deps: Parameters<typeof createActivities>[0]) {
  const a = createActivities(deps);
  return {
    start: (input: { workspaceId: string; compensating?: boolean }) => a.startWorkspace(input),
    stop: (input: { workspaceId: string }) => a.stopWorkspace(input),
  };
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('startWorkspace when compensating', () => {
  for (const [type, status] of [
    ['Unauthorized', 401],
    ['BadResponse', 200],
    ['InvalidRequest', 400],
  ] as const) {
    it(`a ${type} is reported retryable, so the restart is tried again (an ordinary start gives up)`, async () => {
      const error = new RigboxApiError(type, `injected ${type}`, status);
      const env = new MockActivityEnvironment();
      const compensating = await failureOf(env.run(transitions({ rigbox: scripted([error]) }).start, { workspaceId: 'ws_a', compensating: true }));
      expect(compensating.type).toBe(type);
      expect(compensating.nonRetryable).toBe(false);
      const ordinary = await failureOf(new MockActivityEnvironment().run(transitions({ rigbox: scripted([error]) }).start, { workspaceId: 'ws_a' }));
      expect(ordinary.nonRetryable).toBe(true);
    });
  }

  it('a 404 on the workspace, read again and still 404, is WorkspaceGone: non-retryable even when compensating', async () => {
    const gone = new RigboxApiError('NotFound', 'GET /workspaces/ws_a: HTTP 404 (workspace ws_a not found)', 404);
    for (const compensating of [true, false]) {
      const f = await failureOf(
        new MockActivityEnvironment().run(transitions({ rigbox: scripted([gone, gone]) }).start, { workspaceId: 'ws_a', compensating }),
      );
      expect(f.type).toBe('WorkspaceGone');
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toContain('no longer exists');
    }
    const stop = await failureOf(new MockActivityEnvironment().run(transitions({ rigbox: scripted([gone, gone]) }).stop, { workspaceId: 'ws_a' }));
    expect(stop.type).toBe('WorkspaceGone');
  });

  it('a single 404 that the second read contradicts is a missed poll: the start goes on and ends running', async () => {
    const gone = new RigboxApiError('NotFound', 'injected 404', 404);
    const rigbox = scripted([gone, { id: 'ws_a', status: 'stopped' }, { id: 'ws_a', status: 'running' }]);
    const r: TransitionResult = await new MockActivityEnvironment().run(
      transitions({ rigbox, pollSchedule: { minDelayMs: 10, maxDelayMs: 10, growth: 0.1 } }).start,
      {
        workspaceId: 'ws_a',
        compensating: true,
      },
    );
    expect(r.status).toBe('running');
    expect(r.actionRequested).toBe(true);
  });

  it('a Timeout (stuck in a transition past the maximum wait) is retried too', async () => {
    const rigbox = scripted([{ id: 'ws_a', status: 'starting' }]);
    const env = new MockActivityEnvironment();
    const f = await failureOf(
      env.run(transitions({ rigbox, maxWaitMs: 50, pollSchedule: { minDelayMs: 10, maxDelayMs: 10, growth: 0.1 } }).start, {
        workspaceId: 'ws_a',
        compensating: true,
      }),
    );
    expect(f.type).toBe('Timeout');
    expect(f.nonRetryable).toBe(false);
  });
});

describe('waiting for a transition', () => {
  it('resumes its wait clock and poll count from the last heartbeat of a failed attempt', async () => {
    const rigbox = scripted([{ id: 'ws_a', status: 'stopped' }]);
    const waitStartedAt = Date.now() - 30_000;
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: { phase: 'waiting for stopped', polls: 7, waitStartedAt, actionRequested: true, previousStatus: 'running' },
    });
    const r = await env.run(transitions({ rigbox }).stop, { workspaceId: 'ws_a' });
    expect(r).toMatchObject({ previousStatus: 'running', status: 'stopped', actionRequested: true, polls: 8 });
  });

  it('a maintenance page on a status read is a missed poll, not a failed wait', async () => {
    const page = new RigboxApiError('Unavailable', 'GET /api/workspaces/ws_a: Rigbox answered HTTP 200 with an HTML page', 200);
    const rigbox = scripted([page, page, page, { id: 'ws_a', status: 'stopped' }]);
    const env = new MockActivityEnvironment();
    const r: TransitionResult = await env.run(transitions({ rigbox, pollSchedule: { minDelayMs: 5, maxDelayMs: 5, growth: 0.1 } }).stop, {
      workspaceId: 'ws_a',
    });
    expect(r.status).toBe('stopped');
    expect(r.polls).toBe(4);
  });

  it('past its maximum wait with no status read (a maintenance), it keeps reading instead of failing with Timeout', async () => {
    const page = new RigboxApiError('Unavailable', 'GET /api/workspaces/ws_a: Rigbox answered HTTP 503', 503, undefined, true);
    // The stop is asked for, then every read fails for longer than the maximum wait (8 × 20 ms > 50 ms).
    const rigbox = scripted([{ id: 'ws_a', status: 'running' }, ...Array<RigboxApiError>(8).fill(page), { id: 'ws_a', status: 'stopped' }]);
    const r: TransitionResult = await new MockActivityEnvironment().run(
      transitions({ rigbox, maxWaitMs: 50, pollSchedule: { minDelayMs: 20, maxDelayMs: 20, growth: 0.1 } }).stop,
      { workspaceId: 'ws_a' },
    );
    expect(r.status).toBe('stopped');
    expect(r.polls).toBe(10);
  });

  it('heartbeats while it sleeps between polls, however long the poll interval (no heartbeat timeout at the production poll cap)', async () => {
    let reads = 0;
    const rigbox = {
      getWorkspace: () => Promise.resolve({ id: 'ws_a', status: ++reads < 2 ? 'stopping' : 'stopped' }),
    } as unknown as RigboxClient;
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(Date.now()));
    // One poll interval of 1.5 s with a ticker every 200 ms: several heartbeats inside the sleep.
    await env.run(transitions({ rigbox, heartbeatEveryMs: 200, pollSchedule: { minDelayMs: 1500, maxDelayMs: 1500, growth: 0.1 } }).stop, {
      workspaceId: 'ws_a',
    });
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    expect(beats.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...gaps)).toBeLessThan(1500);
  });
});

describe('createSnapshot: exactly one snapshot however often a create is retried', () => {
  // The real emulator over HTTP: the first attempt's create is committed by Rigbox but its answer is
  // lost (a 502), as a dropped connection would; the second attempt must find that snapshot, not make one.
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator({ token: 'unit-token', delays: { stopMs: 5, startMs: 5, snapshotMs: 5, restoreMs: 5, latencyMs: 0 } });
  });
  afterEach(async () => {
    await emu.close();
  });

  /** The createSnapshot activity as the SDK calls it, on a Rigbox client of the emulator. */
  const createOn = (e: Emulator) => {
    const a = createActivities({ rigbox: createRigboxClient({ baseUrl: e.url, token: 'unit-token', transientRetries: 0 }) });
    return (input: Parameters<typeof a.createSnapshot>[0]) => a.createSnapshot(input);
  };
  type Created = Awaited<ReturnType<ReturnType<typeof createOn>>>;
  const creates = (e: Emulator, workspaceId: string) =>
    e.calls.filter((c) => c.method === 'POST' && c.route.endsWith('/snapshots') && c.workspaceId === workspaceId);

  it('attempt 2 adopts the snapshot whose answer attempt 1 lost, and Rigbox makes no second one', async () => {
    const ws = emu.state.upsertWorkspace({ id: 'ws_adopt', status: 'stopped', files: { 'a.txt': 'v1' } });
    const known = emu.state.addSnapshot(ws, 'nightly'); // an older snapshot of the same name: never adopted
    const input = { workspaceId: 'ws_adopt', name: 'nightly', knownIds: [known.id], notBeforeMs: Date.now() };
    Object.assign(emu.faults, { lostResponseRate: 1, routes: ['POST /workspaces/:id/snapshots'] });

    const first = await failureOf(new MockActivityEnvironment({ attempt: 1 }).run(createOn(emu), input));
    expect(first.nonRetryable).toBe(false);
    const made = emu.state.snapshotsOf('ws_adopt').filter((s) => s.id !== known.id);
    expect(made).toHaveLength(1); // the lost answer's snapshot exists

    Object.assign(emu.faults, { lostResponseRate: 0, routes: [] });
    const second: Created = await new MockActivityEnvironment({ attempt: 2 }).run(createOn(emu), input);
    expect(second).toMatchObject({ adopted: true, snapshot: { id: made[0]!.id, name: 'nightly', workspace_id: 'ws_adopt' } });
    expect(creates(emu, 'ws_adopt')).toHaveLength(1);
    expect(emu.state.snapshotsOf('ws_adopt').filter((s) => s.name === 'nightly')).toHaveLength(2); // the known one and ours
  });

  it('attempt 2 adopts nothing that existed before the step (known, or made earlier): it creates', async () => {
    const ws = emu.state.upsertWorkspace({ id: 'ws_noadopt', status: 'stopped' });
    const known = emu.state.addSnapshot(ws, 'nightly');
    const earlier = emu.state.addSnapshot(ws, 'nightly');
    earlier.created_at = new Date(Date.now() - 3_600_000).toISOString();
    const input = { workspaceId: 'ws_noadopt', name: 'nightly', knownIds: [known.id], notBeforeMs: Date.now() };
    const r: Created = await new MockActivityEnvironment({ attempt: 2 }).run(createOn(emu), input);
    expect(r.adopted).toBe(false);
    expect([known.id, earlier.id]).not.toContain(r.snapshot.id);
    expect(creates(emu, 'ws_noadopt')).toHaveLength(1);
  });

  it('attempt 1 never looks for an earlier attempt: it creates at once', async () => {
    emu.state.upsertWorkspace({ id: 'ws_first', status: 'stopped' });
    const r: Created = await new MockActivityEnvironment({ attempt: 1 }).run(createOn(emu), {
      workspaceId: 'ws_first',
      name: 'nightly',
      knownIds: [],
      notBeforeMs: Date.now(),
    });
    expect(r.adopted).toBe(false);
    expect(emu.calls.filter((c) => c.workspaceId === 'ws_first').map((c) => `${c.method} ${c.route}`)).toEqual(['POST /api/workspaces/:id/snapshots']);
  });
});

describe('the quota queue learns each call’s priority from the activity', () => {
  it('a Rigbox call carries the activity’s Temporal priority and fairness (Info.priority) to the limiter', async () => {
    const seen: unknown[] = [];
    const rigbox = {
      deleteSnapshot: (_w: string, _s: string, opts: { priority?: unknown }) => {
        seen.push(opts.priority);
        return Promise.resolve();
      },
    } as unknown as RigboxClient;
    const env = new MockActivityEnvironment({ priority: { priorityKey: 1, fairnessKey: 'team-a', fairnessWeight: 3 } });
    const a = createActivities({ rigbox });
    await env.run((i: { workspaceId: string; snapshotId: string }) => a.deleteSnapshot(i), { workspaceId: 'ws_a', snapshotId: 'snap_a' });
    expect(seen).toEqual([{ priorityKey: 1, fairnessKey: 'team-a', fairnessWeight: 3 }]);
  });
});
