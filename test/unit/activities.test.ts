import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { RigboxApiError, createActivities, type RigboxClient, type TransitionResult } from '../../activities/index.js';
import type { RigboxWorkspace } from '../../domain/index.js';

/**
 * The activities whose failure handling decides whether a workspace is left down, with a scripted
 * Rigbox client (no network) in the SDK's MockActivityEnvironment.
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
    ['NotFound', 404],
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
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { phase: 'waiting for stopped', polls: 7, waitStartedAt, actionRequested: true, previousStatus: 'running' } });
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
