import type { FastifyInstance } from 'fastify';
import type { EmulatorState } from './state.js';

/**
 * The emulator's settings and what it exposes to tests, benchmarks and the chaos suite: delays, faults,
 * the call log, the hooks and the running emulator itself.
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
  /**
   * What a maintenance answers: `html` (default) a maintenance page with 200; `mixed` cycles through what
   * a real one shows from behind a load balancer: that page, 503, a 200 whose JSON has the wrong shape,
   * 502 and 504. Nothing is done either way.
   */
  maintenanceAnswers?: 'html' | 'mixed';
  /** Share of API requests answered 200 with JSON of the wrong shape (nothing done), like a confused proxy. */
  garbledRate?: number;
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
