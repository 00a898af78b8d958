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
  inventory: 'inventoryWorkspaces',
  'prune-orphans': 'pruneOrphans',
  report: 'reportBackups',
  check: 'checkWorkspaces',
} as const satisfies Record<Operation, string>;

export type WorkflowTypeName = (typeof WORKFLOW_TYPES)[Operation];
