import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { bundleWith, replayExplained, type RecordedHistory } from '../helpers/replay.js';

/**
 * Issue 25.3: the replay check fails on a made-up non-deterministic change (a timer before every
 * activity, without patched()), and its failure names the workflow type, the history and the first
 * event the new code did not match.
 */

const HISTORIES = path.resolve('test/replay/histories');
const ids = JSON.parse(fs.readFileSync(path.join(HISTORIES, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')) as RecordedHistory;
let changed: { code: string };

beforeAll(async () => {
  changed = await bundleWith(/^@temporalio\/workflow$/, path.resolve('test/replay/made-up-nondeterminism.ts'));
}, 180_000);

describe('the replay check on a made-up non-deterministic change', () => {
  it.each([
    ['snapshot-running.json', WORKFLOW_TYPES.snapshot],
    ['checkpoint-rollback-release.json', WORKFLOW_TYPES.checkpoint],
    ['fleet.json', WORKFLOW_TYPES['fleet-backup']],
  ])('%s fails, naming %s and the first mismatching event', async (file, type) => {
    const err = await replayExplained(changed, file, read(file), ids[file]).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err, 'the changed code replayed: the check cannot fail').toBeInstanceOf(Error);
    expect(err!.message).toContain(`${type} (${file}) does not replay on this code`);
    expect(err!.message).toMatch(/first mismatch at event \d+ [A-Z_]+/);
    expect(err!.message).toMatch(/[Nn]ondetermin/);
    process.stdout.write(`[replay] ${err!.message.slice(0, 400)}\n`);
  });

  it('the made-up change is in the bundle (a check that this test can fail)', () => {
    expect(changed.code).toContain('made-up-nondeterminism');
  });
});
