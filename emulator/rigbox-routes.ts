import type { FastifyRequest } from 'fastify';
import { HttpError, type Gateway } from './gateway.js';
import { publicSnapshot, publicWorkspace, type EmulatedWorkspace, type EmulatorState } from './state.js';
import type { EmulatorDelays } from './types.js';

/**
 * The Rigbox snapshot API as the docs describe it: workspaces stop and start asynchronously; snapshots
 * are made, restored (into a stopped workspace, its own only), listed (optionally paged) and deleted.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type IdParams = { id: string; sid?: string };

function requireWorkspace(state: EmulatorState, id: string): EmulatedWorkspace {
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

/** A list answer: the docs' bare array, or `{data, next_cursor}` pages when the emulator pages. */
function listBody(items: unknown[], req: FastifyRequest, pageSize: number | undefined) {
  if (!pageSize) return items;
  const cursor = Number((req.query as { cursor?: string }).cursor ?? 0) || 0;
  const page = items.slice(cursor, cursor + pageSize);
  const next = cursor + pageSize < items.length ? String(cursor + pageSize) : null;
  return { data: page, next_cursor: next };
}

/** A snapshot of this workspace, or 404. */
function requireSnapshotOf(state: EmulatorState, ws: EmulatedWorkspace, sid: string | undefined) {
  const snap = state.data.snapshots[sid ?? ''];
  if (!snap || snap.workspace_id !== ws.id) throw new HttpError(404, 'snapshot_not_found', `snapshot ${sid} not found in workspace ${ws.id}`);
  return snap;
}

/** A workspace's status, and its asynchronous stop and start. */
function registerWorkspaceRoutes(route: Gateway['route'], state: EmulatorState, delays: EmulatorDelays): void {
  route('GET', '/workspaces/:id', (req) => {
    const ws = requireWorkspace(state, (req.params as IdParams).id);
    return { status: 200, body: publicWorkspace(ws) };
  });

  route('POST', '/workspaces/:id/stop', (req) => {
    const ws = requireWorkspace(state, (req.params as IdParams).id);
    requireIdle(ws);
    if (ws.status === 'stopped') return { status: 200, body: publicWorkspace(ws) };
    if (ws.status === 'stopping') return { status: 202, body: publicWorkspace(ws) };
    if (ws.status === 'starting') throw new HttpError(409, 'invalid_state', `workspace ${ws.id} is starting`);
    state.beginTransition(ws, 'stopped', delays.stopMs);
    return { status: 202, body: publicWorkspace(ws) };
  });

  route('POST', '/workspaces/:id/start', (req) => {
    const ws = requireWorkspace(state, (req.params as IdParams).id);
    requireIdle(ws);
    if (ws.status === 'running') return { status: 200, body: publicWorkspace(ws) };
    if (ws.status === 'starting') return { status: 202, body: publicWorkspace(ws) };
    if (ws.status === 'stopping') throw new HttpError(409, 'invalid_state', `workspace ${ws.id} is stopping`);
    state.beginTransition(ws, 'running', delays.startMs);
    return { status: 202, body: publicWorkspace(ws) };
  });
}

/** Snapshots: create (stopped workspaces only), list, restore (own workspace only), delete. */
function registerSnapshotRoutes(route: Gateway['route'], state: EmulatorState, delays: EmulatorDelays, pageSize: number | undefined): void {
  route('POST', '/workspaces/:id/snapshots', async (req) => {
    const ws = requireWorkspace(state, (req.params as IdParams).id);
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

  route('GET', '/workspaces/:id/snapshots', (req) => {
    const ws = requireWorkspace(state, (req.params as IdParams).id);
    return { status: 200, body: listBody(state.snapshotsOf(ws.id).map(publicSnapshot), req, pageSize) };
  });

  route('GET', '/snapshots', (req) => ({ status: 200, body: listBody(state.snapshotsOf().map(publicSnapshot), req, pageSize) }));

  route('POST', '/workspaces/:id/snapshots/:sid/restore', async (req) => {
    const { id, sid } = req.params as IdParams;
    const ws = requireWorkspace(state, id);
    const snap = requireSnapshotOf(state, ws, sid);
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

  route('DELETE', '/workspaces/:id/snapshots/:sid', (req) => {
    const { id, sid } = req.params as IdParams;
    // A deleted workspace's snapshots stay deletable (they still cost storage): only an unknown workspace without them is a 404.
    const orphan = state.workspace(id ?? '') ? undefined : state.data.snapshots[sid ?? ''];
    if (orphan && orphan.workspace_id === id) {
      state.deleteSnapshot(orphan.id);
      return { status: 204 };
    }
    const ws = requireWorkspace(state, id);
    const snap = requireSnapshotOf(state, ws, sid);
    state.deleteSnapshot(snap.id);
    return { status: 204 };
  });
}

export function registerRigboxRoutes(gateway: Gateway, state: EmulatorState, delays: EmulatorDelays, pageSize: number | undefined): void {
  const route: Gateway['route'] = (method, url, handler) => gateway.route(method, url, handler);
  registerWorkspaceRoutes(route, state, delays);
  registerSnapshotRoutes(route, state, delays, pageSize);
}
