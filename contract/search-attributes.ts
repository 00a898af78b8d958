/**
 * The search attributes rigsnap sets and filters on, as typed keys. Both custom ones are Keyword so that
 * `RigboxWorkspaceId="ws_demo"` is an exact match in the Temporal UI; the worker registers them at
 * start-up (worker/temporal.ts) and docker-compose's setup script creates the same two.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

/** The workspace an operation changes (reads and the fleet parent carry none). */
export const workspaceIdKey = defineSearchAttributeKey('RigboxWorkspaceId', SearchAttributeType.KEYWORD);
/** The operation (domain's OPERATIONS): snapshot, restore, backup, lock… */
export const operationKey = defineSearchAttributeKey('RigboxOperation', SearchAttributeType.KEYWORD);
/** Built in: set by the server on runs a schedule started, to the scheduled (not actual) time. */
export const scheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The custom attributes rigsnap registers. */
export const CUSTOM_SEARCH_ATTRIBUTES = [workspaceIdKey, operationKey] as const;

/** Their names, for visibility queries (`${SEARCH_ATTRIBUTES.workspaceId} = "ws_demo"`). */
export const SEARCH_ATTRIBUTES = { workspaceId: workspaceIdKey.name, operation: operationKey.name } as const;
