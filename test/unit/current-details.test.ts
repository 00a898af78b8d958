import { describe, expect, it } from 'vitest';
import { fromStoredHeartbeat, toStoredHeartbeat } from '../../activities/heartbeat.js';
import type { Progress } from '../../domain/index.js';
import { formatCurrentDetails } from '../../workflows/current-details.js';

/** What the Temporal UI shows of a running operation: its Current details and its activity's heartbeat. */

const running: Progress = {
  operation: 'backup',
  workspaceId: 'ws_demo',
  state: 'running',
  currentStep: 'stop',
  steps: [
    { step: 'preflight', startedAt: '2026-11-30T03:00:00.000Z', finishedAt: '2026-11-30T03:00:00.200Z' },
    { step: 'stop', startedAt: '2026-11-30T03:00:00.200Z', finishedAt: null },
  ],
  detail: { name: 'daily-backup-2026-11-30-0300' },
};

describe('formatCurrentDetails', () => {
  it('puts a blank line between the title and the steps, so the UI renders a list and not one squashed line', () => {
    expect(formatCurrentDetails(running).split('\n')).toEqual([
      '**backup** of `ws_demo`: running',
      '',
      '- ✓ checking workspace',
      '- … stopping workspace and waiting for it to stop',
      '',
      '- name: daily-backup-2026-11-30-0300',
    ]);
  });

  it('marks where a failed run stopped, and says why a step runs (a restart after a failure)', () => {
    const failed: Progress = { ...running, state: 'failed', detail: undefined };
    expect(formatCurrentDetails(failed)).toContain('- ✗ stopping workspace');
    expect(formatCurrentDetails(running, 'restarting after a failure')).toContain(
      '- … stopping workspace and waiting for it to stop (restarting after a failure)',
    );
  });

  it('lists a fleet run’s tallies as items, not a JSON block', () => {
    const fleet: Progress = {
      operation: 'fleet-backup',
      workspaceId: null,
      state: 'running',
      currentStep: null,
      steps: [],
      detail: { total: 3, done: 1, running: 2 },
    };
    const md = formatCurrentDetails(fleet);
    expect(md).not.toContain('```');
    expect(md).toContain('- total: 3\n- done: 1\n- running: 2');
  });
});

describe('stored wait heartbeats', () => {
  it('carry times as ISO text, and resume from either form', () => {
    const stored = toStoredHeartbeat({
      phase: 'waiting for stopped',
      status: 'stopping',
      polls: 3,
      waitStartedAt: 1_795_000_000_000,
      firstLookAt: 1_795_000_000_500,
    });
    expect(stored).toEqual({
      phase: 'waiting for stopped',
      status: 'stopping',
      polls: 3,
      waitStartedAt: '2026-11-18T11:06:40.000Z',
      firstLookAt: '2026-11-18T11:06:40.500Z',
    });
    expect(JSON.stringify(stored)).not.toMatch(/\d{13}/);
    expect(fromStoredHeartbeat(stored)).toMatchObject({ waitStartedAt: 1_795_000_000_000, firstLookAt: 1_795_000_000_500, polls: 3 });
    // What a worker of the previous version left: epoch numbers.
    expect(fromStoredHeartbeat({ phase: 'x', polls: 1, waitStartedAt: 1_795_000_000_000 })).toMatchObject({ waitStartedAt: 1_795_000_000_000 });
    // Not a wait's heartbeat (a copy's { phase }): no clock to resume.
    expect(fromStoredHeartbeat({ phase: 'copying disk' })).toBeUndefined();
    expect(fromStoredHeartbeat(undefined)).toBeUndefined();
  });
});
