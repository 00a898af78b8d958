import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GIB,
  InventoryWorkspacesInput,
  PruneOrphansInput,
  REPORT_CSV_COLUMNS,
  backupReport,
  classifySnapshot,
  discoverWorkspaces,
  editDistance,
  nearestIds,
  emptyUsage,
  forecastStorage,
  parseInput,
  reportCsv,
  reportStatusOf,
  selectOrphans,
  sizeSlope,
  usageByKind,
  usageView,
  type ClassifyContext,
  type InventoriedWorkspace,
  type InventoryWorkspacesResult,
  type RigboxSnapshot,
} from '../../domain/index.js';

/**
 * The rules behind discover, usage, report and prune --orphans (domain/inventory.ts,
 * domain/inventory-views.ts): what each snapshot is, the 30-day forecast on a made-up size trend, which
 * orphans a prune may delete, the report's statuses (pending included) and its fixed CSV columns.
 */

const NOW = Date.parse('2026-04-07T12:00:00Z');
const DAY = 86_400_000;
const H = 3_600_000;
let n = 0;
const snap = (workspaceId: string, name: string, ageMs: number, bytes: number): RigboxSnapshot => ({
  id: `snap_t${n++}`,
  workspace_id: workspaceId,
  name,
  size_bytes: bytes,
  created_at: new Date(NOW - ageMs).toISOString(),
});
const ctx = (over: Partial<ClassifyContext> = {}): ClassifyContext => ({
  backupPrefixes: ['daily-backup-'],
  checkpointIds: new Set(),
  heldIds: new Set(),
  ...over,
});

describe('classifySnapshot', () => {
  const backup = snap('ws_a', 'daily-backup-2026-04-07-0300', H, 1);
  const safety = snap('ws_a', 'pre-restore-20260407T100000Z', H, 1);
  const manual = snap('ws_a', 'before-migration', H, 1);
  const checkpoint = snap('ws_a', 'pre-demo', H, 1);
  it.each([
    ['a backup by its prefix', backup, ctx(), 'backup'],
    ['a restore safety snapshot by pre-restore-', safety, ctx(), 'safety'],
    ['a hand-made snapshot', manual, ctx(), 'manual'],
    ['a checkpoint by its session’s snapshot id (its name is the user’s)', checkpoint, ctx({ checkpointIds: new Set([checkpoint.id]) }), 'checkpoint'],
    ['a held backup is held first', backup, ctx({ heldIds: new Set([backup.id]) }), 'held'],
    ['a backup under a fleet’s own prefix', snap('ws_a', 'nightly-2026-04-07', H, 1), ctx({ backupPrefixes: ['nightly-'] }), 'backup'],
    ['a daily-backup- name on a nightly- workspace is hand-made', backup, ctx({ backupPrefixes: ['nightly-'] }), 'manual'],
  ])('%s', (_l, s, c, kind) => {
    expect(classifySnapshot(s, c)).toBe(kind);
  });

  it('every snapshot is counted in exactly one kind: the kinds sum to the list', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.constantFrom('daily-backup-1', 'pre-restore-x', 'scratch', 'cp'), bytes: fc.nat(10_000) }), { maxLength: 40 }),
        (specs) => {
          const list = specs.map((s) => snap('ws_a', s.name, H, s.bytes));
          const u = usageByKind(list, ctx({ checkpointIds: new Set(list.filter((s) => s.name === 'cp').map((s) => s.id)) }));
          const kinds = Object.values(u);
          expect(kinds.reduce((a, k) => a + k.count, 0)).toBe(list.length);
          expect(kinds.reduce((a, k) => a + k.bytes, 0)).toBe(list.reduce((a, s) => a + s.size_bytes, 0));
        },
      ),
    );
  });
});

describe('forecastStorage on a made-up size trend', () => {
  // Daily backups for 10 days, growing 1 GiB a day: 10 GiB ten days ago … 19 GiB yesterday.
  const trend = Array.from({ length: 10 }, (_, i) => snap('ws_f', `daily-backup-d${i}`, (10 - i) * DAY, (10 + i) * GIB));

  it('the trend is the least-squares slope: 1 GiB a day', () => {
    expect(sizeSlope(trend.map((s) => ({ t: Date.parse(s.created_at), bytes: s.size_bytes })))).toBeCloseTo(GIB / DAY, 0);
    const f = forecastStorage({ backups: trend, namePrefix: 'daily-backup-', retention: { keepLast: 7 }, scheduled: true, otherBytes: 0, nowMs: NOW });
    expect(f.trendBytesPerDay).toBe(GIB);
    expect(f.cadenceHours).toBe(24);
  });

  it('keep-last 7: in 30 days the 7 newest backups, sized by the trend (7 slots × ~47 GiB)', () => {
    const f = forecastStorage({ backups: trend, namePrefix: 'daily-backup-', retention: { keepLast: 7 }, scheduled: true, otherBytes: 5 * GIB, nowMs: NOW });
    // Future backups one a day after yesterday's (19 GiB), up to 30 days from now: 31 of them, the last 50 GiB; the 7 newest are 44…50 GiB.
    const expected = [44, 45, 46, 47, 48, 49, 50].reduce((a, g) => a + g * GIB, 0) + 5 * GIB;
    expect(f.backupSlots).toBe(7);
    expect(f.bytesAtHorizon).toBe(expected);
    expect(f.bytesNow).toBe(trend.reduce((a, s) => a + s.size_bytes, 0) + 5 * GIB);
  });

  it('without retention every backup stays: 10 kept + 31 new', () => {
    const f = forecastStorage({ backups: trend, namePrefix: 'daily-backup-', retention: null, scheduled: true, otherBytes: 0, nowMs: NOW });
    expect(f.backupSlots).toBe(41);
    const future = Array.from({ length: 31 }, (_, i) => (20 + i) * GIB).reduce((a, b) => a + b, 0);
    expect(f.bytesAtHorizon).toBe(f.bytesNow + future);
  });

  it('no schedule: nothing new is made, the storage stays as it is', () => {
    const f = forecastStorage({ backups: trend, namePrefix: 'daily-backup-', retention: { keepLast: 3 }, scheduled: false, otherBytes: GIB, nowMs: NOW });
    // Retention still applies at the next prune: what it keeps of today's backups.
    expect(f.backupSlots).toBe(3);
    expect(f.bytesAtHorizon).toBe((17 + 18 + 19 + 1) * GIB);
  });

  it('a shrinking trend never forecasts a negative size', () => {
    const shrinking = Array.from({ length: 5 }, (_, i) => snap('ws_s', `daily-backup-s${i}`, (5 - i) * DAY, (5 - i) * GIB));
    const f = forecastStorage({ backups: shrinking, namePrefix: 'daily-backup-', retention: { keepLast: 2 }, scheduled: true, otherBytes: 0, nowMs: NOW });
    expect(f.bytesAtHorizon).toBe(0);
    expect(f.trendBytesPerDay).toBe(-GIB);
  });
});

describe('selectOrphans', () => {
  const gone = new Set(['ws_gone']);
  const old = snap('ws_gone', 'daily-backup-old', 40 * DAY, 100);
  const young = snap('ws_gone', 'daily-backup-young', 2 * DAY, 100);
  const alive = snap('ws_alive', 'daily-backup-old', 40 * DAY, 100);

  it('only snapshots of gone workspaces, only those old enough', () => {
    const r = selectOrphans([old, young, alive], gone, { olderThanMs: 30 * DAY, nowMs: NOW });
    expect(r.selected.map((s) => s.id)).toEqual([old.id]);
    expect(r.tooRecent).toBe(1);
  });

  it('the hold hook keeps a held orphan', () => {
    const r = selectOrphans([old, young], gone, { olderThanMs: 0, nowMs: NOW, held: (s) => s.id === old.id });
    expect(r.selected.map((s) => s.id)).toEqual([young.id]);
    expect(r.held.map((s) => s.id)).toEqual([old.id]);
  });

  it('limited to the ids a dry run showed: a workspace that exists is never selected, even when listed', () => {
    const r = selectOrphans([old, young, alive], gone, { olderThanMs: 0, nowMs: NOW, onlyIds: [young.id, alive.id] });
    expect(r.selected.map((s) => s.id)).toEqual([young.id]);
  });
});

function row(id: string, over: Partial<InventoriedWorkspace> = {}): InventoriedWorkspace {
  return {
    workspaceId: id,
    exists: true,
    schedules: [],
    paused: false,
    namePrefixes: [],
    firstScheduledAt: null,
    snapshotCount: 0,
    snapshotBytes: 0,
    byKind: emptyUsage(),
    newestSnapshot: null,
    newestBackup: null,
    lastRun: null,
    runs: { completed: 0, failed: 0, skipped: 0 },
    forecast: { bytesNow: 0, bytesAtHorizon: 0, backupSlots: 0, trendBytesPerDay: 0, cadenceHours: 24 },
    ...over,
  };
}
const scheduled = (id: string, over: Partial<InventoriedWorkspace> = {}) =>
  row(id, { schedules: [`rigsnap-backup-${id}`], namePrefixes: ['daily-backup-'], firstScheduledAt: new Date(NOW - 10 * DAY).toISOString(), ...over });

describe('discoverWorkspaces', () => {
  it('the unprotected workspaces that exist, biggest first; the enrollment hook decides who is known', () => {
    const rows = [
      row('ws_small', { snapshotBytes: 1 }),
      row('ws_big', { snapshotBytes: 9 }),
      scheduled('ws_prot'),
      row('ws_gone', { exists: false, snapshotBytes: 50 }),
    ];
    expect(discoverWorkspaces(rows).map((w) => w.workspaceId)).toEqual(['ws_big', 'ws_small']);
    expect(discoverWorkspaces(rows, (w) => w.workspaceId === 'ws_big').map((w) => w.workspaceId)).toEqual(['ws_small', 'ws_prot']);
  });
});

describe('the report', () => {
  const RPO = 26 * H;
  const backupAt = (ageMs: number) => snap('ws_x', 'daily-backup-x', ageMs, 1);

  it.each([
    ['no schedule', row('ws_a'), 'unprotected'],
    ['a backup within the RPO', scheduled('ws_a', { newestBackup: backupAt(H) }), 'ok'],
    [
      'a backup within the RPO, last run failed',
      scheduled('ws_a', { newestBackup: backupAt(H), lastRun: { workflowId: 'w', status: 'failed', closedAt: '' } }),
      'failed',
    ],
    ['no backup, schedule 10 days old', scheduled('ws_a'), 'missing'],
    ['a stale backup', scheduled('ws_a', { newestBackup: backupAt(30 * H) }), 'stale'],
    ['no backup, schedule created a minute ago', scheduled('ws_a', { firstScheduledAt: new Date(NOW - 60_000).toISOString() }), 'pending'],
    ['no backup, schedule exactly one RPO old', scheduled('ws_a', { firstScheduledAt: new Date(NOW - RPO).toISOString() }), 'missing'],
    [
      'a stale backup, schedule created a minute ago: still stale',
      scheduled('ws_a', { newestBackup: backupAt(30 * H), firstScheduledAt: new Date(NOW - 60_000).toISOString() }),
      'stale',
    ],
  ])('%s: %s', (_l, w, status) => {
    expect(reportStatusOf(w, RPO, NOW)).toBe(status);
  });

  const inv = (rows: InventoriedWorkspace[]): InventoryWorkspacesResult => ({
    takenAt: new Date(NOW).toISOString(),
    since: new Date(NOW - DAY).toISOString(),
    existenceChecked: true,
    workspaces: rows,
    orphans: { workspaceIds: [], count: 0, bytes: 0, snapshots: [] },
    totals: { count: 0, bytes: 0, byKind: emptyUsage(), forecastBytes: 0 },
  });

  it('ok only when no protected workspace misses the RPO; pending and unprotected do not count as misses', () => {
    const good = backupReport(
      inv([scheduled('ws_a', { newestBackup: backupAt(H) }), scheduled('ws_p', { firstScheduledAt: new Date(NOW - 60_000).toISOString() }), row('ws_u')]),
      {
        rpo: '26h',
        rpoMs: RPO,
        nowMs: NOW,
      },
    );
    expect(good.ok).toBe(true);
    expect(good.totals).toMatchObject({ workspaces: 3, protected: 2, unprotected: 1, pending: 1, missesRpo: 0, withinRpo: 1 });
    const bad = backupReport(inv([scheduled('ws_m'), row('ws_gone', { exists: false })]), { rpo: '26h', rpoMs: RPO, nowMs: NOW });
    expect(bad.ok).toBe(false);
    expect(bad.workspaces.map((w) => w.workspaceId)).toEqual(['ws_m']);
  });

  it('CSV: the documented columns in order, a row per workspace, a TOTAL row; cells with commas quoted', () => {
    const r = backupReport(
      inv([
        scheduled('ws_a', { newestBackup: { ...backupAt(H), name: 'daily,backup' }, runs: { completed: 2, failed: 1, skipped: 1 }, schedules: ['s1', 's2'] }),
        row('ws_u'),
      ]),
      { rpo: '26h', rpoMs: RPO, nowMs: NOW },
    );
    const lines = reportCsv(r).split('\r\n');
    expect(lines[0]).toBe('workspace_id,protected,status,schedules,last_backup_at,last_backup_name,age_seconds,within_rpo,succeeded,failed,skipped,holds');
    expect(lines[0]!.split(',')).toEqual([...REPORT_CSV_COLUMNS]);
    expect(lines[1]).toBe(`ws_a,true,ok,s1 s2,${new Date(NOW - H).toISOString()},"daily,backup",3600,true,2,1,1,0`);
    expect(lines[2]).toBe('ws_u,false,unprotected,,,,,false,0,0,0,0');
    expect(lines[3]).toBe('TOTAL,1,ok,,,,,1,2,1,1,0');
    expect(lines[4]).toBe('');
  });
});

describe('usageView', () => {
  it('GiB by kind, cost at the price, totals from the inventory’s byte sums', () => {
    const byKind = emptyUsage();
    byKind.backup = { count: 2, bytes: 2 * GIB };
    byKind.safety = { count: 1, bytes: GIB };
    const w = scheduled('ws_a', {
      snapshotCount: 3,
      snapshotBytes: 3 * GIB,
      byKind,
      forecast: { bytesNow: 3 * GIB, bytesAtHorizon: 4 * GIB, backupSlots: 3, trendBytesPerDay: 0, cadenceHours: 24 },
    });
    const v = usageView(
      {
        takenAt: new Date(NOW).toISOString(),
        since: '',
        existenceChecked: true,
        workspaces: [w, row('ws_none')],
        orphans: { workspaceIds: [], count: 0, bytes: 0, snapshots: [] },
        totals: { count: 3, bytes: 3 * GIB, byKind, forecastBytes: 4 * GIB },
      },
      0.1,
    );
    expect(v.workspaces.map((r) => r.workspaceId)).toEqual(['ws_a']);
    expect(v.workspaces[0]!.gib).toMatchObject({ backup: 2, safety: 1, total: 3, checkpoint: 0, held: 0, manual: 0 });
    expect(v.workspaces[0]!.monthlyCost).toBe(0.3);
    expect(v.totals).toMatchObject({ bytes: 3 * GIB, forecastGib: 4, monthlyCost: 0.3, forecastMonthlyCost: 0.4 });
  });
});

describe('inputs', () => {
  it('refuses a bad period and a bad age by field', () => {
    const a = parseInput(InventoryWorkspacesInput, { since: 'yesterday' });
    expect(a.ok).toBe(false);
    expect(!a.ok && a.fields).toEqual(['since']);
    const b = parseInput(PruneOrphansInput, { olderThan: '30 days', snapshotIds: ['x'] });
    expect(!b.ok && b.fields.sort()).toEqual(['olderThan', 'snapshotIds.0']);
    expect(parseInput(PruneOrphansInput, {})).toEqual({ ok: true, value: { olderThan: '30d', dryRun: false } });
  });
});

describe('nearestIds', () => {
  it('suggests the known ids a typo is close to, closest first', () => {
    expect(nearestIds('ws_dmeo', ['ws_demo', 'ws_ml', 'ws_production', 'ws_dem'])).toEqual(['ws_dem', 'ws_demo']);
    expect(editDistance('ws_dmeo', 'ws_demo')).toBe(2);
    expect(nearestIds('ws_totally_else', ['ws_demo', 'ws_ml'])).toEqual([]);
    expect(nearestIds('ws_demo', ['ws_demo'])).toEqual([]);
  });

  it('editDistance is a metric on strings (symmetric, zero only for equals, triangle inequality)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b, c) => {
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
      }),
    );
  });
});
