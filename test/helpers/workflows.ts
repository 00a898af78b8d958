import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
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
