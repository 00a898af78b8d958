/** The failure notification: a webhook POST (Slack-compatible `text` plus structured fields). */
import { Context } from '@temporalio/activity';
import { workflowUrl } from '../domain/index.js';
import type { ActivityEnv } from './env.js';
import { failure, toFailure } from './failures.js';
import { RigboxApiError } from './rigbox-client.js';

export interface NotifyInput {
  /** One line for people (Slack shows it). */
  text: string;
  workspaceId: string | null;
  workflowId: string;
  runId: string;
  workflowType: string;
  errorType: string | null;
  message: string;
  failures?: Array<{ workspaceId: string; errorType: string; message: string }>;
  /** The compliance report itself, when the notification is a scheduled report. */
  report?: unknown;
}

export function createNotifyActivities(env: ActivityEnv) {
  return {
    /** Posts a failure notification; a no-op without RIGSNAP_NOTIFY_URL. */
    async notify(input: NotifyInput): Promise<{ delivered: boolean }> {
      const { notifyUrl, uiUrl } = env.deps;
      if (!notifyUrl) return { delivered: false };
      const ctx = Context.current();
      const link = workflowUrl(uiUrl ?? 'http://localhost:8233', ctx.info.namespace, input.workflowId, input.runId);
      return postWebhook(notifyUrl, { ...input, text: `${input.text}\n<${link}|Open in Temporal UI>`, uiUrl: link }, ctx.cancellationSignal);
    },
  };
}

/**
 * POSTs one JSON event to the notification webhook (10 s at most, or until the activity is cancelled).
 * Unreachable, 5xx and 429 fail as Unavailable (retried); another refusal is InvalidRequest (final).
 */
export async function postWebhook(url: string, body: unknown, cancelled: AbortSignal): Promise<{ delivered: true }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([cancelled, AbortSignal.timeout(10_000)]),
    });
  } catch (err) {
    throw toFailure(new RigboxApiError('Unavailable', `notification webhook unreachable (${(err as Error).message})`));
  }
  if (!res.ok) {
    throw failure(res.status >= 500 || res.status === 429 ? 'Unavailable' : 'InvalidRequest', `notification webhook answered HTTP ${res.status}`);
  }
  return { delivered: true };
}
