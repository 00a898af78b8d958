import { workflowIds } from '../../domain/index.js';
import {
  BACKUP_PREFIX,
  BACKUP_RETENTION,
  HAND_MADE_NAMES,
  sameFiles,
  type ChaosContext,
  type Files,
  type HandMadeSnapshot,
  type PlannedOperation,
} from './model.js';

/**
 * The chaos run's setup: workspaces with known content (some stopped), hand-made snapshots retention
 * must never touch and older backups it must prune; then the plan of phase 1 (random operations, some
 * to be cancelled) and, once phase 1 is over, phase 2 (one restore with keepCurrent per workspace).
 */

/** What each workspace holds at setup: distinct per workspace and per version, so a mix-up shows. */
function contentVersions(workspaceId: string, salt: string) {
  const base = { 'README.md': `# ${workspaceId}\n`, 'db/schema.sql': `-- ${workspaceId} schema v1` };
  return {
    beforeMigration: { ...base, 'model/weights.bin': `${workspaceId}:weights:v0:${salt}` },
    stableModel: { ...base, 'db/schema.sql': `-- ${workspaceId} schema v2`, 'model/weights.bin': `${workspaceId}:weights:v2:${salt}` },
    live: {
      ...base,
      'db/schema.sql': `-- ${workspaceId} schema v3`,
      'model/weights.bin': `${workspaceId}:weights:v3-live:${salt}`,
      'notes.txt': `work in progress on ${workspaceId}`,
    },
  };
}

/** Every workspace as the run begins, in the emulator; what it holds is remembered in the context. */
export function seedWorkspaces(ctx: ChaosContext): void {
  const { emu } = ctx.stack;
  // Rigbox deletes a snapshot's disk; keep a copy of what each deleted one held, so the content of a
  // backup that retention later removed can still be checked.
  emu.hooks.onArrival = (a) => {
    const s = a.method === 'DELETE' && a.snapshotId ? emu.state.data.snapshots[a.snapshotId] : undefined;
    if (s) ctx.deletedSnapshots.set(s.id, { ...s, files: { ...s.files } });
  };
  for (const [i, workspaceId] of ctx.workspaceIds.entries()) {
    const status = i % 3 === 0 ? 'stopped' : 'running';
    const v = contentVersions(workspaceId, Math.floor(ctx.random() * 1e9).toString(36));
    const ws = emu.state.upsertWorkspace({ id: workspaceId, status, files: v.beforeMigration });
    const made: HandMadeSnapshot[] = [];
    // Older backups under the chaos prefix, backdated: retention has something to delete from the first backup on.
    for (let d = 3; d >= 1; d--) {
      const s = emu.state.addSnapshot(ws, `${BACKUP_PREFIX}${new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10)}`);
      s.created_at = new Date(Date.now() - d * 86_400_000).toISOString();
      ctx.setupClaims.set(s.id, `seeded backup ${s.name}`);
      ctx.seededBackups++;
    }
    const first = emu.state.addSnapshot(ws, HAND_MADE_NAMES[0]);
    made.push({ id: first.id, name: first.name, files: { ...v.beforeMigration } });
    ws.files = { ...v.stableModel };
    const second = emu.state.addSnapshot(ws, HAND_MADE_NAMES[1]);
    made.push({ id: second.id, name: second.name, files: { ...v.stableModel } });
    ws.files = { ...v.live };
    for (const m of made) ctx.setupClaims.set(m.id, `hand-made ${m.name}`);
    ctx.handMade.set(workspaceId, made);
    ctx.initialStatus.set(workspaceId, status);
    ctx.initialFiles.set(workspaceId, { ...v.live });
  }
}

export const stoppedAtStart = (ctx: ChaosContext): number => [...ctx.initialStatus.values()].filter((s) => s === 'stopped').length;

const requestKey = (ctx: ChaosContext, index: number) => `c${ctx.runTag}-${index}`;

function restoreOf(ctx: ChaosContext, index: number, phase: 1 | 2, workspaceId: string, target: HandMadeSnapshot): PlannedOperation {
  return {
    index,
    phase,
    type: 'restore',
    workspaceId,
    workflowId: workflowIds.restore(workspaceId, target.id, requestKey(ctx, index)),
    input: { workspaceId, snapshotId: target.id, keepCurrent: true },
    targetSnapshotId: target.id,
  };
}

/** Phase 1: snapshots, restores (to a hand-made snapshot) and backups in random order; some cancelled. */
export function planPhase1(ctx: ChaosContext): void {
  const { o, random } = ctx;
  const count = o.operations - o.workspaces;
  for (let index = 0; index < count; index++) {
    const workspaceId = ctx.workspaceIds[index % o.workspaces]!;
    const type = (['snapshot', 'restore', 'backup'] as const)[Math.floor(random() * 3)]!;
    if (type === 'snapshot') {
      const name = `chaos-${ctx.runTag}-${index}`;
      ctx.plan.push({
        index,
        phase: 1,
        type,
        workspaceId,
        workflowId: workflowIds.snapshot(workspaceId, name, requestKey(ctx, index)),
        input: { workspaceId, name },
      });
    } else if (type === 'restore') {
      ctx.plan.push(restoreOf(ctx, index, 1, workspaceId, ctx.handMade.get(workspaceId)![Math.floor(random() * HAND_MADE_NAMES.length)]!));
    } else {
      ctx.plan.push({
        index,
        phase: 1,
        type,
        workspaceId,
        workflowId: workflowIds.backup(workspaceId, requestKey(ctx, index)),
        input: { workspaceId, namePrefix: BACKUP_PREFIX, retention: BACKUP_RETENTION },
      });
    }
  }
  // Some operations are cancelled (as a person would from the UI) at a random moment after they start.
  for (const op of ctx.plan) if (random() < o.cancelRate) op.cancelAfterMs = Math.floor(random() * 4000);
  if (o.cancelRate > 0 && ctx.plan.length > 0 && !ctx.plan.some((op) => op.cancelAfterMs !== undefined)) {
    ctx.plan[Math.floor(random() * ctx.plan.length)]!.cancelAfterMs = Math.floor(random() * 4000); // a short run still cancels one
  }
}

/**
 * Phase 2, planned once phase 1 is over: per workspace a restore to a hand-made snapshot that differs
 * from what it holds now (so a restore that did nothing shows), remembering what it held.
 */
export function planPhase2(ctx: ChaosContext): void {
  ctx.phase2Plan = ctx.workspaceIds.map((workspaceId, i) => {
    const files: Files = { ...ctx.stack.emu.state.workspace(workspaceId)!.files };
    ctx.preRestoreFiles.set(workspaceId, files);
    const made = ctx.handMade.get(workspaceId)!;
    const target = made.find((m) => !sameFiles(m.files, files)) ?? made[0]!;
    return restoreOf(ctx, ctx.phase1Count + i, 2, workspaceId, target);
  });
}
