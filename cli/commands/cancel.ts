import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { EXIT, confirm, ioOf, printJsonOr } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';
import { ENDED } from '../outputs.js';
import { finalSteps, newSeen, watch } from '../watch.js';
import { formatDuration } from '../run-deps.js';

/** `rigsnap cancel <workflow-id>`: after asking; waits (unless --no-wait) until the run has ended, its workspace running again. */
export function registerCancel(program: Command, act: Act): void {
  examples(
    addCommon(
      program
        .command('cancel')
        .description('Cancel a running operation (asks first): it stops at its next step, and a workspace it stopped is started again before it ends'),
      { wait: true, yes: true },
    ).argument('<workflow-id>', 'workflow id (printed when an operation starts; `rigsnap runs` lists recent ones)'),
    ['rigsnap cancel snapshot-ws_demo-before-migration-m1abc2', 'rigsnap cancel backup-ws_demo-m1abc2 --yes --no-wait'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      await confirm(o, io, {
        action: `cancel ${workflowId}`,
        warning: 'It stops at its next step; a workspace it stopped is started again',
        declined: `${workflowId} was not cancelled and goes on`,
      });
      return withClient(o, async (rig) => {
        const c = await rig.cancel(workflowId);
        if (c.alreadyClosed) {
          printJsonOr(io, { ...c, status: c.status }, () => [
            `${io.c.green('✓')} ${workflowId} had already ended (${ENDED[c.status] ?? c.status.toLowerCase()}); nothing to cancel`,
            `  ${io.c.dim(c.url)}`,
          ]);
          return EXIT.ok;
        }
        if (o.wait === false) {
          printJsonOr(io, { ...c, status: 'CANCEL_REQUESTED' }, () => [
            `${io.c.green('✓')} cancellation of ${workflowId} requested; follow it with \`rigsnap status ${workflowId}\``,
            `  ${io.c.dim(c.url)}`,
          ]);
          return EXIT.ok;
        }
        if (!io.json) io.out(`${io.c.cyan('→')} cancelling ${workflowId}\n  ${io.c.dim(c.url)}`);
        const t0 = Date.now();
        const seen = newSeen();
        const status = await watch(rig, io, workflowId, rig.awaitClosed(workflowId, c.runId), seen);
        const report = await rig.progress(workflowId, c.runId, 1500).catch(() => seen.last);
        finalSteps(io, report?.progress?.steps, status !== 'COMPLETED', seen);
        const how = ENDED[status] ?? status.toLowerCase();
        printJsonOr(io, { ...c, status }, () => [
          status === 'CANCELLED' || status === 'CANCELED'
            ? `${io.c.green('✓')} ${workflowId} cancelled ${io.c.dim(`(${formatDuration(Date.now() - t0)})`)}`
            : `${io.c.yellow('!')} ${workflowId} ${how} before the cancellation took effect; see \`rigsnap status ${workflowId}\``,
        ]);
        return EXIT.ok;
      });
    }),
  );
}
