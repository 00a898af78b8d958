/**
 * The Rigbox API quota, enforced on the calls themselves: every HTTP request to Rigbox waits for its
 * turn, and consecutive requests go at least 1/rate seconds apart, measured from when the previous one
 * actually went (a late timer never lets two go closer together), so that in any second at most `rate`
 * calls leave this worker. Status polls inside a wait count like any other call; activities that never
 * call Rigbox (the workspace lock, notifications) never wait here. A read cancelled while waiting
 * leaves the queue without using a turn.
 *
 * Who goes next is activities/call-queue.ts's rule: Temporal priority first (1 before 5), fairness keys
 * of one priority taking turns by weight, changes before reads within a key, and aging so that nothing
 * waits forever.
 *
 * The spacing leaves room for jitter: a request's way from the limiter to Rigbox varies by tens of
 * milliseconds on a busy worker (25 ms in the bench), which would otherwise put one request too many into
 * some second as Rigbox counts them. So a worker allowed b calls per second (its share of the quota, whole
 * calls) spaces them (1 s + allowance) / b apart: b + 1 of them cannot fit in one second unless one is
 * delayed by more than the allowance relative to its neighbours. Alone, the allowance is 50 ms (about
 * 95 % of the quota used); sharing the quota, 100 ms (about 91 %): each worker's late requests then add
 * to the others' in the same second (two saturated workers on a loaded machine were seen 50+ ms late).
 *
 * Several workers share one quota: each takes its share, `setShare` (worker/quota.ts counts the workers).
 * A share of 0 holds every call until a share is given (a joining worker the others do not count yet).
 */
import { CallQueue, laneOf, priorityOfLane, type CallClass, type QueuedCall } from './call-queue.js';

export type { CallClass } from './call-queue.js';

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface AcquireOptions extends Partial<CallClass> {
  /** A cancelled read leaves the queue (changes pass none: see rigbox-client's CallOptions). */
  signal?: AbortSignal;
}

/** How much later than its neighbours a request may reach Rigbox without breaking the quota: alone, and sharing it. */
export const JITTER_ALLOWANCE_MS = { alone: 50, shared: 100 } as const;
/** The share of the quota a lone worker uses (at a whole number of calls per second), leaving room for the jitter. */
export const QUOTA_HEADROOM = 1000 / (1000 + JITTER_ALLOWANCE_MS.alone);

/** The spacing of calls for `callsPerSecond`: whole calls per second when at least one, spread over 1 s + the allowance. */
function spacingMs(callsPerSecond: number, shared: boolean): number {
  if (callsPerSecond <= 0) return Infinity;
  const perSecond = callsPerSecond >= 1 ? Math.floor(callsPerSecond + 1e-9) : callsPerSecond;
  return (1000 + JITTER_ALLOWANCE_MS[shared ? 'shared' : 'alone']) / perSecond;
}

/**
 * A call that went: its fairness key ('' when none) and whether the weights chose it, among the calls of
 * two or more keys waiting at its priority. Only contended turns show the weights at work: a key alone
 * takes every turn it asks for.
 */
export interface Dispatch {
  fairnessKey: string;
  /** The call's Temporal priority key (3 when it had none). */
  priorityKey: number;
  contended: boolean;
}

export class CallLimiter {
  private readonly queue = new CallQueue<Waiter>();
  private readonly dispatchListeners = new Set<(d: Dispatch) => void>();
  private lastAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Shares by who set them (one per worker of this process); the smallest one holds. */
  private readonly shares = new Map<string, number>();
  private intervalMs: number;

  constructor(
    private readonly callsPerSecond: number,
    share = 1,
  ) {
    this.intervalMs = spacingMs(callsPerSecond * share, share < 1);
  }

  /**
   * This worker's share of the quota, from 0 (hold every call) to 1 (1 / the number of workers). `source`
   * names who sets it: several workers in one process (tests, `npm start`) each set theirs and the
   * smallest holds.
   */
  setShare(share: number, source = 'default'): void {
    this.shares.set(source, Math.min(1, Math.max(share, 0)));
    this.applyShares();
  }

  /** Forgets `source`'s share (its worker has stopped). */
  clearShare(source: string): void {
    this.shares.delete(source);
    this.applyShares();
  }

  private applyShares(): void {
    const share = this.shares.size === 0 ? 1 : Math.min(...this.shares.values());
    this.intervalMs = share <= 0 ? Infinity : spacingMs(this.callsPerSecond * Math.max(share, 1e-3), share < 1);
    // A new share changes when the next turn comes: the timer is set again.
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  /** The calls per second this worker makes at most (its share, less the jitter allowance). */
  get ratePerSecond(): number {
    return 1000 / this.intervalMs;
  }

  /** Calls waiting for their turn. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Tells `listener` of every call that goes (metrics: how the fairness keys shared the quota); returns its removal. */
  onDispatch(listener: (d: Dispatch) => void): () => void {
    this.dispatchListeners.add(listener);
    return () => this.dispatchListeners.delete(listener);
  }

  private dispatched(d: Dispatch): void {
    for (const listener of this.dispatchListeners) listener(d);
  }

  /** Resolves when this call may go; rejects if `signal` aborts first (a cancelled read). */
  acquire(opts: AcquireOptions = {}): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.queue.size === 0 && this.timer === undefined && this.intervalMs !== Infinity && performance.now() - this.lastAt >= this.intervalMs) {
      this.lastAt = performance.now();
      this.dispatched({ fairnessKey: opts.fairnessKey ?? '', priorityKey: priorityOfLane(laneOf({ ...opts, kind: 'read' })), contended: false });
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      const queued: QueuedCall<Waiter> = this.queue.push(waiter, { ...opts, kind: opts.kind ?? 'read' }, performance.now());
      if (signal) {
        waiter.onAbort = () => {
          if (this.queue.remove(queued)) reject(signal.reason as Error);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.schedule();
    });
  }

  /** One timer releases the next call when its turn comes, then waits for the following turn. */
  private schedule(): void {
    if (this.timer !== undefined || this.queue.size === 0 || this.intervalMs === Infinity) return;
    // Timers count whole milliseconds: rounded up, never early.
    const wait = Math.max(0, Math.ceil(this.lastAt + this.intervalMs - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const popped = this.queue.pop();
      if (popped) {
        const next = popped.item;
        this.lastAt = performance.now();
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        this.dispatched({ fairnessKey: popped.fairnessKey, priorityKey: priorityOfLane(popped.lane), contended: popped.contended });
        next.resolve();
      }
      this.schedule();
    }, wait);
  }
}
