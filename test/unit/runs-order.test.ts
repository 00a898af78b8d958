import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newestFirst } from '../../client/format.js';

/** `rigsnap runs` says "newest first": the order the client returns, whatever order visibility listed them in. */
describe('newestFirst', () => {
  it('orders by start time, newest first, as visibility (open runs first, then by close time) does not', () => {
    const listed = [
      { workflowId: 'backup-old-still-running', startedAt: '2026-12-05T03:00:00.000Z' },
      { workflowId: 'snapshot-new', startedAt: '2026-12-06T10:00:00.000Z' },
      { workflowId: 'restore-mid', startedAt: '2026-12-06T09:00:00.000Z' },
    ];
    expect(newestFirst(listed).map((r) => r.workflowId)).toEqual(['snapshot-new', 'restore-mid', 'backup-old-still-running']);
  });

  it('is a permutation in non-increasing start order, the same whatever the input order', () => {
    const run = fc.record({
      workflowId: fc.string({ minLength: 1, maxLength: 8 }),
      startedAt: fc.date({ noInvalidDate: true, min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }).map((d) => d.toISOString()),
    });
    fc.assert(
      fc.property(fc.array(run, { maxLength: 30 }), (runs) => {
        const sorted = newestFirst(runs);
        expect(sorted).toHaveLength(runs.length);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]!.startedAt >= sorted[i]!.startedAt).toBe(true);
        expect(newestFirst([...runs].reverse())).toEqual(sorted);
      }),
    );
  });
});
