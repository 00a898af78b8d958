/**
 * The `detail` a workflow puts in its progress next to its steps, where a caller reads it back: the
 * checkpoint session's state (workflows/checkpoint-workspace.ts writes it; the client waits for
 * `active` and the CLI shows it).
 */
import type { Progress } from '../domain/index.js';
import { CHECKPOINT_STATES, type CheckpointStateName } from '../domain/labels.js';

export interface CheckpointProgressDetail {
  state: CheckpointStateName;
  /** Null until the checkpoint snapshot exists. */
  snapshotId: string | null;
  snapshotName: string;
  rollbacks: number;
  /** When the TTL ends the session; null until the snapshot exists. */
  expiresAt: string | null;
  /** When a rollback found the snapshot gone from Rigbox (deleted outside rigsnap); absent while none has. */
  snapshotGoneAt?: string;
}

/** The checkpoint detail of a progress report, or null when it has none (another workflow, or too early). */
export function checkpointDetailOf(progress: Pick<Progress, 'detail'> | null | undefined): CheckpointProgressDetail | null {
  const d = progress?.detail;
  if (!d || !isCheckpointState(d.state) || typeof d.rollbacks !== 'number' || typeof d.snapshotName !== 'string') return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    state: d.state,
    snapshotId: text(d.snapshotId),
    snapshotName: d.snapshotName,
    rollbacks: d.rollbacks,
    expiresAt: text(d.expiresAt),
    ...(typeof d.snapshotGoneAt === 'string' ? { snapshotGoneAt: d.snapshotGoneAt } : {}),
  };
}

function isCheckpointState(v: unknown): v is CheckpointStateName {
  return (CHECKPOINT_STATES as readonly unknown[]).includes(v);
}
