import fs from 'node:fs';

/**
 * Notices that the process which started this one has gone away, however it went (`kill -9` of
 * `npm start`, a closed IDE, a supervisor that stopped only its direct child), so the local stack does
 * not live on orphaned with its ports taken. Signals that reach this process itself (Ctrl-C, SIGTERM
 * forwarded by npm, SIGHUP of the terminal) are handled where they arrive; this covers the rest.
 */

/** The parent pid as the kernel sees it now (Node's process.ppid is read once, at start-up). */
export function currentParentPid(): number | undefined {
  try {
    // /proc/self/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // not Linux
  }
}

function parentGone(originalParent: number): boolean {
  const now = currentParentPid();
  if (now !== undefined) return now !== originalParent;
  try {
    process.kill(originalParent, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Calls `onGone` once when the parent exits. Does nothing when started by init (pid 1: a container's
 * entry point, or already orphaned), where there is no parent to follow. Returns a function that stops
 * watching.
 */
export function watchParent(onGone: () => void, everyMs = 500): () => void {
  const original = currentParentPid() ?? process.ppid;
  if (original <= 1) return () => {};
  const timer = setInterval(() => {
    if (!parentGone(original)) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
