/**
 * Replaying a recorded history with a failure that says what broke (issue 25.3): the workflow type, the
 * file, and the first event the code did not match, with what that event was (the activity, timer,
 * marker or child it recorded), next to the SDK's own message. Also the bundling with a module swapped
 * for a made-up later one, which the replay tests use to show that a change fails or passes replay.
 */
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import webpack from 'webpack';
import { bundleOptions } from '../../worker/bundle.js';

type Attrs = Record<string, unknown> & {
  activityType?: { name?: string };
  workflowType?: { name?: string };
  markerName?: string;
  details?: Record<string, { payloads?: Array<{ data?: string }> }>;
  timerId?: string;
  startToFireTimeout?: string;
  signalName?: string;
};
export interface RecordedEvent {
  eventId: string | number;
  eventType: string;
  [attributes: string]: unknown;
}
export interface RecordedHistory {
  events: RecordedEvent[];
}

const shortType = (t: string) => t.replace(/^EVENT_TYPE_/, '');

function decoded(data: string | undefined): string {
  if (!data) return '';
  try {
    return Buffer.from(data, 'base64').toString('utf8');
  } catch {
    return '';
  }
}

/** One event as a person reads it: "12 ACTIVITY_TASK_SCHEDULED activity preflight". */
export function describeEvent(e: RecordedEvent): string {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
  const a = (key ? e[key] : {}) as Attrs;
  let what = '';
  if (a.activityType?.name) what = `activity ${a.activityType.name}`;
  else if (a.markerName) {
    const first = Object.values(a.details ?? {})[0];
    const id = a.markerName === 'core_patch' ? decoded(first?.payloads?.[0]?.data) : '';
    what = `marker ${a.markerName}${id ? ` ${id}` : ''}`;
  } else if (a.timerId) what = `timer ${a.timerId}${a.startToFireTimeout ? ` (${a.startToFireTimeout})` : ''}`;
  else if (a.workflowType?.name) what = `workflow ${a.workflowType.name}`;
  else if (a.signalName) what = `signal ${a.signalName}`;
  return `${e.eventId} ${shortType(e.eventType)}${what ? ` ${what}` : ''}`;
}

/** The workflow type a history was recorded for. */
export function workflowTypeOf(history: RecordedHistory): string {
  const started = history.events[0]?.workflowExecutionStartedEventAttributes as Attrs | undefined;
  return started?.workflowType?.name ?? 'unknown';
}

/**
 * The message of a replay failure, completed: which workflow type and file, and the first event the code
 * did not match (the SDK names its id; the history says what it was).
 */
export function explainReplayFailure(file: string, history: RecordedHistory, err: unknown): string {
  const sdk = err instanceof Error ? err.message : String(err);
  const id = /HistoryEvent\(id: (\d+)/.exec(sdk)?.[1] ?? /event (?:id )?(\d+)/i.exec(sdk)?.[1];
  const event = id ? history.events.find((e) => String(e.eventId) === id) : undefined;
  const machine = /(\w+) machine does not handle/.exec(sdk)?.[1];
  const issued = machine
    ? ` (the code issued a ${machine} command there)`
    : /No command scheduled for event/.test(sdk)
      ? ' (the code issued no command for it)'
      : '';
  const at = event ? `; first mismatch at event ${describeEvent(event)}${issued}` : '';
  return `${workflowTypeOf(history)} (${file}) does not replay on this code${at}: ${sdk}`;
}

/** Replays one history; a failure names the workflow type and the first mismatching event. */
export async function replayExplained(
  bundle: { code: string } | { codePath: string },
  file: string,
  history: RecordedHistory,
  workflowId?: string,
): Promise<void> {
  try {
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, workflowId);
  } catch (err) {
    throw new Error(explainReplayFailure(file, history, err), { cause: err });
  }
}

/**
 * The workflows bundled with every import matching `module` answered by `replacement`. Only imports from
 * the project's own files are swapped (not the replacement's, not the SDK's), so a replacement can wrap
 * the module it replaces.
 */
export async function bundleWith(module: RegExp, replacement: string): Promise<{ code: string }> {
  const options = bundleOptions(path.resolve('workflows/index.ts'));
  const root = path.resolve('.');
  const nodeModules = path.join(root, 'node_modules');
  return bundleWorkflowCode({
    ...options,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    webpackConfigHook: (config) => {
      const base = options.webpackConfigHook!(config);
      const swap = new webpack.NormalModuleReplacementPlugin(module, (resource: { request: string; contextInfo?: { issuer?: string } }) => {
        const issuer = resource.contextInfo?.issuer ?? '';
        if (issuer !== replacement && issuer.startsWith(root) && !issuer.startsWith(nodeModules)) resource.request = replacement;
      });
      return { ...base, plugins: [...(base.plugins ?? []), swap] };
    },
  });
}
