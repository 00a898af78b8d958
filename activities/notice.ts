/**
 * A stop announced in advance: the `stop.notice` webhook (RIGSNAP_NOTIFY_URL, a Slack-compatible `text`
 * plus structured fields) and the expected downtime this worker learnt of a workspace's stops and starts.
 */
import { Context } from '@temporalio/activity';
import { STOP_NOTICE_EVENT } from '../contract/index.js';
import { expectedDowntimeMs, workflowUrl } from '../domain/index.js';
import type { ActivityEnv } from './env.js';
import { postWebhook } from './notify.js';

export interface StopNoticeInput {
  workspaceId: string;
  stopAt: string;
  expectedDowntimeSeconds: number;
  operation: string;
  workflowId: string;
  runId: string;
  /** "02:50" style local times and the snoozes so far, for the one line people read. */
  text: string;
}

export function createNoticeActivities(env: ActivityEnv) {
  return {
    /** Posts a `stop.notice`; a no-op without RIGSNAP_NOTIFY_URL. */
    async sendStopNotice(input: StopNoticeInput): Promise<{ delivered: boolean }> {
      const { notifyUrl, uiUrl } = env.deps;
      if (!notifyUrl) return { delivered: false };
      const ctx = Context.current();
      const link = workflowUrl(uiUrl ?? 'http://localhost:8233', ctx.info.namespace, input.workflowId, input.runId);
      const snooze = `rigsnap snooze ${input.workspaceId} --for 1h`;
      const skip = `rigsnap skip ${input.workspaceId}`;
      const body = {
        event: STOP_NOTICE_EVENT,
        workspaceId: input.workspaceId,
        stopAt: input.stopAt,
        expectedDowntimeSeconds: input.expectedDowntimeSeconds,
        operation: input.operation,
        workflowId: input.workflowId,
        runId: input.runId,
        snooze,
        skip,
        text: `${input.text}\nNot now? \`${snooze}\` or \`${skip}\`\n<${link}|Open in Temporal UI>`,
        uiUrl: link,
      };
      return postWebhook(notifyUrl, body, ctx.cancellationSignal);
    },

    /** How long a stop of this workspace is expected to keep it down: learnt stop + start + copy allowance, else the default. */
    async expectedDowntime(input: { workspaceId: string }): Promise<{ ms: number; learnt: boolean }> {
      return expectedDowntimeMs({
        stopMs: env.durations.expected('stopped', input.workspaceId),
        startMs: env.durations.expected('running', input.workspaceId),
      });
    },
  };
}
