import { describe, expect, it } from 'vitest';
import { AuditBackupsInput, auditOffenders, evaluateAudit, parseInput, verdictOf, type AuditInventory, type InventoryWorkspace } from '../../domain/index.js';

/** The audit's verdicts, a pure function of the inventory, the RPO and the time: exact, at the boundaries. */

const NOW = Date.parse('2026-04-07T12:00:00Z');
const H = 3_600_000;
const RPO = 26 * H;

function ws(id: string, backupAgeMs: number | null, lastRun: InventoryWorkspace['lastRun'] = null): InventoryWorkspace {
  return {
    workspaceId: id,
    schedules: [`rigsnap-backup-${id}`],
    paused: false,
    namePrefixes: ['daily-backup-'],
    newestBackup:
      backupAgeMs === null
        ? null
        : { id: `snap_${id.slice(3)}`, workspace_id: id, name: 'daily-backup-x', size_bytes: 10, created_at: new Date(NOW - backupAgeMs).toISOString() },
    snapshotCount: backupAgeMs === null ? 0 : 1,
    snapshotBytes: backupAgeMs === null ? 0 : 10,
    lastRun,
  };
}
const run = (status: NonNullable<InventoryWorkspace['lastRun']>['status']) => ({ workflowId: 'w', status, closedAt: new Date(NOW - H).toISOString() });

describe('verdictOf', () => {
  it.each([
    ['no backup', ws('ws_a', null), 'missing'],
    ['no backup, and its runs fail', ws('ws_a', null, run('failed')), 'missing'],
    ['no backup, schedule created a minute ago', { ...ws('ws_a', null), firstScheduledAt: new Date(NOW - 60_000).toISOString() }, 'pending'],
    ['no backup, schedule created one RPO ago', { ...ws('ws_a', null), firstScheduledAt: new Date(NOW - RPO).toISOString() }, 'missing'],
    ['a stale backup, schedule created a minute ago', { ...ws('ws_a', RPO * 2), firstScheduledAt: new Date(NOW - 60_000).toISOString() }, 'stale'],
    ['a backup exactly at the RPO', ws('ws_a', RPO), 'ok'],
    ['a backup a second older than the RPO', ws('ws_a', RPO + 1000), 'stale'],
    ['a stale backup whose last run failed', ws('ws_a', RPO * 2, run('failed')), 'stale'],
    ['a fresh backup, last run failed', ws('ws_a', H, run('failed')), 'failed'],
    ['a fresh backup, last run timed out', ws('ws_a', H, run('timed-out')), 'failed'],
    ['a fresh backup, last run terminated by someone', ws('ws_a', H, run('terminated')), 'ok'],
    ['a fresh backup, last run cancelled', ws('ws_a', H, run('cancelled')), 'ok'],
    ['a fresh backup, last run completed', ws('ws_a', H, run('completed')), 'ok'],
  ])('%s: %s', (_label, w, verdict) => {
    expect(verdictOf(w, RPO, NOW)).toBe(verdict);
  });
});

describe('evaluateAudit', () => {
  const inventory: AuditInventory = {
    protected: [ws('ws_ok', 2 * H), ws('ws_old', 30 * H), ws('ws_none', null), ws('ws_fail', 3 * H, run('failed')), ws('ws_ok2', 5 * H)],
    unprotected: [
      { workspaceId: 'ws_z', snapshotCount: 1, snapshotBytes: 5, newestSnapshot: null },
      { workspaceId: 'ws_y', snapshotCount: 2, snapshotBytes: 6, newestSnapshot: null },
    ],
    runsSince: new Date(NOW - 52 * H).toISOString(),
  };

  it('orders the worst first, counts, and is not ok when a workspace misses the RPO', () => {
    const r = evaluateAudit(inventory, '26h', NOW);
    expect(r.workspaces.map((w) => [w.workspaceId, w.verdict])).toEqual([
      ['ws_none', 'missing'],
      ['ws_old', 'stale'],
      ['ws_fail', 'failed'],
      ['ws_ok2', 'ok'],
      ['ws_ok', 'ok'],
    ]);
    expect(r).toMatchObject({ ok: false, rpo: '26h', rpoSeconds: 93_600, auditedAt: '2026-04-07T12:00:00.000Z' });
    expect(r.counts).toEqual({ ok: 2, failed: 1, stale: 1, missing: 1, pending: 0, unprotected: 2 });
    expect(r.workspaces.find((w) => w.workspaceId === 'ws_old')!.ageSeconds).toBe(30 * 3600);
    expect(r.unprotected.map((u) => u.workspaceId)).toEqual(['ws_y', 'ws_z']);
  });

  it('is ok when the only trouble is a failed last run (a backup within the RPO exists)', () => {
    const r = evaluateAudit({ ...inventory, protected: [ws('ws_fail', 3 * H, run('failed')), ws('ws_ok', H)] }, '26h', NOW);
    expect(r.ok).toBe(true);
    expect(r.counts.failed).toBe(1);
  });

  it('a longer RPO turns stale into ok', () => {
    expect(evaluateAudit(inventory, '7d', NOW).workspaces.find((w) => w.workspaceId === 'ws_old')!.verdict).toBe('ok');
  });
});

describe('a skipped last run', () => {
  const skipped = { ...run('completed'), skipped: { reason: 'demo until 16:00', by: 'ana@laptop' } };

  it('is judged by the newest backup: skipped past the RPO is stale, with the skip reason kept for the report', () => {
    const report = evaluateAudit({ protected: [ws('ws_a', RPO + H, skipped), ws('ws_b', H, skipped)], unprotected: [], runsSince: '' }, '26h', NOW);
    const [a, b] = report.workspaces;
    expect(a).toMatchObject({
      workspaceId: 'ws_a',
      verdict: 'stale',
      lastRunFailed: false,
      lastRun: { skipped: { reason: 'demo until 16:00', by: 'ana@laptop' } },
    });
    expect(b).toMatchObject({ workspaceId: 'ws_b', verdict: 'ok' });
    expect(report.ok).toBe(false);
  });
});

describe('AuditBackupsInput', () => {
  it('defaults to the 26 h RPO, no notification, no extra workspaces', () => {
    const r = parseInput(AuditBackupsInput, {});
    expect(r).toEqual({ ok: true, value: { rpo: '26h', workspaceIds: [], notify: false } });
  });

  it.each([
    [{ rpo: '26 hours' }, 'rpo'],
    [{ rpo: '10s' }, 'rpo'],
    [{ workspaceIds: ['demo'] }, 'workspaceIds.0'],
    [{ namePrefix: '' }, 'namePrefix'],
    [{ rpoo: '1h' }, 'rpoo'],
  ])('refuses %j naming %s', (input, field) => {
    const r = parseInput(AuditBackupsInput, input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.fields).toContain(field);
  });
});

describe('the pending verdict', () => {
  it('a schedule younger than the RPO without a backup is pending: ok (exit 0) and not an offender', () => {
    const fresh = { ...ws('ws_new', null), firstScheduledAt: new Date(NOW - 60_000).toISOString() };
    const r = evaluateAudit({ protected: [fresh, ws('ws_ok', H)], unprotected: [], runsSince: '' }, '26h', NOW);
    expect(r.ok).toBe(true);
    expect(r.counts).toMatchObject({ pending: 1, missing: 0 });
    expect(auditOffenders(r)).toEqual([]);
  });
});
