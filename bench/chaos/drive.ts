import { ApplicationFailure, CancelledFailure, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WorkflowOf } from '../../client/operations.js';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { waitUntil, type Disruptions } from './disruptions.js';
import { errorText, sleep, type ChaosContext, type Completed, type OperationOutcome, type PlannedOperation } from './model.js';
import { planPhase2 } from './setup.js';

/**
 * Driving the chaos run's operations: phase 1 all at once (the disruptions timed by its progress),
 * phase 2 after it. Each operation is started idempotently (its workflow id is the request) and waited
 * for, riding out the server restart; some are cancelled as from the UI.
 */

/** The result of a completed operation, read with its workflow's type. */
async function resultOf(client: Client, op: PlannedOperation): Promise<Completed> {
  const id = op.workflowId;
  switch (op.type) {
    case 'snapshot':
      return { op, kind: op.type, result: await client.workflow.getHandle<WorkflowOf<'snapshot'>>(id).result() };
    case 'restore':
      return { op, kind: op.type, result: await client.workflow.getHandle<WorkflowOf<'restore'>>(id).result() };
    case 'backup':
      return { op, kind: op.type, result: await client.workflow.getHandle<WorkflowOf<'backup'>>(id).result() };
  }
}

/** Starts the operation, asking again while the server is away; null if the deadline passed first. */
async function startOf(ctx: ChaosContext, op: PlannedOperation, outcome: OperationOutcome): Promise<WorkflowHandle | null> {
  const { client, taskQueue } = ctx.stack;
  let lastError = '';
  for (;;) {
    if (Date.now() > ctx.deadline) {
      outcome.error = `could not start before the deadline: ${lastError}`;
      return null;
    }
    try {
      return await client.workflow.start(WORKFLOW_TYPES[op.type], { taskQueue, workflowId: op.workflowId, args: [op.input] });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(op.workflowId);
      lastError = errorText(err);
      await sleep(500);
    }
  }
}

/** As from the UI: one cancel request, `afterMs` after the start; the server may be restarting, so it asks until it is taken. */
function cancelLater(ctx: ChaosContext, handle: WorkflowHandle, afterMs: number): void {
  setTimeout(() => {
    void (async () => {
      for (let i = 0; i < 20 && Date.now() < ctx.deadline; i++) {
        try {
          await handle.cancel();
          ctx.cancelRequested++;
          return;
        } catch (err) {
          if ((err as Error).name === 'WorkflowNotFoundError') return;
          await sleep(500);
        }
      }
    })();
  }, afterMs);
}

/** Starts (idempotently: the workflow id is the request) and waits for the result, riding out the server restart. */
async function drive(ctx: ChaosContext, op: PlannedOperation): Promise<void> {
  const outcome: OperationOutcome = { workflowId: op.workflowId, type: op.type, phase: op.phase, workspaceId: op.workspaceId, status: 'not-started' };
  ctx.outcomes.set(op.workflowId, outcome);
  try {
    const handle = await startOf(ctx, op, outcome);
    if (!handle) return;
    outcome.status = 'timed-out';
    if (op.cancelAfterMs !== undefined) cancelLater(ctx, handle, op.cancelAfterMs);
    await awaitEnd(ctx, op, outcome);
  } finally {
    ctx.finishedOps++;
  }
}

/** Waits for the operation's end (never past the deadline) and records how it ended. */
async function awaitEnd(ctx: ChaosContext, op: PlannedOperation, outcome: OperationOutcome): Promise<void> {
  let lastError = '';
  for (;;) {
    if (Date.now() > ctx.deadline) {
      outcome.error = `no result before the deadline${lastError ? ` (last client error: ${lastError})` : ''}`;
      return;
    }
    try {
      // result() long-polls until the workflow closes: never past the deadline.
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), Math.max(0, ctx.deadline - Date.now()) + 10)));
      const done = await Promise.race([resultOf(ctx.stack.client, op), expired]).finally(() => clearTimeout(timer));
      if (done === 'deadline') continue;
      outcome.status = 'completed';
      ctx.completed.push(done);
      return;
    } catch (err) {
      // Cancelled as asked: plain Cancelled, or CancelledAfterChange when its change had landed first.
      const cancelled =
        err instanceof WorkflowFailedError &&
        (err.cause instanceof CancelledFailure || (err.cause instanceof ApplicationFailure && err.cause.type === 'CancelledAfterChange'));
      if (cancelled && op.cancelAfterMs !== undefined) {
        outcome.status = 'cancelled';
        return;
      }
      if (err instanceof WorkflowFailedError) {
        outcome.status = 'failed';
        outcome.error = errorText(err);
        ctx.log(`chaos: ${op.workflowId} FAILED: ${outcome.error}`);
        return;
      }
      // The server is down or restarting: ask again.
      lastError = errorText(err);
      await sleep(500);
    }
  }
}

/** Every workspace back in the state it began in, and not busy. */
function checkWorkspaceStates(ctx: ChaosContext, when: string): void {
  for (const id of ctx.workspaceIds) {
    const ws = ctx.stack.emu.state.workspace(id)!;
    const expected = ctx.initialStatus.get(id)!;
    if (ws.status !== expected || ws.busyUntil !== null) {
      ctx.workspaceStateProblems.push(`${id} is "${ws.status}"${ws.busyUntil !== null ? ' (busy)' : ''} ${when}; it began "${expected}"`);
    }
  }
}

/** Operations that did not finish must not touch workspaces afterwards. */
async function terminateUnfinished(ctx: ChaosContext): Promise<void> {
  for (const out of ctx.outcomes.values()) {
    if (out.status === 'timed-out')
      await ctx.stack.client.workflow
        .getHandle(out.workflowId)
        .terminate('chaos deadline')
        .catch(() => {});
  }
}

/** Phase 1 with the faults on (a lock termination at a quarter, the server restart at half of it), then phase 2. */
export async function runPhases(ctx: ChaosContext, disruptions: Disruptions): Promise<void> {
  const { o, faults, log, stack } = ctx;
  Object.assign(stack.emu.faults, { ...faults, seed: o.seed });
  ctx.callsBefore = stack.emu.calls.length;
  const phase1Count = ctx.phase1Count;
  let phase1Done = 0;
  const phase1Start = Date.now();
  await Promise.all(
    ctx.plan.map((op) =>
      drive(ctx, op).finally(() => {
        phase1Done++;
        if (phase1Done === Math.ceil(phase1Count / 4) && o.lockTerminations > 0) disruptions.lockTerminationDue = true;
        if (phase1Done === Math.ceil(phase1Count / 2) && o.serverRestarts > 0) disruptions.restartDue = true;
      }),
    ),
  );
  ctx.phase1Ms = Date.now() - phase1Start;
  log(`chaos: phase 1 over in ${(ctx.phase1Ms / 1000).toFixed(1)} s (${ctx.completed.length}/${phase1Count} completed)`);
  // A restart not done yet (phase 1 too short to reach its middle) happens now, before phase 2.
  if (disruptions.serverRestarts < o.serverRestarts) disruptions.restartDue = true;
  await waitUntil(() => !disruptions.restartDue, 180_000);
  await terminateUnfinished(ctx);
  checkWorkspaceStates(ctx, 'after phase 1');

  const phase2Start = Date.now();
  planPhase2(ctx);
  await Promise.all(ctx.phase2Plan.map((op) => drive(ctx, op)));
  ctx.phase2Ms = Date.now() - phase2Start;
  log(`chaos: phase 2 over in ${(ctx.phase2Ms / 1000).toFixed(1)} s`);
  await terminateUnfinished(ctx);
  checkWorkspaceStates(ctx, 'at the end');
}
