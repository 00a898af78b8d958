import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallLimiter, type AcquireOptions } from '../../activities/call-limiter.js';
import { createRigboxClient, RigboxApiError } from '../../activities/rigbox-client.js';
import { ERROR_TABLE, isRetryable } from '../../domain/index.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

/** The Rigbox client against the emulator over real HTTP: every status-code class and fault kind. */

const TOKEN = 'unit-token-4b8d2e6f';
let emu: Emulator;
const client = () => createRigboxClient({ baseUrl: emu.url, token: TOKEN, requestTimeoutMs: 2000 });

async function rejection(p: Promise<unknown>): Promise<RigboxApiError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RigboxApiError);
  return err as RigboxApiError;
}

beforeAll(async () => {
  emu = await startEmulator({
    token: TOKEN,
    delays: { stopMs: 100, startMs: 100, snapshotMs: 20, restoreMs: 20, latencyMs: 0 },
  });
});
afterAll(() => emu.close());
beforeEach(() => {
  Object.assign(emu.faults, { unavailableRate: 0, rateLimitRate: 0, lostResponseRate: 0, retryAfterSeconds: 1, maintenance: false });
  emu.forbidden.clear();
  emu.state.data = { workspaces: {}, snapshots: {} };
  emu.state.upsertWorkspace({ id: 'ws_a', status: 'running', files: { 'a.txt': 'alpha' } });
  emu.state.upsertWorkspace({ id: 'ws_b', status: 'stopped', files: { 'b.txt': 'beta' } });
  emu.calls.length = 0;
});

describe('documented endpoints', () => {
  it('stops asynchronously, snapshots, lists, restores the content and deletes', async () => {
    const c = client();
    expect((await c.getWorkspace('ws_a')).status).toBe('running');
    await c.stopWorkspace('ws_a');
    expect((await c.getWorkspace('ws_a')).status).toBe('stopping');
    await new Promise((r) => setTimeout(r, 150));
    expect((await c.getWorkspace('ws_a')).status).toBe('stopped');

    const snap = await c.createSnapshot('ws_a', 'before-migration');
    expect(snap).toMatchObject({ workspace_id: 'ws_a', name: 'before-migration' });
    expect(snap.id).toMatch(/^snap_/);
    expect(snap.size_bytes).toBeGreaterThan(2 * 1024 ** 3); // OS base plus the data, as the docs' sparse copies

    emu.state.data.workspaces.ws_a!.files['a.txt'] = 'changed';
    await c.restoreSnapshot('ws_a', snap.id);
    expect(emu.state.data.workspaces.ws_a!.files['a.txt']).toBe('alpha');

    expect((await c.listSnapshots('ws_a')).map((s) => s.id)).toEqual([snap.id]);
    expect((await c.listAllSnapshots()).map((s) => s.id)).toEqual([snap.id]);
    await c.deleteSnapshot('ws_a', snap.id);
    expect(await c.listSnapshots('ws_a')).toEqual([]);
  });

  it('follows paginated list answers ({data, next_cursor}) through the one pagination function', async () => {
    const paged = await startEmulator({ token: TOKEN, pageSize: 2, delays: { snapshotMs: 0, latencyMs: 0 } });
    try {
      const ws = paged.state.upsertWorkspace({ id: 'ws_p', status: 'stopped' });
      for (let i = 0; i < 5; i++) paged.state.addSnapshot(ws, `s${i}`);
      const c = createRigboxClient({ baseUrl: paged.url, token: TOKEN });
      expect((await c.listSnapshots('ws_p')).map((s) => s.name).sort()).toEqual(['s0', 's1', 's2', 's3', 's4']);
      expect(paged.calls.filter((x) => x.route.endsWith('/snapshots')).length).toBe(3);
    } finally {
      await paged.close();
    }
  });
});

describe('status codes map to the error table', () => {
  it('404 → NotFound, non-retryable', async () => {
    const err = await rejection(client().getWorkspace('ws_missing'));
    expect(err.type).toBe('NotFound');
    expect(err.status).toBe(404);
    expect(isRetryable(err.type)).toBe(false);
  });

  it('401 → Unauthorized, naming RIGBOX_TOKEN but never containing it', async () => {
    const wrong = 'wrong-secret-token-123';
    const err = await rejection(createRigboxClient({ baseUrl: emu.url, token: wrong }).getWorkspace('ws_a'));
    expect(err.type).toBe('Unauthorized');
    expect(err.message).toContain('RIGBOX_TOKEN');
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(TOKEN);
    expect(isRetryable(err.type)).toBe(false);
  });

  it('403 → Unauthorized', async () => {
    emu.forbidden.add('ws_a');
    const err = await rejection(client().getWorkspace('ws_a'));
    expect(err).toMatchObject({ type: 'Unauthorized', status: 403 });
  });

  it('409 → Conflict (snapshot of a running workspace)', async () => {
    const err = await rejection(client().createSnapshot('ws_a', 'x'));
    expect(err).toMatchObject({ type: 'Conflict', status: 409 });
    expect(err.message).toMatch(/must be stopped/);
  });

  it('422 → InvalidRequest, non-retryable', async () => {
    const err = await rejection(client().createSnapshot('ws_b', ''));
    expect(err).toMatchObject({ type: 'InvalidRequest', status: 422 });
    expect(isRetryable(err.type)).toBe(false);
  });

  it('restoring another workspace’s snapshot → 404 NotFound', async () => {
    const snap = await client().createSnapshot('ws_b', 'b1');
    const err = await rejection(client().restoreSnapshot('ws_a', snap.id));
    expect(err).toMatchObject({ type: 'NotFound', status: 404 });
  });

  it('network errors → Unavailable, retryable', async () => {
    const err = await rejection(createRigboxClient({ baseUrl: 'http://127.0.0.1:9/api', token: TOKEN }).getWorkspace('ws_a'));
    expect(err.type).toBe('Unavailable');
    expect(isRetryable(err.type)).toBe(true);
  });

  it('a request that outlasts its timeout → Unavailable, retryable', async () => {
    emu.delays.snapshotMs = 500;
    try {
      const c = createRigboxClient({ baseUrl: emu.url, token: TOKEN, requestTimeoutMs: 100 });
      const err = await rejection(c.createSnapshot('ws_b', 'slow'));
      expect(err.type).toBe('Unavailable');
      expect(err.message).toMatch(/did not answer within 100 ms/);
    } finally {
      emu.delays.snapshotMs = 20;
    }
  });

  it('a body that breaks the documented shape → Unavailable (retryable: a maintenance or a proxy), naming the field', async () => {
    const fake: typeof fetch = async () =>
      new Response(JSON.stringify({ id: 'snap_x', workspace_id: 'ws_a', name: 'n', size_bytes: 'big', created_at: 'now' }), {
        status: 201,
      });
    const err = await rejection(createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: fake }).createSnapshot('ws_a', 'n'));
    expect(err.type).toBe('Unavailable');
    expect(err.notRigbox).toBe(true);
    expect(isRetryable(err.type)).toBe(true);
    expect(err.message).toMatch(/size_bytes|created_at/);
  });

  it('a body that is not JSON, and a garbled listing → Unavailable, retryable', async () => {
    const notJson: typeof fetch = async () => new Response('{"id": "snap_', { status: 200, headers: { 'content-type': 'application/json' } });
    const err = await rejection(createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: notJson, transientRetries: 0 }).getWorkspace('ws_a'));
    expect(err.type).toBe('Unavailable');
    expect(err.message).toMatch(/not JSON/);
    const garbled: typeof fetch = async () => new Response(JSON.stringify([{ id: 1 }]), { status: 200 });
    const list = await rejection(createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: garbled, transientRetries: 0 }).listSnapshots('ws_a'));
    expect(list.type).toBe('Unavailable');
  });

  it('the URL’s recognition: unknown, then rigbox once Rigbox answers (for good); three answers unlike Rigbox’s with none like it → not-rigbox', async () => {
    const html: typeof fetch = async () => new Response('<!doctype html><p>shop</p>', { status: 200, headers: { 'content-type': 'text/html' } });
    const site = createRigboxClient({ baseUrl: 'http://shop.example/api', token: TOKEN, fetch: html, transientRetries: 0 });
    expect(site.recognition().state).toBe('unknown');
    await rejection(site.getWorkspace('ws_a'));
    await rejection(site.getWorkspace('ws_a'));
    expect(site.recognition().state).toBe('unknown'); // one or two odd answers prove nothing
    expect((await site.probe()).state).toBe('not-rigbox');
    expect(site.recognition().lastAnswer).toMatch(/HTML page/);

    const rigbox = client();
    expect((await rigbox.probe()).state).toBe('rigbox');
    // A 404 with Rigbox's JSON error body is Rigbox answering, too.
    const fresh = createRigboxClient({ baseUrl: emu.url, token: TOKEN });
    await rejection(fresh.getWorkspace('ws_nope'));
    expect(fresh.recognition().state).toBe('rigbox');
    // After Rigbox has answered, a maintenance does not make it "not Rigbox".
    emu.faults.maintenance = true;
    try {
      for (let i = 0; i < 5; i++) await rejection(fresh.getWorkspace('ws_a', {}));
      expect(fresh.recognition().state).toBe('rigbox');
    } finally {
      emu.faults.maintenance = false;
    }
  });

  it('an HTML maintenance page with HTTP 200 → Unavailable (retryable), never taken for an answer', async () => {
    emu.faults.maintenance = true;
    try {
      for (const call of [() => client().getWorkspace('ws_a'), () => client().stopWorkspace('ws_a'), () => client().restoreSnapshot('ws_b', 'snap_x')]) {
        const err = await rejection(call());
        expect(err.type).toBe('Unavailable');
        expect(err.message).toMatch(/HTML page/);
        expect(isRetryable(err.type)).toBe(true);
      }
      expect(emu.state.workspace('ws_a')!.status).toBe('running'); // the maintenance page did nothing
    } finally {
      emu.faults.maintenance = false;
    }
  });

  it('stop, start, restore and delete accept any non-HTML answer: text, JSON of any shape, or nothing', async () => {
    for (const body of ['OK', '{"accepted":true}', '', '[1,2]']) {
      const fake: typeof fetch = async () => new Response(body, { status: 202, headers: { 'content-type': 'text/plain' } });
      const c = createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: fake });
      await expect(c.stopWorkspace('ws_a')).resolves.toBeUndefined();
      await expect(c.startWorkspace('ws_a')).resolves.toBeUndefined();
      await expect(c.restoreSnapshot('ws_a', 'snap_x')).resolves.toBeUndefined();
      await expect(c.deleteSnapshot('ws_a', 'snap_x')).resolves.toBeUndefined();
    }
  });

  it('sends who asks: X-Rigsnap-Workflow-Id when an origin is given, never the token elsewhere', async () => {
    await client().getWorkspace('ws_a', { origin: 'snapshot-ws_a-x-1' });
    expect(emu.calls.at(-1)!.origin).toBe('snapshot-ws_a-x-1');
  });

  it('extra fields are tolerated and dropped', async () => {
    const fake: typeof fetch = async () => new Response(JSON.stringify({ id: 'ws_a', status: 'running', region: 'eu', owner: { id: 1 } }), { status: 200 });
    const ws = await createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: fake }).getWorkspace('ws_a');
    expect(ws).toEqual({ id: 'ws_a', status: 'running' });
  });
});

describe('injected faults', () => {
  it('503 → Unavailable and nothing happens', async () => {
    emu.faults.unavailableRate = 1;
    const err = await rejection(client().stopWorkspace('ws_a'));
    expect(err).toMatchObject({ type: 'Unavailable', status: 503 });
    emu.faults.unavailableRate = 0;
    expect((await client().getWorkspace('ws_a')).status).toBe('running');
  });

  it('429 → RateLimited with the Retry-After delay', async () => {
    emu.faults.rateLimitRate = 1;
    emu.faults.retryAfterSeconds = 7;
    const err = await rejection(client().getWorkspace('ws_a'));
    expect(err).toMatchObject({ type: 'RateLimited', status: 429, retryAfterMs: 7000 });
    expect(isRetryable(err.type)).toBe(true);
  });

  it('a lost response → Unavailable (502), but the change was committed', async () => {
    emu.faults.lostResponseRate = 1;
    const err = await rejection(client().createSnapshot('ws_b', 'lost-one'));
    expect(err).toMatchObject({ type: 'Unavailable', status: 502 });
    emu.faults.lostResponseRate = 0;
    expect((await client().listSnapshots('ws_b')).map((s) => s.name)).toEqual(['lost-one']);
  });

  it('the fault sequence is reproducible from its seed', async () => {
    const run = async (seed: number) => {
      const e = await startEmulator({ token: TOKEN, faults: { unavailableRate: 0.5, seed }, delays: { latencyMs: 0 }, seedWorkspaces: [{ id: 'ws_s' }] });
      const c = createRigboxClient({ baseUrl: e.url, token: TOKEN });
      const out: string[] = [];
      for (let i = 0; i < 20; i++)
        out.push(
          await c.getWorkspace('ws_s').then(
            () => 'ok',
            (x: RigboxApiError) => x.type,
          ),
        );
      await e.close();
      return out.join(',');
    };
    const a = await run(42);
    expect(await run(42)).toBe(a);
    expect(a).toContain('Unavailable');
    expect(a).toContain('ok');
  });
});

describe('the quota queue', () => {
  it('each request takes its turn as a change (POST, DELETE) or a read (GET), with the caller’s priority', async () => {
    const turns: AcquireOptions[] = [];
    const limiter = { acquire: (o: AcquireOptions) => (turns.push(o), Promise.resolve()) } as unknown as CallLimiter;
    const c = createRigboxClient({ baseUrl: emu.url, token: TOKEN, limiter });
    const priority = { priorityKey: 4, fairnessKey: 'fleet-a', fairnessWeight: 2 };
    await c.getWorkspace('ws_a', { priority });
    await c.stopWorkspace('ws_a', { priority });
    expect(turns.map(({ kind, priorityKey, fairnessKey, fairnessWeight }) => ({ kind, priorityKey, fairnessKey, fairnessWeight }))).toEqual([
      { kind: 'read', ...priority },
      { kind: 'change', ...priority },
    ]);
  });
});

describe('a change and its cancellation', () => {
  it('gives up its turn under the quota when cancelled before it is sent: Rigbox never sees it', async () => {
    const limiter = new CallLimiter(0.1);
    const c = createRigboxClient({ baseUrl: emu.url, token: TOKEN, limiter });
    await c.getWorkspace('ws_a'); // takes the only turn for the next ~10 s
    const cancel = new AbortController();
    const stop = c.stopWorkspace('ws_a', { turnSignal: cancel.signal }).then(
      () => 'sent',
      () => 'given up',
    );
    cancel.abort(new Error('activity cancelled'));
    expect(await stop).toBe('given up');
    expect(limiter.waiting).toBe(0);
    expect(emu.calls.filter((call) => call.method === 'POST')).toEqual([]);
    expect(emu.state.workspace('ws_a')?.status).toBe('running');
  });

  it('is seen to its end once sent, whatever the cancellation', async () => {
    emu.delays.snapshotMs = 300;
    try {
      const cancel = new AbortController();
      const made = createRigboxClient({ baseUrl: emu.url, token: TOKEN, limiter: new CallLimiter(1000) }).createSnapshot('ws_b', 'in-flight', {
        turnSignal: cancel.signal,
      });
      await new Promise((r) => setTimeout(r, 100));
      cancel.abort(new Error('activity cancelled'));
      expect((await made).name).toBe('in-flight');
      expect(emu.state.snapshotsOf('ws_b').map((s) => s.name)).toEqual(['in-flight']);
    } finally {
      emu.delays.snapshotMs = 20;
    }
  });
});

describe('ids never reach another URL', () => {
  it.each(['ws_a/../../snapshots', 'ws_a?x=1', '../ws_a', 'ws_a%2F..', 'snap_1', ''])('refuses workspace id %j without a request', async (id) => {
    const before = emu.calls.length;
    const err = await rejection(client().getWorkspace(id));
    expect(err.type).toBe('InvalidInput');
    expect(emu.calls.length).toBe(before);
  });

  it('refuses a malformed snapshot id without a request', async () => {
    const before = emu.calls.length;
    const err = await rejection(client().deleteSnapshot('ws_a', 'snap_1/../../x'));
    expect(err.type).toBe('InvalidInput');
    expect(emu.calls.length).toBe(before);
  });
});

describe('error table', () => {
  it('has a retryability for every type, and the documented classes', () => {
    expect(ERROR_TABLE.NotFound.retryable).toBe(false);
    expect(ERROR_TABLE.InvalidRequest.retryable).toBe(false);
    expect(ERROR_TABLE.Unauthorized.retryable).toBe(false);
    expect(ERROR_TABLE.InvalidInput.retryable).toBe(false);
    expect(ERROR_TABLE.RateLimited.retryable).toBe(true);
    expect(ERROR_TABLE.Unavailable.retryable).toBe(true);
    expect(ERROR_TABLE.Timeout.retryable).toBe(false);
  });
});

describe('quick retries of idempotent calls', () => {
  it('a GET that meets a 503 and a 429 succeeds without the caller seeing them', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) return new Response('{"error":"down"}', { status: 503 });
      if (calls === 2) return new Response('{"error":"slow down"}', { status: 429, headers: { 'retry-after': '0' } });
      return fetch(input, init);
    };
    const ws = await createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: flaky }).getWorkspace('ws_a');
    expect(ws.id).toBe('ws_a');
    expect(calls).toBe(3);
  });

  it('gives up after its quick retries and reports the transient type', async () => {
    let calls = 0;
    const down: typeof fetch = async () => {
      calls++;
      return new Response('', { status: 503 });
    };
    const err = await rejection(createRigboxClient({ baseUrl: emu.url, token: TOKEN, fetch: down, retryBaseDelayMs: 1 }).getWorkspace('ws_a'));
    expect(err.type).toBe('Unavailable');
    expect(calls).toBe(3);
  });

  it('a create is never retried inside the client: a lost answer goes back to the caller', async () => {
    Object.assign(emu.faults, { lostResponseRate: 1, routes: ['POST /workspaces/:id/snapshots'] });
    try {
      await rejection(client().createSnapshot('ws_b', 'once'));
      expect(emu.calls.filter((x) => x.method === 'POST')).toHaveLength(1);
      expect(emu.state.snapshotsOf('ws_b')).toHaveLength(1);
    } finally {
      emu.faults.routes = [];
    }
  });
});
