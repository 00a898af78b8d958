/** How snapshots are ordered, the same way everywhere (no zod: workflows use it). */

/** What ordering reads of a snapshot (a RigboxSnapshot has it; declared here, as rigbox.ts re-exports this file). */
interface SnapshotStamp {
  id: string;
  created_at: string;
}

/** Newest first, ties broken by id, so every caller orders snapshots the same way. */
export function newestFirst(a: SnapshotStamp, b: SnapshotStamp): number {
  const d = Date.parse(b.created_at) - Date.parse(a.created_at);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
