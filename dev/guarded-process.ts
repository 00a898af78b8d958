import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * Long-lived helper programs (the Temporal dev server of `npm start`; PostgreSQL, Temporal Server, the
 * Web UI and the workers of `npm run cluster`) run as children in their own process groups, so a
 * terminal's Ctrl-C reaches only the Node process that started them and it stops them in its own
 * order. The price of an own group is that nothing stops them when that Node process dies without
 * cleaning up (SIGKILL, crash): each one therefore gets a tiny watchdog process holding a pipe to us,
 * which stops the group when the pipe ends.
 */

/**
 * Runs in the watchdog process: `node -e WATCHDOG <pid> <label> [<dir>]`. Its stdin is a pipe from
 * the parent; when the pipe ends (the parent exited, however it exited) it stops the process group
 * (SIGTERM, SIGKILL after 10 s), then removes <dir> if given. A parent that is done with it writes
 * "detach" first: the watchdog then leaves without doing anything (the process is gone, or the parent
 * restarts it, and <dir> is still in use). It also leaves as soon as the process is gone. The label
 * only names, in `ps`, what this watchdog guards.
 */
const WATCHDOG = `
const pid = Number(process.argv[1]);
const removeDir = process.argv[3];
const alive = () => {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\\d+ \\(.*\\) Z/.test(require('fs').readFileSync('/proc/' + pid + '/stat', 'utf8')); } catch { return true; }
};
const signal = (s) => { try { process.kill(-pid, s); } catch { try { process.kill(pid, s); } catch {} } };
const done = () => {
  if (removeDir) { try { require('fs').rmSync(removeDir, { recursive: true, force: true }); } catch {} }
  process.exit(0);
};
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  if (!alive()) done();
  signal('SIGTERM');
  const deadline = Date.now() + 10000;
  setInterval(() => {
    if (!alive()) done();
    if (Date.now() > deadline) { signal('SIGKILL'); setTimeout(done, 500); }
  }, 100);
};
let received = '';
process.stdin.on('data', (d) => { received += d; if (received.includes('detach')) process.exit(0); });
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setInterval(() => { if (!stopping && !alive()) process.exit(0); }, 500);
`;

/**
 * Starts the watchdog of process group `pid`. Call `release()` once the process has exited: the
 * watchdog leaves without touching anything (a pipe that ends without it means we died).
 */
export function watchProcessGroup(pid: number, label: string, o: { removeDirOnOrphan?: string } = {}): { release(): void } {
  const args = ['-e', WATCHDOG, String(pid), label, ...(o.removeDirOnOrphan ? [o.removeDirOnOrphan] : [])];
  const watchdog = spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'ignore', 'ignore'], windowsHide: true });
  watchdog.unref();
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  // The open pipe is the watchdog's lifeline; it must not keep this process alive by itself.
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      watchdog.stdin?.end('detach\n');
    },
  };
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GuardedProcess {
  pid: number;
  child: ChildProcess;
  /** Resolves when the process exits (code or signal). */
  exited: Promise<ProcessExit>;
  /** True until the process has exited. */
  running(): boolean;
  /** Sends `signal` to the group (SIGTERM by default), SIGKILL after `graceMs`; resolves once it is gone. */
  stop(o?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<ProcessExit>;
  /** Signals the whole process group now. */
  signalGroup(signal: NodeJS.Signals): void;
  logTail(lines?: number): string;
}

export interface GuardedProcessOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here, after a header line naming the start. */
  logFile: string;
  /** Names the process in the log header and, through the watchdog, in `ps`. */
  label: string;
  /** Run as this user and group (root starting PostgreSQL, which refuses to run as root). */
  uid?: number;
  gid?: number;
  /** A directory the watchdog removes after stopping the group if we die without cleaning up. */
  removeDirOnOrphan?: string;
}

/** Starts a program in its own process group, its output in a log file, guarded by a watchdog. */
export function spawnGuarded(o: GuardedProcessOptions): GuardedProcess {
  const logFd = fs.openSync(o.logFile, 'a');
  fs.writeSync(logFd, `\n--- ${new Date().toISOString()} rigsnap starts ${o.label} ---\n`);
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, {
      // Own process group: Ctrl-C in the terminal must reach only us, so that we stop things in order.
      detached: true,
      stdio: ['ignore', logFd, logFd],
      windowsHide: true,
      ...(o.env ? { env: o.env } : {}),
      ...(o.cwd ? { cwd: o.cwd } : {}),
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.gid !== undefined ? { gid: o.gid } : {}),
    });
  } finally {
    fs.closeSync(logFd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${o.command}`);
  const pid = child.pid;
  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exit = { code, signal })));
    child.once('error', () => resolve((exit = { code: -1, signal: null })));
  });
  const guard = watchProcessGroup(pid, o.label, o.removeDirOnOrphan ? { removeDirOnOrphan: o.removeDirOnOrphan } : {});
  void exited.then(() => guard.release());

  const signalGroup = (s: NodeJS.Signals) => {
    try {
      process.kill(process.platform === 'win32' ? pid : -pid, s);
    } catch {
      // already gone
    }
  };
  let stopping: Promise<ProcessExit> | undefined;
  return {
    pid,
    child,
    exited,
    running: () => exit === undefined,
    signalGroup,
    stop({ signal = 'SIGTERM', graceMs = 10_000 } = {}) {
      stopping ??= (async () => {
        signalGroup(signal);
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        // Children of the group that outlive its leader (PostgreSQL backends, for one) go too.
        signalGroup('SIGKILL');
        guard.release();
        return result;
      })();
      return stopping;
    },
    logTail(lines = 20) {
      try {
        return fs.readFileSync(o.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}
