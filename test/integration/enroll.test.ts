import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, cliJson, runCli } from '../helpers/cli.js';
import { RigsnapClient } from '../../client/index.js';
import { labelsKey } from '../../contract/index.js';
import { workflowIds, type BackupFleetResult } from '../../domain/index.js';
import type { EnrollmentView } from '../../domain/enrollment.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually } from '../helpers/workflows.js';

/**
 * Enrollment, labels and selection (issue 22, items 1 and 2), on emulated workspaces with a real worker on
 * the run's dev server, through the real CLI (dist/cli/main.js) where a user would type it: `enroll` (with
 * its existence check), `workspaces --selector`, a fleet schedule by selector triggered twice with a
 * workspace enrolled (and another unenrolled) in between, and `fleet backup --selector`.
 */

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('enroll');
const suffix = Date.now().toString(36);
const FLEET = `enr-${suffix}`;

const WS = {
  a: 'ws_enr_a', // team=ml from the start
  b: 'ws_enr_b', // team=ml, unenrolled before the second run
  c: 'ws_enr_c', // team=data
  late: 'ws_enr_late', // team=ml, enrolled after the schedule was created
  never: 'ws_enr_never', // exists, never enrolled
} as const;

type Run = CliRun;

const rigsnap = (args: string[]): Promise<Run> => runCli(args, taskQueue);

const json = cliJson;

/** The backups Rigbox holds per workspace: what a user would check. */
function backupsOf(workspaceId: string): string[] {
  return emu.state
    .snapshotsOf(workspaceId)
    .map((s) => s.name)
    .filter((n) => n.startsWith('daily-backup-'));
}

async function selected(selector: Record<string, string>): Promise<string[]> {
  return (await rig.enrolledWorkspaces(selector)).workspaces.map((w) => w.workspaceId);
}

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({ token: TEST_TOKEN, delays: { stopMs: 20, startMs: 20, snapshotMs: 10, restoreMs: 10, latencyMs: 0 } });
  for (const id of Object.values(WS)) emu.state.upsertWorkspace({ id, status: 'running', files: { 'f.txt': id } });
  // Rigbox reveals workspaces only through their snapshots: this one is a known id to suggest for a typo.
  emu.state.addSnapshot(emu.state.workspace(WS.a)!, 'scratch');
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  rig = await RigsnapClient.connect({ client: temporal.client, taskQueue });
});

afterAll(async () => {
  await rig?.schedules.delete(`rigsnap-fleet-${FLEET}`).catch(() => undefined);
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

describe('enroll, unenroll, workspaces', () => {
  it('enrolls with labels through the CLI, refuses a typo with the nearest id, and lists by selector (entity-confirmed)', async () => {
    const typo = await rigsnap(['enroll', 'ws_enr_aa', '--label', 'team=ml']);
    expect(typo.code, typo.stdout).toBe(2);
    expect(typo.stderr).toContain('ws_enr_aa does not exist in Rigbox (did you mean ws_enr_a');
    expect(typo.stderr).toContain('Nothing was enrolled');
    expect((await rig.enrollment('ws_enr_aa')).enrolled).toBe(false);

    const bad = await rigsnap(['enroll', WS.a, '--label', 'team']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--label: "team" is not key=value');

    const a = await rigsnap(['enroll', WS.a, '--label', 'team=ml', '--label', 'env=prod', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(json<EnrollmentView>(a)).toMatchObject({ workspaceId: WS.a, enrolled: true, labels: { team: 'ml', env: 'prod' } });
    await rig.enroll(WS.b, { labels: { team: 'ml' } });
    const c = await rigsnap(['enroll', WS.c, '--label', 'team=data']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain(`${WS.c} is enrolled with team=data`);

    // The entity publishes what selectors search.
    const desc = await temporal.client.workflow.getHandle(workflowIds.workspace(WS.a)).describe();
    expect(desc.typedSearchAttributes.get(labelsKey)).toEqual(['enrolled', 'env=prod', 'team=ml']);

    await eventually(async () => (await selected({ team: 'ml' })).length === 2, 30_000, 'visibility to list both team=ml workspaces');
    const listed = await rigsnap(['workspaces', '--selector', 'team=ml', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<{ workspaces: EnrollmentView[] }>(listed).workspaces.map((w) => w.workspaceId)).toEqual([WS.a, WS.b]);
    expect(await selected({ team: 'ml', env: 'prod' })).toEqual([WS.a]);
    await eventually(async () => (await selected({})).length === 3, 30_000, 'visibility to list all three');
    expect(await selected({})).toEqual([WS.a, WS.b, WS.c]);
    const plain = await rigsnap(['workspaces']);
    expect(plain.stdout).toContain('3 enrolled workspaces');
    expect(plain.stdout).not.toContain(WS.never);
  });

  it('keeps its labels when its entity is terminated: the next enroll recovers it and the labels are published again', async () => {
    const handle = temporal.client.workflow.getHandle(workflowIds.workspace(WS.c));
    await handle.terminate('test: an operator terminates the entity');
    const view = await rig.enroll(WS.c, { labels: { tier: 'gold' } });
    expect(view).toMatchObject({ enrolled: true, labels: { team: 'data', tier: 'gold' } });
    const d = await temporal.client.workflow.getHandle(workflowIds.workspace(WS.c)).describe();
    expect(d.status.name).toBe('RUNNING');
    expect(d.typedSearchAttributes.get(labelsKey)).toEqual(['enrolled', 'team=data', 'tier=gold']);
    // Removing a label, and refusing what the rules refuse before anything is recorded.
    expect(await rig.enroll(WS.c, { remove: ['tier'] })).toMatchObject({ labels: { team: 'data' } });
    await expect(rig.enroll(WS.c, { labels: { team: 'a b' } })).rejects.toMatchObject({ type: 'InvalidInput' });
  });
});

describe('selection', () => {
  it('a fleet schedule by selector backs up exactly the matching workspaces at each run, including one enrolled after it was created', async () => {
    const created = await rig.schedules.createFleet({ name: FLEET, selector: { team: 'ml' }, paused: true, retention: { keepLast: 5 } });
    expect(created).toMatchObject({ selector: { team: 'ml' }, workspaceIds: null });
    expect(created.description).toContain('the enrolled workspaces matching team=ml');

    const first = await rig.schedules.trigger(`rigsnap-fleet-${FLEET}`, { waitMs: 30_000 });
    const r1 = await rig.result<BackupFleetResult>(first.run!.workflowId);
    expect(r1).toMatchObject({ total: 2, succeeded: 2, failedCount: 0, selector: { team: 'ml' }, matched: [WS.a, WS.b] });
    expect(backupsOf(WS.a)).toHaveLength(1);
    expect(backupsOf(WS.b)).toHaveLength(1);
    expect(backupsOf(WS.late)).toHaveLength(0);

    // After the schedule was created: one workspace enrolled, one unenrolled.
    const late = await rigsnap(['enroll', WS.late, '--label', 'team=ml']);
    expect(late.code, late.stderr).toBe(0);
    const gone = await rigsnap(['unenroll', WS.b]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toContain(`${WS.b} is not enrolled`);
    // Visibility must have seen the new one for any run to find it; the unenrolled one is decided by its
    // entity whatever visibility still says.
    await eventually(async () => (await selected({ team: 'ml' })).includes(WS.late), 30_000, 'visibility to list the late workspace');

    const second = await rig.schedules.trigger(`rigsnap-fleet-${FLEET}`, { waitMs: 30_000 });
    const r2 = await rig.result<BackupFleetResult>(second.run!.workflowId);
    expect(r2).toMatchObject({ total: 2, succeeded: 2, failedCount: 0, matched: [WS.a, WS.late] });
    expect(backupsOf(WS.a)).toHaveLength(2);
    expect(backupsOf(WS.late)).toHaveLength(1);
    expect(backupsOf(WS.b)).toHaveLength(1); // unenrolled: not in the second run
    expect(backupsOf(WS.c)).toHaveLength(0); // team=data
    expect(backupsOf(WS.never)).toHaveLength(0);
    // Every workspace runs again after its backup.
    for (const id of Object.values(WS)) expect(emu.state.workspace(id)!.status).toBe('running');

    // The run's details (the progress query, as the Temporal UI's current details show them) name what matched.
    const details = await rig.progress(second.run!.workflowId);
    expect(details.progress?.detail).toMatchObject({ selector: 'team=ml', matched: [WS.a, WS.late], total: 2 });

    const described = await rigsnap(['fleet', 'schedule', 'describe', FLEET]);
    expect(described.stdout).toContain('the enrolled workspaces matching team=ml (resolved at each run)');

    // The audit and the report see whom the schedule protects now: what its selector matches.
    const report = await rigsnap(['report', '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    const rows = Object.fromEntries(
      json<{ workspaces: Array<{ workspaceId: string; protected: boolean; status: string; schedules: string[] }> }>(report).workspaces.map((w) => [
        w.workspaceId,
        w,
      ]),
    );
    for (const id of [WS.a, WS.late]) expect(rows[id]).toMatchObject({ protected: true, status: 'ok', schedules: [`rigsnap-fleet-${FLEET}`] });
    expect(rows[WS.b]).toMatchObject({ protected: false, status: 'unprotected' });

    // A list replaces the selector, and a selector the list.
    const listed = await rig.schedules.update(`rigsnap-fleet-${FLEET}`, { workspaceIds: [WS.a] });
    expect(listed).toMatchObject({ workspaceIds: [WS.a], selector: null });
    const back = await rig.schedules.update(`rigsnap-fleet-${FLEET}`, { selector: { team: 'ml' } });
    expect(back).toMatchObject({ workspaceIds: null, selector: { team: 'ml' } });
  });

  it('fleet backup --selector backs up what matches now and lists it; a selector matching nothing is refused (exit 2)', async () => {
    const r = await rigsnap(['fleet', 'backup', '--selector', 'team=data']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('fleet backup: 1 of 1 succeeded');
    expect(r.stdout).toContain(`selector team=data matched 1: ${WS.c}`);
    expect(backupsOf(WS.c)).toHaveLength(1);

    // discover leaves out what rigsnap knows: ws_enr_c is enrolled (no schedule), ws_enr_b is not any more.
    const found = await rigsnap(['discover', '--json']);
    expect(found.code, found.stderr).toBe(0);
    const discovered = json<{ workspaces: Array<{ workspaceId: string }> }>(found).workspaces.map((w) => w.workspaceId);
    expect(discovered).toEqual([WS.b]);

    const none = await rigsnap(['fleet', 'backup', '--selector', 'team=nobody']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no enrolled workspace matches team=nobody');
    const both = await rigsnap(['fleet', 'backup', WS.a, '--selector', 'team=ml']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});
