/**
 * The workflow bundle's entry: every workflow type the worker registers, by its public name, and how
 * each meets a new deployment version under Worker Versioning (contract/workflow-types.ts holds the
 * table, the README says why).
 */
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { VERSIONING_BEHAVIOR } from '../contract/index.js';
import { auditBackups } from './audit-backups.js';
import { backupFleet } from './backup-fleet.js';
import { backupWorkspace } from './backup-workspace.js';
import { checkpointWorkspace } from './checkpoint-workspace.js';
import { deleteSnapshot } from './delete-snapshot.js';
import { listSnapshots } from './list-snapshots.js';
import { pruneSnapshots } from './prune-snapshots.js';
import { restoreWorkspace } from './restore-workspace.js';
import { snapshotWorkspace } from './snapshot-workspace.js';
import { snapshotGroup } from './snapshot-group.js';
import { workspaceEntity } from './workspace-entity.js';
import { groupEntity } from './group-entity.js';
import { inventoryWorkspaces } from './inventory-workspaces.js';
import { pruneOrphans } from './prune-orphans.js';
import { reportBackups } from './report-backups.js';
import { checkWorkspaces } from './check-workspaces.js';
import { restoreGroup } from './group-restore.js';
import { checkpointGroup } from './group-checkpoint.js';
import { backupGroup } from './backup-group.js';
import { workspaceLock } from './workspace-lock.js';

const registered = {
  snapshotWorkspace,
  restoreWorkspace,
  deleteSnapshot,
  listSnapshots,
  pruneSnapshots,
  backupWorkspace,
  backupFleet,
  checkpointWorkspace,
  workspaceLock,
  workspaceEntity,
  groupEntity,
  auditBackups,
  inventoryWorkspaces,
  pruneOrphans,
  reportBackups,
  checkWorkspaces,
  snapshotGroup,
  restoreGroup,
  checkpointGroup,
  backupGroup,
};
// Only a versioned worker may state a behaviour (an unversioned one fails the workflow task if it does);
// the task's deployment version says which this worker is.
for (const [type, fn] of Object.entries(registered)) {
  const versioningBehavior = VERSIONING_BEHAVIOR[type as keyof typeof VERSIONING_BEHAVIOR];
  setWorkflowOptions(
    () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {}),
    fn as (...args: never[]) => Promise<unknown>,
  );
}

export {
  snapshotWorkspace,
  restoreWorkspace,
  deleteSnapshot,
  listSnapshots,
  pruneSnapshots,
  backupWorkspace,
  checkpointWorkspace,
  workspaceLock,
  workspaceEntity,
  groupEntity,
  auditBackups,
  inventoryWorkspaces,
  pruneOrphans,
  reportBackups,
  checkWorkspaces,
  snapshotGroup,
  restoreGroup,
  checkpointGroup,
  backupGroup,
};
export { backupFleet, type FleetState } from './backup-fleet.js';
