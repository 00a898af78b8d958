import readline from 'node:readline/promises';
import pc from 'picocolors';

/**
 * How the CLI talks to its user: exit codes, plain or JSON output, colours only on a terminal, tables,
 * and the confirmation a destructive command asks for. Refusals are UsageErrors (exit 2).
 */

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid input (nothing was started), 3 Temporal unreachable. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** Bad usage found by the CLI itself (a refused confirmation, a malformed option): exit 2, nothing started. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A "no" to a confirmation: nothing was started; exit 2 like any refusal, without an error tone. */
export class Declined extends UsageError {}

export interface Io {
  json: boolean;
  /** stdout is a terminal: colours, spinners, live progress. */
  tty: boolean;
  c: ReturnType<typeof pc.createColors>;
  out(line?: string): void;
  err(line: string): void;
}

export function makeIo(json: boolean): Io {
  const tty = Boolean(process.stdout.isTTY) && !json && !process.env.NO_COLOR;
  return {
    json,
    tty,
    c: pc.createColors(tty),
    out: (line = '') => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

const ANSI = new RegExp(String.raw`\u001b\[[0-9;?]*[A-Za-z]`, 'g');
/** A line as the terminal shows it: without colour codes. */
export const visible = (s: string) => s.replace(ANSI, '');

export function table(headers: string[], rows: string[][], c: Io['c']): string[] {
  const widths = headers.map((h, i) => Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell).length)))
      .join('  ')
      .trimEnd();
  return [c.bold(line(headers)), ...rows.map(line)];
}

/** JSON when asked for, else the lines (computed only then). */
export function printJsonOr(io: Io, json: unknown, lines: () => string[]): void {
  if (io.json) io.out(JSON.stringify(json));
  else for (const l of lines()) io.out(l);
}

export interface Confirmation {
  /** What would be done: "restore ws_demo to snap_abc". */
  action: string;
  /** What it costs, said in the question only: "its current state is replaced…". */
  warning?: string;
  /** What a "no" leaves as it was: "ws_demo is unchanged". */
  declined: string;
}

/**
 * Asks before a destructive command. With --yes it goes ahead; without a terminal to ask on it refuses
 * (exit 2), so a script never deletes by accident. A "no" says what stays as it was.
 */
export async function confirm(o: { yes?: boolean }, io: Io, c: Confirmation): Promise<void> {
  if (o.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`refusing to ${c.action} without confirmation: there is no terminal to ask on. Pass --yes to confirm.`);
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${io.c.yellow('?')} ${c.action}?${c.warning ? ` ${c.warning}.` : ''} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new Declined(`nothing done: ${c.declined}`);
  } finally {
    rl.close();
  }
}

/** The Io of a command, from its --json option. */
export const ioOf = (o: { json?: boolean }): Io => makeIo(Boolean(o.json));
