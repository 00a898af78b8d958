import fs from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { CLIENT_ERROR_ADVICE } from '../../client/errors.js';
import { ERROR_TYPES } from '../../domain/index.js';

/**
 * The README and docs/cli.md against the program commander actually builds: every documented command
 * and option exists (README, docs/*.md), and docs/cli.md documents every command and every option
 * (both directions). A new option without docs, or docs of an option that went away, fails here.
 */

const program = buildProgram(() => {});
const COMMON_GROUP = 'Common options:';

/** Every command that runs something, by its path ("schedule create"). */
function leafCommands(): Map<string, Command> {
  const out = new Map<string, Command>();
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...path, sub.name()];
      if (sub.commands.length === 0) out.set(p.join(' '), sub);
      else walk(sub, p);
    }
  };
  walk(program, []);
  return out;
}
const leaves = leafCommands();

interface Usage {
  /** Where it was found, for messages. */
  where: string;
  text: string;
  path: string | null;
  options: string[];
}

/** The command path a line names (as many words as match commands), and the options it uses. */
function parseUsage(text: string, where: string): Usage {
  const words = text.replace(/^(\.\/)?rigsnap\s+/, '').split(/\s+/);
  let node: Command = program;
  const path: string[] = [];
  for (const w of words) {
    const next = node.commands.find((c) => c.name() === w);
    if (!next) break;
    node = next;
    path.push(w);
  }
  const rest = text.slice(text.indexOf(path.at(-1) ?? 'rigsnap') + (path.at(-1) ?? 'rigsnap').length);
  const options = [...rest.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])/g)].map((m) => m[1]!);
  return { where, text, path: path.length ? path.join(' ') : null, options };
}

/** `rigsnap …` commands in a Markdown file: lines of code blocks (with their continuation lines) and inline code. */
function usagesIn(file: string): Usage[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const found: Usage[] = [];
  let inCode = false;
  let current: { text: string; line: number } | null = null;
  const flush = () => {
    if (current) found.push(parseUsage(current.text, `${file}:${current.line}`));
    current = null;
  };
  lines.forEach((raw, i) => {
    if (/^\s*```/.test(raw)) {
      flush();
      inCode = !inCode;
      return;
    }
    if (inCode) {
      // A synopsis goes on over indented lines that continue with options.
      if (current && /^\s+[[-]/.test(raw)) {
        current.text += ` ${raw.trim()}`;
        return;
      }
      flush();
      const line = raw
        .replace(/\s+#.*$/, '')
        .replace(/^\s*\$\s+/, '')
        .replace(/^(\s*[A-Z_]+=\S*\s+)+/, '')
        .trim();
      if (/^(\.\/)?rigsnap\s/.test(line)) current = { text: line, line: i + 1 };
      return;
    }
    for (const m of raw.matchAll(/`((?:\.\/)?rigsnap [^`]+)`/g)) found.push(parseUsage(m[1]!, `${file}:${i + 1}`));
  });
  flush();
  return found;
}

function optionNames(cmd: Command): string[] {
  return cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
}

/** Documented commands and options that the program does not have. */
function unknownIn(usages: Usage[]): string[] {
  const problems: string[] = [];
  for (const u of usages) {
    if (!u.path) {
      if (!u.options.every((o) => ['--help', '-h', '--version', '-V'].includes(o))) problems.push(`${u.where}: no such command: ${u.text}`);
      continue;
    }
    const cmd = leaves.get(u.path);
    if (!cmd) {
      if (!u.options.every((o) => ['--help', '-h'].includes(o))) problems.push(`${u.where}: "${u.path}" is a group, not a command: ${u.text}`);
      continue;
    }
    const known = new Set([...optionNames(cmd), '--help', '-h']);
    for (const o of u.options) if (!known.has(o)) problems.push(`${u.where}: ${u.path} has no option ${o}`);
  }
  return problems;
}

const cliDoc = 'docs/cli.md';

describe('the documented commands exist, with the documented options', () => {
  it.each(['README.md', cliDoc, 'docs/operations.md', 'docs/cross-language.md'])('%s', (file) => {
    const usages = usagesIn(file);
    if (file === 'README.md' || file === cliDoc) expect(usages.length).toBeGreaterThan(5);
    expect(unknownIn(usages)).toEqual([]);
  });
});

describe('docs/cli.md documents the whole program', () => {
  const usages = usagesIn(cliDoc).filter((u) => u.path);

  it('every command, with every option of its own', () => {
    const missing: string[] = [];
    for (const [path, cmd] of leaves) {
      const mine = usages.filter((u) => u.path === path);
      if (mine.length === 0) {
        missing.push(`command "${path}"`);
        continue;
      }
      const documented = new Set(mine.flatMap((u) => u.options));
      for (const o of cmd.options) {
        if (o.helpGroupHeading === COMMON_GROUP) continue; // the table below
        if (!documented.has(o.long!) && !(o.short && documented.has(o.short))) missing.push(`${path} ${o.flags}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the table of options many commands share lists exactly the commands that have each', () => {
    const text = fs.readFileSync(cliDoc, 'utf8');
    const section = text.slice(text.indexOf('## Options of many commands'), text.indexOf('## Output'));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    const documented = new Map<string, Set<string>>();
    for (const row of rows) {
      const [options, commands] = row
        .split('|')
        .slice(1, 3)
        .map((c) => c.trim()) as [string, string];
      const paths = new Set(commands.split(',').map((c) => c.trim()));
      for (const m of options.matchAll(/--[a-z][a-z-]*/g)) documented.set(m[0], paths);
    }
    const actual = new Map<string, Set<string>>();
    for (const [path, cmd] of leaves) {
      for (const o of cmd.options) if (o.helpGroupHeading === COMMON_GROUP) (actual.get(o.long!) ?? actual.set(o.long!, new Set()).get(o.long!)!).add(path);
    }
    const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
    expect(sorted(documented)).toEqual(sorted(actual));
  });
});

describe('what the README and docs/cli.md say of the program', () => {
  it('names exactly the commands that have --no-wait', () => {
    const readme = fs.readFileSync('README.md', 'utf8').replace(/\s+/g, ' ');
    const listed = /the commands that start an operation \(([^)]*)\) also have `--no-wait`/.exec(readme)?.[1];
    expect(listed, 'the README sentence about --no-wait').toBeDefined();
    const named = [...listed!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort();
    const actual = [...leaves]
      .filter(([, c]) => c.options.some((o) => o.long === '--no-wait'))
      .map(([p]) => p)
      .sort();
    expect(named).toEqual(actual);
  });

  it.each(['README.md', cliDoc])('%s lists every error type a user can meet', (file) => {
    const text = fs.readFileSync(file, 'utf8');
    const missing = [...ERROR_TYPES, ...Object.keys(CLIENT_ERROR_ADVICE)].filter((t) => !text.includes(`\`${t}\``));
    expect(missing).toEqual([]);
  });
});
