import { z } from 'zod';
import { ERROR_ADVICE, isErrorType, parseInput, type ErrorType } from '../domain/index.js';

/*
 * Errors as data, with no Temporal SDK import: the CLI loads this (and validates input) without paying
 * for @temporalio/client, which it loads only once it has something to send.
 */

/**
 * Failure types the client adds to the domain's table (domain/errors.ts): things that happen to a
 * workflow or a schedule rather than inside an activity.
 */
export const CLIENT_ERROR_ADVICE = {
  Cancelled: 'the operation was cancelled; start it again if it is still needed',
  Terminated: 'the operation was terminated by an operator; check the workspace and start it again if needed',
  WorkflowTimedOut: 'the workflow hit its execution timeout; check that rigsnap workers are running',
  Rejected: 'the workflow refused the request in its current state; check it with `rigsnap status <workflow-id>`',
  WorkflowNotFound: 'check the workflow id (it is printed when an operation starts; `rigsnap status <id>` shows one)',
  ScheduleNotFound: 'check the id with `rigsnap schedule list`',
  NotConfigured:
    'the Temporal namespace lacks the RigboxWorkspaceId/RigboxOperation search attributes: start a rigsnap worker once (it registers them)',
  Unknown: 'see the workflow in the Temporal UI for details',
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
  /** The failure's details, when the workflow gave some (a PartialFailure carries the fleet summary). */
  readonly details: unknown[];

  constructor(init: RigsnapErrorInit) {
    super(init.message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.type = init.type;
    this.workflowId = init.workflowId;
    this.runId = init.runId;
    this.scheduleId = init.scheduleId;
    this.fields = init.fields ?? [];
    this.details = init.details ?? [];
  }

  /** What the user should do about it. */
  get advice(): string {
    return adviceFor(this.type);
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
    };
  }
}

export function adviceFor(type: string): string {
  if (isErrorType(type)) return ERROR_ADVICE[type];
  if (Object.hasOwn(CLIENT_ERROR_ADVICE, type)) return CLIENT_ERROR_ADVICE[type as ClientErrorType];
  return CLIENT_ERROR_ADVICE.Unknown;
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
      `cannot reach Temporal at ${address} (${reason}); start a server (\`rigsnap dev\`) or set TEMPORAL_ADDRESS / --address`,
    );
  }
}

/** A configuration the client cannot use (a malformed temporal.toml, a bad task queue name). */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}
