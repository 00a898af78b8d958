/**
 * The per-workspace lock: names and shapes shared by the lock workflow, the activity that queues for
 * it, and the client's inspection. Plain strings so activities need not import workflow code.
 */
export const LOCK_ACQUIRE_SIGNAL = 'acquire';
export const LOCK_RELEASE_SIGNAL = 'release';
export const LOCK_STATE_QUERY = 'lockState';

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
}

export interface LockReleaseRequest {
  requestId: string;
  /** Why, for the lock's history: "done", "failed", "cancelled", "holder closed". */
  reason?: string;
}

/** The lock workflow's input; `state` carries the queue across continue-as-new. */
export interface WorkspaceLockInput {
  workspaceId: string;
  state?: { holder: LockHolder | null; queue: LockRequest[]; recentlyReleased: string[] };
}
