/**
 * `rigsnap enroll`, `unenroll`, `workspaces`: which workspaces rigsnap knows, with labels that fleets and
 * fleet schedules select by (`--selector team=ml`). Kept by the workspace entity (client/enrollment.ts,
 * rules in domain/enrollment.ts). `enroll` checks through a worker that the workspace exists, as
 * `schedule create` does.
 */
import type { Command } from 'commander';
import { formatSelector, labelTerms, parseLabel, parseSelector, type EnrollmentView, type Selector } from '../../domain/enrollment.js';
import { withClient } from '../connect.js';
import { EXIT, UsageError, ioOf, printJsonOr, table, type Io } from '../io.js';
import { addCommon, examples, type Act, type CommonOptions } from '../options.js';
import { ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP, requireExistingWorkspaces } from '../workspace-check.js';
import { fmtTime } from '../run-deps.js';

/** Repeatable `key=value` options (commas separate several in one). */
export const collectTerms = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export const SELECTOR_FLAG = '--selector <key=value>';
export const SELECTOR_HELP = 'enrolled workspaces whose labels match (repeatable or comma-separated: all must match)';

/** The selector of `--selector` options; a malformed term is a usage error (exit 2). */
export function selectorOf(terms: string[] | undefined): Selector | undefined {
  if (!terms?.length) return undefined;
  try {
    const selector = parseSelector(terms);
    return Object.keys(selector).length ? selector : undefined;
  } catch (err) {
    throw new UsageError(`--selector: ${(err as Error).message}`);
  }
}

function labelsOf(terms: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const t of terms ?? []) {
    try {
      const [k, v] = parseLabel(t);
      labels[k] = v;
    } catch (err) {
      throw new UsageError(`--label: ${(err as Error).message}`);
    }
  }
  return labels;
}

function enrollmentLine(v: EnrollmentView): string {
  if (!v.enrolled) return `${v.workspaceId} is not enrolled`;
  const labels = labelTerms(v.labels);
  return `${v.workspaceId} is enrolled${labels.length ? ` with ${labels.join(', ')}` : ' (no labels)'}`;
}

function workspacesLines(io: Io, views: EnrollmentView[], selector: Selector, notConfirmed: string[]): string[] {
  const what = Object.keys(selector).length ? ` matching ${formatSelector(selector)}` : '';
  const lines = views.length
    ? table(
        ['WORKSPACE', 'LABELS', 'ENROLLED', 'BY'],
        views.map((v) => [v.workspaceId, labelTerms(v.labels).join(',') || '-', v.enrolledAt ? fmtTime(v.enrolledAt) : '-', v.enrolledBy ?? '-']),
        io.c,
      )
    : [`no enrolled workspaces${what}`];
  if (views.length) lines.push(`${views.length} enrolled workspace${views.length === 1 ? '' : 's'}${what}`);
  if (notConfirmed.length) lines.push(io.c.dim(`(visibility also listed ${notConfirmed.join(', ')}; their entities say they no longer match)`));
  return lines;
}

export function registerEnroll(program: Command, act: Act): void {
  examples(
    addCommon(program.command('enroll').description('Enroll a workspace, with labels that fleets select by (again: changes its labels)'))
      .argument('<workspace>', 'workspace id')
      .option('--label <key=value>', 'a label (repeatable); an existing key gets the new value', collectTerms)
      .option('--unlabel <key>', 'remove a label (repeatable)', collectTerms)
      .option(ALLOW_MISSING_FLAG, ALLOW_MISSING_HELP),
    ['rigsnap enroll ws_ml --label team=ml --label env=prod', 'rigsnap enroll ws_ml --unlabel env'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions & { label?: string[]; unlabel?: string[]; allowMissing?: boolean }) => {
      const io = ioOf(o);
      const labels = labelsOf(o.label);
      return withClient(o, async (rig) => {
        await requireExistingWorkspaces(rig, io, [workspaceId], o, 'Nothing was enrolled');
        const view = await rig.enroll(workspaceId, { labels, ...(o.unlabel?.length ? { remove: o.unlabel } : {}) });
        printJsonOr(io, view, () => [`${io.c.green('✓')} ${enrollmentLine(view)}`]);
        return EXIT.ok;
      });
    }),
  );
  examples(
    addCommon(
      program.command('unenroll').description('Unenroll a workspace: no selector selects it any more (its labels are forgotten; its snapshots stay)'),
    ).argument('<workspace>', 'workspace id'),
    ['rigsnap unenroll ws_old'],
  ).action(
    act(async (workspaceId: string, o: CommonOptions) => {
      const io = ioOf(o);
      return withClient(o, async (rig) => {
        const view = await rig.unenroll(workspaceId);
        printJsonOr(io, view, () => [`${io.c.green('✓')} ${enrollmentLine(view)}`]);
        return EXIT.ok;
      });
    }),
  );
  examples(
    addCommon(
      program.command('workspaces').description('List enrolled workspaces and their labels (found by visibility, confirmed by each workspace entity)'),
    ).option(SELECTOR_FLAG, SELECTOR_HELP, collectTerms),
    ['rigsnap workspaces', 'rigsnap workspaces --selector team=ml --json'],
  ).action(
    act(async (o: CommonOptions & { selector?: string[] }) => {
      const io = ioOf(o);
      const selector = selectorOf(o.selector) ?? {};
      return withClient(o, async (rig) => {
        const r = await rig.enrolledWorkspaces(selector);
        printJsonOr(io, r, () => workspacesLines(io, r.workspaces, selector, r.notConfirmed));
        return EXIT.ok;
      });
    }),
  );
}
