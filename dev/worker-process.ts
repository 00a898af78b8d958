import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { watchProcessGroup } from './guarded-process.js';

/**
 * Worker processes of the local topologies (`npm run cluster`, the benchmark, the chaos suite): the
 * built worker entry as a child with its own environment, its output kept, its peak memory readable;
 * and the free ports they and their servers listen on.
 */

/** A port nothing listens on now, on the loopback address. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the worker printed (stdout and stderr), for the token check. */
  output: string[];
  exited: Promise<void>;
  /** Peak resident memory of the process so far (VmHWM), in MiB; undefined once it is gone. */
  peakRssMiB(): number | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function readPeakRssMiB(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `node <entry>` (the built worker) with exactly `env`. `guard` puts it in its own process
 * group behind a watchdog (workers of `npm run cluster`, which must not outlive it); without it the
 * worker is a plain child, as the benchmark wants for its memory figures.
 */
export function spawnWorkerProcess(o: {
  entry: string;
  env: NodeJS.ProcessEnv;
  nodeArgs?: string[];
  guard?: { label: string; removeDirOnOrphan?: string };
  /** Also append the worker's output to this file. */
  logFile?: string;
}): WorkerProcess {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.entry], {
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.guard ? { detached: true } : {}),
  });
  const output: string[] = [];
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  log?.on('error', () => {});
  const collect = (d: Buffer) => {
    output.push(d.toString());
    log?.write(d);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // 'close', not 'exit': output can still arrive after the process has exited.
  child.once('close', () => log?.end());
  const pid = child.pid!;
  if (o.guard) {
    const guard = watchProcessGroup(pid, o.guard.label, o.guard.removeDirOnOrphan ? { removeDirOnOrphan: o.guard.removeDirOnOrphan } : {});
    void exited.then(() => guard.release());
  }
  let lastPeak: number | undefined;
  return {
    child,
    pid,
    output,
    exited,
    peakRssMiB: () => (lastPeak = readPeakRssMiB(pid) ?? lastPeak),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
