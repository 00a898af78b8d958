/**
 * The search attributes rigsnap sets and filters on, as typed keys. The workspace and operation are
 * Keyword so that `RigboxWorkspaceId="ws_demo"` is an exact match in the Temporal UI; the labels are a
 * KeywordList. The worker registers them at start-up (worker/temporal.ts) and docker-compose's setup
 * script creates the same ones.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { ENROLLED_MARKER } from '../domain/enrollment.js';

/** The workspace an operation changes (reads and the fleet parent carry none). */
export const workspaceIdKey = defineSearchAttributeKey('RigboxWorkspaceId', SearchAttributeType.KEYWORD);
/** The operation (domain's OPERATIONS): snapshot, restore, backup, lock… */
export const operationKey = defineSearchAttributeKey('RigboxOperation', SearchAttributeType.KEYWORD);
/**
 * Set by the workspace entity while its workspace is enrolled: `enrolled` and each label as `key=value`
 * (domain/enrollment.ts labelsAttribute), so `RigboxLabels = "team=ml"` finds candidates for a selector.
 * Only a candidate: the entity's own state decides (visibility lags).
 */
export const labelsKey = defineSearchAttributeKey('RigboxLabels', SearchAttributeType.KEYWORD_LIST);
/** Built in: set by the server on runs a schedule started, to the scheduled (not actual) time. */
export const scheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The custom attributes rigsnap registers. */
export const CUSTOM_SEARCH_ATTRIBUTES = [workspaceIdKey, operationKey, labelsKey] as const;

/** Their names, for visibility queries (`${SEARCH_ATTRIBUTES.workspaceId} = "ws_demo"`). */
export const SEARCH_ATTRIBUTES = { workspaceId: workspaceIdKey.name, operation: operationKey.name, labels: labelsKey.name } as const;

/**
 * The visibility query for the candidates of a selector: the entities on `taskQueue` that publish the
 * enrolled marker and every `key=value` of the selector (KeywordList `=` means "contains"). Closed runs
 * count too (a terminated entity keeps its state; continued-as-new runs are left out: their successor
 * carries the same). Terms are label-pattern checked (domain/enrollment.ts), so they need no quoting.
 */
export function enrolledCandidatesQuery(selectorTerms: readonly string[], taskQueue: string): string {
  return [
    `${operationKey.name} = "workspace"`,
    `TaskQueue = "${taskQueue}"`,
    `ExecutionStatus != "ContinuedAsNew"`,
    ...[ENROLLED_MARKER, ...selectorTerms].map((t) => `${labelsKey.name} = "${t}"`),
  ].join(' AND ');
}

/**
 * The visibility query for the candidates of `group list`: group entities on `taskQueue`. Terminated and
 * failed runs count (such an entity still holds its group; the next change recovers it); completed runs
 * do not (a group entity completes only when its group is deleted, and a group created again has a run of
 * its own); continued-as-new runs neither (their successor carries the same). Only candidates: each
 * entity's `groupState` query decides.
 */
export function groupCandidatesQuery(taskQueue: string): string {
  return [`${operationKey.name} = "group"`, `TaskQueue = "${taskQueue}"`, `ExecutionStatus != "ContinuedAsNew"`, `ExecutionStatus != "Completed"`].join(
    ' AND ',
  );
}
