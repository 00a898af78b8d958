import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { createWorkerLogger, formatJson, formatText } from '../../worker/logger.js';

/** What the worker prints: entries as the SDK hands them to the Runtime's logger (recorded shapes). */

const at = 1_795_000_000_000n * 1_000_000n;
const notFound = ApplicationFailure.create({ type: 'NotFound', message: 'snapshot snap_nope does not exist in workspace ws_demo', nonRetryable: true });
const activityFailed = {
  level: 'WARN' as const,
  message: 'Activity failed',
  timestampNanos: at,
  meta: {
    sdkComponent: 'worker',
    taskQueue: 'rigbox-snapshots',
    isLocal: false,
    attempt: 1,
    namespace: 'default',
    taskToken: 'CiQwMWEyMmI1Yi1jMTcwLTczNmUtOGNmMS1iNWE1NmNmYTBlNTcSInJlc3RvcmUtd3NfZGVtby1zbmFwX25vcGUtbXgyeTZnc2Ua',
    activityType: 'preflightAndLock',
    workflowId: 'restore-ws_demo-snap_nope-mx2y6gse',
    workflowType: WORKFLOW_TYPES.restore,
    error: notFound,
    durationMs: 58,
  },
};

describe('worker log, text', () => {
  it('an expected failure is one line with its type and message, no stack, no task token', () => {
    const text = formatText(activityFailed);
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toBe(
      '2026-11-18T11:06:40.000Z WARN  Activity failed: NotFound: snapshot snap_nope does not exist in workspace ws_demo ' +
        'taskQueue=rigbox-snapshots isLocal=false attempt=1 namespace=default activityType=preflightAndLock ' +
        'workflowId=restore-ws_demo-snap_nope-mx2y6gse workflowType=restoreWorkspace durationMs=58',
    );
  });

  it('an unexpected error keeps its stack, indented under its line: that is a bug to look at', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    const text = formatText({ ...activityFailed, meta: { ...activityFailed.meta, error: bug } });
    const lines = text.split('\n');
    expect(lines[0]).toContain("Activity failed: TypeError: Cannot read properties of undefined (reading 'id')");
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).every((l) => l.startsWith('    '))).toBe(true);
    expect(text).toMatch(/\n\s+at /);
  });

  it('a state change is one line, not a multi-line object', () => {
    const text = formatText({
      level: 'INFO',
      message: 'Worker state changed',
      timestampNanos: at,
      meta: { sdkComponent: 'worker', taskQueue: 'rigbox-snapshots', state: 'RUNNING' },
    });
    expect(text).toBe('2026-11-18T11:06:40.000Z INFO  Worker state changed taskQueue=rigbox-snapshots state=RUNNING');
  });

  it('quotes values with spaces and writes objects as JSON', () => {
    const text = formatText({ level: 'INFO', message: 'x', timestampNanos: at, meta: { note: 'two words', list: [1, 2] } });
    expect(text).toBe('2026-11-18T11:06:40.000Z INFO  x note="two words" list=[1,2]');
  });
});

describe('worker log, json (RIGSNAP_LOG_FORMAT=json)', () => {
  it('one JSON object per line; an expected failure has no stack, an unexpected one has it', () => {
    const expected = JSON.parse(formatJson(activityFailed));
    expect(expected).toMatchObject({
      time: '2026-11-18T11:06:40.000Z',
      level: 'WARN',
      message: 'Activity failed',
      activityType: 'preflightAndLock',
      error: { name: 'ApplicationFailure', type: 'NotFound', message: 'snapshot snap_nope does not exist in workspace ws_demo' },
    });
    expect(expected.error.stack).toBeUndefined();
    expect(expected.taskToken).toBeUndefined();
    const unexpected = JSON.parse(formatJson({ ...activityFailed, meta: { error: new Error('boom') } }));
    expect(unexpected.error.stack).toMatch(/Error: boom\n\s+at /);
    expect(formatJson(activityFailed)).not.toContain('\n');
  });

  it('goes through the logger the Runtime gets, honouring the level', () => {
    const lines: string[] = [];
    const logger = createWorkerLogger({ level: 'INFO', format: 'json', write: (l) => lines.push(l) });
    logger.debug('hidden');
    logger.warn('Activity failed', { error: notFound });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'WARN', error: { type: 'NotFound' } });
  });
});

describe('failures logged from the workflow thread', () => {
  it('arrive as copies without their class or type: a Temporal failure there is still one line', () => {
    // What the SDK's "Workflow failed" entry carries: a structured clone of the ApplicationFailure.
    const copy = Object.assign(new Error('snapshot snap_nope does not exist in workspace ws_demo'), {
      stack: 'ApplicationFailure: snapshot snap_nope does not exist in workspace ws_demo\n    at Function.create (failure.ts:228:11)',
    });
    const text = formatText({ level: 'WARN', message: 'Workflow failed', timestampNanos: at, meta: { workflowType: WORKFLOW_TYPES.restore, error: copy } });
    expect(text).toBe(
      '2026-11-18T11:06:40.000Z WARN  Workflow failed: ApplicationFailure: snapshot snap_nope does not exist in workspace ws_demo workflowType=restoreWorkspace',
    );
  });

  it('an ApplicationFailure of a type nobody planned (a bug surfacing as a failure) keeps its stack', () => {
    const odd = ApplicationFailure.create({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'id')" });
    expect(formatText({ level: 'WARN', message: 'Activity failed', timestampNanos: at, meta: { error: odd } })).toMatch(/\n\s+at /);
  });
});
