/** Restic-style retention: which of a workspace's backups are kept (and why) and which are deleted; pure, so the prune workflow runs it in its sandbox. */
import { SAFETY_SNAPSHOT_PREFIX } from './constants.js';
import type { RetentionPolicy } from './inputs.js';
import { newestFirst } from './order.js';
import type { RigboxSnapshot } from './rigbox.js';
import type { KeptSnapshot, RetentionReason } from './results.js';
import { isoWeek, localDate } from './time.js';

export interface RetentionSelection {
  kept: KeptSnapshot[];
  /** Newest first. */
  deleted: RigboxSnapshot[];
  /** Snapshots of the workspace that are not candidates: other names, safety snapshots. */
  ignored: number;
}

/**
 * Whether a snapshot may be considered for deletion at all. Only this workspace's snapshots whose
 * name starts with the prefix; safety snapshots (pre-restore-…) never, unless the prefix names them.
 */
export function isRetentionCandidate(s: RigboxSnapshot, workspaceId: string, namePrefix: string): boolean {
  if (namePrefix.length === 0) return false;
  if (s.workspace_id !== workspaceId) return false;
  if (!s.name.startsWith(namePrefix)) return false;
  if (s.name.startsWith(SAFETY_SNAPSHOT_PREFIX) && !namePrefix.startsWith(SAFETY_SNAPSHOT_PREFIX)) return false;
  return true;
}

/**
 * restic-`forget`-style selection. Newest first; each rule keeps what it keeps and the rules are ORed:
 * - keepLast n: the n newest;
 * - keepDaily/Weekly/Monthly n: the newest snapshot of each of the n most recent days / ISO weeks /
 *   months that have a snapshot, in the policy's timezone (UTC by default);
 * - keepWithinDays d: every snapshot created within d days of the newest one.
 * Whatever the policy, the newest candidate is kept: the last good backup is never deleted.
 * Pure and deterministic: the workflow and the CLI's dry run share it.
 */
export function selectRetention(
  snapshots: readonly RigboxSnapshot[],
  workspaceId: string,
  namePrefix: string,
  policy: RetentionPolicy,
  /** Held snapshots (domain/holds.ts) and their keep reasons (`hold: <reason>`): kept whatever the policy. */
  held?: Readonly<Record<string, readonly string[]>>,
): RetentionSelection {
  const ofWorkspace = snapshots.filter((s) => s.workspace_id === workspaceId);
  const candidates = ofWorkspace.filter((s) => isRetentionCandidate(s, workspaceId, namePrefix)).sort(newestFirst);
  const ignored = ofWorkspace.length - candidates.length;
  const timeZone = policy.timezone ?? 'UTC';

  const reasons = new Map<string, string[]>();
  const keep = (s: RigboxSnapshot, reason: string) => {
    const list = reasons.get(s.id) ?? [];
    if (!list.includes(reason)) list.push(reason);
    reasons.set(s.id, list);
  };

  const newest = candidates[0];
  if (newest) keep(newest, 'newest');

  if (policy.keepLast !== undefined) {
    candidates.slice(0, policy.keepLast).forEach((s) => keep(s, 'last'));
  }

  const bucketRule = (n: number | undefined, reason: RetentionReason, bucketOf: (s: RigboxSnapshot) => string) => {
    if (n === undefined) return;
    let lastBucket: string | undefined;
    let taken = 0;
    for (const s of candidates) {
      if (taken >= n) break;
      const bucket = bucketOf(s);
      if (bucket === lastBucket) continue; // only the newest of each bucket counts
      lastBucket = bucket;
      keep(s, reason);
      taken++;
    }
  };
  const dateOf = (s: RigboxSnapshot) => localDate(new Date(s.created_at), timeZone);
  bucketRule(policy.keepDaily, 'daily', (s) => {
    const d = dateOf(s);
    return `${d.year}-${d.month}-${d.day}`;
  });
  bucketRule(policy.keepWeekly, 'weekly', (s) => isoWeek(dateOf(s)));
  bucketRule(policy.keepMonthly, 'monthly', (s) => {
    const d = dateOf(s);
    return `${d.year}-${d.month}`;
  });

  if (policy.keepWithinDays !== undefined && newest) {
    const cutoff = Date.parse(newest.created_at) - policy.keepWithinDays * 86_400_000;
    for (const s of candidates) {
      if (Date.parse(s.created_at) >= cutoff) keep(s, 'within');
    }
  }

  for (const s of candidates) for (const reason of held?.[s.id] ?? []) keep(s, reason);

  const kept: KeptSnapshot[] = [];
  const deleted: RigboxSnapshot[] = [];
  for (const s of candidates) {
    const r = reasons.get(s.id);
    if (r) kept.push({ snapshot: s, reasons: r });
    else deleted.push(s);
  }
  return { kept, deleted, ignored };
}
