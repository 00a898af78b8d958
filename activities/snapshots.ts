/**
 * The snapshot activities: checks before any downtime (preflight), create (exactly once, adopting the
 * snapshot a lost answer was about), restore, delete and list. Long calls and listings heartbeat.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { SAFETY_SNAPSHOT_PREFIX, type LockRequest, type MissingSnapshotDetail, type RigboxSnapshot, type RigboxWorkspace } from '../domain/index.js';
import { changeOptions, readOptions, type ActivityEnv } from './env.js';
import { failure, guarded, throwIfCancelled } from './failures.js';
import { heartbeating } from './heartbeat.js';
import { RigboxApiError } from './rigbox-client.js';

export interface PreflightInput {
  workspaceId: string;
  /** For a restore: must exist and belong to this workspace. */
  snapshotId?: string;
  /** For a snapshot: ids of existing snapshots with this name, so a retried create can tell ours apart. */
  snapshotName?: string;
  /** Legacy (preflightAndLock): queue on the workspace lock after the checks. */
  lock?: Omit<LockRequest, 'requestedAt'>;
}

export interface PreflightResult {
  workspace: RigboxWorkspace;
  snapshot: RigboxSnapshot | null;
  sameNameSnapshotIds: string[];
  /**
   * For a restore: ids of the workspace's safety snapshots (pre-restore-…) at the check, so that a retried
   * safety-snapshot create never adopts one of them (another restore's `pre-restore-<same second>`).
   * Absent in histories recorded before it existed.
   */
  existingSafetySnapshotIds?: string[];
  /** How long the operation waited behind others on the lock. */
  lockWaitMs: number;
}

export interface CreateSnapshotInput {
  workspaceId: string;
  name: string;
  /** Snapshots with this name that existed before: never adopted. */
  knownIds: string[];
  /** Workflow time when the step began (epoch ms). */
  notBeforeMs: number;
}

/** Reports a listing's progress per page (local activities have no heartbeat: nothing to report to). */
function pageHeartbeat(phase: string): ((listed: number) => void) | undefined {
  const ctx = Context.current();
  return ctx.info.isLocal ? undefined : (listed) => ctx.heartbeat({ phase, listed });
}

/** Lists a workspace's snapshots, heartbeating per page (a large account takes many pages). */
function listOwn(env: ActivityEnv, workspaceId: string): Promise<RigboxSnapshot[]> {
  return env.rigbox.listSnapshots(workspaceId, readOptions({ onPage: pageHeartbeat('listing snapshots') }));
}

async function findSnapshot(env: ActivityEnv, workspaceId: string, snapshotId: string): Promise<{ snapshot: RigboxSnapshot; own: RigboxSnapshot[] }> {
  const own = await listOwn(env, workspaceId);
  const found = own.find((s) => s.id === snapshotId);
  if (found) return { snapshot: found, own };
  // Say whose it is, if anyone's: restoring across workspaces is the docs' first limitation.
  const all = await env.rigbox.listAllSnapshots(readOptions({ onPage: pageHeartbeat('listing all snapshots') }));
  const elsewhere = all.find((s) => s.id === snapshotId);
  if (elsewhere) {
    throw failure(
      'NotFound',
      `snapshot ${snapshotId} belongs to workspace ${elsewhere.workspace_id}, not ${workspaceId}: ` + 'Rigbox restores a snapshot only into its own workspace',
    );
  }
  // Which snapshot is missing, as data: a checkpoint's rollback tells "its snapshot vanished" from other NotFounds by it.
  throw ApplicationFailure.create({
    type: 'NotFound',
    message: `snapshot ${snapshotId} does not exist in workspace ${workspaceId}`,
    nonRetryable: true,
    details: [{ missingSnapshotId: snapshotId } satisfies MissingSnapshotDetail],
  });
}

/**
 * The checks before an operation changes anything. A RIGBOX_API_URL that has never answered like Rigbox
 * (web pages, not JSON, the wrong shape, and no answer of Rigbox's since the worker started) fails here at
 * once, typed BadResponse and final: retrying cannot fix a wrong URL, and nothing has been stopped yet. Once
 * Rigbox has answered, the same answers are a maintenance, retried.
 */
async function checkWorkspace(env: ActivityEnv, input: PreflightInput): Promise<Omit<PreflightResult, 'lockWaitMs'>> {
  try {
    return await readWorkspaceChecks(env, input);
  } catch (err) {
    if (err instanceof RigboxApiError && err.notRigbox && env.rigbox.recognition().state === 'not-rigbox') {
      throw failure(
        'BadResponse',
        `RIGBOX_API_URL (${env.rigbox.baseUrl}) has never answered like the Rigbox API since this worker started; last: ${err.message}. ` +
          'Set RIGBOX_API_URL on the worker to the Rigbox API (such as https://api.rigbox.dev/api) and restart it; nothing was changed',
        true,
      );
    }
    throw err;
  }
}

async function readWorkspaceChecks(env: ActivityEnv, input: PreflightInput): Promise<Omit<PreflightResult, 'lockWaitMs'>> {
  const workspace = await env.rigbox.getWorkspace(input.workspaceId, readOptions()).catch((err: unknown) => {
    if (err instanceof RigboxApiError && err.type === 'NotFound') {
      throw failure('NotFound', `workspace ${input.workspaceId} does not exist (or this token cannot see it)`);
    }
    throw err;
  });
  const found = input.snapshotId ? await findSnapshot(env, input.workspaceId, input.snapshotId) : null;
  let sameNameSnapshotIds: string[] = [];
  if (input.snapshotName !== undefined) {
    const own = found?.own ?? (await listOwn(env, input.workspaceId));
    sameNameSnapshotIds = own.filter((s) => s.name === input.snapshotName).map((s) => s.id);
  }
  return {
    workspace,
    snapshot: found?.snapshot ?? null,
    sameNameSnapshotIds,
    ...(found ? { existingSafetySnapshotIds: found.own.filter((s) => s.name.startsWith(SAFETY_SNAPSHOT_PREFIX)).map((s) => s.id) } : {}),
  };
}

/** A 409 on create/restore: retry if the workspace is stopped (Rigbox busy), give up if someone started it. */
async function explainConflict(env: ActivityEnv, workspaceId: string, what: string, err: RigboxApiError): Promise<never> {
  const status = (await env.rigbox.getWorkspace(workspaceId, readOptions())).status;
  if (status !== 'stopped') {
    throw failure('Conflict', `cannot ${what} workspace ${workspaceId}: it is "${status}", not stopped (was it started by someone else?)`, true);
  }
  throw failure('Conflict', `${what} of workspace ${workspaceId} refused: ${err.message}; retrying`, false);
}

/**
 * Checks before any downtime, made under the workspace lock so what it returns is current: the
 * workspace exists (and its status decides the restart), a restore's snapshot is this workspace's,
 * the snapshots that already carry a new snapshot's name.
 */
async function preflight(env: ActivityEnv, input: PreflightInput): Promise<Omit<PreflightResult, 'lockWaitMs'>> {
  return guarded(() => heartbeating({ phase: 'checking workspace' }, env.heartbeatEveryMs, () => checkWorkspace(env, input)));
}

/**
 * On a retried attempt, the snapshot the lost answer of an earlier one was about: with this name, not
 * among those that existed before the step, created after it began (the oldest such).
 */
async function findEarlierAttempt(env: ActivityEnv, input: CreateSnapshotInput): Promise<RigboxSnapshot | undefined> {
  const own = await listOwn(env, input.workspaceId);
  return own
    .filter((s) => s.name === input.name && !input.knownIds.includes(s.id) && Date.parse(s.created_at) >= input.notBeforeMs - env.adoptionSkewMs)
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))[0];
}

/**
 * Creates a snapshot, exactly once. A retried attempt first looks for a snapshot with this name
 * that did not exist before the step and was created after it began: that is the one the lost
 * answer was about, and it is adopted instead of making a second.
 */
async function createSnapshot(env: ActivityEnv, input: CreateSnapshotInput): Promise<{ snapshot: RigboxSnapshot; adopted: boolean }> {
  return guarded(() =>
    heartbeating({ phase: 'checking for an earlier attempt' }, env.heartbeatEveryMs, async (hb) => {
      const ctx = Context.current();
      if (ctx.info.attempt > 1) {
        const ours = await findEarlierAttempt(env, input);
        if (ours) {
          ctx.log.info('adopting snapshot created by an earlier attempt', { snapshotId: ours.id, attempt: ctx.info.attempt });
          return { snapshot: ours, adopted: true };
        }
      }
      hb.update({ phase: 'copying disk' });
      try {
        const snapshot = await env.rigbox.createSnapshot(input.workspaceId, input.name, changeOptions({ timeoutMs: env.longCallTimeoutMs }));
        // Cancelled while Rigbox copied (a copy cannot be stopped): the snapshot exists; say so in the cancellation.
        throwIfCancelled({ message: `cancelled; the copy in flight finished as snapshot ${snapshot.id}, which is kept`, details: { snapshot } });
        return { snapshot, adopted: false };
      } catch (err) {
        if (err instanceof RigboxApiError && err.type === 'Conflict') await explainConflict(env, input.workspaceId, 'snapshot', err);
        throw err;
      }
    }),
  );
}

/** Restores a snapshot into its (stopped) workspace. Repeating a restore is harmless: same result. */
async function restoreSnapshot(env: ActivityEnv, input: { workspaceId: string; snapshotId: string }): Promise<void> {
  return guarded(() =>
    heartbeating({ phase: 'restoring disk' }, env.heartbeatEveryMs, async () => {
      try {
        await env.rigbox.restoreSnapshot(input.workspaceId, input.snapshotId, changeOptions({ timeoutMs: env.longCallTimeoutMs }));
        throwIfCancelled({ message: `cancelled; the restore in flight of ${input.snapshotId} finished`, details: { restored: input.snapshotId } });
      } catch (err) {
        if (err instanceof RigboxApiError && err.type === 'Conflict') await explainConflict(env, input.workspaceId, 'restore', err);
        throw err;
      }
    }),
  );
}

/** Deletes a snapshot. A snapshot already gone (a retry after a lost answer) counts as deleted. */
async function deleteSnapshot(env: ActivityEnv, input: { workspaceId: string; snapshotId: string }): Promise<{ alreadyGone: boolean }> {
  return guarded(async () => {
    try {
      await env.rigbox.deleteSnapshot(input.workspaceId, input.snapshotId, changeOptions());
      return { alreadyGone: false };
    } catch (err) {
      if (err instanceof RigboxApiError && err.type === 'NotFound') return { alreadyGone: true };
      throw err;
    }
  });
}

async function listSnapshots(env: ActivityEnv, input: { workspaceId?: string }): Promise<RigboxSnapshot[]> {
  return guarded(() =>
    heartbeating({ phase: 'listing snapshots' }, env.heartbeatEveryMs, async () => {
      if (input.workspaceId) {
        await checkWorkspace(env, { workspaceId: input.workspaceId });
        return listOwn(env, input.workspaceId);
      }
      return env.rigbox.listAllSnapshots(readOptions({ onPage: pageHeartbeat('listing all snapshots') }));
    }),
  );
}

export function createSnapshotActivities(env: ActivityEnv) {
  return {
    /** The preflight's checks without the activity's heartbeat and failure mapping (for preflightAndLock). */
    checkWorkspace: (input: PreflightInput) => checkWorkspace(env, input),
    preflight: (input: PreflightInput) => preflight(env, input),
    createSnapshot: (input: CreateSnapshotInput) => createSnapshot(env, input),
    restoreSnapshot: (input: { workspaceId: string; snapshotId: string }) => restoreSnapshot(env, input),
    deleteSnapshot: (input: { workspaceId: string; snapshotId: string }) => deleteSnapshot(env, input),
    listSnapshots: (input: { workspaceId?: string }) => listSnapshots(env, input),
  };
}
