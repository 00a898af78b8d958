import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, ioOf, printJsonOr, table } from '../io.js';
import { addCommon, examples, numberArg, precheck, type Act, type CommonOptions } from '../options.js';
import { domain, fmtTime, invalidInput } from '../run-deps.js';

/** `rigsnap runs [workspace]`: recent operations, newest first, with their workflow ids and how they ended. */
export function registerRuns(program: Command, act: Act): void {
  examples(
    addCommon(program.command('runs').description('List recent rigsnap operations (newest first) with their workflow ids and how they ended'))
      .argument('[workspace]', 'only the operations on this workspace')
      .option('--limit <n>', 'how many (default 20)', numberArg)
      .option('--include-reads', 'also list the `rigsnap list` reads'),
    ['rigsnap runs', 'rigsnap runs ws_demo --limit 5', 'rigsnap runs ws_demo --json'],
  ).action(
    act(async (workspaceId: string | undefined, o: CommonOptions & { limit?: number | string; includeReads?: boolean }) => {
      const io = ioOf(o);
      const limit = o.limit === undefined ? 20 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidInput('limit: must be a whole number from 1 to 1000', ['limit']);
      if (workspaceId !== undefined) precheck(domain().ListSnapshotsInput, { workspaceId });
      return withClient(o, async (rig) => {
        const runs = await rig.recent({ ...(workspaceId ? { workspaceId } : {}), limit, includeReads: Boolean(o.includeReads) });
        printJsonOr(io, runs, () =>
          runs.length === 0
            ? [`no rigsnap operations${workspaceId ? ` on ${workspaceId}` : ''} on task queue ${rig.taskQueue} yet`]
            : table(
                ['STARTED', 'STATUS', 'OPERATION', 'WORKSPACE', 'WORKFLOW ID'],
                runs.map((r) => [fmtTime(r.startedAt), r.status, r.operation ?? r.workflowType, r.workspaceId ?? '-', r.workflowId]),
                io.c,
              ),
        );
        return EXIT.ok;
      });
    }),
  );
}
