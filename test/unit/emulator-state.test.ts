import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BASE_SNAPSHOT_BYTES,
  contentBytes,
  DEFAULT_DELAYS,
  EmulatorState,
  NO_FAULTS,
  startEmulator,
  type Emulator,
  type StateData,
} from '../../emulator/index.js';

/**
 * Emulator behaviours beyond what rigbox-client.test.ts covers: persistence across restarts, the
 * state machine's idempotent and conflicting transitions, the snapshot lock, snapshot sizes, and the
 * /_emulator control routes. Over real HTTP with fetch.
 */

const TOKEN = 'emulator-test-token-9c1e';
const GiB = 1024 ** 3;
const FAST = { stopMs: 100, startMs: 100, snapshotMs: 20, restoreMs: 20, latencyMs: 0 };

interface Answer {
  status: number;
  // JSON answers of many shapes; each test asserts on the fields it reads.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

async function call(url: string, method: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** A Rigbox API call (under /api, with the token). */
const api = (e: Emulator, method: string, route: string, body?: unknown) => call(`${e.url}${route}`, method, body);
/** A control call (under /_emulator, no token). */
const admin = (e: Emulator, method: string, route: string, body?: unknown) => call(`${e.url.replace(/\/api$/, '')}/_emulator${route}`, method, body, null);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` holds; fails the test with the last value if it does not within `timeoutMs`. */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(last)}`);
    await sleep(10);
    last = await read();
  }
  return last;
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rigsnap-emulator-test-'));
let fileCounter = 0;
const freshStateFile = () => path.join(tmpRoot, `state-${++fileCounter}`, 'emulator.json');

afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

describe('persistence to a state file', () => {
  it('workspaces, files and snapshots survive a restart on the same file', async () => {
    const stateFile = freshStateFile();
    const first = await startEmulator({ token: TOKEN, stateFile, delays: FAST });
    let snapId: string;
    try {
      expect((await admin(first, 'POST', '/workspaces', { id: 'ws_keep', status: 'stopped', files: { 'notes.md': 'v1' } })).status).toBe(201);
      const snap = await api(first, 'POST', '/workspaces/ws_keep/snapshots', { name: 'before-migration' });
      expect(snap.status).toBe(201);
      snapId = snap.body.id;
      expect((await admin(first, 'PUT', '/workspaces/ws_keep/files', { 'notes.md': 'v2' })).status).toBe(200);
    } finally {
      await first.close();
    }

    const onDisk = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StateData;
    expect(onDisk.workspaces.ws_keep?.files).toEqual({ 'notes.md': 'v2' });
    expect(Object.keys(onDisk.snapshots)).toEqual([snapId]);

    // seedWorkspaces only apply to an empty state: the file wins.
    const second = await startEmulator({ token: TOKEN, stateFile, delays: FAST, seedWorkspaces: [{ id: 'ws_seed' }] });
    try {
      expect((await api(second, 'GET', '/workspaces/ws_keep')).body).toMatchObject({ id: 'ws_keep', status: 'stopped' });
      expect((await api(second, 'GET', '/workspaces/ws_seed')).status).toBe(404);
      const list = await api(second, 'GET', '/workspaces/ws_keep/snapshots');
      expect(list.body).toEqual([expect.objectContaining({ id: snapId, name: 'before-migration', workspace_id: 'ws_keep' })]);
      expect((await admin(second, 'GET', '/workspaces/ws_keep')).body.files).toEqual({ 'notes.md': 'v2' });
      // the snapshot still holds the content it was taken with, and restores it
      expect((await api(second, 'POST', `/workspaces/ws_keep/snapshots/${snapId}/restore`)).status).toBe(200);
      expect((await admin(second, 'GET', '/workspaces/ws_keep')).body.files).toEqual({ 'notes.md': 'v1' });
    } finally {
      await second.close();
    }
  });

  it('a stop in progress when the emulator closes resolves after the restart, at its original end time', async () => {
    const stateFile = freshStateFile();
    const stopMs = 800;
    const first = await startEmulator({ token: TOKEN, stateFile, delays: { ...FAST, stopMs } });
    const began = Date.now();
    try {
      await admin(first, 'POST', '/workspaces', { id: 'ws_moving', status: 'running' });
      const stop = await api(first, 'POST', '/workspaces/ws_moving/stop');
      expect(stop.status).toBe(202);
      expect(stop.body.status).toBe('stopping');
    } finally {
      await first.close();
    }
    const onDisk = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StateData;
    expect(onDisk.workspaces.ws_moving).toMatchObject({ status: 'stopping', transition: { to: 'stopped' } });

    const second = await startEmulator({ token: TOKEN, stateFile, delays: FAST });
    try {
      const firstRead = await api(second, 'GET', '/workspaces/ws_moving');
      expect(Date.now() - began).toBeLessThan(stopMs); // otherwise the next assertion proves nothing
      expect(firstRead.body.status).toBe('stopping');
      await until(
        () => api(second, 'GET', '/workspaces/ws_moving'),
        (a) => a.body.status === 'stopped',
      );
      // the restarted emulator's own stopMs (100) did not shorten the transition begun before
      expect(Date.now() - began).toBeGreaterThanOrEqual(stopMs - 5);
      const internal = (await admin(second, 'GET', '/workspaces/ws_moving')).body;
      expect(internal.transition).toBeNull();
      expect(internal.lastSettledAt.stopped).toBe(onDisk.workspaces.ws_moving!.transition!.endsAt);
    } finally {
      await second.close();
    }
  });

  it('EmulatorState with an injected clock: reload mid-transition, then settle at endsAt exactly', () => {
    const stateFile = freshStateFile();
    const t0 = 1_800_000_000_000;
    const a = new EmulatorState(stateFile, () => t0);
    const ws = a.upsertWorkspace({ id: 'ws_clock', status: 'running' });
    a.beginTransition(ws, 'stopped', 5_000);
    a.close();

    const b = new EmulatorState(stateFile, () => t0 + 4_999);
    expect(b.workspace('ws_clock')).toMatchObject({ status: 'stopping', transition: { to: 'stopped', endsAt: t0 + 5_000 } });
    b.close();

    const c = new EmulatorState(stateFile, () => t0 + 5_000);
    expect(c.workspace('ws_clock')).toMatchObject({ status: 'stopped', transition: null, lastSettledAt: { stopped: t0 + 5_000, running: null } });
    c.close();
    // settling on read is itself persisted
    expect((JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StateData).workspaces.ws_clock?.status).toBe('stopped');
  });

  it('a change reaches the file without close (coalesced write), so a crash loses at most ~50 ms', async () => {
    const stateFile = freshStateFile();
    const s = new EmulatorState(stateFile, () => Date.now());
    s.upsertWorkspace({ id: 'ws_crash', files: { a: '1' } });
    expect(fs.existsSync(stateFile)).toBe(false); // not written synchronously
    const data = await until(
      async () => (fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StateData) : null),
      (d) => d !== null,
      1000,
    );
    expect(data!.workspaces.ws_crash?.files).toEqual({ a: '1' });
    expect(fs.existsSync(`${stateFile}.tmp`)).toBe(false); // written through a rename
    s.close();
  });

  it('a zero-length transition is over at once', () => {
    const s = new EmulatorState(undefined, () => 1000);
    const ws = s.upsertWorkspace({ id: 'ws_zero', status: 'stopped' });
    s.beginTransition(ws, 'running', 0);
    expect(ws).toMatchObject({ status: 'running', transition: null, lastSettledAt: { running: 1000 } });
  });
});

describe('the workspace state machine over HTTP', () => {
  let emu: Emulator;

  beforeAll(async () => {
    emu = await startEmulator({ token: TOKEN, delays: FAST });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    Object.assign(emu.delays, FAST);
    Object.assign(emu.faults, NO_FAULTS);
    emu.state.data = { workspaces: {}, snapshots: {} };
    emu.state.upsertWorkspace({ id: 'ws_run', status: 'running', files: { 'app.py': 'print(1)' } });
    emu.state.upsertWorkspace({ id: 'ws_off', status: 'stopped', files: { 'data.csv': 'a,b\n1,2\n' } });
    emu.calls.length = 0;
  });

  it('stop of a stopped workspace answers 200 and is a no-op', async () => {
    const before = structuredClone(emu.state.data.workspaces.ws_off);
    const res = await api(emu, 'POST', '/workspaces/ws_off/stop');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'ws_off', status: 'stopped' });
    expect(emu.state.data.workspaces.ws_off).toEqual(before); // no transition begun, nothing settled
    await sleep(FAST.stopMs + 20);
    expect((await api(emu, 'GET', '/workspaces/ws_off')).body.status).toBe('stopped');
  });

  it('start of a running workspace answers 200 and is a no-op', async () => {
    const res = await api(emu, 'POST', '/workspaces/ws_run/start');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('running');
    expect(emu.state.data.workspaces.ws_run!.transition).toBeNull();
  });

  it('start during "stopping" answers 409 and leaves the stop running; a repeated stop answers 202', async () => {
    emu.delays.stopMs = 400;
    expect((await api(emu, 'POST', '/workspaces/ws_run/stop')).status).toBe(202);
    const start = await api(emu, 'POST', '/workspaces/ws_run/start');
    expect(start.status).toBe(409);
    expect(start.body).toEqual({ error: { code: 'invalid_state', message: expect.stringMatching(/ws_run is stopping/) } });
    const again = await api(emu, 'POST', '/workspaces/ws_run/stop');
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('stopping');
    const settled = await until(
      () => api(emu, 'GET', '/workspaces/ws_run'),
      (a) => a.body.status !== 'stopping',
    );
    expect(settled.body.status).toBe('stopped');
  });

  it('stop during "starting" answers 409', async () => {
    emu.delays.startMs = 400;
    expect((await api(emu, 'POST', '/workspaces/ws_off/start')).status).toBe(202);
    const stop = await api(emu, 'POST', '/workspaces/ws_off/stop');
    expect(stop.status).toBe(409);
    expect(stop.body.error.code).toBe('invalid_state');
    expect((await api(emu, 'GET', '/workspaces/ws_off')).body.status).toBe('starting');
  });

  it('a snapshot while another snapshot of the same workspace is in progress answers 409 operation_in_progress', async () => {
    emu.delays.snapshotMs = 400;
    const first = api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'first' });
    await until(
      () => admin(emu, 'GET', '/workspaces/ws_off'),
      (a) => a.body.busyUntil !== null,
    );
    const second = await api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'second' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('operation_in_progress');
    // the disk is held for every state change, not only snapshots
    expect((await api(emu, 'POST', '/workspaces/ws_off/start')).status).toBe(409);
    // another workspace is not held
    await api(emu, 'POST', '/workspaces/ws_run/stop');
    await until(
      () => api(emu, 'GET', '/workspaces/ws_run'),
      (a) => a.body.status === 'stopped',
    );
    expect((await api(emu, 'POST', '/workspaces/ws_run/snapshots', { name: 'other' })).status).toBe(201);

    const done = await first;
    expect(done.status).toBe(201);
    expect(done.body.name).toBe('first');
    const names = (await api(emu, 'GET', '/workspaces/ws_off/snapshots')).body.map((s: { name: string }) => s.name);
    expect(names).toEqual(['first']); // the refused one did nothing
    // the hold ends with the snapshot
    emu.delays.snapshotMs = 0;
    expect((await api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'third' })).status).toBe(201);
  });

  it('a restore while a snapshot is in progress answers 409 operation_in_progress', async () => {
    const base = await api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'base' });
    emu.delays.snapshotMs = 300;
    const pending = api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'slow' });
    await until(
      () => admin(emu, 'GET', '/workspaces/ws_off'),
      (a) => a.body.busyUntil !== null,
    );
    const restore = await api(emu, 'POST', `/workspaces/ws_off/snapshots/${base.body.id}/restore`);
    expect(restore.status).toBe(409);
    expect(restore.body.error.code).toBe('operation_in_progress');
    expect((await pending).status).toBe(201);
  });

  it('snapshot size = 2 GiB base + the bytes of paths and contents (UTF-8)', async () => {
    emu.state.upsertWorkspace({ id: 'ws_size', status: 'stopped', files: { 'a.txt': 'alpha', 'dir/ü.txt': 'héllo' } });
    const res = await api(emu, 'POST', '/workspaces/ws_size/snapshots', { name: 'sized' });
    // a.txt(5) + alpha(5) + dir/ü.txt(10: ü is 2 bytes) + héllo(6: é is 2 bytes)
    expect(res.body.size_bytes).toBe(2 * GiB + 26);
    expect(BASE_SNAPSHOT_BYTES).toBe(2 * GiB);
    expect(contentBytes({ 'a.txt': 'alpha', 'dir/ü.txt': 'héllo' })).toBe(26);

    emu.state.upsertWorkspace({ id: 'ws_empty', status: 'stopped' });
    expect((await api(emu, 'POST', '/workspaces/ws_empty/snapshots', { name: 'empty' })).body.size_bytes).toBe(2 * GiB);

    // a bigger disk makes a bigger snapshot
    await admin(emu, 'PUT', '/workspaces/ws_size/files', { 'model.bin': 'x'.repeat(100_000) });
    const bigger = await api(emu, 'POST', '/workspaces/ws_size/snapshots', { name: 'bigger' });
    expect(bigger.body.size_bytes).toBe(2 * GiB + 26 + 'model.bin'.length + 100_000);
  });

  it('the API shows the documented snapshot fields only; the control view also has the content', async () => {
    const made = await api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'documented' });
    expect(Object.keys(made.body).sort()).toEqual(['created_at', 'id', 'name', 'size_bytes', 'workspace_id']);
    expect(made.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const listed = await api(emu, 'GET', '/snapshots');
    expect(Object.keys(listed.body[0]).sort()).toEqual(['created_at', 'id', 'name', 'size_bytes', 'workspace_id']);
    await admin(emu, 'PUT', '/workspaces/ws_off/files', { 'data.csv': 'changed' });
    const internal = await admin(emu, 'GET', '/snapshots');
    expect(internal.body[0].files).toEqual({ 'data.csv': 'a,b\n1,2\n' }); // the copy taken at snapshot time
  });

  it('deleting another workspace’s snapshot answers 404 and deletes nothing', async () => {
    const made = await api(emu, 'POST', '/workspaces/ws_off/snapshots', { name: 'mine' });
    const res = await api(emu, 'DELETE', `/workspaces/ws_run/snapshots/${made.body.id}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('snapshot_not_found');
    expect((await api(emu, 'GET', '/workspaces/ws_off/snapshots')).body).toHaveLength(1);
    expect((await api(emu, 'DELETE', `/workspaces/ws_off/snapshots/${made.body.id}`)).status).toBe(204);
    expect((await api(emu, 'DELETE', `/workspaces/ws_off/snapshots/${made.body.id}`)).status).toBe(404);
  });
});

describe('control routes under /_emulator', () => {
  let emu: Emulator;

  beforeAll(async () => {
    emu = await startEmulator({ token: TOKEN, delays: FAST });
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    Object.assign(emu.delays, FAST);
    Object.assign(emu.faults, NO_FAULTS);
    emu.state.data = { workspaces: {}, snapshots: {} };
    emu.calls.length = 0;
  });

  it('POST /workspaces creates a workspace the API then serves', async () => {
    const created = await admin(emu, 'POST', '/workspaces', { id: 'ws_new', status: 'stopped', files: { 'README.md': '# hi' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'ws_new', name: 'ws_new', status: 'stopped', disk_size_bytes: 10 * GiB });
    expect((await api(emu, 'GET', '/workspaces/ws_new')).body).toEqual(created.body);
    expect((await admin(emu, 'GET', '/workspaces/ws_new')).body.files).toEqual({ 'README.md': '# hi' });
  });

  it('POST /workspaces defaults to running and replaces an existing workspace', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_re', status: 'stopped', files: { old: '1' } });
    const again = await admin(emu, 'POST', '/workspaces', { id: 'ws_re' });
    expect(again.body.status).toBe('running');
    expect((await admin(emu, 'GET', '/workspaces/ws_re')).body.files).toEqual({});
  });

  it.each([{}, { id: 'demo' }, { id: 'ws_a/../b' }, { id: '' }])('POST /workspaces refuses %j with 400 invalid_id', async (body) => {
    const res = await admin(emu, 'POST', '/workspaces', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_id');
    expect(Object.keys(emu.state.data.workspaces)).toEqual([]);
  });

  it('PUT /workspaces/:id/files merges files into the disk', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_files', status: 'stopped', files: { 'a.txt': 'alpha', 'keep.txt': 'k' } });
    const res = await admin(emu, 'PUT', '/workspaces/ws_files/files', { 'a.txt': 'ALPHA', 'b/c.txt': 'gamma' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ 'a.txt': 'ALPHA', 'keep.txt': 'k', 'b/c.txt': 'gamma' });
    const snap = await api(emu, 'POST', '/workspaces/ws_files/snapshots', { name: 'after-write' });
    expect(snap.body.size_bytes).toBe(BASE_SNAPSHOT_BYTES + contentBytes({ 'a.txt': 'ALPHA', 'keep.txt': 'k', 'b/c.txt': 'gamma' }));
  });

  it('unknown workspaces answer 404 on the control routes', async () => {
    expect((await admin(emu, 'GET', '/workspaces/ws_nope')).status).toBe(404);
    expect((await admin(emu, 'PUT', '/workspaces/ws_nope/files', { a: 'b' })).status).toBe(404);
  });

  it('GET /config shows the delays and faults in force', async () => {
    const res = await admin(emu, 'GET', '/config');
    expect(res.body).toEqual({ delays: { ...DEFAULT_DELAYS, ...FAST }, faults: NO_FAULTS });
  });

  it('PATCH /config changes delays at runtime: a zero stop delay stops at once', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_fast', status: 'running' });
    const patched = await admin(emu, 'PATCH', '/config', { delays: { stopMs: 0 } });
    expect(patched.body.delays).toEqual({ ...DEFAULT_DELAYS, ...FAST, stopMs: 0 }); // other delays untouched
    const stop = await api(emu, 'POST', '/workspaces/ws_fast/stop');
    expect(stop.body.status).toBe('stopped');
    expect((await api(emu, 'GET', '/workspaces/ws_fast')).body.status).toBe('stopped');
  });

  it('PATCH /config changes delays at runtime: a long stop delay keeps the workspace stopping', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_slow', status: 'running' });
    await admin(emu, 'PATCH', '/config', { delays: { stopMs: 60_000 } });
    await api(emu, 'POST', '/workspaces/ws_slow/stop');
    await sleep(FAST.stopMs + 50);
    expect((await api(emu, 'GET', '/workspaces/ws_slow')).body.status).toBe('stopping');
  });

  it('PATCH /config latency is added to every API request', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_lat' });
    await admin(emu, 'PATCH', '/config', { delays: { latencyMs: 150 } });
    const t = performance.now();
    expect((await api(emu, 'GET', '/workspaces/ws_lat')).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  it('PATCH /config injects faults at runtime; the control routes are never faulted', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_flaky', status: 'running' });
    await admin(emu, 'PATCH', '/config', { faults: { unavailableRate: 1 } });
    const down = await api(emu, 'POST', '/workspaces/ws_flaky/stop');
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('unavailable');
    expect((await admin(emu, 'GET', '/workspaces/ws_flaky')).body.status).toBe('running'); // nothing was done

    await admin(emu, 'PATCH', '/config', { faults: { unavailableRate: 0, rateLimitRate: 1, retryAfterSeconds: 3 } });
    const limited = await api(emu, 'GET', '/workspaces/ws_flaky');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');

    await admin(emu, 'PATCH', '/config', { faults: { rateLimitRate: 0, lostResponseRate: 1 } });
    const lost = await api(emu, 'POST', '/workspaces/ws_flaky/stop');
    expect(lost.status).toBe(502);
    expect(emu.state.workspace('ws_flaky')!.status).not.toBe('running'); // the stop was committed

    await admin(emu, 'PATCH', '/config', { faults: { lostResponseRate: 0 } });
    expect((await api(emu, 'GET', '/workspaces/ws_flaky')).status).toBe(200);
  });

  it('GET /calls records API calls (not control calls) with route, workspace and outcome; DELETE clears them', async () => {
    await admin(emu, 'POST', '/workspaces', { id: 'ws_log', status: 'stopped' });
    await api(emu, 'GET', '/workspaces/ws_log');
    await api(emu, 'POST', '/workspaces/ws_log/snapshots', { name: '' });
    await call(`${emu.url}/workspaces/ws_log`, 'GET', undefined, 'wrong-token');
    const calls = (await admin(emu, 'GET', '/calls')).body;
    expect(calls).toEqual([
      expect.objectContaining({ method: 'GET', route: '/api/workspaces/:id', workspaceId: 'ws_log', outcome: 'ok', status: 200 }),
      expect.objectContaining({ method: 'POST', route: '/api/workspaces/:id/snapshots', workspaceId: 'ws_log', outcome: 'error', status: 422 }),
      expect.objectContaining({ method: 'GET', route: '/api/workspaces/:id', outcome: 'error', status: 401 }),
    ]);
    expect((await admin(emu, 'DELETE', '/calls')).body).toEqual({ ok: true });
    expect((await admin(emu, 'GET', '/calls')).body).toEqual([]);
  });
});
