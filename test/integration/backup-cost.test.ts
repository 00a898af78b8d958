/**
 * What a scheduled backup asks Temporal for (issue 24, item 5: every command, marker, upsert and signal is
 * a billed action), against a real dev server and the emulator: one patch marker and one search-attribute
 * upsert, the lock granted in the acquire's answer (no grant signal), the prune's holds from that answer
 * (no query), and still what a user checks: the new snapshot, the workspace running, the held snapshot kept
 * and the others pruned. Its histories (the backup's, the entity's) replay on today's code.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES, deletesSettledSignal, lockGrantedSignal, lockReleaseSignal, operationKey, workspaceIdKey } from '../../contract/index.js';
import { PRIORITY, workflowIds, type BackupWorkspaceResult } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { RigsnapClient } from '../../client/index.js';
import { PATCHES } from '../../workflows/patches.js';
import { TEST_TOKEN, connectTestTemporal, createTestWorker, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { commandsOfRun, testWorkflowId } from '../helpers/workflows.js';

let temporal: TestTemporal;
let emu: Emulator;
let worker: Worker;
let running: Promise<void>;
let rig: RigsnapClient;
const taskQueue = uniqueTaskQueue('backup-cost');
const WS = `ws_cost_${process.pid}`;

beforeAll(async () => {
  temporal = await connectTestTemporal();
  emu = await startEmulator({
    token: TEST_TOKEN,
    delays: { stopMs: 50, startMs: 50, snapshotMs: 20, restoreMs: 20, latencyMs: 0 },
    seedWorkspaces: [{ id: WS, status: 'running', files: { 'a.txt': 'one' } }],
  });
  worker = await createTestWorker({ temporal, taskQueue, rigboxUrl: emu.url });
  running = worker.run();
  rig = await RigsnapClient.connect({ address: temporal.address, taskQueue, env: { RIGSNAP_IDENTITY: 'ann@test' } });
});

afterAll(async () => {
  await rig?.close();
  worker?.shutdown();
  await running;
  await emu?.close();
  await temporal?.close();
});

type HistoryEvents = NonNullable<Awaited<ReturnType<ReturnType<TestTemporal['client']['workflow']['getHandle']>['fetchHistory']>>['events']>;

const signalsReceived = (events: HistoryEvents) =>
  events.flatMap((e) => (e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes.signalName] : []));

describe('a scheduled backup’s Temporal actions', () => {
  it('one patch marker and one upsert, granted in the answer with the holds: the held snapshot is kept, the rest pruned; its histories replay', async () => {
    // Two earlier backups of the same prefix, the older one held.
    const older = (await rig.snapshot({ workspaceId: WS, name: 'daily-backup-2026-01-01-0200' })).snapshot;
    const old = (await rig.snapshot({ workspaceId: WS, name: 'daily-backup-2026-01-02-0200' })).snapshot;
    await rig.hold(WS, older.id, { reason: 'audit evidence' });

    const workflowId = testWorkflowId('backup-cost');
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.backup, {
      taskQueue,
      workflowId,
      args: [{ workspaceId: WS, retention: { keepLast: 1 } }],
      // As its schedule starts it (client/schedule-definition.ts): priority 3, tagged at the start.
      priority: { priorityKey: PRIORITY.scheduledBackup },
      typedSearchAttributes: [
        { key: operationKey, value: 'backup' },
        { key: workspaceIdKey, value: WS },
      ],
    });
    const r = (await handle.result()) as BackupWorkspaceResult;

    // What a user checks: the new backup exists, the workspace runs, the held one is kept (and says why).
    const ids = emu.state.snapshotsOf(WS).map((s) => s.id);
    expect(ids).toContain(r.snapshot!.id);
    expect(ids).toContain(older.id);
    expect(ids).not.toContain(old.id);
    expect(emu.state.workspace(WS)!.status).toBe('running');
    expect(r.prune!.kept.find((k) => k.snapshot.id === older.id)?.reasons).toContain('hold: audit evidence');

    // What it asked Temporal for: actions-2026-12's marker alone stands for every earlier patch; the lock's
    // grant came with the holds (no readHolds query). The grant itself still comes by signal this release
    // (workflows/common.ts ASK_GRANT_IN_ANSWER: a rollback to the previous release must replay the entity).
    const commands = await commandsOfRun(handle);
    expect(commands.filter((c) => c.startsWith('patch '))).toEqual([`patch ${PATCHES.actions2026_12}`]);
    expect(commands).not.toContain('activity readHolds');
    expect(commands.filter((c) => c.startsWith('activity '))).toEqual([
      'activity acquireWorkspace',
      'activity stopWorkspace',
      'activity createSnapshot',
      'activity startWorkspace',
      // The deletion: the entity authorises the batch (a hold placed since the grant is refused here), then
      // hears it settled by the run's own signal (below).
      'activity authoriseDeletes',
      'activity deleteSnapshots',
    ]);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
    expect(signalsReceived(events)).toEqual([lockGrantedSignal.name]);
    const signalsSent = events.flatMap((e) =>
      e.signalExternalWorkflowExecutionInitiatedEventAttributes ? [e.signalExternalWorkflowExecutionInitiatedEventAttributes.signalName] : [],
    );
    expect(signalsSent).toEqual([deletesSettledSignal.name, lockReleaseSignal.name]);

    const entityEvents = (await temporal.client.workflow.getHandle(workflowIds.workspace(WS)).fetchHistory()).events ?? [];
    // The entity granted this backup by signal, once.
    const grantedBySignal = entityEvents.flatMap((e) => {
      const a = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (a?.signalName !== lockGrantedSignal.name) return [];
      return [(JSON.parse(Buffer.from(a.input!.payloads![0]!.data!).toString('utf8')) as { requestId: string }).requestId];
    });
    expect(grantedBySignal.filter((id) => id.startsWith(`${workflowId}/`))).toHaveLength(1);

    for (const id of [workflowId, workflowIds.workspace(WS)])
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: id },
        await temporal.client.workflow.getHandle(id).fetchHistory(),
        id,
      );
  }, 60_000);
});
