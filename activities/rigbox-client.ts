import { z } from 'zod';
import { RigboxSnapshot, RigboxWorkspace, SNAPSHOT_ID_PATTERN, WORKSPACE_ID_PATTERN, errorTypeForStatus, type ErrorType } from '../domain/index.js';
import type { CallClass, CallLimiter } from './call-limiter.js';
import { routeTemplate } from './rigbox-routes.js';

/**
 * HTTP client for the Rigbox API (https://api.rigbox.dev/api). Temporal-free, so it is usable and
 * testable on its own; activities turn its errors into ApplicationFailures.
 */

export class RigboxApiError extends Error {
  override readonly name = 'RigboxApiError';
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly status?: number,
    /** From Retry-After on a 429. */
    readonly retryAfterMs?: number,
    /**
     * The answer came, but not from the Rigbox API as documented (an HTML page, a body that is not JSON,
     * JSON of the wrong shape): a maintenance, a proxy, or RIGBOX_API_URL pointing elsewhere.
     */
    readonly notRigbox = false,
  ) {
    super(message);
  }
}

/**
 * Whether RIGBOX_API_URL has answered like the Rigbox API since this process started: `rigbox` once any
 * answer did (a documented body, or a JSON error), `not-rigbox` after several answers that did not (HTML,
 * not JSON, the wrong shape; 502/503/504 and unreachable hosts prove nothing either way), `unknown` before.
 */
export type ApiRecognition = { state: 'unknown' | 'rigbox' | 'not-rigbox'; lastAnswer?: string };

/** Answers unlike Rigbox's, with none like it, that make the URL "not Rigbox": a single garbled answer does not. */
const NOT_RIGBOX_AFTER = 3;

/** Keeps an ApiRecognition from the answers of every request to one URL. */
export class UrlRecognition {
  private state: ApiRecognition = { state: 'unknown' };
  private unlikeAnswers = 0;
  private readonly listeners: Array<(r: ApiRecognition) => void> = [];

  get current(): ApiRecognition {
    return { ...this.state };
  }

  /** Told whenever the state changes. */
  onChange(listener: (r: ApiRecognition) => void): void {
    this.listeners.push(listener);
  }

  /**
   * An answer: none (`err` undefined) or a JSON error body with a 4xx is Rigbox's; one `notRigbox` counts
   * against the URL until Rigbox has answered once.
   */
  note(err: RigboxApiError | undefined, errorBody?: string): void {
    const before = this.state.state;
    if (err === undefined || (err.status !== undefined && err.status >= 400 && err.status < 500 && looksLikeJson(errorBody))) {
      this.state = { state: 'rigbox' };
    } else if (err.notRigbox && before !== 'rigbox') {
      this.unlikeAnswers++;
      this.state = { state: this.unlikeAnswers >= NOT_RIGBOX_AFTER ? 'not-rigbox' : 'unknown', lastAnswer: err.message };
    }
    if (this.state.state !== before) for (const l of this.listeners) l(this.current);
  }
}

export interface RigboxClientOptions {
  baseUrl: string;
  /** Bearer token. Held here and in the worker's config only; never logged, never in an error. */
  token: string;
  /** Timeout of an ordinary request. Long calls (create, restore) pass their own. */
  requestTimeoutMs?: number;
  /** For tests: a fetch to use instead of the global one. */
  fetch?: typeof fetch;
  /**
   * Quick retries of idempotent calls (GET, stop, start, delete) on transient errors, before the
   * activity's own retry policy takes over: a flaky API should cost milliseconds, not a backoff.
   */
  transientRetries?: number;
  retryBaseDelayMs?: number;
  /** What the URL's answers have shown, shared by every client of one worker process (worker/worker.ts). */
  recognition?: UrlRecognition;
  /**
   * Told of every request once it has an answer (`status`: the HTTP status) or none (`timeout`,
   * `error`); not of requests the caller aborted. `endpoint` is the route template. For metrics.
   */
  onRequest?: (endpoint: string, status: string) => void;
  /** The Rigbox API quota: every request waits its turn here (activities/call-limiter.ts). */
  limiter?: CallLimiter;
  /**
   * Told after a snapshot of the workspace was created or deleted (a delete that found it gone too):
   * the worker refreshes its rigsnap_snapshots and size gauges from it. Must not throw.
   */
  onSnapshotsChanged?: (workspaceId: string) => void;
}

export interface CallOptions {
  /**
   * Aborts the request: the activity's cancellation signal. Only for reads: a change in flight is
   * never abandoned (Rigbox would carry it out after the caller stopped looking), so callers pass no
   * signal to stop, start, create, restore and delete.
   */
  signal?: AbortSignal;
  /**
   * Ends only the wait for the call's turn under the quota (activities/call-limiter.ts), never the request
   * once sent: what changes pass, so that a change not yet sent is given up when its activity is cancelled
   * (a worker shutting down included), while one in flight is seen to its end.
   */
  turnSignal?: AbortSignal;
  timeoutMs?: number;
  /** The workflow the call is made for, sent as X-Rigsnap-Workflow-Id so Rigbox-side logs can tell who asked. */
  origin?: string;
  /** The Temporal priority and fairness of the activity making the call: its place in the quota's queue. */
  priority?: Omit<CallClass, 'kind'>;
}

export interface ListOptions extends CallOptions {
  /** Called after each page with the number of items so far: long listings report progress (heartbeats). */
  onPage?: (itemsSoFar: number) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const USER_AGENT = 'rigsnap';

/**
 * Rigbox's answer to stop, start, restore and delete: the docs show none, so any body is accepted
 * (JSON, text or nothing) and not parsed. An HTML page is the exception: see `isHtmlPage`.
 */
const IGNORED_BODY = Symbol('ignored body');
type IgnoredBody = typeof IGNORED_BODY;

/**
 * An HTML page with a 2xx status is not Rigbox answering but something in front of it (a maintenance
 * page, a captive proxy): the request most likely never reached the API, so it is a transient
 * `Unavailable`, retried like a 503, never taken for success.
 */
function isHtmlPage(contentType: string | null, text: string): boolean {
  if (contentType && /\btext\/html\b/i.test(contentType)) return true;
  return /^\s*<(!doctype|html|head|body)\b/i.test(text);
}

/**
 * The docs call the list endpoints a bare JSON array and mention pagination without giving it. This
 * is the one place that assumes a shape for pages: either a bare array (one page, as documented), or
 * `{ data | items | snapshots: [...], next_cursor | next: string | null }`, followed with `?cursor=`.
 */
const Page = z.union([
  z.array(z.unknown()),
  z
    .object({
      data: z.array(z.unknown()).optional(),
      items: z.array(z.unknown()).optional(),
      snapshots: z.array(z.unknown()).optional(),
      next_cursor: z.string().nullable().optional(),
      next: z.string().nullable().optional(),
    })
    .refine((p) => p.data ?? p.items ?? p.snapshots, { error: 'expected an array of snapshots' }),
]);
const MAX_PAGES = 1000;

function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'unexpected shape';
  const at = issue.path.length ? issue.path.map(String).join('.') : 'body';
  return `${at}: ${issue.message}`;
}

function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  return undefined;
}

function checkId(kind: 'workspace' | 'snapshot', id: string): string {
  const pattern = kind === 'workspace' ? WORKSPACE_ID_PATTERN : SNAPSHOT_ID_PATTERN;
  if (!pattern.test(id)) {
    // Not an API error: rigsnap refuses to build a URL from it at all.
    throw new RigboxApiError('InvalidInput', `${kind} id ${JSON.stringify(id).slice(0, 80)} is not a valid Rigbox id`);
  }
  return encodeURIComponent(id);
}

/** Longest Retry-After waited out here; longer ones go back to the activity's retry policy. */
const MAX_INLINE_RETRY_AFTER_MS = 5000;

type RequestOptions = CallOptions & { body?: unknown; query?: Record<string, string> };

/**
 * What every call of one client shares: the base URL, the token, timeouts, quick retries and the quota.
 * A request goes in steps: its turn under the quota, the exchange, the status, then the body.
 */
class RigboxTransport {
  readonly base: URL;
  private readonly doFetch: typeof fetch;
  private readonly defaultTimeout: number;
  private readonly token: string;
  private readonly transientRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly recognised: UrlRecognition;

  constructor(private readonly options: RigboxClientOptions) {
    this.recognised = options.recognition ?? new UrlRecognition();
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    const doFetch = options.fetch ?? fetch;
    // Called unbound, as the global fetch expects (never as a method of this object).
    this.doFetch = (input, init) => doFetch(input, init);
    this.defaultTimeout = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.token = options.token;
    this.transientRetries = options.transientRetries ?? 2;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
  }

  /** Runs an idempotent call, retrying transient failures a few times with a short backoff. */
  async idempotent<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const transient = err instanceof RigboxApiError && (err.type === 'Unavailable' || err.type === 'RateLimited');
        if (!transient || attempt >= this.transientRetries || signal?.aborted) throw err;
        const delay = err.retryAfterMs ?? this.retryBaseDelayMs * 3 ** attempt;
        if (delay > MAX_INLINE_RETRY_AFTER_MS) throw err;
        await abortableSleep(delay, signal);
      }
    }
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: z.ZodType<T> | IgnoredBody, opts: RequestOptions = {}): Promise<T | undefined> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const what = `${method} ${url.pathname}`;
    // The quota first: the request's own timeout starts once it may go. Changes go ahead of reads. Nothing
    // has been sent while the call waits here, so a change gives up its turn when its activity is cancelled.
    const turnSignal = opts.signal ?? opts.turnSignal;
    await this.options.limiter?.acquire({ ...opts.priority, kind: method === 'GET' ? 'read' : 'change', signal: turnSignal });
    const res = await this.send(method, path, url, what, opts);
    const text = await readBody(res, what, opts.signal);
    if (!res.ok) throw this.recognise(this.refusal(res, text, what), text);
    try {
      const body = parseBody(res, text, what, schema);
      // A list page is checked item by item later (listAll); an ignored body proves nothing either way.
      if (schema !== IGNORED_BODY && (schema as unknown) !== Page) this.recognise(undefined);
      return body;
    } catch (err) {
      throw err instanceof RigboxApiError ? this.recognise(err) : err;
    }
  }

  get recognition(): ApiRecognition {
    return this.recognised.current;
  }

  /** Takes note of an answer (see UrlRecognition.note); returns `err`, to throw it. */
  recognise<E extends RigboxApiError | undefined>(err: E, errorBody?: string): E {
    this.recognised.note(err, errorBody);
    return err;
  }

  /** Collects every page of a list endpoint; see `Page` for the one pagination assumption. */
  async listAll<T>(path: string, item: z.ZodType<T>, opts: ListOptions): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query: Record<string, string> = cursor ? { cursor } : {};
      const body = (await this.idempotent(() => this.request('GET', path, Page, { ...opts, query }), opts.signal))!;
      const items = Array.isArray(body) ? body : (body.data ?? body.items ?? body.snapshots ?? []);
      const parsed = z.array(item).safeParse(items);
      if (!parsed.success) {
        throw this.recognise(
          unlikeRigbox(
            `GET ${path}: Rigbox's answer does not match the documented shape (${describeZodError(parsed.error)}; maintenance or a proxy in the way?)`,
          ),
        );
      }
      this.recognise(undefined);
      out.push(...parsed.data);
      opts.onPage?.(out.length);
      const next = Array.isArray(body) ? null : (body.next_cursor ?? body.next ?? null);
      if (!next) return out;
      cursor = next;
    }
    throw new RigboxApiError('BadResponse', `GET ${path}: more than ${MAX_PAGES} pages; refusing to follow further`);
  }

  /** Belt and braces: whatever Rigbox echoes back, the token never leaves in an error message. */
  private redact(text: string): string {
    return this.token ? text.split(this.token).join('[redacted]') : text;
  }

  /** The exchange: an answer (any status), or an Unavailable error when none came. */
  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, url: URL, what: string, opts: RequestOptions): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeout;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.doFetch(url, {
        method,
        signal,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          ...(opts.origin ? { 'x-rigsnap-workflow-id': opts.origin } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err; // cancellation: let the activity report it as such
      this.options.onRequest?.(routeTemplate(method, path), timeout.aborted ? 'timeout' : 'error');
      if (timeout.aborted) {
        throw new RigboxApiError('Unavailable', `${what}: Rigbox did not answer within ${timeoutMs} ms`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new RigboxApiError('Unavailable', this.redact(`${what}: cannot reach Rigbox at ${this.base.origin} (${reason})`));
    }
    this.options.onRequest?.(routeTemplate(method, path), String(res.status));
    return res;
  }

  /** The error for an answer that is not 2xx, typed from its status. */
  private refusal(res: Response, text: string, what: string): RigboxApiError {
    const type = errorTypeForStatus(res.status);
    const detail = this.redact(extractErrorMessage(text)).slice(0, 300);
    if (type === 'Unauthorized') {
      return new RigboxApiError(
        type,
        `${what}: Rigbox refused the worker's credentials (HTTP ${res.status}); check RIGBOX_TOKEN on the worker` + (detail ? ` (${detail})` : ''),
        res.status,
      );
    }
    // An HTML page for a 4xx (a web site's "not found") is not Rigbox refusing: transient, and evidence
    // against the URL. For a 5xx it proves nothing (a gateway's page during a maintenance).
    if (res.status < 500 && isHtmlPage(res.headers.get('content-type'), text)) {
      return unlikeRigbox(`${what}: HTTP ${res.status} with an HTML page instead of the API (maintenance or a proxy in the way?)`, res.status);
    }
    const retryAfterMs = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after'), Date.now()) : undefined;
    return new RigboxApiError(type, `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`, res.status, retryAfterMs);
  }
}

function looksLikeJson(text: string | undefined): boolean {
  if (!text) return false;
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === 'object' && body !== null;
  } catch {
    return false;
  }
}

/** The whole body of an answer; one cut off on the way is a transient Unavailable. */
async function readBody(res: Response, what: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await res.text();
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new RigboxApiError('Unavailable', `${what}: the response from Rigbox was cut off`, res.status);
  }
}

/**
 * An answer that is not Rigbox's: transient (`Unavailable`), because a maintenance or a proxy answers so
 * for minutes and reads and adoptable changes are safe to repeat. A URL that never answers otherwise is
 * told apart by the recognition (the preflight fails it as BadResponse naming RIGBOX_API_URL).
 */
function unlikeRigbox(message: string, status?: number): RigboxApiError {
  return new RigboxApiError('Unavailable', message, status, undefined, true);
}

/** A 2xx answer's body, checked against `schema` (or ignored); an HTML page is never taken for success. */
function parseBody<T>(res: Response, text: string, what: string, schema: z.ZodType<T> | IgnoredBody): T | undefined {
  if (isHtmlPage(res.headers.get('content-type'), text)) {
    throw unlikeRigbox(`${what}: Rigbox answered HTTP ${res.status} with an HTML page instead of the API (maintenance or a proxy in the way?)`, res.status);
  }
  if (schema === IGNORED_BODY) return undefined;

  let json: unknown = undefined;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      throw unlikeRigbox(`${what}: Rigbox answered HTTP ${res.status} with a body that is not JSON (maintenance or a proxy in the way?)`, res.status);
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw unlikeRigbox(
      `${what}: Rigbox's answer does not match the documented shape (${describeZodError(parsed.error)}; maintenance or a proxy in the way?)`,
      res.status,
    );
  }
  return parsed.data;
}

export type RigboxClient = ReturnType<typeof createRigboxClient>;

export function createRigboxClient(options: RigboxClientOptions) {
  const t = new RigboxTransport(options);

  return {
    baseUrl: t.base.toString(),

    /** What this URL's answers have shown since the process started (ApiRecognition). */
    recognition(): ApiRecognition {
      return t.recognition;
    },

    /** One read to learn whether RIGBOX_API_URL answers like Rigbox: the first page of GET /snapshots. */
    async probe(): Promise<ApiRecognition> {
      try {
        await t.request('GET', 'snapshots', Page);
        t.recognise(undefined);
      } catch {
        // Noted by the recognition (or proving nothing: unreachable, a 5xx).
      }
      return t.recognition;
    },

    async getWorkspace(workspaceId: string, opts: CallOptions = {}): Promise<RigboxWorkspace> {
      const path = `workspaces/${checkId('workspace', workspaceId)}`;
      return (await t.idempotent(() => t.request('GET', path, RigboxWorkspace, opts), opts.signal))!;
    },

    /** Asks Rigbox to stop. Rigbox answers before the stop is over: poll `getWorkspace`. */
    async stopWorkspace(workspaceId: string, opts: CallOptions = {}): Promise<void> {
      const path = `workspaces/${checkId('workspace', workspaceId)}/stop`;
      await t.idempotent(() => t.request('POST', path, IGNORED_BODY, opts), opts.signal);
    },

    async startWorkspace(workspaceId: string, opts: CallOptions = {}): Promise<void> {
      const path = `workspaces/${checkId('workspace', workspaceId)}/start`;
      await t.idempotent(() => t.request('POST', path, IGNORED_BODY, opts), opts.signal);
    },

    /** Takes a snapshot of a stopped workspace. Slow for big disks: pass a long timeout. */
    async createSnapshot(workspaceId: string, name: string, opts: CallOptions = {}): Promise<RigboxSnapshot> {
      const made = (await t.request('POST', `workspaces/${checkId('workspace', workspaceId)}/snapshots`, RigboxSnapshot, {
        ...opts,
        body: { name },
      }))!;
      options.onSnapshotsChanged?.(workspaceId);
      return made;
    },

    async listSnapshots(workspaceId: string, opts: ListOptions = {}): Promise<RigboxSnapshot[]> {
      return t.listAll(`workspaces/${checkId('workspace', workspaceId)}/snapshots`, RigboxSnapshot, opts);
    },

    async listAllSnapshots(opts: ListOptions = {}): Promise<RigboxSnapshot[]> {
      return t.listAll('snapshots', RigboxSnapshot, opts);
    },

    async restoreSnapshot(workspaceId: string, snapshotId: string, opts: CallOptions = {}): Promise<void> {
      await t.request('POST', `workspaces/${checkId('workspace', workspaceId)}/snapshots/${checkId('snapshot', snapshotId)}/restore`, IGNORED_BODY, opts);
    },

    async deleteSnapshot(workspaceId: string, snapshotId: string, opts: CallOptions = {}): Promise<void> {
      const path = `workspaces/${checkId('workspace', workspaceId)}/snapshots/${checkId('snapshot', snapshotId)}`;
      // A retry after a lost answer meets a 404: the caller decides that "gone" is success.
      try {
        await t.idempotent(() => t.request('DELETE', path, IGNORED_BODY, opts), opts.signal);
      } catch (err) {
        if (err instanceof RigboxApiError && err.status === 404) options.onSnapshotsChanged?.(workspaceId);
        throw err;
      }
      options.onSnapshotsChanged?.(workspaceId);
    },
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rigbox's error body shape is undocumented: take a message from the usual fields, or the text. */
function extractErrorMessage(text: string): string {
  if (!text) return '';
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      for (const key of ['message', 'error', 'detail']) {
        const v = b[key];
        if (typeof v === 'string') return v;
        if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).message === 'string') {
          return (v as Record<string, string>).message ?? '';
        }
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, ' ').trim();
}
