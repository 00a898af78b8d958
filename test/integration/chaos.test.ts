import { describe, expect, it } from 'vitest';
import { formatReport, historyText, runChaos } from '../../bench/chaos.js';

/**
 * The short form of `npm run chaos`: 20 operations on 4 workspaces while Rigbox injects 503s, 429s
 * and lost answers, about 10 % of the operations are cancelled at random moments, the lock of a busy
 * workspace is terminated, a workspace is deleted in Rigbox while its snapshot waits for the stop, one
 * worker is SIGKILLed mid-run and the Temporal dev server restarts once. Runs
 * on its own dev server (the global one cannot be restarted) and the built worker (`npm run build`,
 * which `npm test`'s pretest runs).
 */

describe('chaos (short form)', () => {
  it('the history scan reads payload bytes, where a token would be', () => {
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"token":"s3cr3t"}') };
    // protobuf messages turn bytes into base64 in toJSON; the scan must not go through it.
    const event = { input: { payloads: [payload] }, toJSON: () => ({ data: Buffer.from('{"token":"s3cr3t"}').toString('base64') }) };
    expect(historyText({ events: [event] })).toContain('s3cr3t');
    expect(JSON.stringify({ events: [event] })).not.toContain('s3cr3t');
  });

  it('every operation completes, nothing is duplicated, lost, left down or leaked', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      operations: 20,
      workspaces: 4,
      killEverySeconds: 6,
      maxWorkerKills: 1,
      serverRestarts: 1,
      timeoutSeconds: 150,
      log: (line) => lines.push(line),
    });
    const printed = formatReport(report);
    process.stdout.write(`${printed}\n`);

    // The chaos really happened.
    expect(report.workerKills).toBe(1);
    expect(report.serverRestarts).toBe(1);
    expect(report.lockTerminations).toBe(1);
    expect(report.operations.cancelRequested).toBeGreaterThan(0);
    expect(report.faults.unavailable + report.faults.rateLimited + report.faults.lost).toBeGreaterThan(10);
    expect(report.snapshots.pruned).toBeGreaterThan(0);
    // A workspace deleted mid-run ends its operation (WorkspaceGone); nothing is left down, duplicated or stuck.
    expect(report.terminal).toEqual({ workspacesDeleted: 1, endedWorkspaceGone: 1, leftDown: 0, duplicates: 0, stuckRuns: 0 });

    // And nothing broke: every check, by name, so a failure says which.
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.value}\n  ${c.details.join('\n  ')}`);
    expect(failed, `${printed}\n\n${lines.join('\n')}`).toEqual([]);
    expect(report.operations.completed + report.operations.cancelled).toBe(20);
    expect(report.operations.notCompleted).toEqual([]);
    expect(report.ok).toBe(true);
  }, 240_000);
});
