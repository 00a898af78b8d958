/**
 * Test-only: a made-up non-deterministic change, made without patched(): every activity call of every
 * workflow first sleeps 1 ms (a timer command before each activity). test/replay/mismatch.test.ts
 * bundles the workflows with this module in place of '@temporalio/workflow' and checks that the replay
 * check fails, naming the workflow type and the first mismatching event.
 */
import * as wf from '@temporalio/workflow';

export * from '@temporalio/workflow';

export function proxyActivities<A extends object>(options: wf.ActivityOptions): A {
  const real = wf.proxyActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>(options);
  return new Proxy(real, {
    get(target, name: string) {
      const fn = target[name]!;
      return async (...args: unknown[]) => {
        await wf.sleep(1);
        return fn(...args);
      };
    },
  }) as unknown as A;
}
