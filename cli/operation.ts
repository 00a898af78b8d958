import type { StepRecord } from '../domain/index.js';
import type { RigsnapError } from '../client/errors.js';
import type { RigsnapClient, StartedOperation } from '../client/rigsnap-client.js';
import { withClient } from './connect.js';
import { EXIT, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { finalSteps, newSeen, noWorkerNotice, watch } from './watch.js';
import { errors, formatDuration } from './run-deps.js';

/**
 * What every command that starts an operation does: start it, print its link, watch it with progress
 * (unless --no-wait), then print the result the way the operation's OperationOutput says.
 */

export interface OperationOutput<R> {
  /** One line about the result. */
  line(r: R): string;
  /** More lines (tables) in plain output. */
  more?(r: R): string[];
  /** Exit code for a result (a fleet run with failures is 1). */
  exitCode?(r: R): number;
  /** What else to fetch and show once it ended (a fleet's backups): lines, and keys for --json. */
  extra?(rig: RigsnapClient, workflowId: string, r: R): Promise<{ lines: string[]; json: Record<string, unknown> }>;
  /** A failure that still carries a result (a fleet's PartialFailure: its summary in details[0]). */
  resultOfFailure?(err: RigsnapError): R | null;
}

/** Every workflow result carries the steps it went through. */
type Result = object & { steps?: StepRecord[] };

/** With --no-wait: the workflow id and link, and a word if no worker would pick it up. */
async function printStarted(io: Io, rig: RigsnapClient, started: StartedOperation<unknown>): Promise<number> {
  const { workflowId, runId, url, workflowType, existing } = started;
  if (io.json) io.out(JSON.stringify({ workflowId, runId, url, workflowType, status: 'started', existing }));
  else {
    io.out(workflowId);
    io.out(`  ${io.c.dim(url)}`);
  }
  if (!existing && (await rig.liveWorkers().catch(() => null))?.length === 0) io.err(`rigsnap: ${noWorkerNotice(rig)}`);
  return EXIT.ok;
}

/** Starts an operation, prints its link, waits with progress (unless --no-wait), prints the result. */
export async function runOperation<R extends Result>(
  io: Io,
  o: CommonOptions,
  start: (rig: RigsnapClient) => Promise<StartedOperation<R>>,
  output: OperationOutput<R>,
): Promise<number> {
  return withClient(o, async (rig) => {
    const started = await start(rig);
    if (o.wait === false) return printStarted(io, rig, started);
    const ref = { workflowId: started.workflowId, runId: started.runId, url: started.url, workflowType: started.workflowType };
    if (!io.json) {
      io.out(`${io.c.cyan('→')} ${started.existing ? 'already ran: ' : ''}${started.workflowId}`);
      io.out(`  ${io.c.dim(started.url)}`);
    }
    const t0 = Date.now();
    const seen = newSeen();
    let value: R;
    let status = 'completed';
    try {
      value = await watch(rig, io, started.workflowId, started.result(), seen);
    } catch (err) {
      const carried = err instanceof errors().RigsnapError ? output.resultOfFailure?.(err) : null;
      if (!carried) {
        if (err instanceof errors().RigsnapError && !io.json) {
          const report = await rig.progress(started.workflowId, undefined, 1500).catch(() => null);
          finalSteps(io, report?.progress?.steps, true, seen);
        }
        throw err;
      }
      value = carried;
      status = 'failed';
    }
    const code = status === 'failed' ? EXIT.failed : (output.exitCode?.(value) ?? EXIT.ok);
    const extra = await output.extra?.(rig, started.workflowId, value).catch(() => null);
    if (io.json) {
      io.out(JSON.stringify({ ...ref, status, result: value, ...(extra?.json ?? {}) }));
      return code;
    }
    finalSteps(io, value.steps, false, seen);
    const mark = code === EXIT.ok ? io.c.green('✓') : io.c.red('✗');
    io.out(`${mark} ${output.line(value)} ${io.c.dim(`(${formatDuration(Date.now() - t0)})`)}`);
    for (const l of output.more?.(value) ?? []) io.out(l);
    for (const l of extra?.lines ?? []) io.out(l);
    return code;
  });
}
