/**
 * The activity side of workflows/priority-interceptors.ts: a local activity's Temporal priority, read
 * from the header its workflow sent, for its Rigbox calls' place in the quota's queue
 * (activities/env.ts callPriority uses it when Temporal gave the activity none).
 */
import { defaultPayloadConverter, type Priority } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { inheritPriority } from '../activities/env.js';
import { PRIORITY_HEADER } from '../contract/index.js';

export const priorityHeaderInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const header = input.headers[PRIORITY_HEADER];
      if (header && ctx.info.isLocal) {
        try {
          inheritPriority(ctx, defaultPayloadConverter.fromPayload<Priority>(header));
        } catch {
          // A header this build cannot read: the call queues at the default priority, as before.
        }
      }
      return next(input);
    },
  },
});
