/**
 * How long transitions usually take, learnt by one worker from the ones it watched: per workspace
 * when it has seen that workspace, else across workspaces. Only a hint for the poll schedule (never
 * state that workflows depend on), so it lives in memory and starts empty.
 */
export class TransitionDurations {
  private readonly perWorkspace = new Map<string, number>();
  private readonly overall = new Map<string, number>();
  private readonly waits = new Map<string, number>();

  constructor(
    private readonly maxEntries = 10_000,
    /** Every this many waits of a kind, read on both sides of the expected end to keep learning it. */
    private readonly probeEvery = 5,
  ) {}

  /**
   * Whether this wait should bracket the expected end (a read just before and one just after) rather
   * than read once just after it. One read in `probeEvery`, and every read until a few have been
   * learnt: enough to follow transitions that get faster (a read only after the end cannot see that).
   */
  probe(kind: string): boolean {
    const n = (this.waits.get(kind) ?? 0) + 1;
    this.waits.set(kind, n);
    return n <= 3 || n % this.probeEvery === 0;
  }

  expected(kind: string, workspaceId: string): number | undefined {
    return this.perWorkspace.get(`${kind}:${workspaceId}`) ?? this.overall.get(kind);
  }

  /**
   * Records a transition seen to end between `lastNotDoneMs` and `firstDoneMs` after it was asked for.
   * A narrow interval (the last "not yet" read within 20 % of the first "done" one: a bracketed or
   * overrun wait) moves the estimate towards its middle. A wide one (a wait that read once, after the
   * expected end) only says the transition took at most `firstDoneMs`: the estimate never rises on it,
   * as the middle of (0, firstDoneMs) would pull it down to half.
   */
  record(kind: string, workspaceId: string, lastNotDoneMs: number, firstDoneMs: number): void {
    const narrow = lastNotDoneMs >= firstDoneMs * 0.8;
    const observed = (lastNotDoneMs + firstDoneMs) / 2;
    const next = (prev: number | undefined, weight: number) =>
      prev === undefined ? observed : narrow ? prev * (1 - weight) + observed * weight : Math.min(prev, firstDoneMs);
    const key = `${kind}:${workspaceId}`;
    const prev = this.perWorkspace.get(key);
    this.perWorkspace.delete(key); // re-insert: the map's order is the eviction order
    this.perWorkspace.set(key, next(prev, 0.5));
    if (this.perWorkspace.size > this.maxEntries) this.perWorkspace.delete(this.perWorkspace.keys().next().value!);
    this.overall.set(kind, next(this.overall.get(kind), 0.2));
  }
}
