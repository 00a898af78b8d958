/**
 * The per-workspace lock: shapes shared by the lock workflow, the operations that queue on it, the
 * activities that talk to it and the client's inspection. Its signals and queries are defined in
 * contract/messages.ts.
 */
export interface LockRequest {
  /** Unique per acquisition: `<workflowId>/<runId>/<n>`. */
  requestId: string;
  workflowId: string;
  runId: string;
  operation: string;
  requestedAt: string;
}

export interface LockHolder extends LockRequest {
  grantedAt: string;
}

export interface LockState {
  workspaceId: string;
  holder: LockHolder | null;
  queue: LockRequest[];
  /**
   * Runs the lock must see release or close before it grants anything: what a rebuilt lock found
   * holding or could not ask, and the repair of a workspace a closed holder left stopped. Absent on
   * locks from before it existed.
   */
  blockedBy?: Array<{ workflowId: string; runId: string; why: string }>;
}

export interface LockReleaseRequest {
  requestId: string;
  /** Why, for the lock's history: "done", "failed", "cancelled", "holder closed". */
  reason?: string;
}

export interface LockGrant {
  requestId: string;
}

/** What an operation answers to the lockParticipation query. */
export interface LockParticipation {
  workspaceId: string | null;
  /** The request it holds the lock with, if any. */
  holding: LockRequest | null;
  /** The request it waits with, if any. */
  waiting: LockRequest | null;
  /**
   * A run that holds several workspaces' locks at once (a group operation, workflows/workspace-locks.ts):
   * its part in each, in lock order. Absent for single operations.
   */
  members?: Array<{ workspaceId: string; holding: LockRequest | null; waiting: LockRequest | null }>;
}

/**
 * A run's part in one workspace's lock, from its `lockParticipation` answer: its member entry for that
 * workspace (a group operation), else its own part; a run that takes part in other workspaces' locks
 * only holds and waits for nothing here.
 */
export function participationIn(p: LockParticipation, workspaceId: string): { holding: LockRequest | null; waiting: LockRequest | null } {
  const member = p.members?.find((m) => m.workspaceId === workspaceId);
  if (member) return { holding: member.holding, waiting: member.waiting };
  if (p.members?.length && p.workspaceId !== workspaceId) return { holding: null, waiting: null };
  return { holding: p.holding, waiting: p.waiting };
}

/** Timing of a lock run; tests shorten them, production uses the defaults in workflows/workspace-lock.ts. */
export interface LockTiming {
  /** How often to check that the holder's run is still open (ms). */
  holderCheckMs?: number;
  /** Idle time after which the run ends (ms). */
  idleExitMs?: number;
  /** The workspace entity: continue as new (when idle) after this many operations (tests lower it). */
  maxOperationsPerRun?: number;
}

/** The lock workflow's input; `state` carries the queue across continue-as-new. */
export interface WorkspaceLockInput {
  workspaceId: string;
  state?: {
    holder: LockHolder | null;
    queue: LockRequest[];
    recentlyReleased: string[];
    blockedBy?: Array<{ workflowId: string; runId: string; why: string }>;
  };
  timing?: LockTiming;
}
