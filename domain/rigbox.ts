import { z } from 'zod';
import { SnapshotId, WorkspaceId } from './ids.js';

/**
 * Rigbox API shapes as the docs give them. Tolerant to extra fields (they are dropped, so history holds
 * only what rigsnap uses), strict on the fields rigsnap relies on.
 */
export const RigboxSnapshot = z.object({
  id: SnapshotId,
  workspace_id: WorkspaceId,
  name: z.string(),
  size_bytes: z.number().int().nonnegative(),
  created_at: z.iso.datetime({ offset: true }),
});
export type RigboxSnapshot = z.infer<typeof RigboxSnapshot>;

/**
 * Statuses the docs name or imply. Rigbox may have more (an error state, say): the status stays a
 * string, and rigsnap only acts on these.
 */
export const KNOWN_STATUSES = ['running', 'stopped', 'stopping', 'starting'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

export const RigboxWorkspace = z.object({
  id: WorkspaceId,
  status: z.string().min(1),
  name: z.string().optional(),
});
export type RigboxWorkspace = z.infer<typeof RigboxWorkspace>;

/** Newest first, ties broken by id, so every caller orders snapshots the same way. */
export function newestFirst(a: RigboxSnapshot, b: RigboxSnapshot): number {
  const d = Date.parse(b.created_at) - Date.parse(a.created_at);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
