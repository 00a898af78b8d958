import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { participationIn, type LockParticipation, type LockRequest } from '../../domain/lock.js';

/**
 * `lockParticipation` answers of runs that hold several workspaces' locks (workflows/workspace-locks.ts):
 * a lock rebuilding for one workspace must see the group's part in that workspace, and nothing of its
 * parts in the others.
 */

const req = (n: number): LockRequest => ({
  requestId: `g/r/${n}`,
  workflowId: 'g',
  runId: 'r',
  operation: 'group-snapshot',
  requestedAt: '2026-12-06T20:00:00.000Z',
});

describe('participationIn', () => {
  it('a single operation answers its own part for its workspace', () => {
    const p: LockParticipation = { workspaceId: 'ws_a', holding: req(1), waiting: null };
    expect(participationIn(p, 'ws_a')).toEqual({ holding: req(1), waiting: null });
  });

  it("a group answers each member's part, and nothing for a workspace it does not lock", () => {
    const p: LockParticipation = {
      workspaceId: null,
      holding: null,
      waiting: null,
      members: [
        { workspaceId: 'ws_a', holding: req(1), waiting: null },
        { workspaceId: 'ws_b', holding: null, waiting: req(2) },
        { workspaceId: 'ws_c', holding: null, waiting: null },
      ],
    };
    expect(participationIn(p, 'ws_a')).toEqual({ holding: req(1), waiting: null });
    expect(participationIn(p, 'ws_b')).toEqual({ holding: null, waiting: req(2) });
    expect(participationIn(p, 'ws_c')).toEqual({ holding: null, waiting: null });
    expect(participationIn(p, 'ws_z')).toEqual({ holding: null, waiting: null });
  });

  it('never reports a request of another member', () => {
    const ids = fc.uniqueArray(fc.stringMatching(/^ws_[a-z]{1,4}$/), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(ids, fc.nat(), (ws, pick) => {
        const members = ws.map((workspaceId, i) => ({ workspaceId, holding: i % 2 ? req(i) : null, waiting: i % 2 ? null : req(i) }));
        const p: LockParticipation = { workspaceId: null, holding: null, waiting: null, members };
        const target = ws[pick % ws.length]!;
        const got = participationIn(p, target);
        const own = members.find((m) => m.workspaceId === target)!;
        expect(got).toEqual({ holding: own.holding, waiting: own.waiting });
      }),
    );
  });
});
