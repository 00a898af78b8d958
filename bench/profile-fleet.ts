// Scratch: fleet profile (not committed).
import fs from 'node:fs';
import { WORKFLOW_TYPES, workflowIds, type BackupFleetResult } from '../domain/index.js';
import { startBenchStack } from './stack.js';

function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime = field 14, stime = 15 (1-based); after ')' the first is field 3
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return (ticks / 100) * 1000;
}

const n = Number(process.argv[2] ?? 300);
const conc = Number(process.argv[3] ?? 50);
const extra = JSON.parse(process.argv[4] ?? '{}') as Record<string, string>;
const stack = await startBenchStack({
  emulator: { delays: { latencyMs: 5, stopMs: 1000, snapshotMs: 500, startMs: 1000, restoreMs: 500 }, recordCalls: true },
  workerEnv: { RIGSNAP_ACTIVITIES_PER_SECOND: '2000', ...extra },
  inMemory: true,
  log: (l) => process.stderr.write(`${l}\n`),
});
try {
  const ids = Array.from({ length: n }, (_, i) => `ws_f_${String(i).padStart(5, '0')}`);
  for (const id of ids) stack.emu.state.upsertWorkspace({ id, status: 'running', files: { id } });
  const w = await stack.startWorker();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, w.peakRssMiB() ?? 0)), 500);
  const w0 = cpuMs(w.pid);
  const s0 = cpuMs(stack.server.pid);
  const since = stack.emu.calls.length;
  const t0 = performance.now();
  const r = (await stack.client.workflow.execute(WORKFLOW_TYPES['fleet-backup'], {
    taskQueue: stack.taskQueue,
    workflowId: workflowIds.fleetBackup(Date.now().toString(36)),
    args: [{ workspaceIds: ids, concurrency: conc, retention: { keepLast: 3 } }],
  }).catch((e: { cause?: { details?: unknown[] } }) => e.cause?.details?.[0])) as BackupFleetResult;
  const ms = performance.now() - t0;
  clearInterval(sampler);
  const wcpu = cpuMs(w.pid) - w0;
  const scpu = cpuMs(stack.server.pid) - s0;
  const calls = stack.emu.calls.slice(since).filter((c) => c.workspaceId?.startsWith('ws_f_'));
  const byRoute: Record<string, number> = {};
  for (const c of calls) byRoute[`${c.method} ${c.route}`] = (byRoute[`${c.method} ${c.route}`] ?? 0) + 1;
  const ideal = (n / conc) * 2500;
  console.log(JSON.stringify({ n, conc, ok: r?.succeeded, wallS: +(ms / 1000).toFixed(1), vsIdeal: +(ms / ideal).toFixed(2), peakRssMiB: Math.round(peak), workerCpuMsPerWs: +(wcpu / n).toFixed(1), serverCpuMsPerWs: +(scpu / n).toFixed(1), callsPerWs: +(calls.length / n).toFixed(2), byRoute: Object.fromEntries(Object.entries(byRoute).map(([k, v]) => [k, +(v / n).toFixed(2)])) }));
} finally {
  await stack.close();
}
