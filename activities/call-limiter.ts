/**
 * The Rigbox API quota, enforced on the calls themselves: every HTTP request to Rigbox waits for its
 * turn, spaced at least 1/rate seconds after the previous one (no bursts: in any second at most
 * `rate` calls, plus the one at its edge). Status polls inside a wait count like any other call;
 * activities that never call Rigbox (the workspace lock, notifications) never wait here.
 *
 * Several workers share one quota: each takes an equal share, `setShare` (worker/quota.ts follows how
 * many workers poll the task queue).
 */
export class CallLimiter {
  private nextAt = 0;
  private intervalMs: number;

  constructor(
    private readonly callsPerSecond: number,
    share = 1,
  ) {
    this.intervalMs = 1000 / (callsPerSecond * share);
  }

  /** This worker's share of the quota, between 0 and 1 (1 / the number of workers). */
  setShare(share: number): void {
    this.intervalMs = 1000 / (this.callsPerSecond * Math.min(1, Math.max(share, 1e-3)));
  }

  get ratePerSecond(): number {
    return 1000 / this.intervalMs;
  }

  /** Resolves when this call may go; rejects if `signal` aborts first (a cancelled read). */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    const wait = at - now;
    if (wait < 1) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason as Error);
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
