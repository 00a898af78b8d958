/**
 * The order in which Rigbox calls waiting for the quota go (activities/call-limiter.ts spaces them; this
 * decides who is next). Pure: no timers, no clock of its own, so the rules are property-tested.
 *
 * - Priority: Temporal's priority key, 1 before 2 … before 5.
 * - Fairness within a priority: each fairness key waiting at that priority has a virtual time (a pass),
 *   and the key with the lowest pass goes next; every call it makes, change or read, moves its pass on by
 *   1 / its weight (stride scheduling). So while keys have calls waiting at one priority they get turns
 *   in proportion to their weights, whatever the kinds of their calls. A key that comes back after a pause
 *   starts at the priority's virtual time (the lowest pass of the keys waiting) or at its own pass,
 *   whichever is later: it banks no turns while away, nor gains any by running dry.
 * - Within a key: changes (stop, start, create, restore, delete) before reads (status polls, listings),
 *   oldest first, unless a read has waited one aging step longer than the oldest change.
 * - No starvation, by aging: a call's deadline is its arrival + lane × AGING_STEP_MS, lane = 2 × (priority
 *   − 1) + (read ? 1 : 0), so 0 (a priority-1 change) … 9 (a priority-5 read). When a lower priority's
 *   oldest deadline is earlier than every deadline of the higher priorities waiting, that call (the
 *   overdue one itself, not its key's next) goes next, charged to its key's pass. Hence: a call is never
 *   passed by a call of another priority that arrived after its deadline, nor by any call of a lower
 *   priority that arrived after it; a priority-5 read waits at most 18 s longer than a priority-1 change
 *   that arrived with it, whatever keeps arriving. Aging rather than a fixed share for lower priorities:
 *   the strict order holds whenever the queue is shorter than the steps (the usual case: a few seconds of
 *   backlog), and a share would let a fleet's reads go ahead of a waiting person.
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
  /** Arrival + lane × AGING_STEP_MS: no call of another priority that arrives later goes before it. */
  readonly deadline: number;
  readonly seq: number;
  readonly fairnessKey: string;
}

/** One fairness key's calls at one priority. */
interface Flow<T> {
  key: string;
  changes: QueuedCall<T>[];
  reads: QueuedCall<T>[];
  pass: number;
  weight: number;
}

/** One priority: its keys' flows, and its virtual time. */
interface Level<T> {
  /** The keys with calls waiting. */
  flows: Map<string, Flow<T>>;
  /** Keys run dry whose pass is still ahead of `vtime`: back, they start there, not at `vtime`. */
  dry: Map<string, number>;
  /** The pass of the last turn the weights gave: where a returning key starts at the earliest. */
  vtime: number;
  waiting: number;
}

/** A call that goes, and whether the weights chose it: two keys or more had calls waiting at its priority. */
export type Popped<T> = QueuedCall<T> & { contended: boolean };

function head<T>(f: Flow<T>): QueuedCall<T> | undefined {
  const c = f.changes[0];
  const r = f.reads[0];
  if (!c || !r) return c ?? r;
  return r.deadline < c.deadline || (r.deadline === c.deadline && r.seq < c.seq) ? r : c;
}

function before<T>(a: QueuedCall<T>, b: QueuedCall<T> | undefined): boolean {
  return !b || a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

export class CallQueue<T> {
  private readonly levels: Level<T>[] = Array.from({ length: MAX_PRIORITY_KEY }, () => ({ flows: new Map(), dry: new Map(), vtime: 0, waiting: 0 }));
  private seq = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T, cls: CallClass, now: number): QueuedCall<T> {
    const lane = laneOf(cls);
    const fairnessKey = cls.fairnessKey ?? '';
    const call: QueuedCall<T> = { item, lane, arrivedAt: now, deadline: now + lane * AGING_STEP_MS, seq: this.seq++, fairnessKey };
    const level = this.levels[priorityOfLane(lane) - 1]!;
    let flow = level.flows.get(fairnessKey);
    if (!flow) {
      // A key back from a pause starts no earlier than the others' present (no turns banked while away),
      // and no earlier than where it left off (none gained by running dry between its calls).
      const pass = Math.max(level.dry.get(fairnessKey) ?? -Infinity, level.vtime);
      level.dry.delete(fairnessKey);
      level.flows.set(fairnessKey, (flow = { key: fairnessKey, changes: [], reads: [], pass, weight: 1 }));
    }
    flow.weight = weightOf(cls);
    (cls.kind === 'read' ? flow.reads : flow.changes).push(call);
    level.waiting++;
    this.count++;
    return call;
  }

  /** Takes a waiting call out (its caller gave up); false when it already went. */
  remove(call: QueuedCall<T>): boolean {
    const level = this.levels[priorityOfLane(call.lane) - 1]!;
    const flow = level.flows.get(call.fairnessKey);
    const calls = call.lane % 2 === 1 ? flow?.reads : flow?.changes;
    const i = calls?.indexOf(call) ?? -1;
    if (i < 0) return false;
    calls!.splice(i, 1);
    this.taken(level, flow!);
    return true;
  }

  /** The call that goes next, taken out of the queue. */
  pop(): Popped<T> | undefined {
    const top = this.levels.find((l) => l.waiting > 0);
    if (!top) return undefined;
    const overdue = this.overdue(top);
    if (overdue) return this.take(overdue.level, overdue.flow, false, false);
    let chosen: Flow<T> | undefined;
    let flowsWaiting = 0;
    for (const f of top.flows.values()) {
      const h = head(f);
      if (!h) continue;
      flowsWaiting++;
      if (!chosen || f.pass < chosen.pass || (f.pass === chosen.pass && h.seq < head(chosen)!.seq)) chosen = f;
    }
    return this.take(top, chosen!, true, flowsWaiting >= 2);
  }

  /**
   * A lower priority's oldest call whose deadline is earlier than every deadline at `top` (the highest
   * priority waiting) and the priorities between: it goes before them, with the flow it waits in.
   */
  private overdue(top: Level<T>): { level: Level<T>; flow: Flow<T> } | undefined {
    let best: { level: Level<T>; flow: Flow<T>; call: QueuedCall<T> } | undefined;
    for (const level of this.levels) {
      if (level.waiting === 0) continue;
      let oldest: { flow: Flow<T>; call: QueuedCall<T> } | undefined;
      for (const flow of level.flows.values()) {
        const h = head(flow);
        if (h && before(h, oldest?.call)) oldest = { flow, call: h };
      }
      // Strictly earlier only: a tie of deadlines goes to the higher priority.
      if (oldest && (!best || oldest.call.deadline < best.call.deadline)) best = { level, ...oldest };
    }
    return best && best.level !== top ? best : undefined;
  }

  private take(level: Level<T>, flow: Flow<T>, byWeight: boolean, contended: boolean): Popped<T> {
    const call = head(flow)!;
    (call === flow.changes[0] ? flow.changes : flow.reads).shift();
    // An overdue call moves its key's pass (it used a turn) but not the priority's virtual time.
    if (byWeight && flow.pass > level.vtime) {
      level.vtime = flow.pass;
      for (const [key, pass] of level.dry) if (pass <= level.vtime) level.dry.delete(key);
    }
    flow.pass += 1 / flow.weight;
    this.taken(level, flow);
    return { ...call, contended };
  }

  /**
   * Bookkeeping after a call of `flow` left `level`: a flow run dry keeps its pass while it is ahead of
   * the virtual time; a priority with nothing waiting forgets them all (no one left to be fair to).
   */
  private taken(level: Level<T>, flow: Flow<T>): void {
    level.waiting--;
    this.count--;
    if (level.waiting === 0) {
      level.flows.clear();
      level.dry.clear();
      level.vtime = 0;
      return;
    }
    if (head(flow)) return;
    level.flows.delete(flow.key);
    if (flow.pass > level.vtime) level.dry.set(flow.key, flow.pass);
  }
}
