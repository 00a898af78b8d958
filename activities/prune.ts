/**
 * Prune in bounded rounds: a selection (list the workspace's snapshots, apply the retention policy with
 * the same pure function as the CLI's dry run, pick the next batch to delete, oldest first), then the
 * deletion of exactly that batch, a few at a time. The workflow knows each batch before it is deleted,
 * so what it reports deleted is exact however often a deletion attempt is retried, and a prune of
 * thousands is a few rounds of history.
 */
import { Context } from '@temporalio/activity';
import { MAX_LISTED_SNAPSHOTS, isRetryable, selectRetention, type KeptSnapshot, type RetentionPolicy, type RigboxSnapshot } from '../domain/index.js';
import { changeOptions, readOptions, type ActivityEnv } from './env.js';
import { guarded, throwIfCancelled } from './failures.js';
import { heartbeating } from './heartbeat.js';
import { RigboxApiError } from './rigbox-client.js';

export interface SelectPruneInput {
  workspaceId: string;
  namePrefix: string;
  retention: RetentionPolicy;
  /** Most snapshots in the batch. */
  maxDeletions: number;
  /** Snapshots an earlier round could not delete (a non-retryable refusal): not selected again. */
  skipIds: string[];
  /** Held snapshots and their keep reasons (`hold: <reason>`): kept whatever the policy. */
  held?: Record<string, string[]>;
  /**
   * Whether to list what the policy would delete (`deletable`): only a dry run shows it. False keeps
   * each round's recorded answer to its batch (a prune of 10,000 recorded 500 listed and 500 batched
   * snapshots in each of 20 rounds: 4 MB of history, more than one gRPC message may carry).
   */
  listDeletable?: boolean;
}

export interface PruneSelection {
  /** What the policy keeps, newest first, at most MAX_LISTED_SNAPSHOTS. */
  kept: KeptSnapshot[];
  keptCount: number;
  ignored: number;
  /** Everything the policy would delete (not counting skipped ones), newest first, at most MAX_LISTED_SNAPSHOTS; empty with `listDeletable: false`. */
  deletable: RigboxSnapshot[];
  deletableCount: number;
  /** Their size_bytes summed (absent from selections recorded before it existed). */
  deletableBytes?: number;
  /** The next batch to delete: the oldest deletable ones, at most maxDeletions. */
  batch: RigboxSnapshot[];
}

export interface PruneFailure {
  snapshotId: string;
  name: string;
  type: string;
  message: string;
}

export function createPruneActivities(env: ActivityEnv) {
  const { rigbox } = env;

  return {
    async selectPrune(input: SelectPruneInput): Promise<PruneSelection> {
      return guarded(async () => {
        const ctx = Context.current();
        const snapshots = await rigbox.listSnapshots(
          input.workspaceId,
          readOptions({ onPage: ctx.info.isLocal ? undefined : (listed) => ctx.heartbeat({ phase: 'listing snapshots', listed }) }),
        );
        const selection = selectRetention(snapshots, input.workspaceId, input.namePrefix, input.retention, input.held);
        const skip = new Set(input.skipIds);
        const deletable = selection.deleted.filter((s) => !skip.has(s.id));
        return {
          kept: selection.kept.slice(0, MAX_LISTED_SNAPSHOTS),
          keptCount: selection.kept.length,
          ignored: selection.ignored,
          deletable: input.listDeletable === false ? [] : deletable.slice(0, MAX_LISTED_SNAPSHOTS),
          deletableCount: deletable.length,
          deletableBytes: deletable.reduce((sum, s) => sum + s.size_bytes, 0),
          // Oldest first: if the prune stops half-way, what is left is the newer half.
          batch: deletable.slice(-input.maxDeletions).reverse(),
        };
      });
    },

    /**
     * Deletes exactly these snapshots, a few at a time. A snapshot already gone counts as deleted (a
     * retried attempt, a lost answer). A refusal for good (other than the token's) is reported, not
     * thrown, so the others still go; a transient error fails the attempt after those in flight settle,
     * and the retry deletes what is left.
     */
    async deleteSnapshots(input: { workspaceId: string; snapshotIds: string[] }): Promise<{ deletedIds: string[]; failures: PruneFailure[] }> {
      return guarded(() =>
        heartbeating<{ deletedIds: string[]; failures: PruneFailure[] }, Record<string, unknown>>(
          { phase: 'deleting', done: 0, of: input.snapshotIds.length },
          env.heartbeatEveryMs,
          async (hb) => {
            const ctx = Context.current();
            const deletedIds: string[] = [];
            const failures: PruneFailure[] = [];
            let stop: RigboxApiError | undefined;
            let next = 0;
            const worker = async () => {
              while (next < input.snapshotIds.length && stop === undefined && !ctx.cancellationSignal.aborted) {
                const snapshotId = input.snapshotIds[next++]!;
                try {
                  await rigbox.deleteSnapshot(input.workspaceId, snapshotId, changeOptions());
                  deletedIds.push(snapshotId);
                } catch (err) {
                  // Cancelled while it waited for its turn under the quota: never sent, neither deleted nor failed.
                  if (ctx.cancellationSignal.aborted && !(err instanceof RigboxApiError)) break;
                  if (err instanceof RigboxApiError && err.type === 'NotFound') deletedIds.push(snapshotId);
                  // A refused token refuses every other deletion; a transient error gets the attempt retried.
                  else if (err instanceof RigboxApiError && (err.type === 'Unauthorized' || isRetryable(err.type))) stop = err;
                  else {
                    failures.push({
                      snapshotId,
                      name: '',
                      type: err instanceof RigboxApiError ? err.type : 'Error',
                      message: err instanceof Error ? err.message : String(err),
                    });
                  }
                }
                if ((deletedIds.length + failures.length) % 20 === 0)
                  hb.update({ phase: 'deleting', done: deletedIds.length, failed: failures.length, of: input.snapshotIds.length });
              }
            };
            // Deletions in flight are never abandoned: a cancellation stops new ones and waits for these.
            await Promise.all(Array.from({ length: Math.min(env.pruneConcurrency, input.snapshotIds.length) }, worker));
            if (stop !== undefined) throw stop;
            throwIfCancelled(deletedIds.length ? { message: `cancelled; ${deletedIds.length} deletions finished first`, details: { deletedIds } } : undefined);
            return { deletedIds, failures };
          },
        ),
      );
    },
  };
}
