/** The workflow bundle's entry: every workflow type the worker registers, by its public name. */
export { snapshotWorkspace } from './snapshot-workspace.js';
export { restoreWorkspace } from './restore-workspace.js';
export { deleteSnapshot } from './delete-snapshot.js';
export { listSnapshots } from './list-snapshots.js';
export { pruneSnapshots } from './prune-snapshots.js';
export { backupWorkspace } from './backup-workspace.js';
export { backupFleet, type FleetState } from './backup-fleet.js';
export { checkpointWorkspace } from './checkpoint-workspace.js';
export { workspaceLock } from './workspace-lock.js';
export { auditBackups } from './audit-backups.js';
export { inventoryWorkspaces } from './inventory-workspaces.js';
export { pruneOrphans } from './prune-orphans.js';
export { reportBackups } from './report-backups.js';
export { checkWorkspaces } from './check-workspaces.js';
