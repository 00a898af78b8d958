/**
 * A workflow's input validated once, as a local activity whose result history keeps (issue 18.5). The
 * workflow then replays with the value validated when it started, not with today's schemas and defaults:
 * a schema tightened or a default changed later (a fleet's `concurrency`) cannot break a running
 * checkpoint. Bad input still fails at once, non-retryable, naming the fields, before any call to Rigbox.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { INPUT_SCHEMAS, parseInput } from '../domain/index.js';

export type InputWorkflowType = keyof typeof INPUT_SCHEMAS;

export interface CheckInputInput {
  workflowType: InputWorkflowType;
  input: unknown;
}

/**
 * The validated input as history keeps it: the top-level fields whose validated value differs from the
 * given one (defaults filled in, values normalised), and the names of those that are exactly as given,
 * which the workflow takes from its own input (already in history): a fleet's 10,000 ids are not
 * recorded twice.
 */
export interface CheckedInput {
  value: Record<string, unknown>;
  asGiven: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Splits the validated input into what changed and what is as given (compared as JSON). */
export function recordable(raw: unknown, parsed: unknown): CheckedInput {
  if (!isRecord(parsed)) return { value: { value: parsed }, asGiven: [] };
  const given = isRecord(raw) ? raw : {};
  const value: Record<string, unknown> = {};
  const asGiven: string[] = [];
  for (const [k, v] of Object.entries(parsed)) {
    if (Object.hasOwn(given, k) && JSON.stringify(given[k]) === JSON.stringify(v)) asGiven.push(k);
    else value[k] = v;
  }
  return { value, asGiven };
}

/** Parses the input with its workflow's schema: the value with defaults, or InvalidInput naming the fields. */
export function checkInput(req: CheckInputInput): CheckedInput {
  const schema = INPUT_SCHEMAS[req.workflowType] as (typeof INPUT_SCHEMAS)[InputWorkflowType] | undefined;
  if (!schema) throw ApplicationFailure.create({ type: 'InvalidInput', message: `no input schema for workflow type ${req.workflowType}`, nonRetryable: true });
  const r = parseInput(schema, req.input);
  if (!r.ok) {
    throw ApplicationFailure.create({ type: 'InvalidInput', message: `invalid input: ${r.message}`, nonRetryable: true, details: [{ fields: r.fields }] });
  }
  return recordable(req.input, r.value);
}

export function createInputActivities() {
  return {
    checkInput: async (req: CheckInputInput): Promise<CheckedInput> => checkInput(req),
  };
}
