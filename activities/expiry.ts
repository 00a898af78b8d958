/**
 * The selection half of expiring checkpoint and safety snapshots (domain/expiry.ts has the rules): list
 * the workspace's snapshots, learn which are checkpoints and whether their sessions ended, and pick the
 * expired ones. Checkpoint sessions are found through visibility (candidates only) and each is asked
 * itself, by describe, query or result: a session that visibility has not caught up with yet leaves its
 * snapshot unclassified, which never expires, so lagging visibility can only keep more.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPES, checkpointDetailOf, progressQuery, workspaceIdKey } from '../contract/index.js';
import {
  CheckpointWorkspaceResult,
  SAFETY_SNAPSHOT_PREFIX,
  expiryPolicyOf,
  isRetentionCandidate,
  planExpiry,
  totalBytesOf,
  type CheckpointSessionFacts,
  type RetentionPolicy,
  type RigboxSnapshot,
} from '../domain/index.js';
import { readOptions, type ActivityEnv } from './env.js';
import { guarded } from './failures.js';
import { mapLimit } from './workspace-existence.js';

/** Checkpoint runs of one workspace looked at (newest first); older sessions' snapshots stay hand-made. */
const MAX_SESSIONS = 200;

export interface SelectExpiringInput {
  workspaceId: string;
  /** The backups' prefix: those are the backup retention's, never this one's. */
  namePrefix: string;
  retention: RetentionPolicy;
  /** Snapshots under a hold (the entity's answer the prune already has): never expired. */
  heldIds: string[];
  maxDeletions: number;
}

export interface ExpirySelection {
  /** The expired snapshots to delete now, oldest due first, at most maxDeletions. */
  batch: RigboxSnapshot[];
  expiredCount: number;
  expiredBytes: number;
  /** Checkpoint and safety snapshots kept for now, and the soonest due time among them (null: none due). */
  waitingCount: number;
  nextDueAt: string | null;
}

/** One session as its own run says: open (query), or ended with its snapshot kept (result + close time). */
async function sessionFacts(client: Client, workflowId: string, runId: string | undefined): Promise<CheckpointSessionFacts | null> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe();
  if (d.status.name === 'RUNNING') {
    const snapshotId = checkpointDetailOf(await handle.query(progressQuery))?.snapshotId;
    return snapshotId ? { snapshotId, endedAt: null } : null;
  }
  if (d.status.name !== 'COMPLETED' || !d.closeTime) return null; // failed or cancelled sessions: their snapshot stays hand-made
  const parsed = CheckpointWorkspaceResult.safeParse(await handle.result());
  if (!parsed.success || parsed.data.snapshotDeleted) return null;
  return { snapshotId: parsed.data.snapshot.id, endedAt: d.closeTime.toISOString() };
}

/**
 * The workspace's checkpoint sessions. Any session that cannot answer now fails the attempt (retried):
 * had it been open, treating its snapshot as unknown would still be safe, but a flaky read should not
 * make an ended one look hand-made for a whole day either.
 */
export async function checkpointSessionsOf(temporal: { client: Client; taskQueue: string }, workspaceId: string): Promise<CheckpointSessionFacts[]> {
  const { client, taskQueue } = temporal;
  const query = `WorkflowType = '${WORKFLOW_TYPES.checkpoint}' AND TaskQueue = '${taskQueue}' AND ${workspaceIdKey.name} = '${workspaceId}'`;
  const runs: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query })) {
    runs.push({ workflowId: w.workflowId, runId: w.runId });
    if (runs.length >= MAX_SESSIONS) break;
  }
  const facts: CheckpointSessionFacts[] = [];
  await mapLimit(runs, 4, async (r) => {
    const f = await sessionFacts(client, r.workflowId, r.runId);
    if (f) facts.push(f);
  });
  return facts;
}

export function createExpiryActivities(env: ActivityEnv) {
  return {
    async selectExpiring(input: SelectExpiringInput): Promise<ExpirySelection> {
      return guarded(async () => {
        const snapshots = await env.rigbox.listSnapshots(input.workspaceId, readOptions());
        // Only snapshots that are neither backups nor safety snapshots can be checkpoints: without any, no session is asked.
        const maybeCheckpoint = snapshots.some(
          (s) =>
            s.workspace_id === input.workspaceId && !isRetentionCandidate(s, input.workspaceId, input.namePrefix) && !s.name.startsWith(SAFETY_SNAPSHOT_PREFIX),
        );
        const temporal = env.deps.temporal;
        const sessions = maybeCheckpoint && temporal ? await checkpointSessionsOf(temporal, input.workspaceId) : [];
        Context.current().heartbeat({ phase: 'selecting expired snapshots', sessions: sessions.length });
        const plan = planExpiry(snapshots, input.workspaceId, { sessions, heldIds: new Set(input.heldIds) }, expiryPolicyOf(input.retention), Date.now());
        const expired = plan.expired.map((x) => x.snapshot);
        return {
          batch: expired.slice(0, input.maxDeletions),
          expiredCount: expired.length,
          expiredBytes: totalBytesOf(expired),
          waitingCount: plan.waiting.length,
          nextDueAt: plan.waiting.find((x) => x.dueAt !== null && !x.keptBecause)?.dueAt ?? null,
        };
      });
    },
  };
}
