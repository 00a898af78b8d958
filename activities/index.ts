/**
 * The activities of a rigsnap worker, composed from one factory per concern: workspace transitions,
 * snapshots, prune rounds, the workspace lock, notifications. Workflows proxy the returned object's
 * type (a type-only import), so no activity code reaches the workflow bundle.
 */
import { createAuditActivities } from './audit.js';
import { createEarlierRunActivities } from './earlier-runs.js';
import { createInventoryActivities } from './inventory.js';
import { activityEnv, type ActivityDeps } from './env.js';
import { guarded } from './failures.js';
import { createFleetActivities } from './fleet.js';
import { createSelectionActivities } from './selection.js';
import { heartbeating } from './heartbeat.js';
import { createLockActivities, queueOnLockLegacy } from './lock.js';
import { createWorkspaceEntityActivities } from './workspace-entity.js';
import { createNoticeActivities } from './notice.js';
import { createHoldsActivities } from './holds.js';
import { createGroupActivities } from './groups.js';
import { createGroupSetActivities } from './group-sets.js';
import { createNotifyActivities } from './notify.js';
import { createPruneActivities } from './prune.js';
import { createExpiryActivities } from './expiry.js';
import { createSnapshotActivities, type PreflightInput, type PreflightResult } from './snapshots.js';
import { createTransitionActivities } from './transitions.js';

export { createRigboxClient, RigboxApiError, type RigboxClient } from './rigbox-client.js';
export { TransitionDurations } from './transition-durations.js';
export { toFailure } from './failures.js';
export type { ActivityDeps } from './env.js';
export type { WaitHeartbeat, TransitionResult, StopWorkspaceInput, StartWorkspaceInput } from './transitions.js';
export type { PreflightInput, PreflightResult, CreateSnapshotInput } from './snapshots.js';
export type { SelectPruneInput, PruneSelection, PruneFailure } from './prune.js';
export type { SelectExpiringInput, ExpirySelection } from './expiry.js';
export type { LockParticipants } from './lock.js';
export type { NotifyInput } from './notify.js';
export type { FleetChildStatus } from './fleet.js';
export type { SelectionResult } from './selection.js';
export type { EarlierRunInput } from './earlier-runs.js';
export type { StopNoticeInput } from './notice.js';
export type { GroupMembers } from './groups.js';
export type { GroupSetFound } from './group-sets.js';

export function createActivities(deps: ActivityDeps) {
  const env = activityEnv(deps);
  const { checkWorkspace, ...snapshots } = createSnapshotActivities(env);
  return {
    ...createTransitionActivities(env),
    ...snapshots,
    ...createPruneActivities(env),
    ...createExpiryActivities(env),
    ...createLockActivities(env),
    ...createWorkspaceEntityActivities(env),
    ...createHoldsActivities(env),
    ...createGroupActivities(env),
    ...createGroupSetActivities(env),
    ...createNotifyActivities(env),
    ...createNoticeActivities(env),
    ...createAuditActivities(deps),
    ...createFleetActivities(env),
    ...createSelectionActivities(env),
    ...createEarlierRunActivities(env),
    ...createInventoryActivities(deps),

    /**
     * Legacy, for operations started before the lock granted by signal (replayed histories and runs in
     * flight during an upgrade): the checks, then waiting in the lock's queue here, then the checks again.
     */
    async preflightAndLock(input: PreflightInput): Promise<PreflightResult> {
      return guarded(async () => {
        const first = await checkWorkspace(input);
        if (!input.lock) return { ...first, lockWaitMs: 0 };
        const lockWaitMs = await heartbeating({ phase: 'waiting for lock' }, env.heartbeatEveryMs, () =>
          queueOnLockLegacy(env, input.workspaceId, { ...input.lock!, requestedAt: new Date().toISOString() }),
        );
        return { ...(await checkWorkspace(input)), lockWaitMs };
      });
    },
  };
}

export type RigsnapActivities = ReturnType<typeof createActivities>;
