/** Ids: the patterns of Rigbox's ids and snapshot names, and the builders of workflow and schedule ids. */

/**
 * Rigbox ids as the docs show them (ws_xyz789, snap_abc123). Only safe characters, so no id can
 * change the path of a request it is put into (no '/', '.', '%', '?' or '#').
 */
export const WORKSPACE_ID_PATTERN = /^ws_[A-Za-z0-9_-]{1,64}$/;
export const SNAPSHOT_ID_PATTERN = /^snap_[A-Za-z0-9_-]{1,64}$/;

/** Snapshot names: what the docs use (before-migration, pre-demo-2026-04-07) and a little more. */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,127}$/;

/** Lowercase, dash-separated, at most `max` characters: readable inside a workflow id. */
export function slug(text: string, max = 40): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return s || 'x';
}

/**
 * A short request key: base-36 milliseconds of the request time. Two requests in the same
 * millisecond with the same business key share a workflow, which is what a double click wants.
 * Callers that retry across processes pass their own key for end-to-end idempotency.
 */
export function requestKey(nowMs: number): string {
  return nowMs.toString(36);
}

export const REQUEST_KEY_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;

/**
 * Workflow ids: the business key first, so the Temporal UI's list reads as a log of what happened to
 * which workspace. Built here and nowhere else.
 */
export const workflowIds = {
  snapshot: (workspaceId: string, name: string, key: string) => `snapshot-${workspaceId}-${slug(name)}-${key}`,
  restore: (workspaceId: string, snapshotId: string, key: string) => `restore-${workspaceId}-${snapshotId}-${key}`,
  /** Deleting a snapshot is naturally unique: a second delete of the same snapshot is the same request. */
  delete: (workspaceId: string, snapshotId: string) => `delete-${workspaceId}-${snapshotId}`,
  list: (workspaceId: string | undefined, key: string) => `list-${workspaceId ?? 'all'}-${key}`,
  prune: (workspaceId: string, namePrefix: string, key: string) => `prune-${workspaceId}-${slug(namePrefix)}-${key}`,
  backup: (workspaceId: string, key: string) => `backup-${workspaceId}-${key}`,
  /** A fleet run's child for one workspace: unique per parent run, readable under the parent. */
  fleetChild: (fleetWorkflowId: string, workspaceId: string) => `${fleetWorkflowId}-${workspaceId}`,
  fleetBackup: (key: string) => `fleet-backup-${key}`,
  checkpoint: (workspaceId: string, name: string, key: string) => `checkpoint-${workspaceId}-${slug(name)}-${key}`,
  audit: (key: string) => `audit-backups-${key}`,
  inventory: (key: string) => `inventory-${key}`,
  /** A dry run and the deletion it previews share the request key, not the id. */
  pruneOrphans: (key: string, dryRun: boolean) => `prune-orphans-${dryRun ? 'dry-run-' : ''}${key}`,
  report: (key: string) => `report-backups-${key}`,
  check: (key: string) => `check-workspaces-${key}`,
  /** A group snapshot: of a group by name, or of workspaces listed (`workspaces`, then how many). */
  groupSnapshot: (group: string | undefined, memberCount: number, name: string, key: string) =>
    `group-snapshot-${group ?? `workspaces-${memberCount}`}-${slug(name)}-${key}`,
  /** A group restore: of a recorded set (`group-restore-shop-nightly-<key>`) or of explicit targets (`group-restore-targets-<key>`). */
  groupRestore: (group: string | undefined, set: string | undefined, key: string) =>
    group && set ? `group-restore-${group}-${slug(set)}-${key}` : `group-restore-targets-${key}`,
  groupCheckpoint: (group: string, name: string, key: string) => `group-checkpoint-${group}-${slug(name)}-${key}`,
  /**
   * The set of one slot of a group schedule (`<namePrefix><nominal time>`): keyed by group and name only,
   * so a second run for the same slot (a backfill, a retried action) finds the first one's set instead of
   * taking another.
   */
  groupScheduledSet: (group: string, name: string) => `group-snapshot-${group}-${slug(name)}-scheduled`,
  /** One lock per workspace, long-lived (it continues as new), found by this id. */
  lock: (workspaceId: string) => `rigsnap-lock-${workspaceId}`,
  /** The workspace entity (workflows/workspace-entity.ts): one per workspace, never idle-exits. */
  workspace: (workspaceId: string) => `rigsnap-workspace-${workspaceId}`,
  /** The group entity (workflows/group-entity.ts): one per group name (domain/groups.ts checks the name). */
  group: (name: string) => `rigsnap-group-${name}`,
};

/** Schedule ids: one per workspace, one per named fleet. */
export const scheduleIds = {
  backup: (workspaceId: string) => `rigsnap-backup-${workspaceId}`,
  fleet: (name: string) => `rigsnap-fleet-${slug(name)}`,
  /** A group's backup schedule (backupGroup), one per group. */
  group: (group: string) => `rigsnap-group-backup-${group}`,
  /** The backup audit's schedule: one per namespace. */
  audit: () => 'rigsnap-audit',
  /** The compliance report's schedule: one per namespace. */
  report: () => 'rigsnap-report',
};
