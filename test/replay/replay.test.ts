import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { TEST_TOKEN } from '../helpers/temporal.js';

/**
 * Every recorded history (test/replay/histories, from `npm run record-histories`) replays against the
 * current workflow code. A change that breaks determinism for running workflows fails here: put it
 * behind patched() instead.
 */

const DIR = path.resolve('test/replay/histories');
const workflowIdOf = JSON.parse(fs.readFileSync(path.join(DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
const files = Object.keys(workflowIdOf).sort();

describe('replay of recorded histories', () => {
  it('has histories for every public workflow type and the lock', () => {
    const types = new Set(
      files.map((f) => {
        const history = JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as {
          events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType: { name: string } } }>;
        };
        return history.events[0]!.workflowExecutionStartedEventAttributes!.workflowType.name;
      }),
    );
    expect([...types].sort()).toEqual(
      [
        'auditBackups',
        'backupFleet',
        'backupWorkspace',
        'checkpointWorkspace',
        'deleteSnapshot',
        'listSnapshots',
        'pruneSnapshots',
        'restoreWorkspace',
        'snapshotWorkspace',
        'workspaceLock',
      ].sort(),
    );
  });

  it('the recorded histories hold no Rigbox token', () => {
    for (const f of files) expect(fs.readFileSync(path.join(DIR, f), 'utf8'), f).not.toContain(TEST_TOKEN);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    // Proto3 JSON as the temporal CLI writes it; the SDK converts it itself.
    const history: unknown = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file },
      history,
      workflowIdOf[file],
    );
  });
});
