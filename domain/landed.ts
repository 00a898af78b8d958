/**
 * What an operation changed in Rigbox before a cancellation reached it, and how to say so. A change
 * already sent to Rigbox (a copy, a restore, a deletion) is waited for, never abandoned: once it has
 * landed, "cancelled, the workspace was left as it began" would be false. The workflow records each
 * change as it lands (recordLanded) and, cancelled with any recorded, ends with the typed failure
 * CancelledAfterChange whose details[0] is this record; the message and the advice are built from it.
 * Plain JSON, no zod: workflows import it.
 */
import type { RigboxSnapshot } from './rigbox.js';

/** Deleted snapshot ids listed in the record at most (the count is exact): a prune may delete thousands. */
export const MAX_LISTED_DELETED = 50;

export interface ChangesLanded {
  workspaceId: string;
  /** The snapshot the operation made (snapshot, backup, checkpoint). It exists and is kept. */
  snapshot?: RigboxSnapshot;
  /** A restore's safety snapshot: the workspace's disk as it was before the restore, the only way back. */
  safetySnapshot?: RigboxSnapshot;
  /** The snapshot restored into the workspace: its disk was overwritten with it. */
  restored?: { snapshotId: string; name?: string };
  /** Snapshots deleted (a prune, a backup's prune, a delete): how many, and the first ids. */
  deleted?: { count: number; snapshotIds: string[] };
}

export type LandedChange =
  | { kind: 'snapshot'; snapshot: RigboxSnapshot }
  | { kind: 'safety-snapshot'; snapshot: RigboxSnapshot }
  | { kind: 'restored'; snapshotId: string; name?: string }
  | { kind: 'deleted'; snapshotIds: string[] };

/** The record with one more change that landed. Pure: the workflow keeps the result. */
export function recordLanded(record: ChangesLanded | null, workspaceId: string, change: LandedChange): ChangesLanded {
  const next: ChangesLanded = { ...(record ?? { workspaceId }) };
  switch (change.kind) {
    case 'snapshot':
      next.snapshot = change.snapshot;
      break;
    case 'safety-snapshot':
      next.safetySnapshot = change.snapshot;
      break;
    case 'restored':
      next.restored = { snapshotId: change.snapshotId, ...(change.name !== undefined ? { name: change.name } : {}) };
      break;
    case 'deleted': {
      if (change.snapshotIds.length === 0) break;
      const listed = next.deleted?.snapshotIds ?? [];
      const fresh = change.snapshotIds.filter((id) => !listed.includes(id));
      next.deleted = {
        count: (next.deleted?.count ?? 0) + fresh.length,
        snapshotIds: [...listed, ...fresh].slice(0, MAX_LISTED_DELETED),
      };
      break;
    }
  }
  return next;
}

/** Whether anything landed: plain Cancelled is the truth only when nothing did. */
export function hasLanded(record: ChangesLanded | null | undefined): record is ChangesLanded {
  return !!record && !!(record.snapshot || record.safetySnapshot || record.restored || record.deleted?.count);
}

const named = (s: RigboxSnapshot) => `${s.id} "${s.name}"`;

/** The failure's message: what exists, what was overwritten, what is gone. */
export function cancelledAfterChangeMessage(record: ChangesLanded): string {
  const parts: string[] = [];
  if (record.snapshot) parts.push(`snapshot ${named(record.snapshot)} was made and is kept`);
  if (record.restored) {
    parts.push(
      `the disk of ${record.workspaceId} was overwritten with snapshot ${record.restored.snapshotId}${record.restored.name ? ` "${record.restored.name}"` : ''}`,
    );
  }
  if (record.safetySnapshot) parts.push(`safety snapshot ${named(record.safetySnapshot)} holds its disk from before the restore`);
  if (record.deleted?.count) {
    const more = record.deleted.count - record.deleted.snapshotIds.length;
    parts.push(
      `${record.deleted.count} snapshot${record.deleted.count === 1 ? ' was' : 's were'} deleted (${record.deleted.snapshotIds.join(', ')}${more > 0 ? ` and ${more} more` : ''})`,
    );
  }
  return `cancelled after its change landed in Rigbox: ${parts.join('; ')}`;
}

/** What to do, with the commands that apply to this record. */
export function cancelledAfterChangeAdvice(record: ChangesLanded): string {
  const ws = record.workspaceId;
  const advice: string[] = [];
  if (record.restored && record.safetySnapshot) {
    advice.push(`to undo the restore, restore the safety snapshot: \`rigsnap restore ${ws} ${record.safetySnapshot.id}\``);
  } else if (record.restored) {
    advice.push(`the restore took effect and no safety snapshot was asked for (--keep-current); \`rigsnap list ${ws}\` shows what can be restored`);
  } else if (record.safetySnapshot) {
    advice.push(`nothing was restored; the safety snapshot ${record.safetySnapshot.id} can go: \`rigsnap delete ${ws} ${record.safetySnapshot.id}\``);
  }
  if (record.snapshot) {
    advice.push(
      `snapshot ${record.snapshot.id} exists: keep it, or \`rigsnap delete ${ws} ${record.snapshot.id}\`; ` +
        'the same request again (same --request-key, or the same workflow id) adopts it instead of making a second',
    );
  }
  if (record.deleted?.count) advice.push('deleted snapshots are gone; run the prune again to finish it');
  return advice.join('; ');
}
