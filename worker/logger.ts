import { DefaultLogger, type LogEntry, type LogLevel, type Logger } from '@temporalio/worker';
import { ERROR_TYPES } from '../domain/index.js';

/**
 * The worker's log: one line per entry. An expected failure (an ApplicationFailure whose type is one
 * of rigsnap's, such as NotFound for a missing snapshot) is one line with its type and message; a
 * stack trace is printed only for what nobody expected (a bug, an SDK error). `text` is for people
 * (`npm start`, a terminal); `json` is one JSON object per line for log pipelines
 * (RIGSNAP_LOG_FORMAT=json; docker-compose.yml sets it).
 */

export type LogFormat = 'text' | 'json';

/**
 * Failure types that are ordinary outcomes, not bugs: the domain's table, the lead's fleet summary,
 * and what Temporal itself reports for cancellations and timeouts.
 */
const EXPECTED_TYPES = new Set<string>([...ERROR_TYPES, 'PartialFailure', 'Rejected', 'Cancelled', 'Terminated']);

/** Fields that only make a line longer (the task token is an opaque blob; the component is in the message). */
const DROPPED = new Set(['taskToken', 'sdkComponent']);

interface ErrorView {
  name: string;
  type?: string;
  message: string;
  expected: boolean;
  stack?: string;
}

function errorView(err: Error & { type?: unknown; cause?: unknown }): ErrorView {
  // The type that decides is the outermost failure's, or the first typed one in its causes.
  let type: string | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const t = (e as { type?: unknown }).type;
    if (typeof t === 'string' && t) {
      type = t;
      break;
    }
  }
  // A failure logged from the workflow thread ("Workflow failed") arrives as a copy: a plain Error
  // whose stack still begins with its class. Temporal failures there are outcomes the workflow chose
  // (a bug in workflow code fails the workflow task instead, and an activity's bug was logged with
  // its stack where it happened).
  const name = err.name === 'Error' ? (/^(\w+Failure)\b/.exec(err.stack ?? '')?.[1] ?? err.name) : err.name;
  const temporalFailure = /Failure$/.test(name);
  const expected = type !== undefined ? EXPECTED_TYPES.has(type) || (temporalFailure && name !== 'ApplicationFailure') : temporalFailure;
  return {
    name,
    ...(type ? { type } : {}),
    message: err.message,
    expected,
    ...(expected || !err.stack ? {} : { stack: err.stack }),
  };
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return errorView(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const LEVEL_WIDTH = 5;

/** JSON text of a value, or a mark when it cannot be written (a cycle). */
function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '"[unserializable]"';
  }
}

/** One line of text: time, level, message, then key=value pairs (values with spaces as JSON strings). */
export function formatText(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const parts: string[] = [];
  let stack: string | undefined;
  let message = entry.message;
  for (const [key, raw] of Object.entries(entry.meta ?? {})) {
    if (DROPPED.has(key) || raw === undefined) continue;
    const value = plain(raw);
    if (value && typeof value === 'object' && 'expected' in value && 'message' in value) {
      const e = value as ErrorView;
      message += `: ${e.type ?? e.name}: ${e.message}`;
      stack = e.stack;
      continue;
    }
    const text = typeof value === 'string' ? value : json(value);
    parts.push(`${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`);
  }
  const line = `${time} ${entry.level.padEnd(LEVEL_WIDTH)} ${message}${parts.length ? ` ${parts.join(' ')}` : ''}`;
  // Only an unexpected error gets its stack, indented under its line.
  return stack ? `${line}\n${stack.replace(/^/gm, '    ')}` : line;
}

/** One JSON object per line. */
export function formatJson(entry: LogEntry): string {
  const out: Record<string, unknown> = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
  };
  for (const [key, raw] of Object.entries(entry.meta ?? {})) {
    if (DROPPED.has(key) || raw === undefined) continue;
    const value = plain(raw);
    if (value && typeof value === 'object' && 'expected' in value && 'message' in value) {
      const { expected: _expected, ...e } = value as ErrorView;
      out[key] = e;
      continue;
    }
    out[key] = value;
  }
  return json(out);
}

export function createWorkerLogger(o: { level: LogLevel; format: LogFormat; write?: (line: string) => void }): Logger {
  const write = o.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const format = o.format === 'json' ? formatJson : formatText;
  return new DefaultLogger(o.level, (entry) => write(format(entry)));
}
