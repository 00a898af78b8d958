import type { Client, Connection } from '@temporalio/client';
import { connectTemporal, scheduleUrl, temporalSettings, workflowUrl, type SettingsOverrides } from './connection.js';
import { toRigsnapError, type ErrorContext } from './sdk-errors.js';

/**
 * The Temporal side of every client call, built once: the SDK client, where it is connected
 * (namespace, address, task queue of the workers) and the Web UI base for links. The operations, the
 * inspection, the checkpoints and the schedules API all take this, so none of them needs another.
 */
export interface TemporalContextOptions extends SettingsOverrides {
  /** Use this Temporal client instead of connecting (the caller owns its connection). */
  client?: Client;
  /** The environment to read TEMPORAL_* and RIGSNAP_* from; default process.env. */
  env?: Record<string, string | undefined>;
}

export class TemporalContext {
  private constructor(
    readonly client: Client,
    readonly address: string,
    readonly namespace: string,
    readonly taskQueue: string,
    readonly uiUrl: string,
    private readonly ownedConnection: Connection | null,
  ) {}

  /**
   * Connects with the TEMPORAL_* settings (envconfig) unless `options.client` is given. Throws
   * TemporalConnectionError naming the address when the server cannot be reached in time.
   */
  static async connect(options: TemporalContextOptions = {}): Promise<TemporalContext> {
    const settings = temporalSettings(options.env ?? process.env, options);
    if (options.client) {
      return new TemporalContext(options.client, settings.address, options.client.options.namespace, settings.taskQueue, settings.uiUrl, null);
    }
    const { client, connection } = await connectTemporal(settings);
    return new TemporalContext(client, settings.address, settings.namespace, settings.taskQueue, settings.uiUrl, connection);
  }

  /** Closes the connection if this context opened it. */
  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  workflowUrl(workflowId: string, runId?: string): string {
    return workflowUrl(this.uiUrl, this.namespace, workflowId, runId);
  }

  scheduleUrl(scheduleId: string): string {
    return scheduleUrl(this.uiUrl, this.namespace, scheduleId);
  }

  /** Runs a Temporal call, turning SDK errors into RigsnapError / TemporalConnectionError. */
  async call<T>(ctx: Omit<ErrorContext, 'address'>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.error(err, ctx);
    }
  }

  /** An SDK error as the RigsnapError (or TemporalConnectionError) a caller can act on. */
  error(err: unknown, ctx: Omit<ErrorContext, 'address'> = {}) {
    return toRigsnapError(err, { ...ctx, address: this.address });
  }
}
