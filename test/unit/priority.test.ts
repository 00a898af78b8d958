import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heartbeatCadence } from '../../activities/heartbeat.js';
import { PRIORITY, PriorityOverrides, fairnessKeyOf, fleetChildPriority, isInteractive, parseInput, priorityFor } from '../../domain/index.js';
import { BATCH_HEARTBEAT_TIMEOUT, profileFor, profiles } from '../../workflows/profiles.js';

/** The priority rules (domain/priority.ts) and the heartbeat cadence they choose (issue 24). */
describe('priorityFor', () => {
  it('on demand at 1 with no fairness key; a scheduled backup at 3 and a fleet at 4, keyed by their id unless a team is named', () => {
    expect(priorityFor('on-demand')).toEqual({ priorityKey: PRIORITY.onDemand });
    expect(priorityFor('scheduled-backup', {}, 'rigsnap-backup-ws_a')).toEqual({ priorityKey: 3, fairnessKey: 'rigsnap-backup-ws_a' });
    expect(priorityFor('fleet', { team: 'data', weight: 3 }, 'rigsnap-fleet-nightly')).toEqual({ priorityKey: 4, fairnessKey: 'data', fairnessWeight: 3 });
    expect(priorityFor('fleet', { priority: 2 }, 'f')).toEqual({ priorityKey: 2, fairnessKey: 'f' });
  });

  it('an override always wins, and a fairness key never exceeds 64 bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('on-demand', 'scheduled-backup', 'fleet' as const),
        fc.integer({ min: 1, max: 5 }),
        fc.string({ maxLength: 200 }),
        (kind, p, id) => {
          const got = priorityFor(kind, { priority: p }, id);
          expect(got.priorityKey).toBe(p);
          if (got.fairnessKey !== undefined) expect(new TextEncoder().encode(got.fairnessKey).length).toBeLessThanOrEqual(64);
        },
      ),
    );
    expect(fairnessKeyOf('é'.repeat(40))).toBe('é'.repeat(32));
  });

  it('refuses a priority outside 1-5, an empty or long team and a weight outside Temporal’s range, naming the field', () => {
    for (const [input, field] of [
      [{ priority: 0 }, 'priority'],
      [{ priority: 2.5 }, 'priority'],
      [{ team: '' }, 'team'],
      [{ team: 'x'.repeat(65) }, 'team'],
      [{ weight: 0 }, 'weight'],
      [{ weight: 5000 }, 'weight'],
    ] as const) {
      const r = parseInput(PriorityOverrides, input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.fields).toEqual([field]);
    }
  });
});

describe('fleetChildPriority', () => {
  it('children run at the fleet’s level (4 when it has none) with its fairness key and weight', () => {
    expect(fleetChildPriority(undefined)).toEqual({ priorityKey: PRIORITY.fleet });
    expect(fleetChildPriority({ priorityKey: 0, fairnessKey: '' })).toEqual({ priorityKey: PRIORITY.fleet });
    expect(fleetChildPriority({ priorityKey: 5, fairnessKey: 'team-b', fairnessWeight: 3 })).toEqual({
      priorityKey: 5,
      fairnessKey: 'team-b',
      fairnessWeight: 3,
    });
  });
});

describe('heartbeats by priority', () => {
  it('on-demand and unprioritised runs keep the profiles (10 s timeout); scheduled and fleet runs get the batch timeout', () => {
    expect(isInteractive(1)).toBe(true);
    expect(isInteractive(2)).toBe(true);
    // Started without a priority (another service, the temporal CLI): someone may be waiting.
    expect(isInteractive(undefined)).toBe(true);
    expect(isInteractive(0)).toBe(true);
    for (const p of [3, 4, 5]) expect(isInteractive(p)).toBe(false);
    expect(profileFor('awaitTransition', true).heartbeatTimeout).toBe(profiles.awaitTransition.heartbeatTimeout);
    expect(profileFor('awaitTransition', false).heartbeatTimeout).toBe(BATCH_HEARTBEAT_TIMEOUT);
    expect(profileFor('longCopy', false).heartbeatTimeout).toBe(BATCH_HEARTBEAT_TIMEOUT);
    expect(profileFor('quickCall', false).heartbeatTimeout).toBeUndefined();
  });

  it('a short timeout beats at once and every few seconds; a minute’s timeout 15 s before it lapses, never at once', () => {
    expect(heartbeatCadence(10_000, 3000)).toEqual({ everyMs: 3000, eager: true });
    expect(heartbeatCadence(undefined, 3000)).toEqual({ everyMs: 3000, eager: true });
    // A 30 s stop or start beats never, a 60 s copy once (issue 24's realistic timings).
    expect(heartbeatCadence(60_000, 3000)).toEqual({ everyMs: 45_000, eager: false });
    // Whatever the timeout, a beat comes at least 15 s (or, under 30 s, 40 %) before it: the heartbeat
    // never lapses on a live worker.
    fc.assert(
      fc.property(fc.integer({ min: 5000, max: 3_600_000 }), (timeoutMs) => {
        const c = heartbeatCadence(timeoutMs, 3000);
        expect(c.everyMs).toBeLessThanOrEqual(timeoutMs >= 30_000 ? timeoutMs - 15_000 : timeoutMs * 0.6);
      }),
    );
  });
});
