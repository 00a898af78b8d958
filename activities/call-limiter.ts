/**
 * The Rigbox API quota, enforced on the calls themselves: every HTTP request to Rigbox waits for its
 * turn, and consecutive requests go at least 1/rate seconds apart, measured from when the previous one
 * actually went (a late timer never lets two go closer together), so that in any second at most `rate`
 * calls leave this worker. Status polls inside a wait count like any other call; activities that never
 * call Rigbox (the workspace lock, notifications) never wait here. A read cancelled while waiting
 * leaves the queue without using a turn.
 *
 * The spacing keeps 5 % headroom (1/(0.95 × rate) seconds): a request's way from the limiter to Rigbox
 * varies by a few tens of milliseconds on a busy worker (measured up to 25 ms in the bench), which
 * would otherwise put a (rate + 1)th request into some second as Rigbox counts them.
 *
 * Several workers share one quota: each takes an equal share, `setShare` (worker/quota.ts follows how
 * many workers poll the task queue).
 */
interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** The share of the quota used at most, leaving room for the requests' jitter on their way. */
export const QUOTA_HEADROOM = 0.95;

export class CallLimiter {
  private readonly queue: Waiter[] = [];
  private lastAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private intervalMs: number;

  constructor(
    private readonly callsPerSecond: number,
    share = 1,
  ) {
    this.intervalMs = 1000 / (callsPerSecond * share * QUOTA_HEADROOM);
  }

  /** This worker's share of the quota, between 0 and 1 (1 / the number of workers). */
  setShare(share: number): void {
    this.intervalMs = 1000 / (this.callsPerSecond * Math.min(1, Math.max(share, 1e-3)) * QUOTA_HEADROOM);
  }

  /** The calls per second this worker makes at most (its share, less the headroom). */
  get ratePerSecond(): number {
    return 1000 / this.intervalMs;
  }

  /** Resolves when this call may go; rejects if `signal` aborts first (a cancelled read). */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.queue.length === 0 && this.timer === undefined && performance.now() - this.lastAt >= this.intervalMs) {
      this.lastAt = performance.now();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.schedule();
    });
  }

  /** One timer releases the queue's head when its turn comes, then waits for the next turn. */
  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    // Timers count whole milliseconds: rounded up, never early.
    const wait = Math.max(0, Math.ceil(this.lastAt + this.intervalMs - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.queue.shift();
      if (next) {
        this.lastAt = performance.now();
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve();
      }
      this.schedule();
    }, wait);
  }
}
