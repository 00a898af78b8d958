import type { Command } from 'commander';
import type { StatusReport } from '../../client/views.js';
import { withClient } from '../connect.js';
import { EXIT, ioOf, printJsonOr, type Io } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';
import { ENDED, resultLines } from '../outputs.js';
import { describeDetail, fmtTime, formatDuration, renderProgress } from '../run-deps.js';

/** `rigsnap status <workflow-id>`: status, steps, what its activity reports, and its result or error. */
export function registerStatus(program: Command, act: Act): void {
  examples(
    addCommon(program.command('status').description('Show a rigsnap workflow: status, steps, what its activity reports, and its result or error')).argument(
      '<workflow-id>',
      'workflow id (printed when an operation starts)',
    ),
    ['rigsnap status snapshot-ws_demo-before-migration-m1abc2', 'rigsnap status rigsnap-backup-ws_demo-2026-04-07T03:00:00Z --json'],
  ).action(
    act(async (workflowId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const s = await rig.status(workflowId);
        printJsonOr(io, s, () => statusLines(io, s));
        return EXIT.ok;
      });
    }),
  );
}

function statusLines(io: Io, s: StatusReport): string[] {
  const color = s.status === 'COMPLETED' ? io.c.green : s.status === 'RUNNING' ? io.c.cyan : io.c.red;
  const row = (label: string, value: string) => `  ${label.padEnd(11)} ${value}`;
  const lines = [
    `${io.c.bold(s.workflowId)} ${color(s.status)}`,
    row('type', `${s.workflowType}${s.operation ? ` (${s.operation}${s.workspaceId ? ` of ${s.workspaceId}` : ''})` : ''}`),
  ];
  if (s.summary) lines.push(row('summary', s.summary));
  if (s.requestedBy) lines.push(row('asked by', s.requestedBy));
  lines.push(row('started', fmtTime(s.startedAt)));
  if (s.closedAt) {
    lines.push(
      row(
        'ended',
        `${ENDED[s.status] ?? s.status.toLowerCase()} ${fmtTime(s.closedAt)}, after ${formatDuration(Date.parse(s.closedAt) - Date.parse(s.startedAt))}`,
      ),
    );
  }
  lines.push(row('link', io.c.dim(s.url)));
  if (s.progress) {
    const detail = describeDetail(s.progress.detail);
    if (detail) lines.push(row('detail', detail));
    lines.push(row('steps', ''));
    lines.push(
      ...renderProgress({ progress: s.progress, activity: s.activity, now: Date.now() }, { color: io.tty, detail: false })
        .slice(1)
        .map((l) => `  ${l}`),
    );
  } else if (s.activity) {
    lines.push(row('activity', `${s.activity.activityType} (attempt ${s.activity.attempt})`));
  }
  if (s.error) lines.push(row('error', io.c.red(`${s.error.type}: ${s.error.message}`)), row('what to do', s.error.advice));
  if (s.result !== undefined) lines.push(...resultLines(io, s.workflowType, s.result));
  return lines;
}
