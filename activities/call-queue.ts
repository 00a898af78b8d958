/**
 * The order in which Rigbox calls waiting for the quota go (activities/call-limiter.ts spaces them; this
 * decides who is next). Pure: no timers, no clock of its own, so the rules are property-tested.
 *
 * - Class: a call's lane is (Temporal priority key, kind): priority 1 before 2 … before 5 and, within a
 *   priority, changes (stop, start, create, restore, delete) before reads (status polls, listings).
 *   Lane = 2 × (priority − 1) + (read ? 1 : 0), so 0 (a priority-1 change) … 9 (a priority-5 read).
 * - No starvation, by aging: a waiting call's deadline is its arrival + lane × AGING_STEP_MS, and the
 *   lane whose oldest waiting call has the earliest deadline goes next. A call is therefore never passed
 *   by another lane's calls that arrived after its deadline: a priority-5 read waits at most 18 s longer
 *   than a priority-1 change that arrived with it, whatever keeps arriving. Aging rather than a fixed share
 *   for lower classes: it keeps the strict order whenever the queue is shorter than the steps (the usual
 *   case: a few seconds of backlog), and a share would let a fleet's reads go ahead of a waiting person.
 * - Fairness within a lane: the calls of each fairness key go in turns in proportion to its weight
 *   (stride scheduling: each key has a pass, the lowest goes, its pass grows by 1/weight). A key that
 *   comes back after a pause starts at the lane's current pass, so it cannot bank turns while away.
 */

/** What a call is, for its place in the queue. Absent fields take Temporal's defaults. */
export interface CallClass {
  kind: 'change' | 'read';
  /** Temporal's priority key of the activity making the call: 1 (first) to 5; default 3. */
  priorityKey?: number;
  /** Temporal's fairness key of the activity (a team, a schedule); default: one shared key. */
  fairnessKey?: string;
  /** Its weight, clamped as Temporal does to 0.001–1000; default 1. */
  fairnessWeight?: number;
}

/** Each lane a call waits in ages it one step closer to the front per this long. */
export const AGING_STEP_MS = 2000;
export const DEFAULT_PRIORITY_KEY = 3;
const MAX_PRIORITY_KEY = 5;
export const LANES = 2 * MAX_PRIORITY_KEY;

export function laneOf(c: CallClass): number {
  const key = Number.isInteger(c.priorityKey) && c.priorityKey! >= 1 ? Math.min(c.priorityKey!, MAX_PRIORITY_KEY) : DEFAULT_PRIORITY_KEY;
  return 2 * (key - 1) + (c.kind === 'read' ? 1 : 0);
}

/** The priority key (1–5) of a lane. */
export function priorityOfLane(lane: number): number {
  return Math.floor(lane / 2) + 1;
}

function weightOf(c: CallClass): number {
  const w = c.fairnessWeight;
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? Math.min(1000, Math.max(0.001, w)) : 1;
}

export interface QueuedCall<T> {
  readonly item: T;
  readonly lane: number;
  readonly arrivedAt: number;
  /** Arrival + lane × AGING_STEP_MS: no call of another lane that arrives later goes before it. */
  readonly deadline: number;
  readonly seq: number;
}

interface Flow<T> {
  calls: QueuedCall<T>[];
  pass: number;
  weight: number;
}

interface Lane<T> {
  flows: Map<string, Flow<T>>;
  /** The pass of the last call served: where a returning key starts. */
  pass: number;
}

export class CallQueue<T> {
  private readonly lanes: Lane<T>[] = Array.from({ length: LANES }, () => ({ flows: new Map(), pass: 0 }));
  private seq = 0;
  private count = 0;
  /** Waiting calls per fairness key, all lanes together: whether two keys contend for the next turn. */
  private readonly perKey = new Map<string, number>();

  get size(): number {
    return this.count;
  }

  /** How many fairness keys have a call waiting. */
  get keysWaiting(): number {
    return this.perKey.size;
  }

  private counted(key: string, delta: 1 | -1): void {
    const n = (this.perKey.get(key) ?? 0) + delta;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
    this.count += delta;
  }

  push(item: T, cls: CallClass, now: number): QueuedCall<T> {
    const lane = laneOf(cls);
    const call: QueuedCall<T> = { item, lane, arrivedAt: now, deadline: now + lane * AGING_STEP_MS, seq: this.seq++ };
    const l = this.lanes[lane]!;
    const key = cls.fairnessKey ?? '';
    let flow = l.flows.get(key);
    if (!flow) l.flows.set(key, (flow = { calls: [], pass: l.pass, weight: 1 }));
    flow.weight = weightOf(cls);
    flow.calls.push(call);
    this.counted(key, 1);
    return call;
  }

  /** Takes a waiting call out (its caller gave up); false when it already went. */
  remove(call: QueuedCall<T>): boolean {
    const l = this.lanes[call.lane]!;
    for (const [key, flow] of l.flows) {
      const i = flow.calls.indexOf(call);
      if (i < 0) continue;
      flow.calls.splice(i, 1);
      if (flow.calls.length === 0) l.flows.delete(key);
      this.counted(key, -1);
      return true;
    }
    return false;
  }

  /** The call that goes next, taken out of the queue, with its fairness key. */
  pop(): (QueuedCall<T> & { fairnessKey: string }) | undefined {
    const lane = this.nextLane();
    if (!lane) return undefined;
    let chosen: [string, Flow<T>] | undefined;
    for (const entry of lane.flows) {
      const [, f] = entry;
      if (!chosen || f.pass < chosen[1].pass || (f.pass === chosen[1].pass && f.calls[0]!.seq < chosen[1].calls[0]!.seq)) chosen = entry;
    }
    const [key, flow] = chosen!;
    const call = flow.calls.shift()!;
    lane.pass = flow.pass;
    flow.pass += 1 / flow.weight;
    if (flow.calls.length === 0) lane.flows.delete(key);
    this.counted(key, -1);
    return { ...call, fairnessKey: key };
  }

  /** The lane whose oldest waiting call has the earliest deadline (ties: the higher class). */
  private nextLane(): Lane<T> | undefined {
    let best: { lane: Lane<T>; deadline: number } | undefined;
    for (const lane of this.lanes) {
      let oldest = Infinity;
      for (const f of lane.flows.values()) oldest = Math.min(oldest, f.calls[0]!.deadline);
      if (oldest < (best?.deadline ?? Infinity)) best = { lane, deadline: oldest };
    }
    return best?.lane;
  }
}
