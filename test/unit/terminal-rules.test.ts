import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ABANDON_REASON,
  MAX_FAILURE_SAMPLE,
  MAX_SLOW_SHOWN,
  abandonRefusal,
  boundTally,
  describeSlow,
  freeSlots,
  mustContinueAsNew,
  parseAbandonRequest,
  recordFailure,
  type FleetTally,
} from '../../domain/index.js';
import { formatCurrentDetails } from '../../workflows/current-details.js';

/**
 * The pure rules behind issue 18.1: when an operation accepts `abandon`, what a request must say, and
 * the fleet's bounded carried state (failures as counts plus a capped sample, slots shared with
 * handed-over children, when a run continues as new, how slow children are shown).
 */

describe('abandon requests', () => {
  it('a reason is required; it and `by` are trimmed; unknown fields are refused', () => {
    expect(parseAbandonRequest({ reason: '  token revoked  ', by: ' ops ' })).toEqual({ ok: true, value: { reason: 'token revoked', by: 'ops' } });
    expect(parseAbandonRequest({ reason: 'x' })).toEqual({ ok: true, value: { reason: 'x', by: 'unknown' } });
    for (const bad of [undefined, null, 'why', [], {}, { reason: '' }, { reason: '   ' }, { reason: 3 }, { reason: 'x', by: '' }, { reason: 'x', extra: 1 }]) {
      const r = parseAbandonRequest(bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
    }
    expect(parseAbandonRequest({ reason: 'x'.repeat(MAX_ABANDON_REASON + 1) }).ok).toBe(false);
    const missing = parseAbandonRequest({});
    expect(!missing.ok && missing.message).toMatch(/^reason: required/);
  });

  it('accepted only in the restart loop after a failed round, and only once', () => {
    const record = { by: 'ops', at: '2026-12-06T10:00:00.000Z', reason: 'r' };
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }), fc.boolean(), (rounds, already) => {
        const loop = rounds === null ? null : { workspaceId: 'ws_a', roundsFailed: rounds };
        const refusal = abandonRefusal(loop, already ? record : null);
        expect(refusal === undefined).toBe(!already && rounds !== null && rounds >= 1);
      }),
    );
    expect(abandonRefusal(null, null)).toMatch(/rigsnap cancel/);
    expect(abandonRefusal({ workspaceId: 'ws_a', roundsFailed: 0 }, null)).toMatch(/no attempt has failed yet/);
    expect(abandonRefusal({ workspaceId: 'ws_a', roundsFailed: 2 }, record)).toMatch(/already abandoned by ops/);
  });

  it('the current details show who abandoned the run, when and why', () => {
    const text = formatCurrentDetails({
      operation: 'snapshot',
      workspaceId: 'ws_a',
      state: 'failed',
      currentStep: null,
      steps: [],
      abandoned: { by: 'ops', at: '2026-12-06T10:00:00.000Z', reason: 'token revoked on purpose' },
    });
    expect(text).toContain('abandoned by ops at 2026-12-06T10:00:00.000Z: token revoked on purpose');
  });
});

describe('the fleet carries bounded state', () => {
  const failure = fc.record({
    workspaceId: fc.stringMatching(/^ws_[a-z0-9]{1,64}$/),
    errorType: fc.constantFrom('WorkspaceGone', 'Timeout', 'Unauthorized', 'Abandoned'),
    message: fc.string({ maxLength: 2000 }),
  });

  it('every failure is counted, by type; at most MAX_FAILURE_SAMPLE are listed, each message capped', () => {
    fc.assert(
      fc.property(fc.array(failure, { maxLength: 300 }), (failures) => {
        const t: FleetTally = { succeeded: 0, failedCount: 0, failed: [] };
        for (const f of failures) recordFailure(t, f);
        expect(t.failedCount).toBe(failures.length);
        expect(Object.values(t.failedByType ?? {}).reduce((a, b) => a + b, 0)).toBe(failures.length);
        expect(t.failed.length).toBe(Math.min(failures.length, MAX_FAILURE_SAMPLE));
        expect(t.failed.map((f) => f.workspaceId)).toEqual(failures.slice(0, MAX_FAILURE_SAMPLE).map((f) => f.workspaceId));
        expect(t.failed.every((f) => f.message.length <= 300)).toBe(true);
      }),
    );
  });

  it('10,000 failed workspaces carry far less than 512 KB (a 1000-entry list of long ids and messages would not)', () => {
    const t: FleetTally = { succeeded: 0, failedCount: 0, failed: [] };
    for (let i = 0; i < 10_000; i++) recordFailure(t, { workspaceId: `ws_${'x'.repeat(60)}${i}`, errorType: 'WorkspaceGone', message: 'm'.repeat(1000) });
    expect(JSON.stringify(t).length).toBeLessThan(32 * 1024);
  });

  it('state from runs before bounded state (up to 1000 listed) is bounded the same way, the rest counted', () => {
    const legacy: FleetTally = {
      succeeded: 5,
      failedCount: 1500,
      failed: Array.from({ length: 1000 }, (_, i) => ({ workspaceId: `ws_${i}`, errorType: i % 2 ? 'Timeout' : 'NotFound', message: 'm' })),
    };
    const b = boundTally(legacy);
    expect(b.failed).toHaveLength(MAX_FAILURE_SAMPLE);
    expect(b.failedByType).toEqual({ Timeout: 500, NotFound: 500, unlisted: 500 });
    expect(b.failedCount).toBe(1500);
  });

  it('handed-over children take slots; a run continues as new only while workspaces remain to start', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(300), fc.nat(300), (concurrency, running, handed) => {
        const free = freeSlots(concurrency, running, handed);
        expect(free).toBeGreaterThanOrEqual(0);
        expect(free + running + handed).toBeGreaterThanOrEqual(concurrency);
        if (running + handed < concurrency) expect(free).toBe(concurrency - running - handed);
      }),
    );
    fc.assert(
      fc.property(fc.nat(2000), fc.integer({ min: 1, max: 1000 }), fc.boolean(), fc.nat(10_000), fc.nat(10_000), (started, perRun, large, next, total) => {
        const go = mustContinueAsNew({ startedThisRun: started, childrenPerRun: perRun, historyLarge: large, next, total });
        // The last run (nothing left to start) never continues: it drains, and reports the summary.
        if (next >= total) expect(go).toBe(false);
        else expect(go).toBe(large || started >= perRun);
      }),
    );
  });

  it('slow children: the first few by name with their step and why, then a count', () => {
    const slow = Array.from({ length: MAX_SLOW_SHOWN + 3 }, (_, i) => ({
      workspaceId: `ws_${i}`,
      workflowId: `fleet-ws_${i}`,
      running: '12m',
      step: 'start',
      why: i === 0 ? 'ws_0 is stopped and could not be started again (Unauthorized: …)' : undefined,
    }));
    const lines = describeSlow(slow);
    expect(lines).toHaveLength(MAX_SLOW_SHOWN + 1);
    expect(lines[0]).toBe('ws_0 (fleet-ws_0) running 12m in start: ws_0 is stopped and could not be started again (Unauthorized: …)');
    expect(lines.at(-1)).toBe('and 3 more');
  });
});
