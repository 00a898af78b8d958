/**
 * How activities report failures: Rigbox errors become ApplicationFailures typed from the closed table in
 * domain/errors.ts (so the retry policy reads `type` and `nonRetryable`), cancellation is reported as
 * such, and compensation turns every failure retryable.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { isRetryable, type ErrorType } from '../domain/index.js';
import { RigboxApiError } from './rigbox-client.js';

function safeContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Turns a RigboxApiError into the ApplicationFailure the retry policy understands; passes others on. */
export function toFailure(err: unknown): unknown {
  if (err instanceof CancelledFailure) return err;
  const ctx = safeContext();
  if (ctx?.cancellationSignal.aborted) {
    const reason: unknown = ctx.cancellationSignal.reason;
    return reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
  }
  if (err instanceof RigboxApiError) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: !isRetryable(err.type),
      nextRetryDelay: err.retryAfterMs,
      details: err.status !== undefined ? [{ status: err.status }] : undefined,
    });
  }
  return err;
}

export function failure(type: ErrorType, message: string, nonRetryable = !isRetryable(type)): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable });
}

/** Conditions no retry can change: they end even compensation (see README, "What makes them safe"). */
const TERMINAL_TYPES: ReadonlySet<string> = new Set<ErrorType>(['WorkspaceGone']);

/**
 * For compensation: the same failure, but retryable whatever its type. Starting a workspace that
 * rigsnap stopped is never given up (a revoked token gets fixed, a maintenance page ends); the retry
 * policy's backoff paces it and the workflow shows why it keeps trying. The exception is a terminal
 * condition (a workspace Rigbox says is gone, twice): retrying it would hold the lock forever.
 */
export function retryable(err: unknown): unknown {
  const f = toFailure(err);
  if (f instanceof CancelledFailure) return f;
  if (f instanceof ApplicationFailure && f.nonRetryable && !TERMINAL_TYPES.has(f.type ?? '')) {
    return ApplicationFailure.create({
      type: f.type ?? 'Error',
      message: f.message,
      nonRetryable: false,
      details: (f.details as unknown[] | undefined) ?? undefined,
      nextRetryDelay: (f.nextRetryDelay as number | string | null | undefined) ?? undefined,
    });
  }
  return f;
}

/** Runs an activity body and reports its failure in the table's terms. */
export async function guarded<T>(work: () => Promise<T>, map: (err: unknown) => unknown = toFailure): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw map(err);
  }
}

/**
 * Throws the activity's cancellation if it was requested: checked between steps that must not be cut
 * short, and after a change that ran to its end meanwhile (`done` says what it did, for the history).
 */
export function throwIfCancelled(done?: { message: string; details: unknown }): void {
  const ctx = Context.current();
  if (!ctx.cancellationSignal.aborted) return;
  if (done) throw new CancelledFailure(done.message, [done.details]);
  const reason: unknown = ctx.cancellationSignal.reason;
  throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
}
