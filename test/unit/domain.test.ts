import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import {
  BackupFleetInput,
  BackupWorkspaceInput,
  CheckpointWorkspaceInput,
  DEFAULT_POLL_SCHEDULE,
  DeleteSnapshotInput,
  ERROR_ADVICE,
  ERROR_TABLE,
  ERROR_TYPES,
  errorTypeForStatus,
  formatDuration,
  INPUT_SCHEMAS,
  isErrorType,
  isoDate,
  backupName,
  isoWeek,
  isRetryable,
  isValidTimeZone,
  ListSnapshotsInput,
  localDate,
  MAX_FLEET_SIZE,
  nextPollDelayMs,
  NON_RETRYABLE_ERROR_TYPES,
  parseDuration,
  parseInput,
  pollTimes,
  PruneSnapshotsInput,
  ReleaseCheckpointInput,
  REQUEST_KEY_PATTERN,
  INTERNAL_OPERATIONS,
  RequestKey,
  requestKey,
  RestoreWorkspaceInput,
  scheduleIds,
  slug,
  SnapshotWorkspaceInput,
  utcStamp,
  workflowIds,
  type ParseOutcome,
} from '../../domain/index.js';

/** The pure domain module: input schemas and their messages, ids, calendar helpers, polling, errors. */

function refused<T>(r: ParseOutcome<T>): { message: string; fields: string[] } {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value)}`);
  return r;
}

function accepted<T>(r: ParseOutcome<T>): T {
  if (!r.ok) throw new Error(`expected the input to parse, got: ${r.message}`);
  return r.value;
}

describe('parseInput: valid minimal inputs get their defaults', () => {
  it('snapshotWorkspace: restart "previous"', () => {
    expect(accepted(parseInput(SnapshotWorkspaceInput, { workspaceId: 'ws_demo', name: 'before-migration' }))).toEqual({
      workspaceId: 'ws_demo',
      name: 'before-migration',
      restart: 'previous',
    });
  });

  it('restoreWorkspace: keepCurrent false, restart "previous"', () => {
    expect(accepted(parseInput(RestoreWorkspaceInput, { workspaceId: 'ws_demo', snapshotId: 'snap_abc123' }))).toEqual({
      workspaceId: 'ws_demo',
      snapshotId: 'snap_abc123',
      keepCurrent: false,
      restart: 'previous',
    });
  });

  it('restoreWorkspace keeps explicit values', () => {
    expect(
      accepted(parseInput(RestoreWorkspaceInput, { workspaceId: 'ws_demo', snapshotId: 'snap_abc123', keepCurrent: true, restart: 'never' })),
    ).toMatchObject({ keepCurrent: true, restart: 'never' });
  });

  it('deleteSnapshot: both ids, nothing added', () => {
    expect(accepted(parseInput(DeleteSnapshotInput, { workspaceId: 'ws_demo', snapshotId: 'snap_abc123' }))).toEqual({
      workspaceId: 'ws_demo',
      snapshotId: 'snap_abc123',
    });
  });

  it('listSnapshots: empty object and a missing input are both "all workspaces"', () => {
    expect(accepted(parseInput(ListSnapshotsInput, {}))).toEqual({});
    expect(accepted(parseInput(ListSnapshotsInput, undefined))).toEqual({});
    expect(accepted(parseInput(ListSnapshotsInput, { workspaceId: 'ws_demo' }))).toEqual({ workspaceId: 'ws_demo' });
  });

  it('pruneSnapshots: dryRun false', () => {
    expect(accepted(parseInput(PruneSnapshotsInput, { workspaceId: 'ws_demo', namePrefix: 'daily-backup-', retention: { keepLast: 7 } }))).toEqual({
      workspaceId: 'ws_demo',
      namePrefix: 'daily-backup-',
      retention: { keepLast: 7 },
      dryRun: false,
    });
  });

  it('backupWorkspace: namePrefix "daily-backup-", no retention', () => {
    expect(accepted(parseInput(BackupWorkspaceInput, { workspaceId: 'ws_demo' }))).toEqual({
      workspaceId: 'ws_demo',
      namePrefix: 'daily-backup-',
    });
  });

  it('backupFleet: concurrency 10, namePrefix "daily-backup-"', () => {
    expect(accepted(parseInput(BackupFleetInput, { workspaceIds: ['ws_a', 'ws_b'] }))).toEqual({
      workspaceIds: ['ws_a', 'ws_b'],
      concurrency: 10,
      namePrefix: 'daily-backup-',
    });
  });

  it('checkpointWorkspace: ttl "24h"', () => {
    expect(accepted(parseInput(CheckpointWorkspaceInput, { workspaceId: 'ws_demo', name: 'pre-demo-2026-04-07' }))).toEqual({
      workspaceId: 'ws_demo',
      name: 'pre-demo-2026-04-07',
      ttl: '24h',
    });
  });

  it('the release update: no argument means deleteSnapshot false', () => {
    expect(accepted(parseInput(ReleaseCheckpointInput, undefined))).toEqual({ deleteSnapshot: false });
    expect(accepted(parseInput(ReleaseCheckpointInput, { deleteSnapshot: true }))).toEqual({ deleteSnapshot: true });
  });

  it('parsed output is canonical JSON (what goes into history)', () => {
    const v = accepted(parseInput(BackupFleetInput, { workspaceIds: ['ws_a'], retention: { keepDaily: 7, keepWithinDays: 1.5, timezone: 'Europe/Berlin' } }));
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  it('INPUT_SCHEMAS covers every public workflow type (all but the internal lock)', () => {
    const publicTypes = Object.entries(WORKFLOW_TYPES)
      .filter(([op]) => !(INTERNAL_OPERATIONS as readonly string[]).includes(op))
      .map(([, type]) => type)
      .sort();
    expect(Object.keys(INPUT_SCHEMAS).sort()).toEqual(publicTypes);
  });
});

describe('parseInput: bad inputs are refused with a message naming the field', () => {
  const snapshotOk = { workspaceId: 'ws_demo', name: 'before-migration' };
  const restoreOk = { workspaceId: 'ws_demo', snapshotId: 'snap_abc123' };
  const pruneOk = { workspaceId: 'ws_demo', namePrefix: 'daily-backup-', retention: { keepLast: 3 } };

  type Case = [label: string, schema: keyof typeof INPUT_SCHEMAS, input: unknown, field: string, message: RegExp];
  const cases: Case[] = [
    ['workspace id without ws_', WORKFLOW_TYPES.snapshot, { ...snapshotOk, workspaceId: 'demo' }, 'workspaceId', /must be "ws_" followed by/],
    ['workspace id with a slash', WORKFLOW_TYPES.delete, { ...restoreOk, workspaceId: 'ws_a/../b' }, 'workspaceId', /must be "ws_"/],
    ['workspace id too long', WORKFLOW_TYPES.list, { workspaceId: `ws_${'a'.repeat(65)}` }, 'workspaceId', /1-64 letters/],
    ['workspace id of the wrong type', WORKFLOW_TYPES.backup, { workspaceId: 42 }, 'workspaceId', /must be a string like "ws_demo"/],
    ['snapshot id without snap_', WORKFLOW_TYPES.restore, { ...restoreOk, snapshotId: 'abc123' }, 'snapshotId', /must be "snap_" followed by/],
    ['snapshot id with a path', WORKFLOW_TYPES.delete, { ...restoreOk, snapshotId: 'snap_1/../../x' }, 'snapshotId', /must be "snap_"/],
    [
      'unknown field keepcurrent',
      WORKFLOW_TYPES.restore,
      { ...restoreOk, keepcurrent: true },
      'keepcurrent',
      /keepcurrent: unknown field \(check the spelling\)/,
    ],
    ['unknown field Restart', WORKFLOW_TYPES.snapshot, { ...snapshotOk, Restart: 'always' }, 'Restart', /Restart: unknown field/],
    [
      'a misspelt rule inside retention',
      WORKFLOW_TYPES.prune,
      { ...pruneOk, retention: { keepLast: 3, keepdaily: 7 } },
      'retention.keepdaily',
      /retention\.keepdaily: unknown field/,
    ],
    ['missing workspaceId', WORKFLOW_TYPES.snapshot, { name: 'x' }, 'workspaceId', /^workspaceId: is required$/],
    ['missing name', WORKFLOW_TYPES.snapshot, { workspaceId: 'ws_demo' }, 'name', /^name: is required$/],
    ['missing snapshotId', WORKFLOW_TYPES.delete, { workspaceId: 'ws_demo' }, 'snapshotId', /^snapshotId: is required$/],
    ['missing namePrefix', WORKFLOW_TYPES.prune, { workspaceId: 'ws_demo', retention: { keepLast: 1 } }, 'namePrefix', /^namePrefix: is required$/],
    ['missing retention', WORKFLOW_TYPES.prune, { workspaceId: 'ws_demo', namePrefix: 'daily-backup-' }, 'retention', /^retention: is required$/],
    ['missing workspaceIds', WORKFLOW_TYPES['fleet-backup'], {}, 'workspaceIds', /^workspaceIds: must give either workspaceIds or a selector \(not both\)$/],
    [
      'workspaceIds and a selector',
      WORKFLOW_TYPES['fleet-backup'],
      { workspaceIds: ['ws_a'], selector: { team: 'ml' } },
      'workspaceIds',
      /^workspaceIds: must give either workspaceIds or a selector/,
    ],
    ['an empty selector', WORKFLOW_TYPES['fleet-backup'], { selector: {} }, 'selector', /^selector: must name 1 to 10 labels$/],
    ['a selector with a bad value', WORKFLOW_TYPES['fleet-backup'], { selector: { team: 'm l' } }, 'selector.team', /label values are 1-63/],
    ['bad restart value', WORKFLOW_TYPES.snapshot, { ...snapshotOk, restart: 'sometimes' }, 'restart', /^restart: must be "previous", "always" or "never"$/],
    ['restart in the wrong case', WORKFLOW_TYPES.restore, { ...restoreOk, restart: 'Always' }, 'restart', /must be "previous", "always" or "never"/],
    ['keepCurrent as a string', WORKFLOW_TYPES.restore, { ...restoreOk, keepCurrent: 'yes' }, 'keepCurrent', /^keepCurrent: must be true or false$/],
    ['dryRun as a string', WORKFLOW_TYPES.prune, { ...pruneOk, dryRun: 'false' }, 'dryRun', /^dryRun: must be true or false$/],
    ['duplicate workspaceIds', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_a', 'ws_b', 'ws_a'] }, 'workspaceIds', /must not list a workspace twice/],
    ['an empty fleet', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: [] }, 'workspaceIds', /must list at least one workspace/],
    ['a bad id inside the fleet', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_a', 'b'] }, 'workspaceIds.1', /^workspaceIds\.1: must be "ws_"/],
    [
      'concurrency 0',
      WORKFLOW_TYPES['fleet-backup'],
      { workspaceIds: ['ws_a'], concurrency: 0 },
      'concurrency',
      /^concurrency: must be a whole number from 1 to 200$/,
    ],
    ['concurrency 201', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_a'], concurrency: 201 }, 'concurrency', /from 1 to 200/],
    ['concurrency 2.5', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_a'], concurrency: 2.5 }, 'concurrency', /from 1 to 200/],
    [
      'bad timezone',
      WORKFLOW_TYPES.backup,
      { workspaceId: 'ws_demo', retention: { keepDaily: 7, timezone: 'Berlin' } },
      'retention.timezone',
      /^retention\.timezone: must be an IANA timezone/,
    ],
    [
      'ttl "5 minutes"',
      WORKFLOW_TYPES.checkpoint,
      { workspaceId: 'ws_demo', name: 'demo', ttl: '5 minutes' },
      'ttl',
      /^ttl: must be a duration from "1s" to "30d"/,
    ],
    ['ttl "0s"', WORKFLOW_TYPES.checkpoint, { workspaceId: 'ws_demo', name: 'demo', ttl: '0s' }, 'ttl', /^ttl: must be a duration/],
    ['ttl "31d"', WORKFLOW_TYPES.checkpoint, { workspaceId: 'ws_demo', name: 'demo', ttl: '31d' }, 'ttl', /^ttl: must be a duration/],
    ['ttl as a number', WORKFLOW_TYPES.checkpoint, { workspaceId: 'ws_demo', name: 'demo', ttl: 3600 }, 'ttl', /^ttl: must be a duration such as/],
    ['name with a slash', WORKFLOW_TYPES.snapshot, { ...snapshotOk, name: 'models/v2' }, 'name', /^name: must be 1-128 characters/],
    ['name starting with a dash', WORKFLOW_TYPES.checkpoint, { workspaceId: 'ws_demo', name: '-x' }, 'name', /starting with a letter or digit/],
    ['empty name', WORKFLOW_TYPES.snapshot, { ...snapshotOk, name: '' }, 'name', /^name: must be 1-128 characters/],
    ['name of 129 characters', WORKFLOW_TYPES.snapshot, { ...snapshotOk, name: 'a'.repeat(129) }, 'name', /^name: must be 1-128/],
    ['empty namePrefix', WORKFLOW_TYPES['fleet-backup'], { workspaceIds: ['ws_a'], namePrefix: '' }, 'namePrefix', /an empty prefix is refused/],
    ['namePrefix with a space', WORKFLOW_TYPES.backup, { workspaceId: 'ws_demo', namePrefix: 'daily backup ' }, 'namePrefix', /^namePrefix: must be 1-100/],
  ];

  it.each(cases)('%s', (_label, schema, input, field, message) => {
    const r = refused(parseInput(INPUT_SCHEMAS[schema], input));
    expect(r.fields).toContain(field);
    expect(r.message).toMatch(message);
    expect(r.message).toContain(`${field}:`);
  });

  it("snapshotWorkspace: a notice is a duration up to 24h, kept as given; a window or quiet hours are a backup's, not a snapshot's", () => {
    expect(accepted(parseInput(SnapshotWorkspaceInput, { workspaceId: 'ws_demo', name: 'm', notice: '5m' })).notice).toBe('5m');
    expect(accepted(parseInput(SnapshotWorkspaceInput, { workspaceId: 'ws_demo', name: 'm', notice: '0s' })).notice).toBe('0s');
    for (const notice of ['2d', 'soon', 5])
      expect(refused(parseInput(SnapshotWorkspaceInput, { workspaceId: 'ws_demo', name: 'm', notice })).fields).toEqual(['notice']);
    expect(refused(parseInput(SnapshotWorkspaceInput, { workspaceId: 'ws_demo', name: 'm', notice: '5m', window: '1h' })).message).toContain('window');
  });

  it('several problems are all reported, separated by "; "', () => {
    const r = refused(parseInput(SnapshotWorkspaceInput, { workspaceId: 'demo', name: 'a/b', restart: 'sometimes' }));
    expect(r.fields).toEqual(['workspaceId', 'name', 'restart']);
    expect(r.message.split('; ')).toHaveLength(3);
    expect(r.message).toMatch(/^workspaceId: .*; name: .*; restart: /);
  });

  it('two unknown fields are named in one issue', () => {
    const r = refused(parseInput(DeleteSnapshotInput, { ...restoreOk, forse: true, dryrun: true }));
    expect(r.fields).toEqual(['forse', 'dryrun']);
    expect(r.message).toBe('forse, dryrun: unknown fields (check the spelling)');
  });

  it('a non-object input is refused as a whole', () => {
    for (const raw of [null, 'ws_demo', 42, ['ws_demo']]) {
      const r = refused(parseInput(SnapshotWorkspaceInput, raw));
      expect(r.fields).toEqual(['input']);
      expect(r.message).toMatch(/^input: /);
    }
  });

  it('accepts the edges of the ranges', () => {
    expect(accepted(parseInput(BackupFleetInput, { workspaceIds: ['ws_a'], concurrency: 1 })).concurrency).toBe(1);
    expect(accepted(parseInput(BackupFleetInput, { workspaceIds: ['ws_a'], concurrency: 200 })).concurrency).toBe(200);
    expect(accepted(parseInput(CheckpointWorkspaceInput, { workspaceId: 'ws_demo', name: 'x', ttl: '1s' })).ttl).toBe('1s');
    expect(accepted(parseInput(CheckpointWorkspaceInput, { workspaceId: 'ws_demo', name: 'x', ttl: '30d' })).ttl).toBe('30d');
    expect(accepted(parseInput(SnapshotWorkspaceInput, { workspaceId: `ws_${'a'.repeat(64)}`, name: 'a'.repeat(128) })).name).toHaveLength(128);
    const many = Array.from({ length: MAX_FLEET_SIZE }, (_, i) => `ws_${i}`);
    expect(accepted(parseInput(BackupFleetInput, { workspaceIds: many })).workspaceIds).toHaveLength(MAX_FLEET_SIZE);
    expect(refused(parseInput(BackupFleetInput, { workspaceIds: [...many, 'ws_extra'] })).message).toMatch(/at most 10000 workspaces/);
  });

  it('RequestKey accepts short keys and refuses others', () => {
    expect(accepted(parseInput(RequestKey, 'deploy-42_a'))).toBe('deploy-42_a');
    expect(refused(parseInput(RequestKey, 'a'.repeat(41))).message).toMatch(/1-40 letters/);
    expect(refused(parseInput(RequestKey, 'a b')).message).toMatch(/1-40 letters/);
  });
});

describe('ids', () => {
  it.each<[string, string]>([
    ['Before Migration!', 'before-migration'],
    ['  --stable_model  v2--', 'stable-model-v2'],
    ['daily-backup-2026-11-28', 'daily-backup-2026-11-28'],
    ['Ünïcödé näme', 'n-c-d-n-me'],
    ['', 'x'],
    ['---', 'x'],
    ['!!!', 'x'],
  ])('slug(%j) = %j', (input, expected) => {
    expect(slug(input)).toBe(expected);
  });

  it('slug caps the length and never ends with a dash after cutting', () => {
    expect(slug('a'.repeat(100))).toBe('a'.repeat(40));
    expect(slug(`${'a'.repeat(39)} b`)).toBe('a'.repeat(39));
    expect(slug('pre demo checkpoint', 8)).toBe('pre-demo');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 60 }), (text, max) => {
        const s = slug(text, max);
        expect(s).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$|^x$/);
        expect(s.length).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('workflow ids are readable and contain the workspace id', () => {
    const ws = 'ws_xyz789';
    expect(workflowIds.snapshot(ws, 'Before Migration', 'k1')).toBe('snapshot-ws_xyz789-before-migration-k1');
    expect(workflowIds.restore(ws, 'snap_abc123', 'k1')).toBe('restore-ws_xyz789-snap_abc123-k1');
    expect(workflowIds.delete(ws, 'snap_abc123')).toBe('delete-ws_xyz789-snap_abc123');
    expect(workflowIds.list(ws, 'k1')).toBe('list-ws_xyz789-k1');
    expect(workflowIds.list(undefined, 'k1')).toBe('list-all-k1');
    expect(workflowIds.prune(ws, 'daily-backup-', 'k1')).toBe('prune-ws_xyz789-daily-backup-k1');
    expect(workflowIds.backup(ws, 'k1')).toBe('backup-ws_xyz789-k1');
    expect(workflowIds.fleetBackup('k1')).toBe('fleet-backup-k1');
    expect(workflowIds.fleetChild('fleet-backup-k1', ws)).toBe('fleet-backup-k1-ws_xyz789');
    expect(workflowIds.checkpoint(ws, 'pre-demo 2026-04-07', 'k1')).toBe('checkpoint-ws_xyz789-pre-demo-2026-04-07-k1');
    expect(workflowIds.lock(ws)).toBe('rigsnap-lock-ws_xyz789');
  });

  it('every per-workspace id contains the workspace id, and different workspaces never share one', () => {
    const perWorkspace = (ws: string) => [
      workflowIds.snapshot(ws, 'n', 'k'),
      workflowIds.restore(ws, 'snap_1', 'k'),
      workflowIds.delete(ws, 'snap_1'),
      workflowIds.list(ws, 'k'),
      workflowIds.prune(ws, 'daily-backup-', 'k'),
      workflowIds.backup(ws, 'k'),
      workflowIds.fleetChild('fleet-backup-k', ws),
      workflowIds.checkpoint(ws, 'n', 'k'),
      workflowIds.lock(ws),
      scheduleIds.backup(ws),
    ];
    const a = perWorkspace('ws_alpha');
    const b = perWorkspace('ws_beta');
    for (const id of a) expect(id).toContain('ws_alpha');
    for (const id of b) expect(id).toContain('ws_beta');
    expect(new Set([...a, ...b]).size).toBe(a.length + b.length);
  });

  it('schedule ids: one per workspace, one per named fleet', () => {
    expect(scheduleIds.backup('ws_demo')).toBe('rigsnap-backup-ws_demo');
    expect(scheduleIds.fleet('Nightly EU fleet')).toBe('rigsnap-fleet-nightly-eu-fleet');
  });

  it('requestKey is base-36 milliseconds and a valid RequestKey', () => {
    expect(requestKey(0)).toBe('0');
    expect(requestKey(35)).toBe('z');
    const key = requestKey(Date.UTC(2026, 10, 28, 23, 23, 33));
    expect(parseInt(key, 36)).toBe(Date.UTC(2026, 10, 28, 23, 23, 33));
    expect(key).toMatch(REQUEST_KEY_PATTERN);
  });
});

describe('time', () => {
  it.each<[string, string, string]>([
    ['2026-03-10T23:30:00Z', 'UTC', '2026-03-10'],
    ['2026-03-10T23:30:00Z', 'Europe/Berlin', '2026-03-11'],
    ['2026-03-10T22:59:59Z', 'Europe/Berlin', '2026-03-10'],
    // Berlin switches to CEST at 01:00 UTC on 2026-03-29: midnight is 23:00 UTC before, 22:00 UTC after
    ['2026-03-28T23:30:00Z', 'Europe/Berlin', '2026-03-29'],
    ['2026-03-29T21:59:59Z', 'Europe/Berlin', '2026-03-29'],
    ['2026-03-29T22:00:00Z', 'Europe/Berlin', '2026-03-30'],
    // and back to CET at 01:00 UTC on 2026-10-25
    ['2026-10-24T22:00:00Z', 'Europe/Berlin', '2026-10-25'],
    ['2026-10-25T22:59:59Z', 'Europe/Berlin', '2026-10-25'],
    ['2026-10-25T23:00:00Z', 'Europe/Berlin', '2026-10-26'],
    // New York switches to EDT at 07:00 UTC on 2026-03-08
    ['2026-03-08T04:59:59Z', 'America/New_York', '2026-03-07'],
    ['2026-03-08T05:00:00Z', 'America/New_York', '2026-03-08'],
    ['2026-03-09T03:59:59Z', 'America/New_York', '2026-03-08'],
    ['2026-03-09T04:00:00Z', 'America/New_York', '2026-03-09'],
    ['2026-06-30T18:30:00Z', 'Asia/Kolkata', '2026-07-01'],
    ['2026-12-31T10:00:00Z', 'Pacific/Kiritimati', '2027-01-01'],
    ['2027-01-01T09:00:00Z', 'Pacific/Pago_Pago', '2026-12-31'],
  ])('isoDate(%s, %s) = %s', (instant, tz, expected) => {
    expect(isoDate(new Date(instant), tz)).toBe(expected);
  });

  it('localDate gives numbers', () => {
    expect(localDate(new Date('2026-12-31T23:30:00Z'), 'Europe/Berlin')).toEqual({ year: 2027, month: 1, day: 1 });
  });

  it.each<[string, string]>([
    ['2026-12-31', '2026-W53'],
    ['2027-01-01', '2026-W53'],
    ['2027-01-03', '2026-W53'],
    ['2027-01-04', '2027-W01'],
    ['2026-01-01', '2026-W01'],
    ['2025-12-29', '2026-W01'],
    ['2025-12-28', '2025-W52'],
    ['2024-12-30', '2025-W01'],
    ['2021-01-03', '2020-W53'],
    ['2026-11-29', '2026-W48'],
    ['2026-11-30', '2026-W49'],
    ['2024-02-29', '2024-W09'],
  ])('isoWeek(%s) = %s', (date, expected) => {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    expect(isoWeek({ year, month, day })).toBe(expected);
  });

  it('isoWeek agrees with the "week of the Thursday, counted from the week of 4 January" definition', () => {
    const reference = (ms: number) => {
      const d = new Date(ms);
      const weekday = (d.getUTCDay() + 6) % 7; // Monday=0
      const thursday = ms + (3 - weekday) * 86_400_000;
      const year = new Date(thursday).getUTCFullYear();
      const jan4 = Date.UTC(year, 0, 4);
      const mondayOfWeek1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000;
      const week = Math.floor((thursday - mondayOfWeek1) / (7 * 86_400_000)) + 1;
      return `${year}-W${String(week).padStart(2, '0')}`;
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 40 }), (days) => {
        const ms = Date.UTC(2000, 0, 1) + days * 86_400_000;
        const d = new Date(ms);
        expect(isoWeek({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() })).toBe(reference(ms));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    // The 03:00 Europe/Berlin backup is named by its scheduled time, in the schedule's timezone.
    ['2026-11-30T02:00:00Z', 'Europe/Berlin', 'daily-backup-2026-11-30-0300'],
    // A trigger the same day at 10:17:42 is another name: two runs never share one.
    ['2026-11-30T09:17:42Z', 'Europe/Berlin', 'daily-backup-2026-11-30-101742'],
    // Midnight is 00, not 24; the date is the local one.
    ['2026-11-30T23:30:00Z', 'Europe/Berlin', 'daily-backup-2026-12-01-0030'],
    ['2026-03-29T01:30:00Z', 'Europe/Berlin', 'daily-backup-2026-03-29-0330'], // after the spring-forward gap
    ['2026-11-30T03:00:00.999Z', 'UTC', 'daily-backup-2026-11-30-0300'],
  ])('backupName(%s, %s) = %s', (instant, tz, expected) => {
    const name = backupName('daily-backup-', new Date(instant), tz);
    expect(name).toBe(expected);
    // Retention still finds it by the prefix, like the date-only names before it.
    expect(name.startsWith('daily-backup-')).toBe(true);
  });

  it('utcStamp is compact UTC without milliseconds', () => {
    expect(utcStamp(new Date('2026-11-28T23:23:33.456Z'))).toBe('20261128T232333Z');
    expect(utcStamp(new Date('2026-01-02T03:04:05+02:00'))).toBe('20260102T010405Z');
  });

  it.each<[string, number | undefined]>([
    ['250ms', 250],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 5m ', 300_000],
    ['0s', 0],
    ['5 minutes', undefined],
    ['1.5h', undefined],
    ['-1s', undefined],
    ['10', undefined],
    ['h', undefined],
    ['', undefined],
    ['2H', undefined],
    ['1w', undefined],
  ])('parseDuration(%j) = %j', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each<[number, string]>([
    [0, '0ms'],
    [850, '850ms'],
    [999.4, '999ms'],
    [999.6, '1.0s'],
    [1000, '1.0s'],
    [12_340, '12.3s'],
    [59_949, '59.9s'],
    [59_960, '1m00s'],
    [60_000, '1m00s'],
    [245_000, '4m05s'],
    [3_599_400, '59m59s'],
    [3_599_600, '1h00m'],
    [7_800_000, '2h10m'],
    [90_000_000, '25h00m'],
  ])('formatDuration(%d) = %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('formatDuration round-trips through parseDuration for whole units', () => {
    expect(formatDuration(parseDuration('30m')!)).toBe('30m00s');
    expect(formatDuration(parseDuration('2h')!)).toBe('2h00m');
  });

  it('isValidTimeZone', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata', 'Etc/GMT+5']) expect(isValidTimeZone(tz)).toBe(true);
    for (const tz of ['', 'Mars/Olympus_Mons', 'Berlin', 'UTC+25']) expect(isValidTimeZone(tz)).toBe(false);
  });
});

describe('polling', () => {
  it('a 30 s stop costs at most 15 GETs with the default schedule', () => {
    const times = pollTimes(30_000);
    expect(times.length).toBeLessThanOrEqual(15);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBeGreaterThanOrEqual(30_000); // the last poll sees the end
    expect(times.at(-2)).toBeLessThan(30_000); // and no poll after it
  });

  it.each([1_000, 30_000, 120_000, 600_000])('delays grow monotonically and stay within min/max (until %d ms)', (until) => {
    const times = pollTimes(until);
    const delays = times.slice(1).map((t, i) => t - times[i]!);
    for (let i = 0; i < delays.length; i++) {
      expect(delays[i]).toBeGreaterThanOrEqual(DEFAULT_POLL_SCHEDULE.minDelayMs);
      expect(delays[i]).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.maxDelayMs);
      if (i > 0) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    }
  });

  it('a quick stop is noticed within the floor; a long wait is capped', () => {
    expect(pollTimes(200)).toEqual([0, 250]);
    expect(nextPollDelayMs(0)).toBe(250);
    expect(nextPollDelayMs(10_000)).toBe(4_000);
    expect(nextPollDelayMs(10 * 60_000)).toBe(15_000);
    // a 10-minute wait: the cap keeps it to about 10 min / 15 s plus the ramp-up
    const long = pollTimes(600_000);
    expect(long.length).toBeLessThan(60);
    expect(long.length).toBeGreaterThan(40);
  });

  it('honours a custom schedule', () => {
    const schedule = { minDelayMs: 100, maxDelayMs: 1_000, growth: 0.5 };
    const times = pollTimes(5_000, schedule);
    const delays = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...delays)).toBe(100);
    expect(Math.max(...delays)).toBe(1_000);
  });
});

describe('errors', () => {
  it.each<[number, string]>([
    [400, 'InvalidRequest'],
    [401, 'Unauthorized'],
    [403, 'Unauthorized'],
    [404, 'NotFound'],
    [409, 'Conflict'],
    [422, 'InvalidRequest'],
    [429, 'RateLimited'],
    [500, 'Unavailable'],
    [502, 'Unavailable'],
    [503, 'Unavailable'],
    [504, 'Unavailable'],
    [405, 'InvalidRequest'],
    [410, 'InvalidRequest'],
  ])('errorTypeForStatus(%d) = %s', (status, type) => {
    expect(errorTypeForStatus(status)).toBe(type);
  });

  it('retryability of the mapped statuses: only 409, 429 and 5xx are retried', () => {
    const retried = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503].filter((s) => isRetryable(errorTypeForStatus(s)));
    expect(retried).toEqual([409, 429, 500, 502, 503]);
  });

  it('NON_RETRYABLE_ERROR_TYPES matches the table', () => {
    expect([...NON_RETRYABLE_ERROR_TYPES].sort()).toEqual([
      'Abandoned',
      'BadResponse',
      'CancelledAfterChange',
      'Held',
      'InvalidInput',
      'InvalidRequest',
      'NotFound',
      'PartialFailure',
      'RolledBack',
      'Skipped',
      'SnapshotGone',
      'Timeout',
      'Unauthorized',
      'WorkspaceGone',
    ]);
    expect(NON_RETRYABLE_ERROR_TYPES).toEqual(ERROR_TYPES.filter((t) => !ERROR_TABLE[t].retryable));
    for (const t of ERROR_TYPES) expect(NON_RETRYABLE_ERROR_TYPES.includes(t)).toBe(!isRetryable(t));
  });

  it('isErrorType accepts table keys only (not inherited properties)', () => {
    for (const t of ERROR_TYPES) expect(isErrorType(t)).toBe(true);
    for (const v of ['toString', 'constructor', 'notfound', '', 404, undefined]) expect(isErrorType(v)).toBe(false);
  });

  it('every error type has advice and a summary', () => {
    for (const t of ERROR_TYPES) {
      expect(ERROR_ADVICE[t].length).toBeGreaterThan(10);
      expect(ERROR_TABLE[t].summary.length).toBeGreaterThan(10);
    }
    expect(Object.keys(ERROR_ADVICE).sort()).toEqual([...ERROR_TYPES].sort());
  });
});
