/** How snapshots are ordered, the same way everywhere (no zod: workflows use it). */
import type { RigboxSnapshot } from './rigbox.js';

/** Newest first, ties broken by id, so every caller orders snapshots the same way. */
export function newestFirst(a: RigboxSnapshot, b: RigboxSnapshot): number {
  const d = Date.parse(b.created_at) - Date.parse(a.created_at);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
