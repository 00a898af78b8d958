import type { FastifyReply, FastifyRequest } from 'fastify';
import { prng, type Arrival, type CallRecord, type Emulator } from './types.js';

/**
 * What every Rigbox route of the emulator goes through before and after its handler: the arrival log,
 * a maintenance page, the bearer token, forbidden workspaces, latency, the seeded fault roll (503, 429,
 * or a lost answer after the change is committed) and the call log.
 */

type Fault = 'none' | 'unavailable' | 'rate-limited' | 'lost' | 'garbled';

/** An API error with Rigbox's shape, thrown by handlers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

export type Handler = (req: FastifyRequest) => Promise<{ status: number; body?: unknown }> | { status: number; body?: unknown };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const MAINTENANCE_PAGE = '<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Rigbox is down for maintenance</h1></body></html>';

export class Gateway {
  private random: () => number;
  private seededWith: number;

  constructor(
    private readonly emulator: Emulator,
    private readonly recordCalls: boolean,
  ) {
    this.seededWith = emulator.faults.seed;
    this.random = prng(this.seededWith);
  }

  /** Restarts the fault sequence from the faults' seed (a run can be repeated). */
  reseed(): void {
    this.seededWith = this.emulator.faults.seed;
    this.random = prng(this.seededWith);
  }

  private pickFault(): Fault {
    const { faults } = this.emulator;
    if (faults.seed !== this.seededWith) this.reseed();
    const r = this.random();
    if (r < faults.unavailableRate) return 'unavailable';
    if (r < faults.unavailableRate + faults.rateLimitRate) return 'rate-limited';
    if (r < faults.unavailableRate + faults.rateLimitRate + faults.lostResponseRate) return 'lost';
    if (r < faults.unavailableRate + faults.rateLimitRate + faults.lostResponseRate + (faults.garbledRate ?? 0)) return 'garbled';
    return 'none';
  }

  record(req: FastifyRequest, outcome: CallRecord['outcome'], status: number, body?: unknown): void {
    if (!this.recordCalls) return;
    const params = req.params as { id?: string; sid?: string } | undefined;
    const route = req.routeOptions.url ?? req.url;
    const workspaceStatus =
      req.method === 'GET' && route === '/api/workspaces/:id' && body && typeof body === 'object' ? (body as { status?: string }).status : undefined;
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
    this.emulator.calls.push(call);
    this.emulator.hooks.onCall?.(call);
  }

  private arrive(req: FastifyRequest, method: string, routeKey: string): void {
    if (!this.recordCalls) return;
    const origin = req.headers['x-rigsnap-workflow-id'];
    const params = req.params as { id?: string; sid?: string };
    const arrival: Arrival = {
      method,
      route: routeKey.slice(method.length + 1),
      workspaceId: params.id ?? null,
      ...(params.sid ? { snapshotId: params.sid } : {}),
      // Sub-millisecond: the bench measures the spacing of requests under the quota.
      at: performance.timeOrigin + performance.now(),
      ...(typeof origin === 'string' ? { origin } : {}),
    };
    this.emulator.arrivals.push(arrival);
    this.emulator.hooks.onArrival?.(arrival);
  }

  private maintenanceAnswers = 0;

  /** One answer of a maintenance: the page, or (mixed) the next of the page, 503, wrong-shaped JSON, 502, 504. */
  private maintenanceAnswer(req: FastifyRequest, reply: FastifyReply, kind: 'html' | 'mixed'): FastifyReply {
    const n = kind === 'html' ? 0 : this.maintenanceAnswers++ % 5;
    if (n === 0) {
      this.record(req, 'unavailable', 200);
      return reply.code(200).type('text/html; charset=utf-8').send(MAINTENANCE_PAGE);
    }
    if (n === 2) {
      this.record(req, 'unavailable', 200);
      return reply.code(200).send({ status: 'maintenance', retry: true });
    }
    const status = n === 1 ? 503 : n === 3 ? 502 : 504;
    this.record(req, 'unavailable', status);
    return reply.code(status).type('text/plain').send(`HTTP ${status}: upstream unavailable (maintenance)`);
  }

  /** A maintenance page, a bad token or a forbidden workspace: the answer, or null to go on. */
  private refusal(req: FastifyRequest, reply: FastifyReply): FastifyReply | null {
    const { faults, forbidden } = this.emulator;
    if (faults.maintenance) return this.maintenanceAnswer(req, reply, faults.maintenanceAnswers ?? 'html');
    if (req.headers.authorization !== `Bearer ${this.emulator.token}`) {
      this.record(req, 'error', 401);
      return sendError(reply, 401, 'unauthorized', 'missing or invalid bearer token');
    }
    const wsId = (req.params as { id?: string }).id;
    if (wsId && forbidden.has(wsId)) {
      this.record(req, 'error', 403);
      return sendError(reply, 403, 'forbidden', `this token may not access workspace ${wsId}`);
    }
    return null;
  }

  /**
   * A Rigbox route: auth, latency, the fault roll, then the handler. A lost response runs the handler
   * (the change is committed) and answers 502 instead of its result.
   */
  route(method: 'GET' | 'POST' | 'DELETE', url: string, handler: Handler): void {
    const routeKey = `${method} ${url}`;
    this.emulator.app.route({
      method,
      url: `/api${url}`,
      handler: async (req, reply) => {
        this.arrive(req, method, routeKey);
        const refused = this.refusal(req, reply);
        if (refused) return refused;
        const { delays, faults } = this.emulator;
        const latency = delays.latencyMs + (delays.routeLatencyMs?.[routeKey] ?? 0);
        if (latency > 0) await sleep(latency);
        const fault = faults.routes.length === 0 || faults.routes.includes(routeKey) ? this.pickFault() : 'none';
        if (fault === 'unavailable') {
          this.record(req, 'unavailable', 503);
          return sendError(reply, 503, 'unavailable', 'Rigbox is temporarily unavailable');
        }
        if (fault === 'rate-limited') {
          this.record(req, 'rate-limited', 429);
          reply.header('retry-after', String(faults.retryAfterSeconds));
          return sendError(reply, 429, 'rate_limited', 'too many requests');
        }
        if (fault === 'garbled') {
          this.record(req, 'unavailable', 200);
          return reply.code(200).send({ ok: true, data: 'maintenance' });
        }
        return this.answer(req, reply, handler, fault === 'lost');
      },
    });
  }

  private async answer(req: FastifyRequest, reply: FastifyReply, handler: Handler, lost: boolean) {
    try {
      const result = await handler(req);
      if (lost) {
        this.record(req, 'lost', 502);
        return sendError(reply, 502, 'bad_gateway', 'upstream connection reset');
      }
      this.record(req, 'ok', result.status, result.body);
      reply.code(result.status);
      return result.body === undefined ? reply.send() : reply.send(result.body);
    } catch (err) {
      if (err instanceof HttpError) {
        this.record(req, 'error', err.status);
        return sendError(reply, err.status, err.code, err.message);
      }
      throw err;
    }
  }
}
