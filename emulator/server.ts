import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { EmulatorState, publicSnapshot, publicWorkspace, type EmulatedWorkspace } from './state.js';

/**
 * A local emulator of the Rigbox snapshot API as the docs describe it, for development, the default
 * local run, tests and benchmarks. Rigbox routes live under /api and need the bearer token; the
 * /_emulator routes let tests and demos set up workspaces, write files and inject faults.
 */

export interface EmulatorDelays {
  /** How long a stop takes after POST /stop answers. */
  stopMs: number;
  startMs: number;
  /** How long POST /snapshots holds the request while it copies the disk. */
  snapshotMs: number;
  restoreMs: number;
  /** Added to every API request (network and API time). */
  latencyMs: number;
  /** Extra latency of some routes, as "METHOD /route" → ms (e.g. a slow "POST /workspaces/:id/stop"). */
  routeLatencyMs?: Record<string, number>;
}

export interface EmulatorFaults {
  /** Share of API requests answered 503 (nothing done). */
  unavailableRate: number;
  /** Share answered 429 with Retry-After (nothing done). */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Share whose change is committed but whose answer is lost (502). */
  lostResponseRate: number;
  /** Seed of the fault sequence, so a run can be repeated. */
  seed: number;
  /** Only these routes get faults, as "METHOD /route" (e.g. "POST /workspaces/:id/snapshots"); all when empty. */
  routes: string[];
  /**
   * While true, every API request is answered by a maintenance page (HTTP 200, text/html) and nothing
   * is done, as a load balancer in front of a down API would.
   */
  maintenance?: boolean;
}

export interface EmulatorOptions {
  token: string;
  delays?: Partial<EmulatorDelays>;
  faults?: Partial<EmulatorFaults>;
  /** Persist state to this JSON file. */
  stateFile?: string;
  /** Paginate list answers as `{data, next_cursor}` pages of this size (the docs' shape is a bare array). */
  pageSize?: number;
  /** Workspaces to create when the state is empty. */
  seedWorkspaces?: Array<{ id: string; status?: 'running' | 'stopped'; files?: Record<string, string> }>;
  /** Keep a log of API calls (method, route, workspace, time, outcome); on by default. */
  recordCalls?: boolean;
}

export const DEFAULT_DELAYS: EmulatorDelays = { stopMs: 1500, startMs: 1500, snapshotMs: 1000, restoreMs: 1000, latencyMs: 5 };
export const NO_FAULTS: EmulatorFaults = { unavailableRate: 0, rateLimitRate: 0, retryAfterSeconds: 1, lostResponseRate: 0, seed: 1, routes: [] };

export interface CallRecord {
  method: string;
  route: string;
  workspaceId: string | null;
  at: number;
  outcome: 'ok' | 'error' | 'unavailable' | 'rate-limited' | 'lost';
  status: number;
  /** The workspace status a GET /workspaces/:id answered (to measure how soon a transition is seen). */
  workspaceStatus?: string;
  /** The workflow the call was made for (X-Rigsnap-Workflow-Id), when the caller said. */
  origin?: string;
  /** The snapshot a restore or delete named. */
  snapshotId?: string;
}

type Fault = 'none' | 'unavailable' | 'rate-limited' | 'lost';

/** mulberry32: small, fast, seedable (the chaos suite derives its plan from the same generator). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request as it arrives, before latency, faults and the handler: what is in flight. */
export interface Arrival {
  method: string;
  /** "METHOD /route" form without the /api prefix, e.g. "POST /workspaces/:id/stop". */
  route: string;
  workspaceId: string | null;
  /** The snapshot a restore or delete names. */
  snapshotId?: string;
  at: number;
  origin?: string;
}

/** Hooks for tests and the chaos driver: called synchronously, so they can change the emulator's state or faults. */
export interface EmulatorHooks {
  /** A request has arrived (before its latency, faults and handler). */
  onArrival?: (arrival: Arrival) => void;
  /** A call has been answered and recorded. */
  onCall?: (call: CallRecord) => void;
}

export interface Emulator {
  app: FastifyInstance;
  state: EmulatorState;
  delays: EmulatorDelays;
  faults: EmulatorFaults;
  calls: CallRecord[];
  /** Workspaces whose token check answers 403 (to exercise the Unauthorized path). */
  forbidden: Set<string>;
  /** The bearer token the API accepts; change it to revoke the worker's (401 on every call). */
  token: string;
  /** Requests as they arrived (what was in flight when), when calls are recorded. */
  arrivals: Arrival[];
  hooks: EmulatorHooks;
  /** The Rigbox base URL, once listening. */
  url: string;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createEmulator(options: EmulatorOptions): Emulator {
  const state = new EmulatorState(options.stateFile);
  const delays: EmulatorDelays = { ...DEFAULT_DELAYS, ...options.delays };
  const faults: EmulatorFaults = { ...NO_FAULTS, ...options.faults };
  let random = prng(faults.seed);
  let seededWith = faults.seed;
  const calls: CallRecord[] = [];
  const forbidden = new Set<string>();
  const recordCalls = options.recordCalls ?? true;

  if (Object.keys(state.data.workspaces).length === 0) {
    for (const ws of options.seedWorkspaces ?? []) state.upsertWorkspace(ws);
  }

  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });

  const emulator: Emulator = {
    app,
    state,
    delays,
    faults,
    calls,
    forbidden,
    token: options.token,
    arrivals: [],
    hooks: {},
    url: '',
    async listen(port = 0, host = '127.0.0.1') {
      const address = await app.listen({ port, host });
      emulator.url = `${address.replace('[::1]', '127.0.0.1')}/api`;
      return emulator.url;
    },
    async close() {
      await app.close();
      state.close();
    },
  };

  function pickFault(): Fault {
    if (faults.seed !== seededWith) {
      random = prng(faults.seed);
      seededWith = faults.seed;
    }
    const r = random();
    if (r < faults.unavailableRate) return 'unavailable';
    if (r < faults.unavailableRate + faults.rateLimitRate) return 'rate-limited';
    if (r < faults.unavailableRate + faults.rateLimitRate + faults.lostResponseRate) return 'lost';
    return 'none';
  }

  function record(req: FastifyRequest, outcome: CallRecord['outcome'], status: number, body?: unknown) {
    if (!recordCalls) return;
    const params = req.params as { id?: string; sid?: string } | undefined;
    const route = req.routeOptions.url ?? req.url;
    const workspaceStatus =
      req.method === 'GET' && route === '/api/workspaces/:id' && body && typeof body === 'object'
        ? (body as { status?: string }).status
        : undefined;
    const origin = req.headers['x-rigsnap-workflow-id'];
    const call: CallRecord = {
      method: req.method,
      route,
      workspaceId: params?.id ?? null,
      at: Date.now(),
      outcome,
      status,
      ...(workspaceStatus ? { workspaceStatus } : {}),
      ...(typeof origin === 'string' ? { origin } : {}),
      ...(params?.sid ? { snapshotId: params.sid } : {}),
    };
    calls.push(call);
    emulator.hooks.onCall?.(call);
  }

  function sendError(reply: FastifyReply, status: number, code: string, message: string) {
    return reply.code(status).send({ error: { code, message } });
  }

  function requireWorkspace(id: string): EmulatedWorkspace {
    const ws = state.workspace(id);
    if (!ws) throw new HttpError(404, 'workspace_not_found', `workspace ${id} not found`);
    return ws;
  }

  /**
   * A snapshot or restore: the disk is busy (other operations get 409) for `ms`, then `commit` runs.
   * The request is answered only after the copy, as a synchronous API would.
   */
  async function copyingDisk<T>(ws: EmulatedWorkspace, ms: number, commit: () => T): Promise<T> {
    ws.busyUntil = Date.now() + ms + 60_000; // cleared below; the margin only guards a crash
    try {
      if (ms > 0) await sleep(ms);
      return commit();
    } finally {
      ws.busyUntil = null;
    }
  }

  function requireIdle(ws: EmulatedWorkspace) {
    if (ws.busyUntil !== null) throw new HttpError(409, 'operation_in_progress', `workspace ${ws.id} has a snapshot operation in progress`);
  }

  /**
   * Every Rigbox route goes through here: auth, latency, the fault roll, then the handler. A lost
   * response runs the handler (the change is committed) and answers 502 instead of its result.
   */
  function apiRoute(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    handler: (req: FastifyRequest) => Promise<{ status: number; body?: unknown }> | { status: number; body?: unknown },
  ) {
    app.route({
      method,
      url: `/api${url}`,
      handler: async (req, reply) => {
        const routeKey = `${method} ${url}`;
        if (recordCalls) {
          const origin = req.headers['x-rigsnap-workflow-id'];
          const params = req.params as { id?: string; sid?: string };
          const arrival: Arrival = {
            method,
            route: routeKey.slice(method.length + 1),
            workspaceId: params.id ?? null,
            ...(params.sid ? { snapshotId: params.sid } : {}),
            at: performance.timeOrigin + performance.now(),
            ...(typeof origin === 'string' ? { origin } : {}),
          };
          emulator.arrivals.push(arrival);
          emulator.hooks.onArrival?.(arrival);
        }
        if (faults.maintenance) {
          record(req, 'unavailable', 200);
          return reply
            .code(200)
            .type('text/html; charset=utf-8')
            .send('<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Rigbox is down for maintenance</h1></body></html>');
        }
        const auth = req.headers.authorization;
        if (auth !== `Bearer ${emulator.token}`) {
          record(req, 'error', 401);
          return sendError(reply, 401, 'unauthorized', 'missing or invalid bearer token');
        }
        const wsId = (req.params as { id?: string }).id;
        if (wsId && forbidden.has(wsId)) {
          record(req, 'error', 403);
          return sendError(reply, 403, 'forbidden', `this token may not access workspace ${wsId}`);
        }
        const latency = delays.latencyMs + (delays.routeLatencyMs?.[routeKey] ?? 0);
        if (latency > 0) await sleep(latency);
        const fault = faults.routes.length === 0 || faults.routes.includes(routeKey) ? pickFault() : 'none';
        if (fault === 'unavailable') {
          record(req, 'unavailable', 503);
          return sendError(reply, 503, 'unavailable', 'Rigbox is temporarily unavailable');
        }
        if (fault === 'rate-limited') {
          record(req, 'rate-limited', 429);
          reply.header('retry-after', String(faults.retryAfterSeconds));
          return sendError(reply, 429, 'rate_limited', 'too many requests');
        }
        try {
          const result = await handler(req);
          if (fault === 'lost') {
            record(req, 'lost', 502);
            return sendError(reply, 502, 'bad_gateway', 'upstream connection reset');
          }
          record(req, 'ok', result.status, result.body);
          reply.code(result.status);
          return result.body === undefined ? reply.send() : reply.send(result.body);
        } catch (err) {
          if (err instanceof HttpError) {
            record(req, 'error', err.status);
            return sendError(reply, err.status, err.code, err.message);
          }
          throw err;
        }
      },
    });
  }

  function listBody(items: unknown[], req: FastifyRequest) {
    if (!options.pageSize) return items;
    const cursor = Number((req.query as { cursor?: string }).cursor ?? 0) || 0;
    const page = items.slice(cursor, cursor + options.pageSize);
    const next = cursor + options.pageSize < items.length ? String(cursor + options.pageSize) : null;
    return { data: page, next_cursor: next };
  }

  type IdParams = { id: string; sid?: string };

  apiRoute('GET', '/workspaces/:id', (req) => {
    const ws = requireWorkspace((req.params as IdParams).id);
    return { status: 200, body: publicWorkspace(ws) };
  });

  apiRoute('POST', '/workspaces/:id/stop', (req) => {
    const ws = requireWorkspace((req.params as IdParams).id);
    requireIdle(ws);
    if (ws.status === 'stopped') return { status: 200, body: publicWorkspace(ws) };
    if (ws.status === 'stopping') return { status: 202, body: publicWorkspace(ws) };
    if (ws.status === 'starting') throw new HttpError(409, 'invalid_state', `workspace ${ws.id} is starting`);
    state.beginTransition(ws, 'stopped', delays.stopMs);
    return { status: 202, body: publicWorkspace(ws) };
  });

  apiRoute('POST', '/workspaces/:id/start', (req) => {
    const ws = requireWorkspace((req.params as IdParams).id);
    requireIdle(ws);
    if (ws.status === 'running') return { status: 200, body: publicWorkspace(ws) };
    if (ws.status === 'starting') return { status: 202, body: publicWorkspace(ws) };
    if (ws.status === 'stopping') throw new HttpError(409, 'invalid_state', `workspace ${ws.id} is stopping`);
    state.beginTransition(ws, 'running', delays.startMs);
    return { status: 202, body: publicWorkspace(ws) };
  });

  apiRoute('POST', '/workspaces/:id/snapshots', async (req) => {
    const ws = requireWorkspace((req.params as IdParams).id);
    const name = (req.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 255) {
      throw new HttpError(422, 'invalid_name', 'name is required (a string of 1-255 characters)');
    }
    requireIdle(ws);
    if (ws.status !== 'stopped') {
      throw new HttpError(409, 'workspace_running', `workspace ${ws.id} must be stopped to snapshot (it is ${ws.status})`);
    }
    const origin = req.headers['x-rigsnap-workflow-id'];
    return copyingDisk(ws, delays.snapshotMs, () => ({
      status: 201,
      body: publicSnapshot(state.addSnapshot(ws, name, typeof origin === 'string' ? origin : undefined)),
    }));
  });

  apiRoute('GET', '/workspaces/:id/snapshots', (req) => {
    const ws = requireWorkspace((req.params as IdParams).id);
    return { status: 200, body: listBody(state.snapshotsOf(ws.id).map(publicSnapshot), req) };
  });

  apiRoute('GET', '/snapshots', (req) => ({ status: 200, body: listBody(state.snapshotsOf().map(publicSnapshot), req) }));

  apiRoute('POST', '/workspaces/:id/snapshots/:sid/restore', async (req) => {
    const { id, sid } = req.params as IdParams;
    const ws = requireWorkspace(id);
    const snap = state.data.snapshots[sid ?? ''];
    if (!snap || snap.workspace_id !== ws.id) {
      throw new HttpError(404, 'snapshot_not_found', `snapshot ${sid} not found in workspace ${ws.id}`);
    }
    requireIdle(ws);
    if (ws.status !== 'stopped') {
      throw new HttpError(409, 'workspace_running', `workspace ${ws.id} must be stopped to restore (it is ${ws.status})`);
    }
    return copyingDisk(ws, delays.restoreMs, () => {
      ws.files = { ...snap.files };
      state.changed();
      return { status: 200, body: { workspace_id: ws.id, snapshot_id: snap.id, status: 'restored' } };
    });
  });

  apiRoute('DELETE', '/workspaces/:id/snapshots/:sid', (req) => {
    const { id, sid } = req.params as IdParams;
    const ws = requireWorkspace(id);
    const snap = state.data.snapshots[sid ?? ''];
    if (!snap || snap.workspace_id !== ws.id) {
      throw new HttpError(404, 'snapshot_not_found', `snapshot ${sid} not found in workspace ${ws.id}`);
    }
    state.deleteSnapshot(snap.id);
    return { status: 204 };
  });

  // ---- control routes for tests and demos (no token; the emulator only listens on loopback) ----

  app.post('/_emulator/workspaces', async (req, reply) => {
    const body = req.body as { id?: string; status?: 'running' | 'stopped'; files?: Record<string, string> };
    if (!body?.id || !/^ws_[A-Za-z0-9_-]{1,64}$/.test(body.id)) return sendError(reply, 400, 'invalid_id', 'id must look like ws_…');
    return reply.code(201).send(publicWorkspace(state.upsertWorkspace({ id: body.id, status: body.status, files: body.files })));
  });

  app.get('/_emulator/workspaces/:id', async (req, reply) => {
    const ws = state.workspace((req.params as IdParams).id);
    if (!ws) return sendError(reply, 404, 'workspace_not_found', 'no such workspace');
    return ws;
  });

  app.put('/_emulator/workspaces/:id/files', async (req, reply) => {
    const ws = state.workspace((req.params as IdParams).id);
    if (!ws) return sendError(reply, 404, 'workspace_not_found', 'no such workspace');
    Object.assign(ws.files, req.body as Record<string, string>);
    state.changed();
    return ws.files;
  });

  app.get('/_emulator/snapshots', async () => state.snapshotsOf());

  app.get('/_emulator/config', async () => ({ delays, faults }));

  app.patch('/_emulator/config', async (req) => {
    const body = req.body as { delays?: Partial<EmulatorDelays>; faults?: Partial<EmulatorFaults> };
    Object.assign(delays, body.delays ?? {});
    Object.assign(faults, body.faults ?? {});
    // Naming a seed restarts its sequence, even the same seed: a run can be repeated.
    if (body.faults?.seed !== undefined) {
      random = prng(faults.seed);
      seededWith = faults.seed;
    }
    return { delays, faults };
  });

  app.get('/_emulator/calls', async () => calls);
  app.delete('/_emulator/calls', async () => {
    calls.length = 0;
    emulator.arrivals.length = 0;
    return { ok: true };
  });

  return emulator;
}

/** Starts an emulator listening on loopback; returns it with `url` set. */
export async function startEmulator(options: EmulatorOptions & { port?: number; host?: string }): Promise<Emulator> {
  const emulator = createEmulator(options);
  await emulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return emulator;
}
