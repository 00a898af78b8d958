/**
 * The public workflow type names: what other services, schedules and `temporal workflow start --type`
 * use, and what the worker registers (each is the name of a function exported by workflows/index.ts;
 * client/operations.ts checks that at compile time). Never to be renamed: running histories name them.
 */
import type { Operation } from '../domain/constants.js';

export const WORKFLOW_TYPES = {
  snapshot: 'snapshotWorkspace',
  restore: 'restoreWorkspace',
  delete: 'deleteSnapshot',
  list: 'listSnapshots',
  prune: 'pruneSnapshots',
  backup: 'backupWorkspace',
  'fleet-backup': 'backupFleet',
  checkpoint: 'checkpointWorkspace',
  lock: 'workspaceLock',
  audit: 'auditBackups',
  workspace: 'workspaceEntity',
  inventory: 'inventoryWorkspaces',
  'prune-orphans': 'pruneOrphans',
  report: 'reportBackups',
  check: 'checkWorkspaces',
  group: 'groupEntity',
  'group-snapshot': 'snapshotGroup',
  'group-restore': 'restoreGroup',
  'group-checkpoint': 'checkpointGroup',
  'group-backup': 'backupGroup',
} as const satisfies Record<Operation, string>;

export type WorkflowTypeName = (typeof WORKFLOW_TYPES)[Operation];

/**
 * How each workflow type meets a new deployment version under Worker Versioning (README, "Upgrades"):
 * - PINNED: a run stays on the build that started it, so its code never changes under it and needs no
 *   patched(); short operations, which drain within minutes of a deploy (a fleet's children included).
 * - AUTO_UPGRADE: a run moves to the current build at its next workflow task, so changes to it still go
 *   behind patched(); the types that wait for hours or days (a checkpoint session, a fleet, the lock) or
 *   never end (the workspace and group entities), which would otherwise keep an old build's workers running as long.
 */
export const VERSIONING_BEHAVIOR = {
  snapshotWorkspace: 'PINNED',
  restoreWorkspace: 'PINNED',
  deleteSnapshot: 'PINNED',
  listSnapshots: 'PINNED',
  pruneSnapshots: 'PINNED',
  backupWorkspace: 'PINNED',
  auditBackups: 'PINNED',
  backupFleet: 'AUTO_UPGRADE',
  checkpointWorkspace: 'AUTO_UPGRADE',
  workspaceLock: 'AUTO_UPGRADE',
  workspaceEntity: 'AUTO_UPGRADE',
  inventoryWorkspaces: 'PINNED',
  pruneOrphans: 'PINNED',
  reportBackups: 'PINNED',
  checkWorkspaces: 'PINNED',
  groupEntity: 'AUTO_UPGRADE',
  snapshotGroup: 'PINNED',
  restoreGroup: 'PINNED',
  checkpointGroup: 'AUTO_UPGRADE',
  backupGroup: 'PINNED',
} as const satisfies Record<WorkflowTypeName, 'PINNED' | 'AUTO_UPGRADE'>;
