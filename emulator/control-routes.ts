import type { FastifyInstance } from 'fastify';
import { sendError, type Gateway } from './gateway.js';
import { publicWorkspace, type EmulatorState } from './state.js';
import type { EmulatorDelays, EmulatorFaults, Emulator } from './types.js';

/** Control routes for tests and demos (no token; the emulator only listens on loopback): set up workspaces, write files, inject faults, read the call log. */
export function registerControlRoutes(app: FastifyInstance, emulator: Emulator, state: EmulatorState, gateway: Gateway): void {
  const { delays, faults, calls } = emulator;
  type IdParams = { id: string };
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

  app.delete('/_emulator/workspaces/:id', async (req, reply) => {
    if (!state.deleteWorkspace((req.params as IdParams).id)) return sendError(reply, 404, 'workspace_not_found', 'no such workspace');
    return reply.code(204).send();
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
    if (body.faults?.seed !== undefined) gateway.reseed();
    return { delays, faults };
  });

  app.get('/_emulator/calls', async () => calls);
  app.delete('/_emulator/calls', async () => {
    calls.length = 0;
    emulator.arrivals.length = 0;
    return { ok: true };
  });
}
