/**
 * A workflow interceptor module (bundled with the workflows: worker/bundle.ts) that gives every local
 * activity the workflow's Temporal priority in a header. Temporal sets no priority on local activities,
 * so their Rigbox calls (a preflight's status read, a prune's listing) would otherwise queue at the
 * default priority 3 with no fairness key: a fleet child's ahead of its own priority-4 calls and outside
 * its team's share, a person's rollback behind a scheduled backup's. Headers are not recorded in history:
 * no command changes, and replay is untouched.
 */
import {
  defaultPayloadConverter,
  workflowInfo,
  type LocalActivityInput,
  type Next,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { PRIORITY_HEADER } from '../contract/index.js';

class LocalActivityPriority implements WorkflowOutboundCallsInterceptor {
  async scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    const priority = workflowInfo().priority;
    if (!priority) return next(input);
    return next({ ...input, headers: { ...input.headers, [PRIORITY_HEADER]: defaultPayloadConverter.toPayload(priority) } });
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new LocalActivityPriority()] });
