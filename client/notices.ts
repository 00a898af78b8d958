/**
 * `snooze` and `skip` from outside: find the workspace's pending stop (a backup, or a snapshot asked for
 * with `--notice`, waiting out its notice) and send it the update. Visibility only FINDS candidates
 * (running backups and snapshots of the workspace); each is CONFIRMED by the update itself, whose
 * validator refuses a run that is not waiting out a notice. With none pending the call is refused with a
 * clear message: a snooze or skip never waits around for, or silently applies to, a later run (a person
 * who says "not now" should see at once that nothing was pending).
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, skipUpdate, snoozeUpdate } from '../contract/index.js';
import { WorkspaceId, type NoticeView, type Operation } from '../domain/index.js';
import type { TemporalContext } from './context.js';
import { RigsnapError, validateField } from './errors.js';
import { checkReason, checkSnooze, defaultRequester } from './notice-options.js';

/** Running backups and snapshots looked at: a workspace has one pending stop at a time, rarely a few (a trigger beside a run). */
const MAX_CANDIDATES = 20;

export interface PendingStopChange {
  workflowId: string;
  runId: string;
  url: string;
  /** The pending stop after the change (phase `skipped` when it ended the run). */
  notice: NoticeView;
}

/** The operations that may announce their stop: what snooze and skip look among. */
const ANNOUNCING: readonly Operation[] = ['backup', 'snapshot'];

/** The running backups and snapshots of a workspace on this task queue (visibility: may lag a second behind a start). */
async function candidates(ctx: TemporalContext, workspaceId: string): Promise<Array<{ workflowId: string; runId: string }>> {
  const operations = ANNOUNCING.map((op) => `${SEARCH_ATTRIBUTES.operation} = "${op}"`).join(' OR ');
  const query =
    `TaskQueue = "${ctx.taskQueue}" AND ${SEARCH_ATTRIBUTES.workspaceId} = "${workspaceId}" AND ` + `(${operations}) AND ExecutionStatus = "Running"`;
  const out: Array<{ workflowId: string; runId: string }> = [];
  await ctx.call({}, async () => {
    for await (const w of ctx.client.workflow.list({ query, pageSize: MAX_CANDIDATES })) {
      out.push({ workflowId: w.workflowId, runId: w.runId });
      if (out.length >= MAX_CANDIDATES) break;
    }
  });
  return out;
}

/** Sends snooze or skip to the first candidate that accepts it; refuses, naming why each did not, when none does. */
export async function changePendingStop(
  ctx: TemporalContext,
  workspaceIdRaw: string,
  change: { kind: 'snooze'; for: string; by?: string } | { kind: 'skip'; reason?: string; by?: string },
): Promise<PendingStopChange> {
  const workspaceId = validateField('workspaceId', WorkspaceId, workspaceIdRaw);
  if (change.kind === 'snooze') checkSnooze(change.for);
  else checkReason(change.reason);
  const by = change.by ?? defaultRequester();
  const refusals: string[] = [];
  for (const c of await candidates(ctx, workspaceId)) {
    const handle = ctx.client.workflow.getHandle(c.workflowId, c.runId);
    try {
      const notice =
        change.kind === 'snooze'
          ? await handle.executeUpdate(snoozeUpdate, { args: [{ for: change.for, by }] })
          : await handle.executeUpdate(skipUpdate, { args: [{ by, ...(change.reason !== undefined ? { reason: change.reason } : {}) }] });
      return { ...c, url: ctx.workflowUrl(c.workflowId, c.runId), notice };
    } catch (err) {
      // The validator's refusal (not waiting out a notice, past the cap), or a run that ended since the list.
      const why = err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : undefined;
      if (why === undefined && !/completed|not found/i.test(String((err as Error)?.message))) throw ctx.error(err, c);
      refusals.push(`${c.workflowId}: ${why ?? 'ended meanwhile'}`);
      // A refusal for a reason other than "not pending" (the cap, a bad duration) is the answer: say it.
      if (why && !/announces no stop|no longer waiting/.test(why))
        throw new RigsnapError({ type: 'Rejected', message: why, ...c, advice: 'nothing was changed' });
    }
  }
  throw new RigsnapError({
    type: 'Rejected',
    message:
      `no backup or snapshot of ${workspaceId} is waiting out a stop notice, so there is nothing to ${change.kind}` +
      (refusals.length ? ` (${refusals.join('; ')})` : ' (no backup or snapshot of it is running)'),
    advice:
      `${change.kind} acts only on a run that has announced its stop (a schedule with --notice, or \`rigsnap snapshot --notice\`); ` +
      `it does not carry over to a later run. \`rigsnap runs ${workspaceId}\` lists its runs`,
  });
}
