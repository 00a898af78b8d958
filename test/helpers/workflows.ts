import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { expect } from 'vitest';
import { lockStateQuery, progressQuery } from '../../contract/index.js';
import { workflowIds, type ChangesLanded, type LockState } from '../../domain/index.js';
import type { Emulator } from '../../emulator/index.js';

let idCounter = 0;
/** Unique, readable workflow ids per test. */
export function testWorkflowId(kind: string): string {
  return `${kind}-${process.pid}-${Date.now().toString(36)}-${idCounter++}`;
}

/** The outermost ApplicationFailure of a failed workflow: what callers see as the failure's type. */
export async function workflowFailure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected the workflow to fail, it returned ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** Rigbox API calls the emulator saw for a workspace, as "METHOD route" lines. */
export function callsFor(emu: Emulator, workspaceId: string, since = 0): string[] {
  return emu.calls
    .slice(since)
    .filter((c) => c.workspaceId === workspaceId)
    .map((c) => `${c.method} ${c.route.replace('/api', '')}`);
}

export async function historyJson(handle: WorkflowHandle): Promise<string> {
  return JSON.stringify((await handle.fetchHistory()).events);
}

export async function eventCount(handle: WorkflowHandle): Promise<number> {
  return (await handle.fetchHistory()).events?.length ?? 0;
}

/** Bytes of payload data in a run's history (every Uint8Array in its events): what grows with what a run records. */
export async function historyPayloadBytes(handle: WorkflowHandle): Promise<number> {
  const sum = (v: unknown): number => {
    if (v instanceof Uint8Array) return v.length;
    if (Array.isArray(v)) return v.reduce((n: number, x) => n + sum(x), 0);
    if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + sum(x), 0);
    return 0;
  };
  return sum((await handle.fetchHistory()).events ?? []);
}

/**
 * What a run asked Temporal to do, in order: activities and local activities by type, patch markers by
 * id, signals to other workflows, memo changes. Left out: timers (the lock's grant-wait timer is
 * started or not as the grant signal races the acquire's answer) and search-attribute upserts (a run
 * started without its search attributes, as the recorded one was, upserts them itself; each patch's
 * TemporalChangeVersion upsert follows its marker, which is listed).
 */
export function commandsOf(historyJsonText: string): string[] {
  const { events } = JSON.parse(historyJsonText) as { events: Array<Record<string, unknown>> };
  const decode = (payloads: Array<{ data: string }> | undefined) =>
    JSON.parse(Buffer.from(String(payloads?.[0]?.data), 'base64').toString()) as Record<string, string>;
  const out: string[] = [];
  for (const e of events) {
    const type = String(e.eventType).replace('EVENT_TYPE_', '');
    if (type === 'ACTIVITY_TASK_SCHEDULED')
      out.push(`activity ${(e.activityTaskScheduledEventAttributes as { activityType: { name: string } }).activityType.name}`);
    if (type === 'MARKER_RECORDED') {
      const m = e.markerRecordedEventAttributes as { markerName: string; details: Record<string, { payloads: Array<{ data: string }> }> };
      out.push(
        m.markerName === 'core_patch' ? `patch ${decode(m.details['patch-data']?.payloads).id}` : `local ${decode(m.details.data?.payloads).activity_type}`,
      );
    }
    if (type === 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED' || type === 'WORKFLOW_PROPERTIES_MODIFIED') out.push(type.toLowerCase());
  }
  return out;
}

/**
 * A run's history as text with every payload decoded: what a search for a value in it needs (in
 * `historyJson`, payloads are bytes, so a search for their text never finds it).
 */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  return historyToJSON(await handle.fetchHistory()).replace(/"data":\s*"([A-Za-z0-9+/=]*)"/g, (_all, b64: string) => Buffer.from(b64, 'base64').toString());
}

/** The commands of a run on the server (see commandsOf). */
export async function commandsOfRun(handle: WorkflowHandle): Promise<string[]> {
  return commandsOf(historyToJSON(await handle.fetchHistory()));
}

/** Waits (polling, no fixed sleeps) until `check` is true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the workflow's `progress` query reports the given current step. */
export async function awaitStep(client: Client, workflowId: string, step: string, timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => {
      try {
        const p = await client.workflow.getHandle(workflowId).query(progressQuery);
        return p.currentStep === step;
      } catch {
        return false;
      }
    },
    timeoutMs,
    `step ${step} of ${workflowId}`,
  );
}

/**
 * Expects the workflow to end with CancelledAfterChange (cancelled after a change of it landed in Rigbox):
 * typed, non-retryable; returns what landed (details[0]).
 */
export async function expectCancelledAfterChange(p: Promise<unknown>): Promise<ChangesLanded> {
  const failure = await workflowFailure(p);
  expect(failure.type).toBe('CancelledAfterChange');
  expect(failure.nonRetryable).toBe(true);
  return failure.details?.[0] as ChangesLanded;
}

/** Expects the workflow to end Cancelled (what a cancel from the UI or the CLI leads to). */
export async function expectCancelled(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected the workflow to be cancelled, it returned ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
}

/** The lock's state, or null when no lock runs for the workspace (it idled out or was never started). */
export async function lockStateOf(client: Client, workspaceId: string): Promise<LockState | null> {
  // The workspace entity holds the lock since entity-2026-12 (it answers the old lock's query too).
  const handle = client.workflow.getHandle(workflowIds.workspace(workspaceId));
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return null;
    return await handle.query(lockStateQuery);
  } catch {
    return null;
  }
}

/** Changes (not reads) that reached Rigbox for a workspace, as "METHOD route" with who asked (the workflow id). */
export function changesFor(emu: Emulator, workspaceId: string, since = 0): Array<{ call: string; origin: string | undefined; outcome: string }> {
  return emu.calls
    .slice(since)
    .filter((c) => c.workspaceId === workspaceId && c.method !== 'GET')
    .map((c) => ({ call: `${c.method} ${c.route.replace('/api/workspaces/:id', '')}`, origin: c.origin, outcome: c.outcome }));
}
