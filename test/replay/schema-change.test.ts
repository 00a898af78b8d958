import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { bundleWith } from '../helpers/replay.js';
import { testWorkflowId, workflowFailure } from '../helpers/workflows.js';

/**
 * Issue 18.5: replay does not depend on today's schemas and defaults. Inputs are validated in workflow
 * code, so the schemas run again on every replay; a tightening or a changed default is therefore made as
 * an input revision guarded by patched() (domain/input-revisions.ts). The workflows are bundled twice
 * with the same made-up later change (names of at most 1 character, a fleet's default concurrency 1):
 *  - made in place (test/replay/made-up-schemas.ts replaces domain/schemas.ts): recorded histories
 *    fail replay, which is what a schema change did to running workflows before;
 *  - made as revisions (test/replay/made-up-revisions.ts replaces domain/input-revisions.ts): every
 *    recorded history replays, and a run started on that bundle gets the new rule.
 */

const HISTORIES = path.resolve('test/replay/histories');
const MADE_UP = path.resolve('test/replay/made-up-schemas.ts');
const MADE_UP_REVISIONS = path.resolve('test/replay/made-up-revisions.ts');
let inPlace: { code: string };
let asRevisions: { code: string };

function historyOf(file: string): { history: unknown; workflowId: string } {
  const dir = path.dirname(path.join(HISTORIES, file));
  const ids = JSON.parse(fs.readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
  return { history: JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')), workflowId: ids[path.basename(file)]! };
}

const replay = (bundle: { code: string }, file: string) => {
  const { history, workflowId } = historyOf(file);
  return Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, workflowId);
};

/** Every recorded history of this release and the previous ones (not the intermediate build's). */
const RECORDED = ['', '2026-12-06-morning', '2026-11-30', '2026-11-28', '2026-12-06-cross-release'].flatMap((dir) =>
  fs
    .readdirSync(path.join(HISTORIES, dir))
    .filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json')
    .map((f) => (dir ? `${dir}/${f}` : f)),
);

let temporal: TestTemporal;

beforeAll(async () => {
  [inPlace, asRevisions] = await Promise.all([
    bundleWith(/domain[\\/]schemas\.js$/, MADE_UP),
    bundleWith(/domain[\\/]input-revisions\.js$/, MADE_UP_REVISIONS),
  ]);
  temporal = await connectTestTemporal();
}, 180_000);
afterAll(async () => {
  await temporal?.close();
});

describe('replay after a made-up schema change', () => {
  it.each(['2026-11-30/checkpoint-rollback-release.json', '2026-11-30/snapshot-running.json', 'checkpoint-rollback-release.json', 'snapshot-running.json'])(
    'made in place, without patched(): %s fails replay',
    async (file) => {
      await expect(replay(inPlace, file)).rejects.toThrow(/[Nn]ondetermin|InvalidInput|invalid input/);
    },
  );

  it(`made as input revisions guarded by patched(): all ${RECORDED.length} recorded histories replay`, async () => {
    expect(RECORDED.length).toBeGreaterThan(40);
    const failed: string[] = [];
    for (const file of RECORDED) {
      await replay(asRevisions, file).catch((e: unknown) => failed.push(`${file}: ${(e as Error).message.slice(0, 200)}`));
    }
    expect(failed).toEqual([]);
  }, 300_000);

  it('made as input revisions: a run started on the new code gets the new rule (InvalidInput naming the field)', async () => {
    const taskQueue = uniqueTaskQueue('revision');
    const worker = await Worker.create({ connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: asRevisions });
    const failure = await worker.runUntil(
      workflowFailure(
        temporal.client.workflow.execute(WORKFLOW_TYPES.snapshot, {
          taskQueue,
          workflowId: testWorkflowId('revision'),
          args: [{ workspaceId: 'ws_rev', name: 'ab' }],
        }),
      ),
    );
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/name/);
  });

  it('the made-up modules are in their bundles (a check that this test can fail)', () => {
    expect(inPlace.code).toContain('made-up-schemas');
    expect(asRevisions.code).toContain('made-up-revisions');
  });
});
