/**
 * Workspaces deleted mid-run (issue 18.1): extra workspaces, apart from the run's own, each with one
 * snapshot whose workspace is deleted in Rigbox just after rigsnap asked to stop it. Each such operation
 * must end by itself with WorkspaceGone and free the workspace's lock; and, at the end of the run, no
 * operation of the run (these included) may still be open: a stuck run is a failed check.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WORKFLOW_TYPES, lockStateQuery } from '../../contract/index.js';
import { workflowIds } from '../../domain/index.js';
import { errorText, sleep, type ChaosCheck, type ChaosContext } from './model.js';

export interface DeletionOutcome {
  workspaceId: string;
  workflowId: string;
  /** The failure type it ended with (WorkspaceGone expected), `completed`, or `open` at the deadline. */
  ended: string;
}

/** The deleted workspaces and their operations: set up before phase 1, deleted during it. */
export class WorkspaceDeletions {
  readonly workspaceIds: string[];
  readonly outcomes: DeletionOutcome[] = [];
  deleted = 0;

  constructor(private readonly ctx: ChaosContext) {
    this.workspaceIds = Array.from({ length: ctx.o.workspaceDeletions ?? 1 }, (_, i) => `ws_chaosgone${String(i).padStart(2, '0')}`);
  }

  /** Creates the workspaces, and deletes each one 300 ms after Rigbox accepted rigsnap's stop (its answer sent or lost). */
  setUp(): void {
    const { emu } = this.ctx.stack;
    for (const id of this.workspaceIds) emu.state.upsertWorkspace({ id, status: 'running', files: { doomed: id } });
    emu.hooks.onCall = (c) => {
      if (
        c.workspaceId &&
        this.workspaceIds.includes(c.workspaceId) &&
        c.method === 'POST' &&
        c.route.endsWith('/stop') &&
        (c.outcome === 'ok' || c.outcome === 'lost')
      ) {
        const id = c.workspaceId;
        setTimeout(() => {
          if (emu.state.deleteWorkspace(id)) {
            this.deleted++;
            this.ctx.log(`chaos: deleted ${id} in Rigbox while rigsnap waits for its stop`);
          }
        }, 300);
      }
    };
  }

  /** Runs one snapshot per deleted workspace (with phase 1) and records how each ended. */
  async drive(): Promise<void> {
    await Promise.all(this.workspaceIds.map((workspaceId, i) => this.driveOne(workspaceId, `chaos-${this.ctx.runTag}-gone-${i}`)));
  }

  private async driveOne(workspaceId: string, name: string): Promise<void> {
    const { client, taskQueue } = this.ctx.stack;
    const workflowId = workflowIds.snapshot(workspaceId, name, `${this.ctx.runTag}g`);
    const outcome: DeletionOutcome = { workspaceId, workflowId, ended: 'open' };
    this.outcomes.push(outcome);
    while (Date.now() < this.ctx.deadline) {
      try {
        await client.workflow.start(WORKFLOW_TYPES.snapshot, { taskQueue, workflowId, args: [{ workspaceId, name }] }).catch((err: unknown) => {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        });
        await client.workflow.getHandle(workflowId).result();
        outcome.ended = 'completed';
        return;
      } catch (err) {
        if (err instanceof WorkflowFailedError) {
          outcome.ended = (err.cause as { type?: string } | undefined)?.type ?? err.cause?.name ?? 'failed';
          if (outcome.ended !== 'WorkspaceGone') this.ctx.log(`chaos: ${workflowId} ended ${outcome.ended}: ${errorText(err)}`);
          return;
        }
        await sleep(500); // the server is restarting: ask again
      }
    }
  }

  /** The checks: each ended WorkspaceGone with its lock free, and no run of the chaos run still open. */
  async checks(): Promise<ChaosCheck[]> {
    const gone = this.outcomes.filter((o) => o.ended === 'WorkspaceGone');
    const wrong = this.outcomes.filter((o) => o.ended !== 'WorkspaceGone').map((o) => `${o.workflowId} on ${o.workspaceId}: ${o.ended}`);
    for (const id of this.workspaceIds) {
      const state = await this.ctx.stack.client.workflow
        .getHandle(workflowIds.lock(id))
        .query(lockStateQuery)
        .catch(() => null);
      if (state?.holder || (state?.queue.length ?? 0) > 0)
        wrong.push(`the lock of ${id} is still held or waited for (${state?.holder?.workflowId ?? 'queue'})`);
    }
    return [
      {
        name: 'workspaces deleted mid-run whose operation ended WorkspaceGone',
        value: `${gone.length}/${this.workspaceIds.length} (${this.deleted} deleted)`,
        ok: wrong.length === 0 && this.deleted === this.workspaceIds.length,
        details: wrong,
      },
      await this.stuckRuns(),
    ];
  }

  /** Every operation of the run, by id (describe: exact, not visibility): none may still run. */
  private async stuckRuns(): Promise<ChaosCheck> {
    const ids = [...this.ctx.allOps.map((op) => op.workflowId), ...this.outcomes.map((o) => o.workflowId)];
    // Those not ended by the deadline were terminated by the drive (so they touch nothing later): stuck too.
    const open: string[] = [...this.ctx.outcomes.values()].filter((o) => o.status === 'timed-out').map((o) => `${o.workflowId} had not ended at the deadline`);
    open.push(...this.outcomes.filter((o) => o.ended === 'open').map((o) => `${o.workflowId} had not ended at the deadline`));
    for (const id of ids) {
      const d = await this.ctx.stack.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => null);
      if (d?.status.name === 'RUNNING') open.push(`${id} is still running`);
    }
    return { name: 'runs still open at the end (stuck)', value: String(open.length), ok: open.length === 0, details: open };
  }
}
