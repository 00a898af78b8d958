/**
 * The `abandon` update of every operation: the operator's way out of the one loop that never gives up
 * on its own, starting a stopped workspace again (workflows/restart.ts). The loop tells this object
 * where it is; the update is refused unless the loop has failed a round, and answered once the loop has
 * stopped trying. The run then ends with an `Abandoned` failure and releases its lock like any failure,
 * so the lock owes the workspace nothing afterwards.
 */
import { ApplicationFailure, CancellationScope, condition, log, setHandler } from '@temporalio/workflow';
import { abandonUpdate } from '../contract/index.js';
import { abandonRefusal, parseAbandonRequest, type AbandonRecord, type AbandonRequest, type AbandonResult, type RestartLoopState } from '../domain/abandon.js';

export class Abandonment {
  /** Set while the run is starting its workspace again. */
  private loop: RestartLoopState | null = null;
  /** The accepted request, once there is one. */
  record: AbandonRecord | null = null;
  private outcome: AbandonResult['outcome'] | null = null;
  /** The restart attempt in flight: cancelled when an abandon is accepted, so the answer comes in seconds. */
  private attempt: CancellationScope | null = null;

  constructor(private readonly changed: () => void) {
    setHandler(abandonUpdate, (request: AbandonRequest) => this.accept(request), {
      validator: (request: AbandonRequest) => {
        const parsed = parseAbandonRequest(request);
        if (!parsed.ok) throw ApplicationFailure.create({ type: 'InvalidInput', message: `invalid abandon request: ${parsed.message}`, nonRetryable: true });
        const refusal = abandonRefusal(this.loop, this.record);
        if (refusal) throw ApplicationFailure.create({ type: 'Conflict', message: `cannot abandon: ${refusal}`, nonRetryable: true });
      },
    });
  }

  /** The restart loop begins (round 0), or reports a failed round. */
  trying(workspaceId: string, roundsFailed: number): void {
    this.loop = { workspaceId, roundsFailed };
  }

  /** Whether the loop should stop now. */
  get requested(): boolean {
    return this.record !== null;
  }

  /**
   * Runs one restart attempt in a scope of its own, which an accepted abandon cancels. The loop runs in
   * a non-cancellable scope (a workflow's cancel must not stop it); this inner scope is cancelled only here.
   */
  async attemptRound<T>(fn: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.attempt = scope;
    try {
      return await scope.run(fn);
    } finally {
      this.attempt = null;
    }
  }

  /** Sleeps until the next round, or until an abandon is accepted. */
  async pause(ms: number): Promise<void> {
    await condition(() => this.requested, ms);
  }

  /** The loop has stopped: answers the update and returns the failure to end the run with. */
  stopped(workspaceId: string, lastError: string, original: unknown): ApplicationFailure {
    const record = this.record!;
    this.outcome = 'abandoned';
    this.loop = null;
    this.changed();
    log.warn('operation abandoned by an operator; the workspace is left as it is', { workspaceId, ...record, lastError });
    const originalFailure = original instanceof ApplicationFailure ? { type: original.type ?? 'Error', message: original.message } : undefined;
    return ApplicationFailure.create({
      type: 'Abandoned',
      message:
        `abandoned by ${record.by} at ${record.at}: ${record.reason}. ${workspaceId} was left as it was (stopped): ` +
        `starting it again kept failing (${lastError})`,
      nonRetryable: true,
      details: [{ abandoned: record, workspaceId, lastError, ...(originalFailure ? { originalFailure } : {}) }],
    });
  }

  /** The attempt in flight started the workspace after all: nothing is left down, the abandon is moot. */
  restarted(): void {
    this.loop = null;
    if (this.record) this.outcome = 'restarted';
  }

  /** The loop ended otherwise (the workspace is gone): an accepted abandon is answered, never left waiting. */
  loopEnded(): void {
    this.loop = null;
    if (this.record && this.outcome === null) this.outcome = 'gone';
  }

  private async accept(request: AbandonRequest): Promise<AbandonResult> {
    const { reason, by } = (parseAbandonRequest(request) as { ok: true; value: { reason: string; by: string } }).value;
    const workspaceId = this.loop!.workspaceId;
    this.record = { by, at: new Date().toISOString(), reason };
    log.warn('abandon accepted; stopping the restart of the workspace', { workspaceId, ...this.record });
    this.attempt?.cancel();
    this.changed();
    await condition(() => this.outcome !== null);
    return { ...this.record, workspaceId, outcome: this.outcome! };
  }
}
