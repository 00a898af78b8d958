import fs from 'node:fs';
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import webpack from 'webpack';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../../worker/bundle.js';

/**
 * Issue 18.5: replay does not depend on today's schemas and defaults. The workflows are bundled with
 * made-up later schemas (test/replay/made-up-schemas.ts: names tightened to 1 character, a fleet's
 * default concurrency changed) and the recorded histories replay against them:
 *  - those recorded under truth-2026-12, whose input was validated once (history keeps the value),
 *    replay unchanged: the schema does not run on replay;
 *  - those recorded before it validate in workflow code on every replay, and fail under the change:
 *    what a schema change did to running workflows before (and still does to runs that predate the patch).
 */

const HISTORIES = path.resolve('test/replay/histories');
const MADE_UP = path.resolve('test/replay/made-up-schemas.ts');
let bundle: { code: string };

function historyOf(file: string): { history: unknown; workflowId: string } {
  const dir = path.dirname(path.join(HISTORIES, file));
  const ids = JSON.parse(fs.readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
  return { history: JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')), workflowId: ids[path.basename(file)]! };
}

const replay = (file: string) => {
  const { history, workflowId } = historyOf(file);
  return Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, workflowId);
};

beforeAll(async () => {
  const options = bundleOptions(path.resolve('workflows/index.ts'));
  bundle = await bundleWorkflowCode({
    ...options,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    webpackConfigHook: (config) => {
      const base = options.webpackConfigHook!(config);
      // Every import of domain/schemas.js gets the made-up module, except the made-up module's own.
      const swap = new webpack.NormalModuleReplacementPlugin(/domain[\\/]schemas\.js$/, (resource: { request: string; contextInfo?: { issuer?: string } }) => {
        if (resource.contextInfo?.issuer !== MADE_UP) resource.request = MADE_UP;
      });
      return { ...base, plugins: [...(base.plugins ?? []), swap] };
    },
  });
}, 120_000);

describe('replay after a made-up schema change', () => {
  // Input validation runs in the workflow (the local-activity check of truth-2026-12 broke replays that a
  // query split: workflows/common.ts checkedInput), so a schema change still needs patched(): this shows why.
  it.each(['2026-11-30/checkpoint-rollback-release.json', '2026-11-30/snapshot-running.json', 'checkpoint-rollback-release.json', 'snapshot-running.json'])(
    '%s (validated on every replay) fails under a schema change made without patched()',
    async (file) => {
      await expect(replay(file)).rejects.toThrow(/[Nn]ondetermin|InvalidInput|invalid input/);
    },
  );

  it('the made-up schemas are in the bundle (a check that this test can fail)', () => {
    expect(bundle.code).toContain('made-up-schemas');
  });
});
