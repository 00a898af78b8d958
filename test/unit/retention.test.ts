import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isoDate,
  isoWeek,
  isRetentionCandidate,
  localDate,
  parseInput,
  PruneSnapshotsInput,
  RETENTION_REASONS,
  RetentionPolicy,
  RigboxSnapshot,
  selectRetention,
  type RetentionSelection,
} from '../../domain/index.js';

/**
 * selectRetention: restic-`forget`-style selection. Table tests follow restic's own documentation
 * examples; property tests check the safety rules on arbitrary snapshot sets against a small model.
 */

type Snap = RigboxSnapshot;
type Policy = RetentionPolicy;

const GiB = 1024 ** 3;
const DAY_MS = 86_400_000;

function snap(id: string, createdAt: string, name = `daily-backup-${createdAt.slice(0, 10)}`, workspaceId = 'ws_demo'): Snap {
  return { id, workspace_id: workspaceId, name, size_bytes: 2 * GiB + 4096, created_at: createdAt };
}

/** Parses the policy through the public schema first, as the workflow does. */
function policy(raw: unknown): Policy {
  const r = parseInput(RetentionPolicy, raw);
  if (!r.ok) throw new Error(`test policy is invalid: ${r.message}`);
  return r.value;
}

const keptIds = (r: RetentionSelection) => r.kept.map((k) => k.snapshot.id);
const deletedIds = (r: RetentionSelection) => r.deleted.map((s) => s.id);
const reasonsOf = (r: RetentionSelection) => Object.fromEntries(r.kept.map((k) => [k.snapshot.id, k.reasons]));
const keptDates = (r: RetentionSelection) => r.kept.map((k) => k.snapshot.created_at.slice(0, 10));

// restic's doc example: "Suppose you have only made one backup every Sunday for 12 weeks".
const SUNDAYS: Snap[] = [
  ['0a1f9759', '2019-09-01'],
  ['46cfe4d5', '2019-09-08'],
  ['f6b1f037', '2019-09-15'],
  ['eb430a5d', '2019-09-22'],
  ['8cf1cb9a', '2019-09-29'],
  ['5d33b116', '2019-10-06'],
  ['b9553125', '2019-10-13'],
  ['e1a7b58b', '2019-10-20'],
  ['8f8018c0', '2019-10-27'],
  ['59403279', '2019-11-03'],
  ['dfee9fb4', '2019-11-10'],
  ['e1ae2f40', '2019-11-17'],
].map(([id, day]) => snap(`snap_${id}`, `${day}T11:00:00Z`));

/** One backup every day at 03:00 UTC, from..to inclusive (restic's "one backup every day" example, shortened). */
function dailyBackups(fromIso: string, toIso: string): Snap[] {
  const out: Snap[] = [];
  for (let t = Date.parse(`${fromIso}T03:00:00Z`); t <= Date.parse(`${toIso}T03:00:00Z`); t += DAY_MS) {
    const iso = new Date(t).toISOString();
    out.push(snap(`snap_d${iso.slice(0, 10).replace(/-/g, '')}`, iso));
  }
  return out;
}

describe("restic forget's documented examples", () => {
  it('keepDaily 4 on weekly Sunday backups keeps the last four Sundays and removes the other eight', () => {
    const r = selectRetention(SUNDAYS, 'ws_demo', 'daily-backup-', policy({ keepDaily: 4 }));
    expect(keptIds(r)).toEqual(['snap_e1ae2f40', 'snap_dfee9fb4', 'snap_59403279', 'snap_8f8018c0']);
    expect(deletedIds(r)).toEqual([
      'snap_e1a7b58b',
      'snap_b9553125',
      'snap_5d33b116',
      'snap_8cf1cb9a',
      'snap_eb430a5d',
      'snap_f6b1f037',
      'snap_46cfe4d5',
      'snap_0a1f9759',
    ]);
    expect(reasonsOf(r)).toEqual({
      snap_e1ae2f40: ['newest', 'daily'],
      snap_dfee9fb4: ['daily'],
      snap_59403279: ['daily'],
      snap_8f8018c0: ['daily'],
    });
    expect(r.ignored).toBe(0);
  });

  it('the result does not depend on the order the API listed the snapshots in', () => {
    const forward = selectRetention(SUNDAYS, 'ws_demo', 'daily-backup-', policy({ keepDaily: 4 }));
    const reversed = selectRetention([...SUNDAYS].reverse(), 'ws_demo', 'daily-backup-', policy({ keepDaily: 4 }));
    expect(reversed).toEqual(forward);
  });

  it.each<[string, unknown, string[]]>([
    ['keepLast 3', { keepLast: 3 }, ['2019-11-17', '2019-11-10', '2019-11-03']],
    ['keepWeekly 4 (one per ISO week)', { keepWeekly: 4 }, ['2019-11-17', '2019-11-10', '2019-11-03', '2019-10-27']],
    ['keepMonthly 2 (the last Sunday of each month)', { keepMonthly: 2 }, ['2019-11-17', '2019-10-27']],
    ['keepMonthly 5 with only 3 months of snapshots', { keepMonthly: 5 }, ['2019-11-17', '2019-10-27', '2019-09-29']],
    ['keepWithinDays 14 (the boundary instant is kept)', { keepWithinDays: 14 }, ['2019-11-17', '2019-11-10', '2019-11-03']],
    ['keepWithinDays 13.9 (the boundary is excluded)', { keepWithinDays: 13.9 }, ['2019-11-17', '2019-11-10']],
    ['keepLast 100 keeps everything', { keepLast: 100 }, SUNDAYS.map((s) => s.created_at.slice(0, 10)).reverse()],
  ])('%s', (_label, raw, expectedDays) => {
    const r = selectRetention(SUNDAYS, 'ws_demo', 'daily-backup-', policy(raw));
    expect(keptDates(r)).toEqual(expectedDays);
    expect(r.deleted).toHaveLength(SUNDAYS.length - expectedDays.length);
  });

  it('rules are ORed and each kept snapshot lists every rule that kept it', () => {
    const r = selectRetention(SUNDAYS, 'ws_demo', 'daily-backup-', policy({ keepLast: 2, keepMonthly: 3, keepWithinDays: 7 }));
    expect(reasonsOf(r)).toEqual({
      snap_e1ae2f40: ['newest', 'last', 'monthly', 'within'], // 2019-11-17
      snap_dfee9fb4: ['last', 'within'], // 2019-11-10: exactly 7 days before the newest
      snap_8f8018c0: ['monthly'], // 2019-10-27
      snap_8cf1cb9a: ['monthly'], // 2019-09-29
    });
    expect(r.deleted).toHaveLength(8);
    expect(r.kept[0]!.reasons).toEqual(['newest', 'last', 'monthly', 'within']);
  });

  it('daily for two years with keepDaily 7, keepWeekly 5, keepMonthly 12: 7 dailies + 4 weeklies + 11 monthlies', () => {
    // restic: "the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the 7 dailies already
    // include 1 weekly). Additionally, 12 or 11 last-day-of-the-month snapshots". 2026-11-29 is a Sunday.
    const all = dailyBackups('2024-11-30', '2026-11-29');
    expect(all).toHaveLength(730);
    const r = selectRetention(all, 'ws_demo', 'daily-backup-', policy({ keepDaily: 7, keepWeekly: 5, keepMonthly: 12 }));

    const byReason = (reason: string) => r.kept.filter((k) => k.reasons.includes(reason)).map((k) => k.snapshot.created_at.slice(0, 10));
    expect(byReason('daily')).toEqual(['2026-11-29', '2026-11-28', '2026-11-27', '2026-11-26', '2026-11-25', '2026-11-24', '2026-11-23']);
    expect(byReason('weekly')).toEqual(['2026-11-29', '2026-11-22', '2026-11-15', '2026-11-08', '2026-11-01']);
    expect(byReason('monthly')).toEqual([
      '2026-11-29',
      '2026-10-31',
      '2026-09-30',
      '2026-08-31',
      '2026-07-31',
      '2026-06-30',
      '2026-05-31',
      '2026-04-30',
      '2026-03-31',
      '2026-02-28',
      '2026-01-31',
      '2025-12-31',
    ]);
    expect(r.kept).toHaveLength(7 + 4 + 11);
    expect(r.deleted).toHaveLength(730 - 22);
    expect(reasonsOf(r)['snap_d20261129']).toEqual(['newest', 'daily', 'weekly', 'monthly']);
    expect(reasonsOf(r)['snap_d20261101']).toEqual(['weekly']);
    // kept and deleted are both newest first
    const times = (xs: Snap[]) => xs.map((s) => Date.parse(s.created_at));
    expect(times(r.kept.map((k) => k.snapshot))).toEqual([...times(r.kept.map((k) => k.snapshot))].sort((a, b) => b - a));
    expect(times(r.deleted)).toEqual([...times(r.deleted)].sort((a, b) => b - a));
  });

  it('keepDaily counts only days that have snapshots, however far apart', () => {
    const sparse = [
      snap('snap_s1', '2026-01-05T03:00:00Z'),
      snap('snap_s2', '2026-03-17T03:00:00Z'),
      snap('snap_s3', '2026-03-17T15:00:00Z'),
      snap('snap_s4', '2026-11-02T03:00:00Z'),
    ];
    const r = selectRetention(sparse, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2 }));
    expect(keptIds(r)).toEqual(['snap_s4', 'snap_s3']);
    expect(deletedIds(r)).toEqual(['snap_s2', 'snap_s1']);
  });
});

describe('ISO weeks across a year boundary', () => {
  // 2026-12-28 … 2027-01-03 is ISO week 2026-W53; 2027-01-04 starts 2027-W01.
  const WEEKS = [
    snap('snap_w1221', '2026-12-21T03:00:00Z'), // Mon, 2026-W52
    snap('snap_w1227', '2026-12-27T03:00:00Z'), // Sun, 2026-W52
    snap('snap_w1230', '2026-12-30T03:00:00Z'), // Wed, 2026-W53
    snap('snap_w0101', '2027-01-01T03:00:00Z'), // Fri, 2026-W53 (new calendar year, same ISO week)
    snap('snap_w0103', '2027-01-03T03:00:00Z'), // Sun, 2026-W53
    snap('snap_w0104', '2027-01-04T03:00:00Z'), // Mon, 2027-W01
    snap('snap_w0106', '2027-01-06T03:00:00Z'), // Wed, 2027-W01
  ];

  it('keepWeekly 3 keeps the newest of 2027-W01, 2026-W53 and 2026-W52; New Year does not start a week', () => {
    const r = selectRetention(WEEKS, 'ws_demo', 'daily-backup-', policy({ keepWeekly: 3 }));
    expect(keptIds(r)).toEqual(['snap_w0106', 'snap_w0103', 'snap_w1227']);
    expect(deletedIds(r)).toEqual(['snap_w0104', 'snap_w0101', 'snap_w1230', 'snap_w1221']);
    expect(r.kept.map((k) => isoWeek(localDate(new Date(k.snapshot.created_at), 'UTC')))).toEqual(['2027-W01', '2026-W53', '2026-W52']);
  });

  it('keepMonthly 2 across the same boundary keeps the newest of January 2027 and of December 2026', () => {
    const r = selectRetention(WEEKS, 'ws_demo', 'daily-backup-', policy({ keepMonthly: 2 }));
    expect(keptIds(r)).toEqual(['snap_w0106', 'snap_w1230']);
  });
});

describe('timezone bucketing', () => {
  // 23:30 UTC on 2026-03-10 is 00:30 on 2026-03-11 in Berlin (UTC+1 in March before DST).
  const DAYS = [snap('snap_ta', '2026-03-10T10:00:00Z'), snap('snap_tb', '2026-03-10T23:30:00Z'), snap('snap_tc', '2026-03-11T12:00:00Z')];

  it.each<[string, string[], string[]]>([
    ['UTC', ['snap_tc', 'snap_tb'], ['snap_ta']],
    ['Europe/Berlin', ['snap_tc', 'snap_ta'], ['snap_tb']],
    ['America/Los_Angeles', ['snap_tc', 'snap_tb'], ['snap_ta']],
    ['Asia/Kolkata', ['snap_tc', 'snap_ta'], ['snap_tb']],
  ])('keepDaily 2 in %s', (timezone, kept, deleted) => {
    const r = selectRetention(DAYS, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2, timezone }));
    expect(keptIds(r)).toEqual(kept);
    expect(deletedIds(r)).toEqual(deleted);
  });

  it('the default timezone is UTC', () => {
    const implicit = selectRetention(DAYS, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2 }));
    const explicit = selectRetention(DAYS, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2, timezone: 'UTC' }));
    expect(implicit).toEqual(explicit);
  });

  it('keepMonthly: 23:30 UTC on 31 January is already February in Berlin', () => {
    const months = [snap('snap_mx', '2026-01-31T12:00:00Z'), snap('snap_my', '2026-01-31T23:30:00Z'), snap('snap_mz', '2026-02-15T12:00:00Z')];
    const utc = selectRetention(months, 'ws_demo', 'daily-backup-', policy({ keepMonthly: 2 }));
    expect(keptIds(utc)).toEqual(['snap_mz', 'snap_my']);
    const berlin = selectRetention(months, 'ws_demo', 'daily-backup-', policy({ keepMonthly: 2, timezone: 'Europe/Berlin' }));
    expect(keptIds(berlin)).toEqual(['snap_mz', 'snap_mx']);
  });

  it('keepWeekly: 23:30 UTC on a Sunday is Monday of the next ISO week in Berlin', () => {
    const weeks = [
      snap('snap_ks', '2026-11-20T12:00:00Z'), // Fri, W47
      snap('snap_kr', '2026-11-25T12:00:00Z'), // Wed, W48
      snap('snap_kp', '2026-11-29T12:00:00Z'), // Sun, W48
      snap('snap_kq', '2026-11-29T23:30:00Z'), // Sun W48 in UTC; Mon 2026-11-30, W49, in Berlin
    ];
    const utc = selectRetention(weeks, 'ws_demo', 'daily-backup-', policy({ keepWeekly: 2 }));
    expect(keptIds(utc)).toEqual(['snap_kq', 'snap_ks']);
    const berlin = selectRetention(weeks, 'ws_demo', 'daily-backup-', policy({ keepWeekly: 2, timezone: 'Europe/Berlin' }));
    expect(keptIds(berlin)).toEqual(['snap_kq', 'snap_kp']);
  });

  it('a timestamp with an offset is the same instant as its UTC form', () => {
    const withOffset = [
      snap('snap_o1', '2026-03-11T00:30:00+01:00'), // = 2026-03-10T23:30Z
      snap('snap_o2', '2026-03-10T10:00:00Z'),
      snap('snap_o3', '2026-03-11T13:00:00+01:00'),
    ];
    const r = selectRetention(withOffset, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2 }));
    expect(keptIds(r)).toEqual(['snap_o3', 'snap_o1']); // in UTC, o1 is the newest of 2026-03-10
  });
});

describe('ties in created_at', () => {
  const AT = '2026-06-01T03:00:00Z';
  const tied = [snap('snap_aaa', AT), snap('snap_ccc', AT), snap('snap_bbb', AT), snap('snap_old', '2026-05-31T03:00:00Z')];
  const permutations = [tied, [...tied].reverse(), [tied[2]!, tied[3]!, tied[0]!, tied[1]!]];

  it.each(permutations.map((p, i) => [i, p] as const))('keepLast 1 keeps the same one of three tied snapshots (order %i)', (_i, input) => {
    const r = selectRetention(input, 'ws_demo', 'daily-backup-', policy({ keepLast: 1 }));
    expect(keptIds(r)).toEqual(['snap_ccc']); // ties are broken by id, highest first
    expect(deletedIds(r)).toEqual(['snap_bbb', 'snap_aaa', 'snap_old']);
  });

  it('keepDaily 2 keeps one of the tied snapshots and the previous day', () => {
    const r = selectRetention(tied, 'ws_demo', 'daily-backup-', policy({ keepDaily: 2 }));
    expect(keptIds(r)).toEqual(['snap_ccc', 'snap_old']);
  });

  it('keepWithinDays keeps every tied snapshot', () => {
    const r = selectRetention(tied, 'ws_demo', 'daily-backup-', policy({ keepWithinDays: 0.5 }));
    expect(keptIds(r)).toEqual(['snap_ccc', 'snap_bbb', 'snap_aaa']);
    expect(deletedIds(r)).toEqual(['snap_old']);
  });

  it('the same instant written with different offsets is a tie too', () => {
    const r = selectRetention(
      [snap('snap_zz1', '2026-06-01T05:00:00+02:00'), snap('snap_zz2', '2026-06-01T03:00:00Z')],
      'ws_demo',
      'daily-backup-',
      policy({ keepLast: 1 }),
    );
    expect(keptIds(r)).toEqual(['snap_zz2']);
  });
});

describe('candidates', () => {
  const MIXED: Snap[] = [
    snap('snap_m01', '2025-01-10T03:00:00Z', 'stable-model-v2'),
    snap('snap_m02', '2026-11-26T03:00:00Z'),
    snap('snap_m03', '2026-11-27T03:00:00Z'),
    snap('snap_m04', '2026-11-27T09:12:44Z', 'pre-restore-20261127T091244Z'),
    snap('snap_m05', '2026-11-28T03:00:00Z'),
    snap('snap_m06', '2026-11-28T12:00:00Z', 'pre-restore-20261128T120000Z'),
    snap('snap_m07', '2026-11-29T03:00:00Z'),
    snap('snap_m08', '2026-11-29T18:00:00Z', 'before-migration'),
    snap('snap_m09', '2026-11-29T19:00:00Z', 'Daily-backup-2026-11-29'), // case matters
    snap('snap_m10', '2026-04-07T08:00:00Z', 'pre-demo-2026-04-07'),
    // another workspace, same names and newer
    snap('snap_o01', '2026-11-30T03:00:00Z', 'daily-backup-2026-11-30', 'ws_other'),
    snap('snap_o02', '2026-11-25T03:00:00Z', 'daily-backup-2026-11-25', 'ws_other'),
  ];

  it("only this workspace's snapshots with the prefix are candidates; manual and safety snapshots are ignored", () => {
    const r = selectRetention(MIXED, 'ws_demo', 'daily-backup-', policy({ keepLast: 1 }));
    expect(keptIds(r)).toEqual(['snap_m07']);
    expect(deletedIds(r)).toEqual(['snap_m05', 'snap_m03', 'snap_m02']);
    expect(r.ignored).toBe(6); // stable-model-v2, 2× pre-restore, before-migration, Daily-…, pre-demo
  });

  it('another workspace is pruned on its own, untouched by the first one', () => {
    const r = selectRetention(MIXED, 'ws_other', 'daily-backup-', policy({ keepLast: 1 }));
    expect(keptIds(r)).toEqual(['snap_o01']);
    expect(deletedIds(r)).toEqual(['snap_o02']);
    expect(r.ignored).toBe(0);
  });

  it('keepWithinDays counts from the newest candidate, not from a newer manual snapshot', () => {
    const r = selectRetention(MIXED, 'ws_demo', 'daily-backup-', policy({ keepWithinDays: 1 }));
    // newest candidate 2026-11-29T03:00Z: the one a day before is on the boundary and kept
    expect(keptIds(r)).toEqual(['snap_m07', 'snap_m05']);
  });

  it('a prefix "pre-" selects pre-demo snapshots but still not the safety snapshots', () => {
    const r = selectRetention(MIXED, 'ws_demo', 'pre-', policy({ keepLast: 1 }));
    expect(keptIds(r)).toEqual(['snap_m10']);
    expect(r.deleted).toEqual([]);
  });

  it('safety snapshots are candidates only when the prefix itself starts with "pre-restore-"', () => {
    const r = selectRetention(MIXED, 'ws_demo', 'pre-restore-', policy({ keepLast: 1 }));
    expect(keptIds(r)).toEqual(['snap_m06']);
    expect(deletedIds(r)).toEqual(['snap_m04']);
    const narrower = selectRetention(MIXED, 'ws_demo', 'pre-restore-20261127', policy({ keepLast: 1 }));
    expect(keptIds(narrower)).toEqual(['snap_m04']);
    expect(narrower.deleted).toEqual([]);
  });

  it('isRetentionCandidate refuses an empty prefix outright', () => {
    for (const s of MIXED) expect(isRetentionCandidate(s, s.workspace_id, '')).toBe(false);
    expect(isRetentionCandidate(MIXED[1]!, 'ws_demo', 'daily-backup-')).toBe(true);
    expect(isRetentionCandidate(MIXED[1]!, 'ws_other', 'daily-backup-')).toBe(false);
  });

  it('no candidates: nothing kept, nothing deleted', () => {
    const manual = MIXED.filter((s) => !s.name.startsWith('daily-backup-'));
    const r = selectRetention(manual, 'ws_demo', 'daily-backup-', policy({ keepLast: 1 }));
    expect(r).toEqual({ kept: [], deleted: [], ignored: 6 });
    expect(selectRetention([], 'ws_demo', 'daily-backup-', policy({ keepLast: 1 }))).toEqual({ kept: [], deleted: [], ignored: 0 });
  });

  it.each<[string, unknown]>([
    ['keepWithinDays 0.001', { keepWithinDays: 0.001 }],
    ['keepLast 1', { keepLast: 1 }],
    ['keepDaily 1', { keepDaily: 1 }],
    ['keepWeekly 1', { keepWeekly: 1 }],
    ['keepMonthly 1 in Pacific/Kiritimati', { keepMonthly: 1, timezone: 'Pacific/Kiritimati' }],
  ])('the newest candidate is kept even with a tiny policy (%s)', (_label, raw) => {
    // dailies up to the day before MIXED's newest candidate (m07, 2026-11-29T03:00Z)
    const all = [...dailyBackups('2026-09-01', '2026-11-28'), ...MIXED];
    const r = selectRetention(all, 'ws_demo', 'daily-backup-', policy(raw));
    expect(r.kept).toHaveLength(1);
    expect(r.kept[0]!.snapshot.id).toBe('snap_m07');
    expect(r.deleted.length).toBeGreaterThan(80);
    expect(r.kept[0]!.reasons[0]).toBe('newest');
    expect(r.deleted.some((s) => s.name === 'before-migration' || s.name.startsWith('pre-restore-'))).toBe(false);
  });
});

describe('input schema refusals', () => {
  it('a RetentionPolicy with no keep rule is refused, naming what is missing', () => {
    for (const raw of [{}, { timezone: 'Europe/Berlin' }]) {
      const r = parseInput(RetentionPolicy, raw);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.message).toMatch(/must set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepWithinDays/);
    }
  });

  it('a prune input with an empty policy is refused on the retention field', () => {
    const r = parseInput(PruneSnapshotsInput, { workspaceId: 'ws_demo', namePrefix: 'daily-backup-', retention: {} });
    expect(r).toMatchObject({ ok: false, fields: ['retention'] });
    expect(!r.ok && r.message).toMatch(/^retention: must set at least one of keepLast/);
  });

  it('a prune input with an empty namePrefix is refused, naming namePrefix', () => {
    const r = parseInput(PruneSnapshotsInput, { workspaceId: 'ws_demo', namePrefix: '', retention: { keepLast: 3 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.fields).toEqual(['namePrefix']);
    expect(r.message).toMatch(/^namePrefix: .*an empty prefix is refused/);
  });

  it.each<[string, unknown, RegExp]>([
    ['keepLast 0', { keepLast: 0 }, /^keepLast: must be a whole number of snapshots from 1 to 10000$/],
    ['keepDaily 1.5', { keepDaily: 1.5 }, /^keepDaily: must be a whole number of days/],
    ['keepWeekly "4"', { keepWeekly: '4' }, /^keepWeekly: must be a whole number of weeks/],
    ['keepMonthly 10001', { keepMonthly: 10_001 }, /^keepMonthly: must be a whole number of months/],
    ['keepWithinDays 0', { keepWithinDays: 0 }, /^keepWithinDays: must be a number of days greater than 0$/],
    ['an unknown timezone', { keepLast: 1, timezone: 'Mars/Olympus_Mons' }, /^timezone: must be an IANA timezone/],
    ['a misspelt rule', { keepLast: 1, keep_daily: 7 }, /^keep_daily: unknown field/],
  ])('refuses %s, naming the field', (_label, raw, message) => {
    const r = parseInput(RetentionPolicy, raw);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });

  it('a valid prune input parses to a policy selectRetention accepts', () => {
    const r = parseInput(PruneSnapshotsInput, { workspaceId: 'ws_demo', namePrefix: 'daily-backup-', retention: { keepDaily: 4 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.dryRun).toBe(false);
    expect(keptIds(selectRetention(SUNDAYS, r.value.workspaceId, r.value.namePrefix, r.value.retention))).toHaveLength(4);
  });
});

// ---------------------------------------------------------------- property tests

const WORKSPACES = ['ws_alpha', 'ws_beta', 'ws_c-1'] as const;
const PREFIXES = ['daily-backup-', 'weekly-', 'pre-', 'pre-restore-', 'daily-'] as const;
const NAME_STEMS = ['daily-backup-', 'daily-backup-', 'weekly-', 'pre-demo-', 'pre-restore-', 'Daily-backup-', 'before-migration', 'stable-model-v2'] as const;
const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Auckland'] as const;
const SAFETY = 'pre-restore-';

const START = Date.UTC(2023, 0, 1);
const END = Date.UTC(2026, 11, 31, 23, 59, 59);

/** An instant, or one on a 6-hour grid in 2026 so that ties and same-day/week/month neighbours are common. */
const instantArb = fc.oneof(
  fc.integer({ min: START, max: END }),
  fc.integer({ min: 0, max: 300 }).map((i) => Date.UTC(2026, 0, 1) + i * 6 * 3_600_000),
);

/** ISO string of an instant written with a given UTC offset (Rigbox may answer with offsets). */
function isoAt(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const snapshotArb: fc.Arbitrary<Snap> = fc
  .record({
    id: fc.stringMatching(/^[a-z0-9]{4,12}$/).map((s) => `snap_${s}`),
    workspace_id: fc.constantFrom(...WORKSPACES),
    stem: fc.constantFrom(...NAME_STEMS),
    at: instantArb,
    offset: fc.constantFrom(0, 0, 0, 120, -300, 330),
    size_bytes: fc.integer({ min: 2 * GiB, max: 64 * GiB }),
  })
  .map(({ id, workspace_id, stem, at, offset, size_bytes }) => ({
    id,
    workspace_id,
    name: stem.endsWith('-') ? `${stem}${new Date(at).toISOString().slice(0, 10)}` : stem,
    size_bytes,
    created_at: isoAt(at, offset),
  }));

const snapshotsArb = fc.uniqueArray(snapshotArb, { selector: (s) => s.id, maxLength: 60 });

const hasRule = (p: Partial<Policy>) =>
  p.keepLast !== undefined || p.keepDaily !== undefined || p.keepWeekly !== undefined || p.keepMonthly !== undefined || p.keepWithinDays !== undefined;

const policyArb: fc.Arbitrary<Policy> = fc
  .record(
    {
      keepLast: fc.integer({ min: 1, max: 12 }),
      keepDaily: fc.integer({ min: 1, max: 12 }),
      keepWeekly: fc.integer({ min: 1, max: 8 }),
      keepMonthly: fc.integer({ min: 1, max: 8 }),
      keepWithinDays: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0.01, max: 30, noNaN: true })),
      timezone: fc.constantFrom(...TIMEZONES),
    },
    { requiredKeys: [] },
  )
  .filter(hasRule)
  .map((raw) => policy(raw));

const caseArb = fc.record({
  snapshots: snapshotsArb,
  workspaceId: fc.constantFrom(...WORKSPACES),
  namePrefix: fc.constantFrom(...PREFIXES),
  policy: policyArb,
});

/** The candidate rule, written out independently of isRetentionCandidate. */
function candidatesOf(snapshots: readonly Snap[], workspaceId: string, namePrefix: string): Snap[] {
  return snapshots.filter(
    (s) => s.workspace_id === workspaceId && s.name.startsWith(namePrefix) && (!s.name.startsWith(SAFETY) || namePrefix.startsWith(SAFETY)),
  );
}

/** Newest by instant, ties by highest id. */
function newestOf(snapshots: readonly Snap[]): Snap | undefined {
  let best: Snap | undefined;
  for (const s of snapshots) {
    if (!best) best = s;
    else {
      const d = Date.parse(s.created_at) - Date.parse(best.created_at);
      if (d > 0 || (d === 0 && s.id > best.id)) best = s;
    }
  }
  return best;
}

/**
 * A reference model of the policy: group candidates into buckets (rather than scanning runs, as the
 * implementation does) and take the newest of the n most recent buckets.
 */
function modelReasons(snapshots: readonly Snap[], workspaceId: string, namePrefix: string, p: Policy): Map<string, string[]> {
  const sorted = candidatesOf(snapshots, workspaceId, namePrefix).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1));
  const out = new Map<string, string[]>();
  const add = (s: Snap, reason: string) => out.set(s.id, [...(out.get(s.id) ?? []), reason]);
  const tz = p.timezone ?? 'UTC';
  if (sorted[0]) add(sorted[0], 'newest');
  if (p.keepLast) sorted.slice(0, p.keepLast).forEach((s) => add(s, 'last'));
  const buckets = (n: number | undefined, reason: string, key: (s: Snap) => string) => {
    if (!n) return;
    const newestPerBucket = new Map<string, Snap>();
    for (const s of sorted) if (!newestPerBucket.has(key(s))) newestPerBucket.set(key(s), s);
    [...newestPerBucket.values()]
      .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1))
      .slice(0, n)
      .forEach((s) => add(s, reason));
  };
  buckets(p.keepDaily, 'daily', (s) => isoDate(new Date(s.created_at), tz));
  buckets(p.keepWeekly, 'weekly', (s) => isoWeek(localDate(new Date(s.created_at), tz)));
  buckets(p.keepMonthly, 'monthly', (s) => isoDate(new Date(s.created_at), tz).slice(0, 7));
  if (p.keepWithinDays && sorted[0]) {
    const cutoff = Date.parse(sorted[0].created_at) - p.keepWithinDays * DAY_MS;
    sorted.filter((s) => Date.parse(s.created_at) >= cutoff).forEach((s) => add(s, 'within'));
  }
  return out;
}

const RUNS = { numRuns: 300 };

describe('retention properties (fast-check)', () => {
  it('generated snapshots and policies are valid per the API and input schemas', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, policy: p }) => {
        for (const s of snapshots) expect(RigboxSnapshot.safeParse(s).success).toBe(true);
        expect(parseInput(RetentionPolicy, p).ok).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('never deletes a non-candidate: other workspaces, other names, safety snapshots', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const r = selectRetention(snapshots, workspaceId, namePrefix, p);
        for (const s of [...r.deleted, ...r.kept.map((k) => k.snapshot)]) {
          expect(s.workspace_id).toBe(workspaceId);
          expect(s.name.startsWith(namePrefix)).toBe(true);
          if (!namePrefix.startsWith(SAFETY)) expect(s.name.startsWith(SAFETY)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('never deletes the newest candidate, and marks it "newest"', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const r = selectRetention(snapshots, workspaceId, namePrefix, p);
        const newest = newestOf(candidatesOf(snapshots, workspaceId, namePrefix));
        if (!newest) {
          expect(r.kept).toEqual([]);
          return;
        }
        expect(deletedIds(r)).not.toContain(newest.id);
        expect(r.kept[0]).toMatchObject({ snapshot: newest });
        expect(r.kept[0]!.reasons[0]).toBe('newest');
        expect(r.kept.filter((k) => k.reasons.includes('newest'))).toHaveLength(1);
      }),
      RUNS,
    );
  });

  it('kept ∪ deleted = candidates, disjoint; ignored counts the rest of the workspace', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const r = selectRetention(snapshots, workspaceId, namePrefix, p);
        const candidates = candidatesOf(snapshots, workspaceId, namePrefix);
        const kept = keptIds(r);
        const deleted = deletedIds(r);
        expect(new Set([...kept, ...deleted]).size).toBe(kept.length + deleted.length);
        expect([...kept, ...deleted].sort()).toEqual(candidates.map((s) => s.id).sort());
        expect(r.ignored).toBe(snapshots.filter((s) => s.workspace_id === workspaceId).length - candidates.length);
      }),
      RUNS,
    );
  });

  it('every kept snapshot has known, distinct reasons; kept and deleted are newest first', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const r = selectRetention(snapshots, workspaceId, namePrefix, p);
        for (const k of r.kept) {
          expect(k.reasons.length).toBeGreaterThan(0);
          expect(new Set(k.reasons).size).toBe(k.reasons.length);
          for (const reason of k.reasons) expect(RETENTION_REASONS).toContain(reason);
        }
        for (const list of [r.kept.map((k) => k.snapshot), r.deleted]) {
          for (let i = 1; i < list.length; i++) {
            expect(Date.parse(list[i - 1]!.created_at)).toBeGreaterThanOrEqual(Date.parse(list[i]!.created_at));
          }
        }
      }),
      RUNS,
    );
  });

  it('agrees with a bucket-grouping model of the policy, reason by reason', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const r = selectRetention(snapshots, workspaceId, namePrefix, p);
        const model = modelReasons(snapshots, workspaceId, namePrefix, p);
        expect(new Map(r.kept.map((k) => [k.snapshot.id, k.reasons]))).toEqual(model);
      }),
      RUNS,
    );
  });

  it('does not depend on the order of the input', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.shuffledSubarray(c.snapshots, { minLength: c.snapshots.length }).map((shuffled) => ({ ...c, shuffled }))),
        ({ snapshots, shuffled, workspaceId, namePrefix, policy: p }) => {
          expect(selectRetention(shuffled, workspaceId, namePrefix, p)).toEqual(selectRetention(snapshots, workspaceId, namePrefix, p));
        },
      ),
      RUNS,
    );
  });

  it('pruning twice equals pruning once', () => {
    fc.assert(
      fc.property(caseArb, ({ snapshots, workspaceId, namePrefix, policy: p }) => {
        const first = selectRetention(snapshots, workspaceId, namePrefix, p);
        const gone = new Set(deletedIds(first));
        const survivors = snapshots.filter((s) => !gone.has(s.id));
        const second = selectRetention(survivors, workspaceId, namePrefix, p);
        expect(second.deleted).toEqual([]);
        expect(second.kept).toEqual(first.kept);
        expect(second.ignored).toBe(first.ignored);
      }),
      RUNS,
    );
  });

  it('a larger policy (every rule present, every count ≥) keeps a superset', () => {
    const growArb = fc.record({
      last: fc.option(fc.integer({ min: 0, max: 20 })),
      daily: fc.option(fc.integer({ min: 0, max: 20 })),
      weekly: fc.option(fc.integer({ min: 0, max: 10 })),
      monthly: fc.option(fc.integer({ min: 0, max: 10 })),
      within: fc.option(fc.double({ min: 0, max: 60, noNaN: true })),
    });
    /** Grows each rule the small policy has; adds a rule it lacks only when the option is set. */
    const grow = (n: number | undefined, by: number | null, floor = 1) => (n !== undefined ? n + (by ?? 0) : by === null ? undefined : Math.max(floor, by));
    fc.assert(
      fc.property(caseArb, growArb, ({ snapshots, workspaceId, namePrefix, policy: small }, g) => {
        const large = policy({
          keepLast: grow(small.keepLast, g.last),
          keepDaily: grow(small.keepDaily, g.daily),
          keepWeekly: grow(small.keepWeekly, g.weekly),
          keepMonthly: grow(small.keepMonthly, g.monthly),
          keepWithinDays:
            small.keepWithinDays !== undefined ? small.keepWithinDays + (g.within ?? 0) : g.within === null || g.within === 0 ? undefined : g.within,
          timezone: small.timezone,
        });
        const a = selectRetention(snapshots, workspaceId, namePrefix, small);
        const b = selectRetention(snapshots, workspaceId, namePrefix, large);
        expect(b.kept.length).toBeGreaterThanOrEqual(a.kept.length);
        const keptByLarge = new Set(keptIds(b));
        for (const id of keptIds(a)) expect(keptByLarge.has(id)).toBe(true);
      }),
      RUNS,
    );
  });
});
