import { describe, expect, it } from 'vitest';
import { closeInReverse, type Closer } from '../../dev/stack.js';

/** The way down of `npm start` (dev/stack.ts): a part that never closes must not keep the rest up. */
describe('closeInReverse', () => {
  it('closes last first, leaves a part that outlives its budget behind by name, and still closes the rest', async () => {
    const closed: string[] = [];
    const errors: string[] = [];
    const closers: Closer[] = [
      { name: 'the dev server', close: async () => void closed.push('server') },
      { name: 'the emulator', close: () => Promise.reject(new Error('state file is read-only')) },
      { name: 'the worker', budgetMs: 50, close: () => new Promise<void>(() => {}) },
    ];
    const began = Date.now();
    await closeInReverse(closers, { out: () => {}, err: (t) => errors.push(t) }, () => {});
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(closed).toEqual(['server']);
    expect(errors).toEqual(['rigsnap: the worker did not stop within 0.05 s; going on without it', 'rigsnap: stopping the emulator: state file is read-only']);
    // The caller's list is left as it was (the stack may be asked to stop twice).
    expect(closers.map((c) => c.name)).toEqual(['the dev server', 'the emulator', 'the worker']);
  });
});
