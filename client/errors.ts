import { z } from 'zod';
import {
  BackupFleetResult,
  RestoreGroupResult,
  SnapshotGroupResult,
  ERROR_ADVICE,
  cancelledAfterChangeAdvice,
  hasLanded,
  isErrorType,
  parseInput,
  type ChangesLanded,
  type ErrorType,
} from '../domain/index.js';

/*
 * Errors as data, with no Temporal SDK import: the CLI loads this (and validates input) without paying
 * for @temporalio/client, which it loads only once it has something to send.
 */

/**
 * Failure types the client adds to the domain's table (domain/errors.ts): things that happen to a
 * workflow, a schedule or the connection rather than inside an activity. Each advice names a next step
 * that works; `adviceFor` makes it precise with what is known (the workflow id, the message).
 */
export const CLIENT_ERROR_ADVICE = {
  Cancelled:
    'the operation was cancelled before any change of it landed in Rigbox (one that had landed ends CancelledAfterChange instead), ' +
    'and its workspace was left as it began; start it again if it is still needed',
  Terminated: 'the operation was terminated by an operator; check the workspace and start it again if needed',
  WorkflowTimedOut: 'the workflow hit its execution timeout; check that rigsnap workers are running (`npm start` locally)',
  Rejected: 'the workflow refused the request in its current state; see that state with `rigsnap status <workflow-id>`',
  WorkflowNotFound: 'check the workflow id: an operation prints it first (after →); `rigsnap runs [workspace]` lists recent operations with their ids',
  ScheduleNotFound: 'check the id: `rigsnap schedule list` lists the schedules; `rigsnap schedule create <workspace>` makes one',
  ScheduleExists: 'change the schedule with `rigsnap schedule update <schedule> [options]` (only what you give changes), or delete it first',
  NamespaceNotFound:
    'set TEMPORAL_NAMESPACE (or --namespace) to a namespace that exists (`temporal operator namespace list`), or create it (`temporal operator namespace create --namespace <name>`)',
  NotConfigured: 'the Temporal namespace lacks the RigboxWorkspaceId/RigboxOperation search attributes: start a rigsnap worker once (it registers them)',
  Unknown: 'an unexpected error; the message above says what Temporal answered',
} as const;
export type ClientErrorType = keyof typeof CLIENT_ERROR_ADVICE;

/** A domain error type (NotFound, Timeout…), a client one (Cancelled, WorkflowNotFound…), or whatever a workflow raised. */
export type RigsnapErrorType = ErrorType | ClientErrorType | (string & {});

export interface RigsnapErrorInit {
  type: RigsnapErrorType;
  message: string;
  workflowId?: string;
  runId?: string;
  scheduleId?: string;
  /** For InvalidInput: the offending fields ("workspaceId", "retention.keepLast"). */
  fields?: string[];
  /** What to do, when the thrower knows better than the type's general advice. */
  advice?: string;
  /** The failure's details (a fleet's PartialFailure carries its summary in details[0]). */
  details?: unknown[];
  cause?: unknown;
}

/**
 * Every failure the client reports: the type of the outermost ApplicationFailure (what the workflow
 * decided the failure is), its message, and where to look.
 */
export class RigsnapError extends Error {
  override readonly name = 'RigsnapError';
  readonly type: RigsnapErrorType;
  readonly workflowId: string | undefined;
  readonly runId: string | undefined;
  readonly scheduleId: string | undefined;
  readonly fields: string[];
  readonly details: unknown[];
  private readonly explicitAdvice: string | undefined;

  constructor(init: RigsnapErrorInit) {
    super(init.message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.type = init.type;
    this.workflowId = init.workflowId;
    this.runId = init.runId;
    this.scheduleId = init.scheduleId;
    this.fields = init.fields ?? [];
    this.explicitAdvice = init.advice;
    this.details = init.details ?? [];
  }

  /** What the user should do about it. */
  get advice(): string {
    return (
      this.explicitAdvice ?? adviceFor(this.type, { message: this.message, workflowId: this.workflowId, scheduleId: this.scheduleId, details: this.details })
    );
  }

  /** For CancelledAfterChange: what landed in Rigbox before the cancel (the snapshot made, the safety snapshot…). */
  get landed(): ChangesLanded | null {
    return this.type === 'CancelledAfterChange' ? landedOf(this.details) : null;
  }

  toJSON() {
    return {
      type: this.type,
      message: this.message,
      advice: this.advice,
      ...(this.workflowId ? { workflowId: this.workflowId } : {}),
      ...(this.runId ? { runId: this.runId } : {}),
      ...(this.scheduleId ? { scheduleId: this.scheduleId } : {}),
      ...(this.fields.length ? { fields: this.fields } : {}),
      ...(this.landed ? { landed: this.landed } : {}),
    };
  }
}

/** A CancelledAfterChange failure's record (details[0]), checked for the fields the advice uses; else null. */
export function landedOf(details: unknown[] | undefined): ChangesLanded | null {
  const d = details?.[0] as Partial<ChangesLanded> | undefined;
  if (!d || typeof d !== 'object' || typeof d.workspaceId !== 'string') return null;
  const idOk = (s: unknown) => s === undefined || (typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string');
  if (!idOk(d.snapshot) || !idOk(d.safetySnapshot)) return null;
  return hasLanded(d as ChangesLanded) ? (d as ChangesLanded) : null;
}

/** What is known about a failure, to make its advice precise. */
export interface AdviceContext {
  message?: string;
  workflowId?: string | undefined;
  scheduleId?: string | undefined;
  /** The failure's details (CancelledAfterChange: what landed). */
  details?: unknown[] | undefined;
}

export function adviceFor(type: string, ctx: AdviceContext = {}): string {
  const message = ctx.message ?? '';
  if (type === 'NotFound') {
    // Nothing lists workspaces (Rigbox's API has no such call): say which id is wrong and how to check it.
    const foreign = /snapshot (snap_[\w-]+) belongs to workspace (ws_[\w-]+), not (ws_[\w-]+)/.exec(message);
    if (foreign) return `restore it into ${foreign[2]}, or pick one of ${foreign[3]}'s own: \`rigsnap list ${foreign[3]}\` lists them`;
    const snapshot = /snapshot (snap_[\w-]+) does not exist in workspace (ws_[\w-]+)/.exec(message);
    if (snapshot) return `check the snapshot id: \`rigsnap list ${snapshot[2]}\` lists the snapshots of ${snapshot[2]} with their ids`;
    const workspace = /workspace (ws_[\w-]+) does not exist/.exec(message);
    if (workspace) {
      return `check the workspace id ${workspace[1]} as Rigbox shows it (e.g. ws_demo); \`rigsnap list\` shows the workspaces that have snapshots`;
    }
  }
  if (type === 'CancelledAfterChange') {
    const landed = landedOf(ctx.details);
    if (landed) return cancelledAfterChangeAdvice(landed);
  }
  if (type === 'Rejected' && ctx.workflowId) return `see the workflow's state with \`rigsnap status ${ctx.workflowId}\``;
  if (type === 'ScheduleExists' && ctx.scheduleId) {
    return `change it with \`rigsnap schedule update ${ctx.scheduleId} [options]\` (only what you give changes), or \`rigsnap schedule delete ${ctx.scheduleId}\` first`;
  }
  if (type === 'Unknown' && ctx.workflowId) return `see the workflow with \`rigsnap status ${ctx.workflowId}\`, or in the Temporal UI`;
  if (isErrorType(type)) return ERROR_ADVICE[type];
  if (Object.hasOwn(CLIENT_ERROR_ADVICE, type)) return CLIENT_ERROR_ADVICE[type as ClientErrorType];
  return ctx.workflowId ? `see the workflow with \`rigsnap status ${ctx.workflowId}\`` : CLIENT_ERROR_ADVICE.Unknown;
}

export function invalidInput(message: string, fields: string[]): RigsnapError {
  return new RigsnapError({ type: 'InvalidInput', message: `invalid input: ${message}`, fields });
}

/** Parses with a domain schema; a failure is RigsnapError InvalidInput naming every offending field. */
export function validate<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = parseInput(schema, raw);
  if (!r.ok) throw invalidInput(r.message, r.fields);
  return r.value;
}

/** Validates one value under its own name, so the message says "requestKey: …", not "input: …". */
export function validateField<S extends z.ZodType>(field: string, schema: S, value: unknown): z.output<S> {
  const r = parseInput(z.object({ [field]: schema }), { [field]: value });
  if (!r.ok) throw invalidInput(r.message, r.fields);
  return (r.value as Record<string, z.output<S>>)[field]!;
}

/** Temporal could not be reached at `address`: nothing was started. */
export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `cannot reach Temporal at ${address} (${reason}); start the local stack with \`npm start\` in the rigsnap checkout, ` +
        'or point TEMPORAL_ADDRESS (or --address) at your Temporal server',
    );
  }
}

/** A configuration the client cannot use (a malformed temporal.toml, a bad task queue name). */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}

/**
 * A fleet with failed workspaces fails (so alerts see it) with type PartialFailure and its summary as
 * details[0]: that summary, or null when the failure is another one. Here, beside RigsnapError, not in
 * operations.ts: the CLI reads a fleet's failure without loading the Temporal client.
 */
/**
 * The result a group snapshot's PartialFailure (or its CancelledAfterChange) carries in details[0]: each
 * member's outcome and status; null for any other failure. Its steps are not carried (the progress has them).
 */
export function groupSnapshotOf(err: unknown): SnapshotGroupResult | null {
  if (!(err instanceof RigsnapError) || (err.type !== 'PartialFailure' && err.type !== 'CancelledAfterChange')) return null;
  const parsed = SnapshotGroupResult.omit({ steps: true }).safeParse(err.details[0]);
  return parsed.success ? { ...parsed.data, steps: [] } : null;
}

export function fleetSummaryOf(err: unknown): BackupFleetResult | null {
  if (!(err instanceof RigsnapError) || err.type !== 'PartialFailure') return null;
  const parsed = BackupFleetResult.safeParse(err.details[0]);
  return parsed.success ? parsed.data : null;
}

/**
 * A group restore that did not restore every member fails (RolledBack, PartialFailure, or
 * CancelledAfterChange) with each member's state as details[0]: that state, or null for another failure.
 */
export function groupRestoreOf(err: unknown): Omit<RestoreGroupResult, 'steps'> | null {
  if (!(err instanceof RigsnapError) || !['RolledBack', 'PartialFailure', 'CancelledAfterChange'].includes(err.type)) return null;
  const parsed = RestoreGroupResult.omit({ steps: true }).safeParse(err.details[0]);
  return parsed.success ? parsed.data : null;
}
