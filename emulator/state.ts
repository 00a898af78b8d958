import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The emulated Rigbox: workspaces with disk content, snapshots that copy it, asynchronous stop and
 * start. Transitions are timestamps evaluated on read (no timers), so the state persists to a file as
 * plain JSON and a restarted emulator picks up where it was.
 */

export type WorkspaceStatus = 'running' | 'stopped' | 'stopping' | 'starting';

export interface EmulatedWorkspace {
  id: string;
  name: string;
  status: WorkspaceStatus;
  /** Ongoing stop/start: the status it reaches at `endsAt` (epoch ms). */
  transition: { to: 'stopped' | 'running'; endsAt: number } | null;
  /** A snapshot or restore in progress holds the disk. */
  busyUntil: number | null;
  /** The disk: path → content. Snapshots copy it; restores bring it back. */
  files: Record<string, string>;
  disk_size_bytes: number;
  /** When the workspace last reached each settled status (for measuring detection delays). */
  lastSettledAt: { stopped: number | null; running: number | null };
}

export interface EmulatedSnapshot {
  id: string;
  workspace_id: string;
  name: string;
  size_bytes: number;
  created_at: string;
  files: Record<string, string>;
}

export interface StateData {
  workspaces: Record<string, EmulatedWorkspace>;
  snapshots: Record<string, EmulatedSnapshot>;
}

/** The part of a snapshot's size that every workspace has: OS and packages, as the docs' table says. */
export const BASE_SNAPSHOT_BYTES = 2 * 1024 ** 3;

export function contentBytes(files: Record<string, string>): number {
  let n = 0;
  for (const [p, c] of Object.entries(files)) n += Buffer.byteLength(p) + Buffer.byteLength(c);
  return n;
}

export class EmulatorState {
  data: StateData;
  /** Every snapshot ever made (deleted ones too), in order: how the chaos suite finds duplicates. */
  /** Every snapshot ever made, with the workflow that asked for it (X-Rigsnap-Workflow-Id) when known. */
  readonly created: Array<{ id: string; workspace_id: string; name: string; at: string; origin?: string }> = [];
  private saveTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stateFile?: string,
    private readonly now: () => number = Date.now,
  ) {
    this.data = { workspaces: {}, snapshots: {} };
    if (stateFile && fs.existsSync(stateFile)) {
      this.data = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StateData;
    }
  }

  /** Applies a finished transition, so every read sees the current status. */
  settle(ws: EmulatedWorkspace): EmulatedWorkspace {
    if (ws.transition && this.now() >= ws.transition.endsAt) {
      ws.status = ws.transition.to;
      ws.lastSettledAt[ws.transition.to] = ws.transition.endsAt;
      ws.transition = null;
      this.changed();
    }
    if (ws.busyUntil !== null && this.now() >= ws.busyUntil) ws.busyUntil = null;
    return ws;
  }

  workspace(id: string): EmulatedWorkspace | undefined {
    const ws = this.data.workspaces[id];
    return ws ? this.settle(ws) : undefined;
  }

  upsertWorkspace(input: {
    id: string;
    name?: string;
    status?: 'running' | 'stopped';
    files?: Record<string, string>;
    diskSizeBytes?: number;
  }): EmulatedWorkspace {
    const ws: EmulatedWorkspace = {
      id: input.id,
      name: input.name ?? input.id,
      status: input.status ?? 'running',
      transition: null,
      busyUntil: null,
      files: { ...(input.files ?? {}) },
      disk_size_bytes: input.diskSizeBytes ?? 10 * 1024 ** 3,
      lastSettledAt: { stopped: null, running: null },
    };
    this.data.workspaces[ws.id] = ws;
    this.changed();
    return ws;
  }

  /**
   * Deletes a workspace and keeps its snapshots, as Rigbox does: they can no longer be restored (only
   * into their own workspace) but still cost storage until deleted. Returns whether it existed.
   */
  deleteWorkspace(id: string): boolean {
    if (!this.data.workspaces[id]) return false;
    delete this.data.workspaces[id];
    this.changed();
    return true;
  }

  beginTransition(ws: EmulatedWorkspace, to: 'stopped' | 'running', durationMs: number): void {
    ws.status = to === 'stopped' ? 'stopping' : 'starting';
    ws.transition = { to, endsAt: this.now() + durationMs };
    this.changed();
    this.settle(ws); // a zero-length transition is over at once
  }

  newSnapshotId(): string {
    return `snap_${randomBytes(8).toString('hex')}`;
  }

  addSnapshot(ws: EmulatedWorkspace, name: string, origin?: string): EmulatedSnapshot {
    const snap: EmulatedSnapshot = {
      id: this.newSnapshotId(),
      workspace_id: ws.id,
      name,
      size_bytes: BASE_SNAPSHOT_BYTES + contentBytes(ws.files),
      created_at: new Date(this.now()).toISOString(),
      files: { ...ws.files },
    };
    this.data.snapshots[snap.id] = snap;
    this.created.push({ id: snap.id, workspace_id: snap.workspace_id, name: snap.name, at: snap.created_at, ...(origin ? { origin } : {}) });
    this.changed();
    return snap;
  }

  snapshotsOf(workspaceId?: string): EmulatedSnapshot[] {
    return Object.values(this.data.snapshots)
      .filter((s) => workspaceId === undefined || s.workspace_id === workspaceId)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
  }

  deleteSnapshot(id: string): void {
    delete this.data.snapshots[id];
    this.changed();
  }

  changed(): void {
    if (!this.stateFile || this.saveTimer) return;
    // Coalesce bursts of changes into one write.
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, 50);
    this.saveTimer.unref();
  }

  saveNow(): void {
    if (!this.stateFile) return;
    fs.mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data));
    fs.renameSync(tmp, this.stateFile);
  }

  close(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    this.saveNow();
  }
}

/** Public view of a snapshot: the documented fields only. */
export function publicSnapshot(s: EmulatedSnapshot) {
  return { id: s.id, workspace_id: s.workspace_id, name: s.name, size_bytes: s.size_bytes, created_at: s.created_at };
}

export function publicWorkspace(ws: EmulatedWorkspace) {
  return { id: ws.id, name: ws.name, status: ws.status, disk_size_bytes: ws.disk_size_bytes };
}
