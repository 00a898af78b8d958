/**
 * One round of a prune: list the workspace's snapshots, select what the retention policy keeps (the
 * same pure function as the CLI's dry run) and delete up to a bounded number of the rest, oldest first,
 * a few at a time. A prune of thousands is a few rounds, so its history stays small; a retried round
 * lists again, so whatever an earlier attempt deleted is simply gone from the selection.
 */
import { Context } from '@temporalio/activity';
import {
  MAX_LISTED_SNAPSHOTS,
  isRetryable,
  newestFirst,
  selectRetention,
  type KeptSnapshot,
  type RetentionPolicy,
  type RigboxSnapshot,
} from '../domain/index.js';
import { changeOptions, readOptions, type ActivityEnv } from './env.js';
import { guarded, throwIfCancelled } from './failures.js';
import { heartbeating } from './heartbeat.js';
import { RigboxApiError } from './rigbox-client.js';

export interface PruneRoundInput {
  workspaceId: string;
  namePrefix: string;
  retention: RetentionPolicy;
  dryRun: boolean;
  /** Most deletions in this round. */
  maxDeletions: number;
  /** Snapshots an earlier round could not delete (a non-retryable refusal): not tried again. */
  skipIds: string[];
}

export interface PruneFailure {
  snapshotId: string;
  name: string;
  type: string;
  message: string;
}

export interface PruneRoundResult {
  /** What the policy keeps, newest first, at most MAX_LISTED_SNAPSHOTS. */
  kept: KeptSnapshot[];
  keptCount: number;
  ignored: number;
  /** Deleted in this round (or, in a dry run, what would be), newest first, at most MAX_LISTED_SNAPSHOTS. */
  deleted: RigboxSnapshot[];
  deletedCount: number;
  /** Refused for good in this round; listed in the workflow's failure. */
  failures: PruneFailure[];
  /** Candidates still selected for deletion after this round (not counting skipped ones). */
  remaining: number;
}

export function createPruneActivities(env: ActivityEnv) {
  const { rigbox } = env;

  return {
    async pruneRound(input: PruneRoundInput): Promise<PruneRoundResult> {
      return guarded(() =>
        heartbeating<PruneRoundResult, Record<string, unknown>>({ phase: 'listing snapshots' }, env.heartbeatEveryMs, async (hb) => {
          const ctx = Context.current();
          const snapshots = await rigbox.listSnapshots(
            input.workspaceId,
            readOptions({ onPage: (n) => hb.update({ phase: 'listing snapshots', listed: n }) }),
          );
          const selection = selectRetention(snapshots, input.workspaceId, input.namePrefix, input.retention);
          const base = {
            kept: selection.kept.slice(0, MAX_LISTED_SNAPSHOTS),
            keptCount: selection.kept.length,
            ignored: selection.ignored,
          };
          if (input.dryRun) {
            return {
              ...base,
              deleted: selection.deleted.slice(0, MAX_LISTED_SNAPSHOTS),
              deletedCount: selection.deleted.length,
              failures: [],
              remaining: 0,
            };
          }
          const skip = new Set(input.skipIds);
          // Oldest first: if the prune stops half-way, what is left is the newer half.
          const candidates = [...selection.deleted].reverse().filter((s) => !skip.has(s.id));
          const batch = candidates.slice(0, input.maxDeletions);
          const deleted: RigboxSnapshot[] = [];
          const failures: PruneFailure[] = [];
          let transient: RigboxApiError | undefined;
          let fatal: RigboxApiError | undefined;
          let next = 0;
          const report = () => hb.update({ phase: 'deleting', deleted: deleted.length, failed: failures.length, of: batch.length, candidates: candidates.length });

          const worker = async () => {
            while (next < batch.length && transient === undefined && fatal === undefined && !ctx.cancellationSignal.aborted) {
              const snapshot = batch[next++]!;
              try {
                await rigbox.deleteSnapshot(input.workspaceId, snapshot.id, changeOptions());
                deleted.push(snapshot);
              } catch (err) {
                if (err instanceof RigboxApiError && err.type === 'NotFound') {
                  deleted.push(snapshot); // gone already (a lost answer of an earlier attempt): deleted all the same
                } else if (err instanceof RigboxApiError && err.type === 'Unauthorized') {
                  fatal = err; // every other deletion would be refused the same way
                } else if (err instanceof RigboxApiError && isRetryable(err.type)) {
                  transient = err; // the round is retried; it lists again and goes on where this one stopped
                } else {
                  failures.push({
                    snapshotId: snapshot.id,
                    name: snapshot.name,
                    type: err instanceof RigboxApiError ? err.type : 'Error',
                    message: err instanceof Error ? err.message : String(err),
                  });
                }
              }
              report();
            }
          };
          report();
          // Deletions in flight are never abandoned: a cancellation stops new ones and waits for these.
          await Promise.all(Array.from({ length: Math.min(env.pruneConcurrency, batch.length) }, worker));
          if (fatal !== undefined) throw fatal;
          if (transient !== undefined) throw transient;
          throwIfCancelled();
          return {
            ...base,
            deleted: deleted.sort(newestFirst).slice(0, MAX_LISTED_SNAPSHOTS),
            deletedCount: deleted.length,
            failures,
            remaining: candidates.length - deleted.length - failures.length,
          };
        }),
      );
    },
  };
}
