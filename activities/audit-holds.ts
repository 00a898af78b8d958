/**
 * The audit's tamper check (issue 20, item 3): reads the holds and baseline of every workspace entity
 * before the audit lists Rigbox, judges after it (domain/tamper.ts decides), and tells each entity which
 * of its guarded snapshots it found, so a later deletion can say when the snapshot was last seen.
 *
 * Visibility only finds the entities to read (a just-started one may be missed until the next audit);
 * every judgement rests on the entities' own query answers.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { heldSnapshotsSeenSignal, operationKey, workspaceHoldsQuery, workspaceIdKey } from '../contract/index.js';
import { workflowIds } from '../domain/index.js';
import type { HoldsView } from '../domain/holds.js';
import { guardedSnapshots, missingHeldSnapshots, sightings, type TamperedWorkspace } from '../domain/tamper.js';
import type { RigboxSnapshot } from '../domain/rigbox.js';
import { mapLimit } from './workspace-existence.js';

/** Entities read at once: enough to be quick, few enough not to crowd the frontend. */
const QUERY_CONCURRENCY = 8;

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

/** The workspaces with an entity on this task queue: running, or terminated and not yet recovered (their state is in the closed run). */
async function entityWorkspaces(temporal: TemporalDeps): Promise<string[]> {
  const ids = new Set<string>();
  const query =
    `${operationKey.name} = 'workspace' AND TaskQueue = '${temporal.taskQueue}' ` + `AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'Terminated')`;
  for await (const w of temporal.client.workflow.list({ query })) {
    const id = w.typedSearchAttributes.get(workspaceIdKey);
    if (id) ids.add(id);
  }
  return [...ids];
}

/** The entity's holds view (the latest run's; a closed run answers by replay), or null if it never ran. */
async function readView(client: Client, workspaceId: string): Promise<HoldsView | null> {
  try {
    return await client.workflow.getHandle(workflowIds.workspace(workspaceId)).query(workspaceHoldsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Before the listing: the views of every entity (and of the workspaces named) that guard anything. */
export async function readGuardedViews(temporal: TemporalDeps, alsoWorkspaces: string[], progress: (what: string) => void): Promise<Map<string, HoldsView>> {
  const ids = [...new Set([...(await entityWorkspaces(temporal)), ...alsoWorkspaces])].sort();
  const at = new Date().toISOString();
  const views = new Map<string, HoldsView>();
  let done = 0;
  await mapLimit(ids, QUERY_CONCURRENCY, async (id) => {
    const view = await readView(temporal.client, id);
    if (view && guardedSnapshots(view, at).size > 0) views.set(id, view);
    progress(`read the holds of ${++done} of ${ids.length} workspaces`);
  });
  return views;
}

/**
 * After the listing: the tampered workspaces (each missing snapshot confirmed by a second read of its
 * entity), and a sighting sent to each entity for the guarded snapshots found. A sighting that cannot
 * be delivered (the entity was terminated) is let go: it only sharpens a later "last seen".
 */
export async function judgeGuardedViews(
  temporal: TemporalDeps,
  before: Map<string, HoldsView>,
  listed: RigboxSnapshot[],
  progress: (what: string) => void,
): Promise<{ tampered: TamperedWorkspace[]; heldChecked: string[] }> {
  const names = new Map(listed.map((s) => [s.id, s.name]));
  const present = new Set(names.keys());
  const at = new Date().toISOString();
  const tampered: TamperedWorkspace[] = [];
  await mapLimit([...before.entries()], QUERY_CONCURRENCY, async ([workspaceId, view]) => {
    const seen = sightings(view, names, at);
    if (seen.length > 0) {
      await temporal.client.workflow
        .getHandle(workflowIds.workspace(workspaceId))
        .signal(heldSnapshotsSeenSignal, { seen })
        .catch(() => undefined);
    }
    if (seen.length === guardedSnapshots(view, at).size) return;
    const missing = missingHeldSnapshots(view, present, await readView(temporal.client, workspaceId), at);
    if (missing.length > 0) tampered.push({ workspaceId, missing });
  });
  progress(`${tampered.length} workspaces with held snapshots missing`);
  return { tampered: tampered.sort((a, b) => a.workspaceId.localeCompare(b.workspaceId)), heldChecked: [...before.keys()].sort() };
}
