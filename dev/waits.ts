import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { GuardedProcess } from './guarded-process.js';

/** Waiting for the local services (the dev server, the cluster's): ports, readiness checks that fail early when a process dies, setup scripts. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until `ready()` holds; fails early, with the end of its log, when `p` exits. */
export async function waitFor(
  what: string,
  p: GuardedProcess | undefined,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await ready()) return;
    if (p && !p.running()) throw new Error(`${what} exited during start-up; the end of its log:\n${p.logTail(30)}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready in ${timeoutMs / 1000} s${p ? `; the end of its log:\n${p.logTail(30)}` : ''}`);
    await sleep(200);
  }
}

/**
 * A free loopback port below 32768. Temporal Server stores its membership ports in a PostgreSQL
 * `smallint` column (cluster_membership.rpc_port), so the kernel's ephemeral ports (32768 and up here)
 * make it fail at start-up: "value out of range for type smallint". `taken` avoids handing one port twice.
 */
export async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

/** Runs a setup script with `sh`, its output in logFile; throws with that output when it fails. */
export async function runScript(script: string, env: NodeJS.ProcessEnv, logFile: string, signal?: AbortSignal): Promise<void> {
  const out = fs.openSync(logFile, 'a');
  try {
    const child = spawn('sh', [script], { env, stdio: ['ignore', out, out], ...(signal ? { signal } : {}) });
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.once('error', () => resolve(-1));
    });
    signal?.throwIfAborted();
    if (code !== 0) {
      const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
      throw new Error(`${path.basename(script)} exited with ${code}:\n${tail}`);
    }
  } finally {
    fs.closeSync(out);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}
