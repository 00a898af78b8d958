/**
 * Temporal task-queue priority and fairness for rigsnap's operations: who goes first when workers are
 * busy. A person waiting at a screen (an on-demand snapshot, restore, rollback) goes before a nightly
 * backup, which goes before a fleet's children; within a level, fleets and schedules share dispatch by
 * their fairness key in proportion to their weight. Pure rules, no zod: workflows import this too.
 */

/** Priority keys (Temporal: 1 highest … 5 lowest, 3 when unset). */
export const PRIORITY = {
  /** Started by a person or a service that waits for it: CLI, typed client, other services. */
  onDemand: 1,
  /** A schedule's single-workspace backup. */
  scheduledBackup: 3,
  /** A fleet and each of its children (a batch with hours to spare). */
  fleet: 4,
} as const;

export const MIN_PRIORITY_KEY = 1;
/** The server's default number of levels (`matching.priorityLevels`). */
export const MAX_PRIORITY_KEY = 5;
/** Temporal clamps weights to this range. */
export const MIN_FAIRNESS_WEIGHT = 0.001;
export const MAX_FAIRNESS_WEIGHT = 1000;
/** Temporal limits fairness keys to 64 bytes. */
export const MAX_FAIRNESS_KEY_BYTES = 64;

/** What rigsnap sets on a workflow start, a schedule action or a child: Temporal's `Priority` shape. */
export interface PrioritySettings {
  priorityKey: number;
  fairnessKey?: string;
  fairnessWeight?: number;
}

/** A caller's overrides (`--priority`, `--team`, `--weight`). */
export interface PriorityOptions {
  priority?: number;
  team?: string;
  weight?: number;
}

export type PriorityKind = 'on-demand' | 'scheduled-backup' | 'fleet';

const DEFAULT_KEY: Record<PriorityKind, number> = {
  'on-demand': PRIORITY.onDemand,
  'scheduled-backup': PRIORITY.scheduledBackup,
  fleet: PRIORITY.fleet,
};

/**
 * Cuts a fairness key to Temporal's 64 bytes on a character boundary (an id longer than that, such as
 * a long fleet workflow id, still gets a stable key of its own prefix).
 */
export function fairnessKeyOf(text: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = new TextEncoder().encode(ch).length;
    if (bytes + n > MAX_FAIRNESS_KEY_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * The priority of an operation a caller starts. On-demand operations carry no fairness key: they are few
 * and go first anyway. Schedules and fleets carry one (`team`, else `defaultFairnessKey`: the schedule
 * id, or the fleet's workflow id) and the weight when one was given.
 */
export function priorityFor(kind: PriorityKind, o: PriorityOptions = {}, defaultFairnessKey?: string): PrioritySettings {
  const priorityKey = o.priority ?? DEFAULT_KEY[kind];
  const key = o.team ?? defaultFairnessKey;
  if (kind === 'on-demand' && o.team === undefined) return { priorityKey };
  return {
    priorityKey,
    ...(key ? { fairnessKey: fairnessKeyOf(key) } : {}),
    ...(o.weight !== undefined ? { fairnessWeight: o.weight } : {}),
  };
}

/**
 * Whether someone may be waiting for an operation at this priority: on demand (1 or 2), or started
 * without a priority (another service or `temporal workflow start`: nothing says nobody waits). Its long
 * activities heartbeat every few seconds so a cancel lands at once. What rigsnap itself runs in bulk sets
 * its priority explicitly (a schedule's backups 3, a fleet's children 4) and heartbeats at the minute's
 * scale, since every heartbeat is a billed action (workflows/profiles.ts).
 */
export function isInteractive(priorityKey: number | undefined): boolean {
  return !priorityKey || priorityKey < PRIORITY.scheduledBackup;
}

/**
 * A fleet child's priority, from its fleet's (workflowInfo().priority). Temporal would let the child
 * inherit every field it leaves unset; rigsnap sets them so that a fleet started without a priority (by
 * `temporal workflow start`, or by a release before this one) still runs its children at the fleet level,
 * and so the history shows what each child ran at.
 */
export function fleetChildPriority(fleet: { priorityKey?: number; fairnessKey?: string; fairnessWeight?: number } | undefined): PrioritySettings {
  return {
    priorityKey: fleet?.priorityKey || PRIORITY.fleet,
    ...(fleet?.fairnessKey ? { fairnessKey: fleet.fairnessKey } : {}),
    ...(fleet?.fairnessWeight ? { fairnessWeight: fleet.fairnessWeight } : {}),
  };
}
