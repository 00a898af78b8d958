import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { replayExplained, type RecordedHistory } from '../helpers/replay.js';
import { TEST_TOKEN } from '../helpers/temporal.js';

/**
 * Every recorded history replays against the current workflow code: test/replay/histories (the current
 * code's paths, from `npm run record-histories`) and each dated folder under it (what earlier code
 * recorded, kept when the code changed behind patched()). A change that breaks determinism for running
 * workflows fails here: put it behind patched() instead.
 */

const DIR = path.resolve('test/replay/histories');
const sets = [
  DIR,
  ...fs
    .readdirSync(DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(DIR, d.name)),
];
const workflowIdOf: Record<string, string> = {};
for (const dir of sets) {
  const ids = JSON.parse(fs.readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
  for (const [file, id] of Object.entries(ids)) workflowIdOf[path.relative(DIR, path.join(dir, file))] = id;
}
const files = Object.keys(workflowIdOf).sort();

describe('replay of recorded histories', () => {
  it('the current code has histories for every public workflow type and the workspace entity, and the older code kept its own', () => {
    expect(sets.length).toBeGreaterThan(1);
    const types = new Set(
      files
        .filter((f) => !f.includes('/'))
        .map((f) => {
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
        'backupGroup',
        'backupWorkspace',
        'checkpointGroup',
        'checkpointWorkspace',
        'deleteSnapshot',
        'groupEntity',
        'listSnapshots',
        'pruneSnapshots',
        'restoreGroup',
        'restoreWorkspace',
        'snapshotGroup',
        'snapshotWorkspace',
        'workspaceEntity',
      ].sort(),
    );
  });

  it('the recorded histories hold no Rigbox token', () => {
    for (const f of files) expect(fs.readFileSync(path.join(DIR, f), 'utf8'), f).not.toContain(TEST_TOKEN);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    // Proto3 JSON as the temporal CLI writes it; the SDK converts it itself.
    // A failure names the workflow type and the first event the code did not match.
    const history = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as RecordedHistory;
    await replayExplained({ codePath: inject('workflowBundlePath') }, file, history, workflowIdOf[file]);
  });
});
