import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applySkip,
  noticeView,
  applySnooze,
  decideStop,
  describeNotice,
  expectedDowntimeMs,
  formatShortDuration,
  inQuietHours,
  localDateTime,
  localMinuteToInstant,
  parseDuration,
  parseQuietHours,
  quietIntervals,
  snoozedMs,
  DEFAULT_EXPECTED_DOWNTIME_MS,
  type NoticeState,
  type QuietRange,
} from '../../domain/index.js';

/** The pure rules of a stop announced in advance: durations, quiet hours across midnight and DST, the stop decision, snoozes and skips. */

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const H = 3_600_000;
const q = (text: string): QuietRange => parseQuietHours(text)!;

describe('durations: one parser, units s, m, h (and d, ms), combined largest first', () => {
  it.each<[string, number | undefined]>([
    ['1h30m', 90 * MIN],
    ['4m05s', 245_000],
    ['2h10m', 130 * MIN],
    ['1d12h', 36 * H],
    ['10m', 10 * MIN],
    ['30m2h', undefined],
    ['1h1h', undefined],
    ['ms', undefined],
    ['1h 30m', undefined],
  ])('parseDuration(%j) = %j', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it('a sum of parts written largest first parses to that sum', () => {
    fc.assert(
      fc.property(fc.nat(30), fc.nat(23), fc.nat(59), fc.nat(59), (d, h, m, s) => {
        const text = `${d ? `${d}d` : ''}${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || !(d || h || m) ? `${s}s` : ''}`;
        expect(parseDuration(text)).toBe(d * 86_400_000 + h * H + m * MIN + s * 1000);
      }),
    );
  });
});

describe('quiet hours', () => {
  it('parses HH:MM-HH:MM and refuses the rest', () => {
    expect(parseQuietHours('22:00-06:00')).toEqual({ startMinute: 22 * 60, endMinute: 6 * 60 });
    expect(parseQuietHours('09:30-17:45')).toEqual({ startMinute: 570, endMinute: 1065 });
    for (const bad of ['9:00-17:00', '24:00-06:00', '22:00-22:00', '22:00', '22:00-6:00', 'x']) expect(parseQuietHours(bad)).toBeUndefined();
  });

  it('cross midnight: both sides of it are quiet, in the schedule timezone', () => {
    const night = [q('22:00-06:00')];
    // Berlin is UTC+1 in January.
    expect(inQuietHours(night, 'Europe/Berlin', at('2026-01-10T21:30:00Z'))).toBe(true); // 22:30 local
    expect(inQuietHours(night, 'Europe/Berlin', at('2026-01-11T04:59:00Z'))).toBe(true); // 05:59 local
    expect(inQuietHours(night, 'Europe/Berlin', at('2026-01-11T05:00:00Z'))).toBe(false); // 06:00 local: ended
    expect(inQuietHours(night, 'Europe/Berlin', at('2026-01-10T20:59:00Z'))).toBe(false); // 21:59 local
    expect(inQuietHours(night, 'UTC', at('2026-01-10T21:30:00Z'))).toBe(false);
  });

  it('spring forward: the 23-hour day 2026-03-29 is not skipped (found by the property: days were stepped by 24 h)', () => {
    // 00:02-00:01 is quiet all day but one minute. 22:00Z on the 28th is 23:00 local; 24 h later it
    // is 00:00 on the 30th, so a 24-hour step missed the 29th's interval and called its noon free.
    const almostAllDay = [q('00:02-00:01')];
    expect(inQuietHours(almostAllDay, 'Europe/Berlin', at('2026-03-29T12:00:00Z'))).toBe(true);
    expect(inQuietHours(almostAllDay, 'Europe/Berlin', at('2026-03-29T22:00:00Z'))).toBe(true); // 00:00 local on the 30th
    expect(inQuietHours(almostAllDay, 'Europe/Berlin', at('2026-03-29T22:01:00Z'))).toBe(false); // 00:01 local: the free minute
    expect(
      decideStop({
        earliestMs: at('2026-03-29T04:45:00Z'),
        windowEndMs: at('2026-03-29T22:01:00Z'),
        expectedDowntimeMs: 60_000,
        quietHours: almostAllDay,
        timeZone: 'Europe/Berlin',
      }),
    ).toEqual({ kind: 'skip', reason: 'window' });
  });

  it('spring forward: 02:30 does not exist in Berlin on 2026-03-29; quiet hours from it begin at 03:00 (01:00Z)', () => {
    expect(localMinuteToInstant(2026, 3, 29, 150, 'Europe/Berlin')).toBe(at('2026-03-29T01:00:00Z'));
    expect(quietIntervals([q('02:30-05:00')], 'Europe/Berlin', at('2026-03-29T00:00:00Z'), at('2026-03-29T05:00:00Z'))).toEqual([
      [at('2026-03-29T01:00:00Z'), at('2026-03-29T03:00:00Z')],
    ]);
  });

  it('fall back: 22:00-06:00 over the night Berlin leaves summer time lasts 9 hours', () => {
    const [interval] = quietIntervals([q('22:00-06:00')], 'Europe/Berlin', at('2026-10-24T21:00:00Z'), at('2026-10-24T21:00:00Z'));
    expect(interval).toEqual([at('2026-10-24T20:00:00Z'), at('2026-10-25T05:00:00Z')]);
    expect(interval![1] - interval![0]).toBe(9 * H);
    // 02:30 happens twice that night: the first one counts.
    expect(localMinuteToInstant(2026, 10, 25, 150, 'Europe/Berlin')).toBe(at('2026-10-25T00:30:00Z'));
  });

  it('every local minute maps to an instant whose wall clock reads it (or, in a DST gap, the gap end)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: 729 }), fc.integer({ min: 0, max: 1439 }), (tz, dayIndex, minute) => {
        const day = new Date(Date.UTC(2026, 0, 1 + dayIndex));
        const t = localMinuteToInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), minute, tz);
        const l = localDateTime(new Date(t), tz);
        const wallMinute = l.hour * 60 + l.minute;
        const sameDay = l.day === day.getUTCDate();
        if (sameDay && wallMinute === minute) return;
        // A gap: the minute before t read earlier than `minute`, and t reads later.
        const before = localDateTime(new Date(t - MIN), tz);
        expect(before.hour * 60 + before.minute).toBeLessThan(minute);
        expect(wallMinute).toBeGreaterThan(minute);
      }),
      { numRuns: 300 },
    );
  });

  it('an instant is quiet exactly when its wall clock is inside a range (DST days included)', () => {
    const zones = ['Europe/Berlin', 'America/Los_Angeles', 'UTC'];
    const range = fc
      .record({ startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 0, max: 1439 }) })
      .filter((r) => r.startMinute !== r.endMinute);
    fc.assert(
      fc.property(fc.constantFrom(...zones), range, fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2027-12-31T00:00:00Z') }), (tz, r, t0) => {
        const t = Math.floor(t0 / MIN) * MIN;
        const l = localDateTime(new Date(t), tz);
        const m = l.hour * 60 + l.minute;
        const inside = r.startMinute < r.endMinute ? m >= r.startMinute && m < r.endMinute : m >= r.startMinute || m < r.endMinute;
        // Instants in a DST gap's shadow read as the gap end; the wall-clock rule and the instants agree everywhere else.
        expect(inQuietHours([r], tz, t)).toBe(inside);
      }),
      { numRuns: 400 },
    );
  });
});

describe('decideStop: begin now, wait until quiet hours end, or skip with reason window', () => {
  const base = { expectedDowntimeMs: 10 * MIN, quietHours: [] as QuietRange[], timeZone: 'UTC' };

  it('no window, no quiet hours: begin at once', () => {
    expect(decideStop({ ...base, earliestMs: at('2026-06-01T03:00:00Z'), windowEndMs: null })).toEqual({ kind: 'begin', atMs: at('2026-06-01T03:00:00Z') });
  });

  it('a window that closes before the downtime ends: skip at once', () => {
    expect(decideStop({ ...base, earliestMs: at('2026-06-01T03:55:00Z'), windowEndMs: at('2026-06-01T04:00:00Z') })).toEqual({
      kind: 'skip',
      reason: 'window',
    });
    expect(decideStop({ ...base, earliestMs: at('2026-06-01T03:50:00Z'), windowEndMs: at('2026-06-01T04:00:00Z') }).kind).toBe('begin');
  });

  it('downtime that would run into quiet hours waits for them to end when the window allows', () => {
    const rules = { ...base, quietHours: [q('03:05-04:00')], earliestMs: at('2026-06-01T03:00:00Z') };
    expect(decideStop({ ...rules, windowEndMs: at('2026-06-01T05:00:00Z') })).toEqual({ kind: 'wait', untilMs: at('2026-06-01T04:00:00Z') });
    expect(decideStop({ ...rules, windowEndMs: at('2026-06-01T04:05:00Z') })).toEqual({ kind: 'skip', reason: 'window' });
  });

  it('inside quiet hours that cross midnight: wait until they end the next morning', () => {
    const d = decideStop({ ...base, quietHours: [q('22:00-06:00')], timeZone: 'Europe/Berlin', earliestMs: at('2026-01-10T23:00:00Z'), windowEndMs: null });
    expect(d).toEqual({ kind: 'wait', untilMs: at('2026-01-11T05:00:00Z') });
  });

  it('property: a begin or a wait always fits (window and quiet hours); a skip means nothing in the window fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2026-12-31T00:00:00Z') }),
        fc.integer({ min: 0, max: 48 * 60 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.record({ startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 0, max: 1439 }) }), { maxLength: 2 }),
        (t0, windowMin, downMin, rs) => {
          const ranges = rs.filter((r) => r.startMinute !== r.endMinute);
          const earliestMs = Math.floor(t0 / MIN) * MIN;
          const rules = {
            earliestMs,
            windowEndMs: earliestMs + windowMin * MIN,
            expectedDowntimeMs: downMin * MIN,
            quietHours: ranges,
            timeZone: 'Europe/Berlin',
          };
          const d = decideStop(rules);
          const clear = (t: number) => {
            for (let u = t; u < t + rules.expectedDowntimeMs; u += MIN) if (inQuietHours(ranges, rules.timeZone, u)) return false;
            return t + rules.expectedDowntimeMs <= rules.windowEndMs;
          };
          if (d.kind === 'skip') {
            for (let t = earliestMs; t <= rules.windowEndMs; t += 15 * MIN) expect(clear(t)).toBe(false);
          } else {
            const t = d.kind === 'begin' ? d.atMs : d.untilMs;
            expect(t).toBeGreaterThanOrEqual(earliestMs);
            expect(clear(t)).toBe(true);
            if (d.kind === 'begin') expect(t).toBe(earliestMs);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('snooze and skip', () => {
  const state = (over: Partial<NoticeState> = {}): NoticeState => ({
    version: 1,
    workspaceId: 'ws_demo',
    phase: 'notice',
    noticeMs: 10 * MIN,
    stopAt: '2026-06-01T03:00:00.000Z',
    noticeSentAt: '2026-06-01T02:50:00.000Z',
    windowEnd: null,
    maxSnoozeMs: 4 * H,
    expectedDowntimeMs: DEFAULT_EXPECTED_DOWNTIME_MS,
    snoozes: [],
    skipped: null,
    ...over,
  });
  const now = at('2026-06-01T02:52:00Z');

  it('moves the stop later by the snooze, twice, and says who', () => {
    const once = applySnooze(state(), { forMs: H, by: 'ana', nowMs: now });
    expect(once).toMatchObject({ ok: true, state: { stopAt: '2026-06-01T04:00:00.000Z', phase: 'notice' } });
    const twice = applySnooze((once as { state: NoticeState }).state, { forMs: 30 * MIN, by: 'ben', nowMs: now });
    expect(twice).toMatchObject({ ok: true, state: { stopAt: '2026-06-01T04:30:00.000Z' } });
    const s = (twice as { state: NoticeState }).state;
    expect(snoozedMs(s)).toBe(90 * MIN);
    expect(describeNotice(s, 'UTC')).toBe('notice sent 02:50, stop at 04:30 UTC (snoozed 1h30m by ana, ben)');
  });

  it('refuses past the cap, naming what is left; up to the cap is accepted', () => {
    let s = state();
    for (const forMs of [H, H, H]) s = (applySnooze(s, { forMs, by: 'ana', nowMs: now }) as { state: NoticeState }).state;
    expect(applySnooze(s, { forMs: 90 * MIN, by: 'ana', nowMs: now })).toEqual({ ok: false, reason: expect.stringContaining('1h left') as string });
    expect(applySnooze(s, { forMs: H, by: 'ana', nowMs: now })).toMatchObject({ ok: true });
  });

  it('property: the total of accepted snoozes never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 * H }), { maxLength: 12 }), fc.integer({ min: MIN, max: 8 * H }), (asks, cap) => {
        let s = state({ maxSnoozeMs: cap });
        for (const forMs of asks) {
          const r = applySnooze(s, { forMs, by: 'x', nowMs: now });
          if (r.ok) s = r.state;
        }
        expect(snoozedMs(s)).toBeLessThanOrEqual(cap);
        expect(Date.parse(s.stopAt) - at('2026-06-01T03:00:00Z')).toBe(snoozedMs(s));
      }),
    );
  });

  it('before the notice is sent the line says when it is due; without a notice, only the stop time', () => {
    expect(describeNotice(state({ phase: 'waiting', noticeSentAt: null }), 'Europe/Berlin')).toBe('notice due 04:50, stop at 05:00 Europe/Berlin');
    expect(describeNotice(state({ phase: 'waiting', noticeSentAt: null, noticeMs: 0 }), 'UTC')).toBe('stop at 03:00 UTC');
  });

  it('a snooze past the window becomes a skip with reason window', () => {
    const r = applySnooze(state({ windowEnd: '2026-06-01T04:00:00.000Z' }), { forMs: H, by: 'ana', nowMs: now });
    expect(r).toMatchObject({ ok: true, state: { phase: 'skipped', skipped: { reason: 'window', by: 'ana' } } });
  });

  it('a snooze shorter than a minute is refused', () => {
    expect(applySnooze(state(), { forMs: 30_000, by: 'ana', nowMs: now })).toMatchObject({ ok: false });
  });

  it('skip ends the wait; nothing is accepted once stopping or skipped', () => {
    const r = applySkip(state(), { reason: 'demo at 3', by: 'ana', nowMs: now });
    expect(r).toMatchObject({ ok: true, state: { phase: 'skipped', skipped: { reason: 'demo at 3', by: 'ana' } } });
    const skipped = (r as { state: NoticeState }).state;
    expect(applySnooze(skipped, { forMs: H, by: 'ben', nowMs: now })).toMatchObject({ ok: false, reason: expect.stringContaining('skipped') as string });
    expect(applySkip(state({ phase: 'stopping' }), { reason: 'x', by: 'ben', nowMs: now })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('stopping') as string,
    });
  });

  it('a snapshot asked for with a notice says so in its view and its refusals; a state without an operation reads as a backup', () => {
    const snap = state({ operation: 'snapshot' });
    expect(noticeView(snap, 'UTC')).toMatchObject({ operation: 'snapshot', summary: 'notice sent 02:50, stop at 03:00 UTC' });
    expect(applySkip({ ...snap, phase: 'stopping' }, { reason: 'x', by: 'ben', nowMs: now })).toEqual({
      ok: false,
      reason: 'the snapshot of ws_demo is no longer waiting out its notice (it is stopping the workspace)',
    });
    expect(noticeView(state(), 'UTC').operation).toBe('backup');
    expect(applySkip(state({ phase: 'skipped' }), { reason: 'x', by: 'ben', nowMs: now })).toMatchObject({
      reason: expect.stringMatching(/^the backup of ws_demo is no longer waiting/) as string,
    });
  });

  it('formatShortDuration writes what parseDuration reads back', () => {
    expect(['4h', '1h30m', '2m30s', '45s', '0s', '1d2h'].map((t) => formatShortDuration(parseDuration(t)!))).toEqual([
      '4h',
      '1h30m',
      '2m30s',
      '45s',
      '0s',
      '1d2h',
    ]);
    fc.assert(
      fc.property(fc.nat(30 * 86_400), (s) => {
        expect(parseDuration(formatShortDuration(s * 1000))).toBe(s * 1000);
      }),
    );
  });

  it('expected downtime: learnt stop + start + the copy allowance, else the documented default', () => {
    expect(expectedDowntimeMs({})).toEqual({ ms: DEFAULT_EXPECTED_DOWNTIME_MS, learnt: false });
    expect(expectedDowntimeMs({ stopMs: 20_000, startMs: 30_000 })).toEqual({ ms: 170_000, learnt: true });
  });
});
