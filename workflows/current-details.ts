import { STEP_LABELS } from '../domain/labels.js';
import type { Progress } from '../domain/results.js';

/**
 * The Markdown of a workflow's "Current details" in the Temporal UI. The UI's renderer (goldmark) does
 * not let a list interrupt a paragraph: without the blank line after the title, the steps ran into
 * one squashed line. Details are a list of `key: value` items rather than a JSON block. Pure and
 * deterministic (workflow code).
 */
export function formatCurrentDetails(p: Progress, note?: string): string {
  const lines = [`**${p.operation}**${p.workspaceId ? ` of \`${p.workspaceId}\`` : ''}: ${p.state}`, ''];
  if (p.abandoned) lines.push(`⛔ abandoned by ${p.abandoned.by} at ${p.abandoned.at}: ${p.abandoned.reason}`, '');
  if (p.alert) lines.push(`⚠ ${p.alert}`, '');
  for (const s of p.steps) {
    const mark = s.finishedAt ? '✓' : p.state === 'failed' || p.state === 'cancelled' ? '✗' : '…';
    lines.push(`- ${mark} ${STEP_LABELS[s.step]}${s.finishedAt ? '' : note ? ` (${note})` : ''}`);
  }
  const detail = Object.entries(p.detail ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (detail.length) {
    lines.push('');
    for (const [k, v] of detail) lines.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return lines.join('\n');
}
