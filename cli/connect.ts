import type { RigsnapClient } from '../client/rigsnap-client.js';
import type { CommonOptions } from './options.js';
import { parseDuration } from './run-deps.js';

/**
 * The CLI's way to Temporal: a client for one command, from --address/--namespace/--task-queue over the
 * TEMPORAL_* settings, closed when the command is done.
 */

async function connect(o: CommonOptions): Promise<RigsnapClient> {
  const timeout = process.env.RIGSNAP_CONNECT_TIMEOUT ? parseDuration(process.env.RIGSNAP_CONNECT_TIMEOUT) : undefined;
  // Loaded only now: @temporalio/client takes most of the start-up time, and --help or a rejected input never need it.
  const { RigsnapClient } = await import('../client/rigsnap-client.js');
  return RigsnapClient.connect({
    ...(o.address ? { address: o.address } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.taskQueue ? { taskQueue: o.taskQueue } : {}),
    connectTimeoutMs: timeout ?? 3000,
  });
}

export async function withClient<T>(o: CommonOptions, fn: (rig: RigsnapClient) => Promise<T>): Promise<T> {
  const rig = await connect(o);
  try {
    return await fn(rig);
  } finally {
    await rig.close().catch(() => undefined);
  }
}
