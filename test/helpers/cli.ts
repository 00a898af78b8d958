/**
 * The built `rigsnap` CLI run as a person runs it: a child process with a clean environment (no
 * TEMPORAL_* or RIGSNAP_* of the test runner), pointed at the test server and a task queue.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

export const CLI = path.resolve('dist/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rigsnap <args>` on `taskQueue` (stdin closed); `env` adds to the clean environment. */
export function runCli(args: string[], taskQueue: string, env: Record<string, string> = {}): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('RIGSNAP_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...clean, TEMPORAL_ADDRESS: inject('temporalAddress'), RIGSNAP_TASK_QUEUE: taskQueue, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The run's stdout as JSON, or an error that shows what it printed instead. */
export function cliJson<T>(r: CliRun): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
