/**
 * The closed table of failure types rigsnap raises. Activities throw ApplicationFailure with one of
 * these as `type`; retryability lives here, next to the code, and nowhere else.
 */
export const ERROR_TABLE = {
  /** A workflow or client input failed validation. Never reaches Rigbox. */
  InvalidInput: { retryable: false, summary: 'the input is not valid' },
  /** Rigbox refused the request as malformed (400, 422). */
  InvalidRequest: { retryable: false, summary: 'Rigbox refused the request as invalid' },
  /** The workspace or snapshot does not exist, or belongs to another workspace (404). */
  NotFound: { retryable: false, summary: 'the workspace or snapshot does not exist' },
  /** Rigbox rejected the worker's credentials (401, 403). */
  Unauthorized: { retryable: false, summary: 'Rigbox rejected the worker credentials (RIGBOX_TOKEN)' },
  /** The workspace is in a state that forbids the call (409). Callers that know better override. */
  Conflict: { retryable: true, summary: 'the workspace is in a conflicting state' },
  /** Rigbox asked us to slow down (429); the retry waits for Retry-After. */
  RateLimited: { retryable: true, summary: 'Rigbox rate limit reached' },
  /** Rigbox or the network failed transiently: 5xx, connection errors, request timeouts. */
  Unavailable: { retryable: true, summary: 'Rigbox is unavailable' },
  /** Rigbox answered with a body that does not match the documented shape. */
  BadResponse: { retryable: false, summary: 'Rigbox answered with an unexpected response' },
  /** A workspace did not reach the awaited status within the configured maximum wait. */
  Timeout: { retryable: false, summary: 'the workspace did not reach the expected status in time' },
  /**
   * A fleet backup finished with some workspaces failed: the failure's details[0] is the fleet summary
   * (the same shape as the result), so alerts on failed workflows fire and nothing is hidden. A group
   * snapshot with a member failed: details[0] is the group result, each member's outcome (every member
   * was started again; the snapshots made are kept, recorded as an incomplete set).
   */
  PartialFailure: { retryable: false, summary: 'some workspaces of the fleet or group could not be backed up' },
  /**
   * Rigbox says the workspace no longer exists (a 404 on the workspace itself, confirmed by a second
   * read), while rigsnap was waiting for its stop or start or starting it again. Terminal: no retry
   * can bring it back, so the operation ends and frees the workspace's lock.
   */
  WorkspaceGone: { retryable: false, summary: 'the workspace was deleted in Rigbox while rigsnap was working on it' },
  /**
   * An operator ended an operation that kept trying to start its workspace again (`rigsnap abandon`):
   * the workspace was left as it was (stopped). The failure's details[0] records who, when and why.
   */
  Abandoned: { retryable: false, summary: 'an operator abandoned the operation; the workspace was left as it was' },
  /**
   * The operation was cancelled, but a change it had sent to Rigbox landed first (a snapshot made, a disk
   * restored, a safety snapshot, deletions): details[0] says what (domain/landed.ts). Plain Cancelled
   * means nothing changed.
   */
  CancelledAfterChange: { retryable: false, summary: 'the operation was cancelled after its change landed in Rigbox' },
  /** The snapshot is held (domain/holds.ts): the message names the hold; only a forced delete with a reason overrides it. */
  Held: { retryable: false, summary: 'the snapshot is held and was not deleted' },
  /**
   * A snapshot asked for by hand with a notice (`rigsnap snapshot --notice`) was skipped during its notice
   * (`rigsnap skip`): nothing was stopped and no snapshot was made. details[0] is the skip ({kind, reason,
   * by, at}). A failure, not a result, because whoever asked for the snapshot did not get it: a script's
   * `rigsnap snapshot … && migrate` must not go on. (A skipped scheduled backup completes instead.)
   */
  Skipped: { retryable: false, summary: 'the snapshot was skipped during its notice; nothing was stopped' },
  /**
   * A checkpoint's snapshot is gone from Rigbox although rigsnap did not delete it (deleted outside
   * rigsnap): a rollback has nothing to restore, and refuses before anything is stopped. Terminal.
   */
  SnapshotGone: { retryable: false, summary: 'the snapshot was deleted outside rigsnap' },
  /**
   * A group restore failed on a member (or a safety snapshot failed) and was undone: every member is back
   * where it began, unchanged or restored from its safety snapshot (all or nothing). details[0] names each
   * member's state (the RestoreGroupResult shape).
   */
  RolledBack: { retryable: false, summary: 'the group restore failed on a member and every member was put back as it was' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorType = keyof typeof ERROR_TABLE;
export const ERROR_TYPES = Object.keys(ERROR_TABLE) as ErrorType[];

export function isErrorType(value: unknown): value is ErrorType {
  return typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
}

export function isRetryable(type: ErrorType): boolean {
  return ERROR_TABLE[type].retryable;
}

/** Types for a retry policy's `nonRetryableErrorTypes`, built from the table (never from class names). */
export const NON_RETRYABLE_ERROR_TYPES: string[] = ERROR_TYPES.filter((t) => !ERROR_TABLE[t].retryable);

/** Maps an HTTP status from Rigbox to an error type. Network errors and timeouts are `Unavailable`. */
export function errorTypeForStatus(status: number): ErrorType {
  if (status === 400 || status === 422) return 'InvalidRequest';
  if (status === 401 || status === 403) return 'Unauthorized';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 429) return 'RateLimited';
  if (status >= 500) return 'Unavailable';
  // Other 4xx (405, 410, 413…) mean our request is wrong for this API: retrying cannot help.
  return 'InvalidRequest';
}

/** What the user should do about a failure of this type: shown by the CLI and in notifications. */
export const ERROR_ADVICE: Record<ErrorType, string> = {
  InvalidInput: 'fix the input named in the message and try again',
  InvalidRequest: 'check the workspace and snapshot ids; Rigbox refused the request',
  NotFound: 'check the ids with `rigsnap list <workspace>`',
  Unauthorized: 'set a valid RIGBOX_TOKEN on the worker and restart it',
  Conflict: 'the workspace was busy; try again when its current transition ends',
  RateLimited: 'Rigbox kept rate-limiting; lower RIGSNAP_RIGBOX_CALLS_PER_SECOND to the quota of your Rigbox account',
  Unavailable: 'Rigbox was unreachable for the whole retry window; check RIGBOX_API_URL and Rigbox status',
  BadResponse: 'Rigbox answered in an unexpected shape; check RIGBOX_API_URL points at the Rigbox API',
  Timeout: 'the workspace is stuck in a transition; check it in Rigbox, or raise RIGSNAP_MAX_WAIT_MS',
  PartialFailure:
    'see the failed workspaces and their error types in the summary; re-run the fleet backup for them, or the group snapshot (its incomplete set stays listed by `rigsnap group snapshots`)',
  WorkspaceGone: 'the workspace no longer exists in Rigbox; remove it from its schedules and fleets (its snapshots, if any, stay listed)',
  Abandoned: 'the workspace was left stopped on purpose; start it in Rigbox once the cause (token, maintenance) is fixed',
  CancelledAfterChange:
    'the message says which snapshot now exists, what was restored (and which safety snapshot holds the disk from before) and what was deleted; ' +
    'a restore is undone by restoring its safety snapshot',
  Skipped:
    'someone skipped it during its notice (the message says who and why); nothing was stopped and no snapshot was made. ' +
    'Agree a time with them and run it again, with a --notice or without',
  Held: 'see who holds it with `rigsnap holds <workspace>`; release it with `rigsnap unhold <workspace> <snapshot>`, or override with `rigsnap delete --force --reason <why>`',
  RolledBack:
    'the message names the member that failed and why; every member runs on its disk from before (safety snapshots, held 24 h). Fix the cause and run the group restore again',
  SnapshotGone:
    'Rigbox has no undelete: release the checkpoint (`rigsnap release <checkpoint-id>`) and take a new one; find who deleted it in Rigbox’s logs (docs/operations.md, "someone deleted our known-good snapshot")',
};

/** details[0] of the NotFound a preflight raises for a snapshot absent from its workspace: which snapshot it was. */
export interface MissingSnapshotDetail {
  missingSnapshotId: string;
}
