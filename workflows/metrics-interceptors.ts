import {
  ContinueAsNew,
  workflowInfo,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { reportWorkflowEnd } from './metrics.js';

/**
 * A workflow interceptor module (bundled with the workflows: `workflowInterceptorModules`) that
 * reports how every measured workflow ends, so no workflow has to remember to. Continue-as-new is not
 * an end: the chain's last run reports it, with the chain's whole duration.
 */
class OperationMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const type = workflowInfo().workflowType;
    try {
      const result = await next(input);
      reportWorkflowEnd(type, input.args[0], { result });
      return result;
    } catch (error) {
      if (!(error instanceof ContinueAsNew)) reportWorkflowEnd(type, input.args[0], { error });
      throw error;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new OperationMetricsInterceptor()] });
