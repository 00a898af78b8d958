import {
  NamespaceNotFoundError,
  ScheduleNotFoundError,
  ServiceError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { RigsnapError, TemporalConnectionError } from './errors.js';

/** What the Temporal SDK throws, turned into RigsnapError / TemporalConnectionError. */

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && chain.length < 20) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

/** gRPC status codes (numbers, so this module need not import @grpc/grpc-js). */
const UNREACHABLE_CODES: readonly number[] = [14 /* UNAVAILABLE */, 4 /* DEADLINE_EXCEEDED */];

/** Whether an RPC failed because the server could not be reached (as opposed to refusing the call). */
export function isUnreachable(err: unknown): boolean {
  return causes(err).some((e) => isGrpcServiceError(e) && UNREACHABLE_CODES.includes(Number(e.code)));
}

export interface ErrorContext {
  workflowId?: string;
  runId?: string;
  scheduleId?: string;
  /** The Temporal address, for connection failures. */
  address?: string;
}

/**
 * Turns what the SDK throws into a RigsnapError (or a TemporalConnectionError). A workflow failure's
 * type is that of the outermost ApplicationFailure in the cause chain: the workflows put the domain
 * type (NotFound, Timeout…) there on purpose, so nobody digs three levels down.
 */
export function toRigsnapError(err: unknown, ctx: ErrorContext = {}): RigsnapError | TemporalConnectionError {
  if (err instanceof RigsnapError || err instanceof TemporalConnectionError) return err;
  const where = { workflowId: ctx.workflowId, runId: ctx.runId, scheduleId: ctx.scheduleId, cause: err };

  if (err instanceof WorkflowFailedError || err instanceof WorkflowUpdateFailedError) {
    const chain = causes(err.cause);
    for (const c of chain) {
      if (c instanceof ApplicationFailure) {
        let type = c.type ?? 'Error';
        // An update validator throws a plain Error, which arrives as an ApplicationFailure of type "Error".
        if (err instanceof WorkflowUpdateFailedError && type === 'Error') type = 'Rejected';
        return new RigsnapError({ ...where, type, message: c.message, ...(c.details?.length ? { details: [...c.details] } : {}) });
      }
      if (c instanceof CancelledFailure) return new RigsnapError({ ...where, type: 'Cancelled', message: c.message || 'cancelled' });
      if (c instanceof TerminatedFailure) {
        return new RigsnapError({ ...where, type: 'Terminated', message: c.message || 'terminated' });
      }
      if (c instanceof TimeoutFailure) {
        return new RigsnapError({ ...where, type: 'WorkflowTimedOut', message: c.message || 'timed out' });
      }
    }
    const first = chain[0];
    return new RigsnapError({ ...where, type: 'Unknown', message: first instanceof Error ? first.message : err.message });
  }
  if (err instanceof NamespaceNotFoundError) {
    // Checked before "workflow not found": in a namespace that does not exist, no id is ever found.
    return new RigsnapError({
      ...where,
      type: 'NamespaceNotFound',
      message: `namespace "${err.namespace}" does not exist${ctx.address ? ` on the Temporal server at ${ctx.address}` : ''}`,
    });
  }
  if (err instanceof WorkflowNotFoundError) {
    return new RigsnapError({
      ...where,
      workflowId: ctx.workflowId ?? err.workflowId,
      type: 'WorkflowNotFound',
      message: `no workflow with id ${ctx.workflowId ?? err.workflowId}`,
    });
  }
  if (err instanceof ScheduleNotFoundError) {
    return new RigsnapError({ ...where, scheduleId: err.scheduleId, type: 'ScheduleNotFound', message: `no schedule with id ${err.scheduleId}` });
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new RigsnapError({ ...where, workflowId: err.workflowId, type: 'Rejected', message: err.message });
  }
  if (isUnreachable(err) && ctx.address) {
    return new TemporalConnectionError(ctx.address, err instanceof Error ? err.message : String(err));
  }
  if (err instanceof ServiceError && /search attribute/i.test(err.message)) {
    return new RigsnapError({ ...where, type: 'NotConfigured', message: err.message });
  }
  return new RigsnapError({ ...where, type: 'Unknown', message: err instanceof Error ? err.message : String(err) });
}
