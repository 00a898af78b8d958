import { describe, expect, it } from 'vitest';
import type { Progress } from '../../domain/index.js';
import { SPINNER_FRAMES, describeActivity, describeDetail, finishedStepLines, renderProgress } from '../../client/progress-renderer.js';
import { fmtTime } from '../../client/format.js';
import type { PendingActivityView } from '../../client/rigsnap-client.js';

/** States recorded from a real snapshotWorkspace run (`progress` query and describe()), times kept. */
const T0 = Date.parse('2026-04-07T03:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

const duringStop: Progress = {
  operation: 'snapshot',
  workspaceId: 'ws_demo',
  state: 'running',
  currentStep: 'stop',
  steps: [
    { step: 'preflight', startedAt: at(0), finishedAt: at(160) },
    { step: 'stop', startedAt: at(160), finishedAt: null },
  ],
};
const stopHeartbeat: PendingActivityView = {
  activityType: 'stopWorkspace',
  attempt: 1,
  state: 'STARTED',
  heartbeat: { phase: 'waiting for stopped', status: 'stopping', polls: 3, waitStartedAt: T0 + 170, actionRequested: true },
  lastHeartbeatAt: at(900),
  lastFailure: null,
};
const completed: Progress = {
  operation: 'snapshot',
  workspaceId: 'ws_demo',
  state: 'completed',
  currentStep: null,
  steps: [
    { step: 'preflight', startedAt: at(0), finishedAt: at(160) },
    { step: 'stop', startedAt: at(160), finishedAt: at(1760) },
    { step: 'snapshot', startedAt: at(1760), finishedAt: at(2790) },
    { step: 'start', startedAt: at(2790), finishedAt: at(4380) },
  ],
};
const failedAtPreflight: Progress = {
  operation: 'snapshot',
  workspaceId: 'ws_missing',
  state: 'failed',
  currentStep: null,
  steps: [{ step: 'preflight', startedAt: at(0), finishedAt: at(165) }],
};

describe('renderProgress', () => {
  it('shows each finished step with its own time and the running one up to now, with the heartbeat under it', () => {
    const lines = renderProgress({ progress: duringStop, activity: stopHeartbeat, now: T0 + 1400, startedAt: at(0) });
    expect(lines).toEqual([
      'snapshot of ws_demo running 1.4s',
      '  ✓ checking workspace                             160ms',
      '  … stopping workspace and waiting for it to stop  1.2s',
      '      waiting for stopped · status stopping · 3 polls',
    ]);
  });

  it('animates the running step with the spinner frame it is given', () => {
    const a = renderProgress({ progress: duringStop, now: T0 + 500 }, { spinnerFrame: 0 });
    const b = renderProgress({ progress: duringStop, now: T0 + 500 }, { spinnerFrame: 1 });
    expect(a[2]).toContain(SPINNER_FRAMES[0]);
    expect(b[2]).toContain(SPINNER_FRAMES[1]);
    expect(a[1]).toContain('✓');
  });

  it('renders a completed run with every step ticked and no activity line', () => {
    const lines = renderProgress({ progress: completed, activity: null, now: T0 + 10_000 });
    expect(lines[0]).toBe('snapshot of ws_demo completed');
    expect(lines.slice(1)).toEqual([
      '  ✓ checking workspace                             160ms',
      '  ✓ stopping workspace and waiting for it to stop  1.6s',
      '  ✓ taking snapshot                                1.0s',
      '  ✓ starting workspace and waiting for it to run   1.6s',
    ]);
  });

  it('marks the step a failed run stopped at', () => {
    const lines = renderProgress({ progress: failedAtPreflight, now: T0 + 1000 });
    expect(lines).toEqual(['snapshot of ws_missing failed', '  ✗ checking workspace  165ms']);
  });

  it('without a progress answer (no worker yet) says so, and still shows what the activity reports', () => {
    const lines = renderProgress({ progress: null, activity: stopHeartbeat, now: T0 + 2000, startedAt: T0 });
    expect(lines[0]).toBe('… waiting for a worker to report progress 2.0s');
    expect(lines[1]).toContain('status stopping');
  });

  it('uses colours only when asked', () => {
    const plain = renderProgress({ progress: completed, now: T0 }).join('\n');
    const coloured = renderProgress({ progress: completed, now: T0 }, { color: true }).join('\n');
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toContain('\u001b[');
    expect(coloured.replace(new RegExp(String.raw`\u001b\[[0-9;]*m`, 'g'), '')).toBe(plain);
  });

  it('shows the fleet tallies and the checkpoint session from the workflow detail', () => {
    const fleet: Progress = {
      operation: 'fleet-backup',
      workspaceId: null,
      state: 'running',
      currentStep: null,
      steps: [],
      detail: { total: 200, done: 120, running: 10, succeeded: 110, failed: 10, run: 2 },
    };
    expect(renderProgress({ progress: fleet, now: T0 })).toEqual(['fleet-backup running', '  120/200 done · 10 running · 110 succeeded · 10 failed · run 2']);
    const checkpoint: Progress = {
      ...completed,
      operation: 'checkpoint',
      state: 'running',
      detail: { state: 'active', snapshotId: 'snap_1', snapshotName: 'pre-demo', rollbacks: 1, expiresAt: '2026-04-07T05:00:00.000Z' },
    };
    expect(renderProgress({ progress: checkpoint, now: T0 }).at(-1)).toBe('  checkpoint active · snapshot snap_1 · 1 rollback · expires 2026-04-07 05:00 UTC');
  });
});

describe('waiting for the workspace lock', () => {
  // Recorded from two snapshots and a backup on one workspace: today the wait is inside `preflight`
  // (the heartbeat says "waiting for lock"); with the lock in workflow code it is its own step.
  const waitingInPreflight: Progress = {
    operation: 'snapshot',
    workspaceId: 'ws_demo',
    state: 'running',
    currentStep: 'preflight',
    steps: [{ step: 'preflight', startedAt: at(0), finishedAt: null }],
  };
  const lock = { workspaceId: 'ws_demo', holder: { workflowId: 'backup-ws_demo-m1abc2', operation: 'backup', since: at(-5000) }, ahead: 2 };
  const lockHeartbeat: PendingActivityView = {
    activityType: 'preflightAndLock',
    attempt: 1,
    state: 'STARTED',
    heartbeat: { phase: 'waiting for lock', polls: 0, queuePosition: 2, status: 'held by backup-ws_demo-m1abc2' },
    lastHeartbeatAt: null,
    lastFailure: null,
  };

  it('says that it waits, for whom, and its place, instead of "checking workspace"', () => {
    expect(renderProgress({ progress: waitingInPreflight, activity: lockHeartbeat, lock, now: T0 + 90_000 })).toEqual([
      'snapshot of ws_demo running',
      '  … waiting for other operations on this workspace  1m30s',
      '      waiting for backup-ws_demo-m1abc2 (backup); 2 ahead of you',
    ]);
    expect(renderProgress({ progress: waitingInPreflight, lock: { ...lock, ahead: 1 }, now: T0 + 1000 })[2]).toBe(
      '      waiting for backup-ws_demo-m1abc2 (backup); next in line',
    );
  });

  it('falls back to the heartbeat when the lock does not answer', () => {
    expect(renderProgress({ progress: waitingInPreflight, activity: lockHeartbeat, now: T0 + 1000 }).slice(1)).toEqual([
      '  … waiting for other operations on this workspace  1.0s',
      '      waiting for backup-ws_demo-m1abc2; 2 ahead of you',
    ]);
  });

  it('works the same on the wait-for-lock step of the new lock design', () => {
    const ownStep: Progress = { ...waitingInPreflight, currentStep: 'wait-for-lock', steps: [{ step: 'wait-for-lock', startedAt: at(0), finishedAt: null }] };
    expect(renderProgress({ progress: ownStep, lock, now: T0 + 2000 }).slice(1)).toEqual([
      '  … waiting for other operations on this workspace  2.0s',
      '      waiting for backup-ws_demo-m1abc2 (backup); 2 ahead of you',
    ]);
  });

  it('does not finish as "checking workspace 1m30s": the finished check says it waited its turn', () => {
    const done: Progress = { ...completed, steps: [{ step: 'preflight', startedAt: at(0), finishedAt: at(90_000) }, ...completed.steps.slice(1)] };
    expect(renderProgress({ progress: done, lockWaited: true, now: T0 + 100_000 })[1]).toMatch(/^ {2}✓ checking workspace \(after waiting its turn\) +1m30s$/);
    expect(finishedStepLines(null, done, { lockWaited: true })[0]).toMatch(/^ {2}✓ checking workspace \(after waiting its turn\) +1m30s$/);
    expect(finishedStepLines(null, done)[0]).toMatch(/^ {2}✓ checking workspace +1m30s$/);
  });
});

describe('fleet runs', () => {
  it('name the workspaces being backed up right now', () => {
    const fleet: Progress = {
      operation: 'fleet-backup',
      workspaceId: null,
      state: 'running',
      currentStep: null,
      steps: [],
      detail: { total: 3, done: 1, running: 2 },
    };
    expect(renderProgress({ progress: fleet, now: T0, running: ['ws_a', 'ws_b'] }).slice(1)).toEqual(['  1/3 done · 2 running', '  backing up ws_a, ws_b']);
  });
});

describe('no worker', () => {
  it('puts what to do under the header while no worker answers', () => {
    const lines = renderProgress({ progress: null, now: T0 + 25_500, startedAt: at(0), notice: 'no rigsnap worker is polling task queue "rigbox-snapshots"' });
    expect(lines).toEqual(['… waiting for a worker to report progress 25.5s', '    no rigsnap worker is polling task queue "rigbox-snapshots"']);
  });
});

describe('describeActivity', () => {
  it('names the place in the workspace queue and the lock holder while waiting for the lock', () => {
    expect(
      describeActivity({
        activityType: 'preflightAndLock',
        attempt: 1,
        state: 'STARTED',
        heartbeat: { phase: 'waiting for lock', polls: 0, queuePosition: 3, status: 'held by restore-ws_demo-snap_1-k' },
        lastHeartbeatAt: null,
        lastFailure: null,
      }),
    ).toBe('waiting for restore-ws_demo-snap_1-k; 3 ahead of you');
  });

  it('shows retries and the last error', () => {
    expect(
      describeActivity({
        activityType: 'createSnapshot',
        attempt: 3,
        state: 'SCHEDULED',
        heartbeat: null,
        lastHeartbeatAt: null,
        lastFailure: 'Rigbox is temporarily unavailable',
      }),
    ).toBe('attempt 3 · last error: Rigbox is temporarily unavailable');
    expect(describeActivity(null)).toBeNull();
  });
});

describe('describeDetail', () => {
  it('falls back to key/value pairs for other details', () => {
    expect(describeDetail({ name: 'daily-backup-2026-04-07' })).toBe('name daily-backup-2026-04-07');
    expect(describeDetail(undefined)).toBeNull();
  });
});

describe('finishedStepLines (logs without a terminal)', () => {
  it('prints each step once, when it finishes', () => {
    const first = finishedStepLines(null, duringStop);
    expect(first).toEqual([expect.stringMatching(/^ {2}✓ checking workspace +160ms$/)]);
    const second = finishedStepLines(duringStop, completed);
    expect(second.map((l) => l.trim().replace(/ +/g, ' '))).toEqual([
      '✓ stopping workspace and waiting for it to stop 1.6s',
      '✓ taking snapshot 1.0s',
      '✓ starting workspace and waiting for it to run 1.6s',
    ]);
    expect(finishedStepLines(completed, completed)).toEqual([]);
  });

  it('marks the last step of a failed run', () => {
    expect(finishedStepLines(null, failedAtPreflight)).toEqual([expect.stringMatching(/^ {2}✗ checking workspace +165ms$/)]);
  });
});

describe('fmtTime: one way to write a time, in the reader’s timezone', () => {
  it('writes minutes and the zone, never raw ISO or epoch numbers', () => {
    expect(fmtTime('2026-11-30T07:21:05.123Z')).toBe('2026-11-30 07:21 UTC');
    expect(fmtTime(Date.parse('2026-11-30T07:21:05.123Z'))).toBe('2026-11-30 07:21 UTC');
    // A 03:00 Europe/Berlin schedule's next run reads 03:00, not 02:00Z.
    expect(fmtTime('2026-12-01T02:00:00Z', 'Europe/Berlin')).toBe('2026-12-01 03:00 Europe/Berlin');
    expect(fmtTime('2026-12-01T02:00:00Z', 'Europe/Berlin', { zone: false })).toBe('2026-12-01 03:00');
    expect(fmtTime(null)).toBe('-');
  });
});
