import { prng } from '../emulator/index.js';
import { runChecks } from './chaos/checks.js';
import { WorkspaceDeletions } from './chaos/deletions.js';
import { Disruptions } from './chaos/disruptions.js';
import { runPhases } from './chaos/drive.js';
import { ChaosContext, DEFAULTS, delaysOf, errorText, faultsOf, type ChaosOptions, type ChaosReport, type ChaosStack } from './chaos/model.js';
import { buildReport } from './chaos/report.js';
import { planPhase1, seedWorkspaces, stoppedAtStart } from './chaos/setup.js';
import { startBenchStack } from './stack.js';

/**
 * `npm run chaos`: many snapshot, restore and backup operations while Rigbox fails (503s, 429s,
 * lost answers), workers are SIGKILLed and the Temporal server restarts; then exact checks that
 * nothing was lost, duplicated, left down or leaked.
 *
 * Phase 1 runs most operations at once (several per workspace, serialized by the workspace lock).
 * Phase 2 runs one restore with keepCurrent per workspace once phase 1 is over, so what every
 * workspace holds before and after it is known exactly. The checks then read the emulator (the
 * ground truth of what Rigbox did) against what the operations reported.
 *
 * The parts, sharing one ChaosContext: chaos/setup.ts (workspaces and plan), chaos/drive.ts (the
 * phases) with chaos/disruptions.ts (kills, restart, lock termination) and chaos/deletions.ts (workspaces
 * deleted mid-run: WorkspaceGone, no stuck run), chaos/checks.ts, chaos/report.ts.
 */

export type { ChaosCheck, ChaosOptions, ChaosReport, ChaosStack, OperationOutcome, Quantiles } from './chaos/model.js';
export { BACKUP_PREFIX, BACKUP_RETENTION, HAND_MADE_NAMES } from './chaos/model.js';
export { historyText } from './chaos/checks.js';
export { formatReport } from './chaos/report.js';

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const o = { ...DEFAULTS, ...options };
  const log = options.log ?? (() => {});
  if (o.workspaces < 1 || o.operations < o.workspaces) throw new Error('chaos: need at least one workspace and one operation per workspace');
  const random = prng(o.seed ^ 0x5eed);
  const runTag = Date.now().toString(36);
  const wallStart = Date.now();
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new Error('chaos: need at least one worker');
  const stack: ChaosStack = await (options.startStack ?? startBenchStack)({
    // The faults start with phase 1 (drive.ts): setup talks to a healthy Rigbox.
    emulator: { delays: delaysOf(o), faults: { ...faultsOf(o), unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0, seed: o.seed } },
    taskQueue: `chaos-${runTag}`,
    workerEnv: {
      RIGSNAP_POLL_MIN_MS: '50',
      RIGSNAP_POLL_MAX_MS: '500',
      RIGSNAP_POLL_GROWTH: '0.4',
      RIGSNAP_RIGBOX_CALLS_PER_SECOND: '1000',
      RIGSNAP_SHUTDOWN_GRACE_MS: '2000',
      RIGSNAP_LOG_LEVEL: 'WARN',
      ...(options.workerEnv ?? {}),
    },
    log,
  });
  const ctx = new ChaosContext(o, stack, log, random, runTag, wallStart);
  const disruptions = new Disruptions(ctx);
  const deletions = new WorkspaceDeletions(ctx);
  try {
    seedWorkspaces(ctx);
    deletions.setUp();
    planPhase1(ctx);
    log(
      `chaos: seed ${o.seed}; ${o.operations} operations (${ctx.phase1Count} in phase 1, ${o.workspaces} in phase 2) on ${o.workspaces} workspaces ` +
        `(${stoppedAtStart(ctx)} stopped); faults ${ctx.faults.unavailableRate * 100}% 503, ${ctx.faults.rateLimitRate * 100}% 429 (Retry-After ${ctx.faults.retryAfterSeconds} s), ` +
        `${ctx.faults.lostResponseRate * 100}% lost answers`,
    );
    await disruptions.start();
    await Promise.all([runPhases(ctx, disruptions), deletions.drive()]);
    await disruptions.stop();
    Object.assign(stack.emu.faults, { unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0 });
    const findings = await runChecks(ctx, disruptions);
    findings.checks.push(...(await deletions.checks()));
    return buildReport(ctx, disruptions, findings, deletions);
  } finally {
    await disruptions.stop();
    await stack.close().catch((err: unknown) => log(`chaos: closing the stack failed: ${errorText(err)}`));
  }
}
