/**
 * Holds and the baseline from outside (another service, the CLI): updates to the workspace entity by
 * Update-with-Start (client/entity.ts: the entity starts if it never ran, and a terminated one is
 * recovered from its closed run's state first, as the operations do), and its `workspaceHolds` query.
 * The rules: domain/holds.ts.
 */
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { holdSnapshotUpdate, operationKey, setBaselineUpdate, unholdSnapshotUpdate, workspaceHoldsQuery, workspaceIdKey } from '../contract/index.js';
import { SnapshotId, WorkspaceId, parseDuration, workflowIds } from '../domain/index.js';
import { emptyEntityState } from '../domain/workspace-entity.js';
import { holdsView, type BaselineAnswer, type Hold, type HoldsView, type UnholdAnswer } from '../domain/holds.js';
import type { TemporalContext } from './context.js';
import { onEntity } from './entity.js';
import { RigsnapError, invalidInput, validateField } from './errors.js';

export interface HoldOptions {
  reason: string;
  /** An ISO date, or a duration from now (`2h`, `7d`). Omitted: until unheld. */
  until?: string;
  /** Who holds it; default the client's identity. */
  by?: string;
}

/** `until` as an ISO time: an ISO date as given, or now + a duration. */
export function untilOf(until: string | undefined, now = Date.now()): string | null {
  if (until === undefined) return null;
  const ms = parseDuration(until);
  if (ms !== undefined) return new Date(now + ms).toISOString();
  const t = Date.parse(until);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(until))
    throw invalidInput(`until: must be an ISO date (2026-12-24 or 2026-12-24T18:00:00Z) or a duration (2h, 7d), not "${until}"`, ['until']);
  if (t <= now) throw invalidInput(`until: ${until} has already passed`, ['until']);
  return new Date(t).toISOString();
}

/** Holds a snapshot: prune keeps it, delete refuses it (type `Held`) until it is unheld, expires or a delete is forced. */
export async function holdSnapshot(ctx: TemporalContext, workspaceId: string, snapshotId: string, options: HoldOptions): Promise<Hold> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const snap = validateField('snapshotId', SnapshotId, snapshotId);
  const reason = validateField('reason', z.string().trim().min(1, { error: 'must say why' }).max(500), options.reason);
  const request = { snapshotId: snap, reason, by: options.by ?? ctx.client.options.identity ?? 'unknown', until: untilOf(options.until) };
  const answer = await onEntity(ctx, ws, (start) =>
    ctx.client.workflow.executeUpdateWithStart(holdSnapshotUpdate, { args: [request], startWorkflowOperation: start }),
  );
  if (answer.status === 'refused')
    throw new RigsnapError({ type: 'Rejected', message: `${snap} of ${ws} was not held: ${answer.reason}`, workflowId: workflowIds.workspace(ws) });
  return answer.hold;
}

/** Ends the manual hold of a snapshot; the answer lists holds that remain (a checkpoint's, the baseline's). */
export async function unholdSnapshot(ctx: TemporalContext, workspaceId: string, snapshotId: string, by?: string, owner?: string): Promise<UnholdAnswer> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const snap = validateField('snapshotId', SnapshotId, snapshotId);
  // A manual hold placed on someone's behalf (a group schedule's, owner `group-schedule:<group>`) is ended by naming its owner.
  const request = { snapshotId: snap, by: by ?? ctx.client.options.identity ?? 'unknown', ...(owner ? { kind: 'manual' as const, owner } : {}) };
  return onEntity(ctx, ws, (start) => ctx.client.workflow.executeUpdateWithStart(unholdSnapshotUpdate, { args: [request], startWorkflowOperation: start }));
}

/** Sets the team baseline of a workspace (and holds it; the previous baseline's hold ends). */
export async function setBaseline(ctx: TemporalContext, workspaceId: string, snapshotId: string, by?: string): Promise<BaselineAnswer> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const snap = validateField('snapshotId', SnapshotId, snapshotId);
  const request = { snapshotId: snap, by: by ?? ctx.client.options.identity ?? 'unknown' };
  const answer = await onEntity(ctx, ws, (start) =>
    ctx.client.workflow.executeUpdateWithStart(setBaselineUpdate, { args: [request], startWorkflowOperation: start }),
  );
  if (answer.status === 'refused')
    throw new RigsnapError({
      type: 'Rejected',
      message: `${snap} was not made the baseline of ${ws}: ${answer.reason}`,
      workflowId: workflowIds.workspace(ws),
    });
  return answer;
}

/** The holds, overrides and baseline of a workspace; empty when its entity never ran. Read from a closed entity too. */
export async function holdsOf(ctx: TemporalContext, workspaceId: string): Promise<HoldsView> {
  const ws = validateField('workspaceId', WorkspaceId, workspaceId);
  const handle: WorkflowHandle = ctx.client.workflow.getHandle(workflowIds.workspace(ws));
  try {
    return await handle.query(workspaceHoldsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      const empty = emptyEntityState(ws);
      return holdsView(ws, empty.holds, empty.baseline, new Date().toISOString());
    }
    throw ctx.error(err, { workflowId: workflowIds.workspace(ws) });
  }
}

/** The workspaces that have an entity (from visibility: for showing, never for deciding). */
export async function workspacesWithEntities(ctx: TemporalContext): Promise<string[]> {
  const ids = new Set<string>();
  const query = `${operationKey.name}="workspace" AND ExecutionStatus="Running"`;
  for await (const w of ctx.client.workflow.list({ query })) {
    const ws = w.searchAttributes?.[workspaceIdKey.name];
    const id = Array.isArray(ws) ? ws[0] : undefined;
    if (typeof id === 'string') ids.add(id);
  }
  return [...ids].sort();
}
