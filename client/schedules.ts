/** RigsnapSchedules: create, update, list, trigger, backfill and delete the backup, fleet and audit schedules. */
import { ScheduleAlreadyRunning, type ScheduleDescription } from '@temporalio/client';
import { z } from 'zod';
import type { TemporalContext } from './context.js';
import { showGroup } from './groups.js';
import { RigsnapError, invalidInput, validate, validateField } from './errors.js';
import { DEFAULT_MAX_SNOOZE } from '../domain/index.js';
import {
  announcedStopArgs,
  composeNote,
  definitionOf,
  describeDefinition,
  priorityView,
  scheduleOptionsFor,
  splitNote,
  toUpdate,
  type ParsedDefinition,
} from './schedule-definition.js';
import {
  BACKUP_PREFIX,
  BackupScheduleOptions,
  FLEET_PREFIX,
  FleetScheduleOptions,
  GROUP_BACKUP_PREFIX,
  GroupScheduleOptions,
  Note,
  OVERLAP_POLICIES,
  resolveScheduleId,
  type BackfillOptions,
  type OverlapPolicy,
  type ScheduleUpdate,
} from './schedule-options.js';
import type { ScheduleInfo, ScheduleListItem, ScheduleRun, TriggerResult } from './views.js';

export {
  BackupScheduleOptions,
  FleetName,
  FleetScheduleOptions,
  GroupScheduleOptions,
  OVERLAP_POLICIES,
  fleetScheduleId,
  groupScheduleId,
  resolveScheduleId,
  type BackfillOptions,
  type OverlapPolicy,
  type ScheduleUpdate,
} from './schedule-options.js';
export { composeNote, describeDefinition, splitNote } from './schedule-definition.js';
export type { ScheduleInfo, ScheduleListItem, ScheduleRun, TriggerResult } from './views.js';

function toIso(d: Date | string, field: string): Date {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) throw invalidInput(`${field}: must be a date and time such as "2026-04-01T00:00:00Z"`, [field]);
  return date;
}

/**
 * Temporal Schedules for rigsnap: one per workspace (`rigsnap-backup-<ws>` running backupWorkspace) and
 * one per named fleet (`rigsnap-fleet-<name>` running backupFleet). Create refuses an existing schedule
 * (ScheduleExists): changing one is `update`, which changes only what it is given.
 */
export class RigsnapSchedules {
  constructor(private readonly ctx: TemporalContext) {}

  private get client() {
    return this.ctx.client;
  }

  /** Creates the backup schedule of a workspace; throws ScheduleExists if it has one (use `update`). */
  async create(options: BackupScheduleOptions): Promise<ScheduleInfo & { created: boolean }> {
    const v = validate(BackupScheduleOptions, options);
    return this.put({ kind: 'workspace', ...v });
  }

  /** Creates a fleet schedule: one backupFleet run over all the workspaces; throws ScheduleExists if it exists. */
  async createFleet(options: FleetScheduleOptions): Promise<ScheduleInfo & { created: boolean }> {
    const v = validate(FleetScheduleOptions, options);
    return this.put({ kind: 'fleet', ...v });
  }

  /**
   * Creates a group's schedule (`rigsnap-group-backup-<group>`): each run backs the group up as one set
   * (backupGroup) and its retention counts sets. Refuses a group that does not exist (NotFound) before
   * anything is created; throws ScheduleExists if the group has one.
   */
  async createGroup(options: GroupScheduleOptions): Promise<ScheduleInfo & { created: boolean }> {
    const v = validate(GroupScheduleOptions, options);
    if ((await showGroup(this.ctx, v.group)).exists === false)
      throw new RigsnapError({
        type: 'NotFound',
        message: `group ${v.group} does not exist; no schedule was created`,
        advice: 'create it with `rigsnap group create <group> --members …`, or see `rigsnap group list`',
      });
    return this.put({ kind: 'group', ...v });
  }

  /** Changes some settings of an existing schedule (a workspace id or a schedule id); the rest stay. */
  async update(target: string, changes: ScheduleUpdate): Promise<ScheduleInfo> {
    const scheduleId = resolveScheduleId(target);
    const current = definitionOf(await this.rawDescribe(scheduleId));
    const merged: Record<string, unknown> = { ...current };
    // A fleet has workspaces or a selector: setting one replaces the other.
    if (changes.selector) delete merged.workspaceIds;
    if (changes.workspaceIds) delete merged.selector;
    for (const [k, val] of Object.entries(changes)) {
      if (val === undefined) continue;
      if (val === null) delete merged[k];
      else merged[k] = val;
    }
    const { kind, ...rest } = merged as ParsedDefinition;
    if (kind !== 'fleet' && (changes.workspaceIds !== undefined || changes.concurrency !== undefined || changes.selector !== undefined)) {
      throw invalidInput(
        'workspaceIds, selector, concurrency: only fleet schedules have them',
        ['workspaceIds', 'selector', 'concurrency'].filter((f) => f in changes),
      );
    }
    const def: ParsedDefinition =
      kind === 'fleet'
        ? { kind, ...validate(FleetScheduleOptions, rest) }
        : kind === 'group'
          ? { kind, ...validate(GroupScheduleOptions, rest) }
          : { kind, ...validate(BackupScheduleOptions, rest) };
    const opts = scheduleOptionsFor(def, this.ctx.taskQueue);
    await this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).update(() => toUpdate(opts)));
    return this.describe(scheduleId);
  }

  async describe(target: string): Promise<ScheduleInfo> {
    const scheduleId = resolveScheduleId(target);
    const desc = await this.rawDescribe(scheduleId);
    const def = definitionOf(desc);
    const { note } = splitNote(desc.state.note);
    const recentRuns = await Promise.all(
      desc.info.recentActions.map(async (a): Promise<ScheduleRun> => {
        const { workflowId, firstExecutionRunId: runId } = a.action.workflow;
        const status = await this.client.workflow
          .getHandle(workflowId, runId)
          .describe()
          .then((d) => d.status.name as string)
          .catch(() => null);
        return {
          scheduledAt: a.scheduledAt.toISOString(),
          startedAt: a.takenAt.toISOString(),
          workflowId,
          runId,
          url: this.ctx.workflowUrl(workflowId, runId),
          status,
        };
      }),
    );
    const at = Array.isArray(def.at) ? def.at : [def.at];
    return {
      scheduleId,
      url: this.ctx.scheduleUrl(scheduleId),
      kind: def.kind,
      workspaceId: def.kind === 'workspace' ? def.workspaceId : null,
      fleetName: def.kind === 'fleet' ? def.name : null,
      group: def.kind === 'group' ? def.group : null,
      workspaceIds: def.kind === 'fleet' ? (def.workspaceIds ?? null) : null,
      selector: def.kind === 'fleet' ? (def.selector ?? null) : null,
      concurrency: def.kind === 'fleet' ? def.concurrency : null,
      at,
      timezone: def.timezone,
      jitter: def.jitter ?? null,
      catchupWindow: def.catchupWindow,
      pauseOnFailure: def.pauseOnFailure,
      stopNotice: stopNoticeOf(def),
      overlap: desc.policies.overlap ?? 'SKIP',
      namePrefix: def.namePrefix,
      // As the backups apply it: a policy without its own timezone uses the schedule's.
      retention: def.retention ? { ...def.retention, timezone: def.retention.timezone ?? def.timezone } : null,
      priority: priorityView(def),
      paused: desc.state.paused,
      description: describeDefinition(def),
      note,
      nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
      recentRuns: recentRuns.sort((a, b) => b.startedAt.localeCompare(a.startedAt)), // newest first
      running: desc.info.runningActions.map((a) => ({
        workflowId: a.workflow.workflowId,
        runId: a.workflow.firstExecutionRunId,
        url: this.ctx.workflowUrl(a.workflow.workflowId, a.workflow.firstExecutionRunId),
      })),
      actionsTaken: desc.info.numActionsTaken,
      missedCatchupWindow: desc.info.numActionsMissedCatchupWindow,
      skippedOverlap: desc.info.numActionsSkippedOverlap,
      createdAt: desc.info.createdAt.toISOString(),
      updatedAt: desc.info.lastUpdatedAt?.toISOString() ?? null,
    };
  }

  /** rigsnap's schedules (workspace, fleet and group), from Temporal's visibility: a new one may take a moment to appear. */
  async list(): Promise<ScheduleListItem[]> {
    const items: ScheduleListItem[] = [];
    await this.ctx.call({}, async () => {
      for await (const s of this.client.schedule.list()) {
        const isWorkspace = s.scheduleId.startsWith(BACKUP_PREFIX);
        const isFleet = s.scheduleId.startsWith(FLEET_PREFIX);
        const isGroup = s.scheduleId.startsWith(GROUP_BACKUP_PREFIX);
        if (!isWorkspace && !isFleet && !isGroup) continue;
        const last = s.info.recentActions[s.info.recentActions.length - 1];
        const { description, note } = splitNote(s.state.note);
        items.push({
          scheduleId: s.scheduleId,
          url: this.ctx.scheduleUrl(s.scheduleId),
          kind: isFleet ? 'fleet' : isGroup ? 'group' : 'workspace',
          workspaceId: isWorkspace ? s.scheduleId.slice(BACKUP_PREFIX.length) : null,
          fleetName: isFleet ? s.scheduleId.slice(FLEET_PREFIX.length) : null,
          group: isGroup ? s.scheduleId.slice(GROUP_BACKUP_PREFIX.length) : null,
          paused: s.state.paused,
          description,
          note,
          nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
          timezone: s.spec?.timezone ?? null,
          lastRun: last ? { scheduledAt: last.scheduledAt.toISOString(), workflowId: last.action.workflow.workflowId } : null,
        });
      }
    });
    return items.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
  }

  /** Pauses a schedule; `note` (why) replaces the schedule's note, which otherwise stays. */
  async pause(target: string, note?: string): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    const n = note === undefined ? undefined : validateField('note', Note, note);
    const full = await this.noteWith(scheduleId, n);
    await this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).pause(full));
  }

  /** Resumes a paused schedule; `note` replaces the schedule's note, which otherwise stays. */
  async unpause(target: string, note?: string): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    const n = note === undefined ? undefined : validateField('note', Note, note);
    const full = await this.noteWith(scheduleId, n);
    await this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).unpause(full));
  }

  /** The schedule's note (description first) with a person's note replaced, or kept when none is given. */
  private async noteWith(scheduleId: string, note: string | undefined): Promise<string> {
    const desc = await this.rawDescribe(scheduleId);
    return composeNote(describeDefinition(definitionOf(desc)), note ?? splitNote(desc.state.note).note);
  }

  /**
   * Runs the schedule's action now (with the schedule's overlap policy unless given). Waits up to
   * `waitMs` to report the run it started, or that it was skipped because a backup was still running.
   */
  async trigger(target: string, opts: { overlap?: OverlapPolicy; waitMs?: number } = {}): Promise<TriggerResult> {
    const scheduleId = resolveScheduleId(target);
    const handle = this.client.schedule.getHandle(scheduleId);
    const before = await this.rawDescribe(scheduleId);
    const overlap = opts.overlap === undefined ? undefined : validateField('overlap', z.enum(OVERLAP_POLICIES), opts.overlap);
    await this.ctx.call({ scheduleId }, () => handle.trigger(overlap));
    const deadline = Date.now() + (opts.waitMs ?? 10_000);
    for (;;) {
      const now = await this.rawDescribe(scheduleId);
      if (now.info.numActionsTaken > before.info.numActionsTaken) {
        const a = now.info.recentActions[now.info.recentActions.length - 1]!;
        const { workflowId, firstExecutionRunId: runId } = a.action.workflow;
        return {
          scheduleId,
          skipped: false,
          run: {
            scheduledAt: a.scheduledAt.toISOString(),
            startedAt: a.takenAt.toISOString(),
            workflowId,
            runId,
            url: this.ctx.workflowUrl(workflowId, runId),
            status: 'RUNNING',
          },
        };
      }
      if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap) return { scheduleId, skipped: true, run: null };
      if (Date.now() >= deadline) return { scheduleId, skipped: false, run: null };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs the schedule for every time it would have fired between start and end (e.g. after an outage). */
  async backfill(target: string, opts: BackfillOptions): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    const start = toIso(opts.start, 'start');
    const end = toIso(opts.end, 'end');
    if (end <= start) throw invalidInput('end: must be after start', ['end']);
    const overlap = validateField('overlap', z.enum(OVERLAP_POLICIES).default('BUFFER_ALL'), opts.overlap);
    await this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).backfill({ start, end, overlap }));
  }

  async delete(target: string): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    await this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).delete());
  }

  // ---- internals --------------------------------------------------------------------------------

  private async rawDescribe(scheduleId: string): Promise<ScheduleDescription> {
    return this.ctx.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).describe());
  }

  /**
   * Creates the schedule; refuses one that exists. A create used to replace an existing schedule with
   * its own defaults, silently dropping a retention policy and a timezone set before.
   */
  private async put(def: ParsedDefinition): Promise<ScheduleInfo & { created: boolean }> {
    const opts = scheduleOptionsFor(def, this.ctx.taskQueue);
    await this.ctx.call({ scheduleId: opts.scheduleId }, async () => {
      try {
        await this.client.schedule.create(opts);
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        const [update, remove] =
          def.kind === 'fleet'
            ? [`rigsnap fleet schedule update ${def.name}`, `rigsnap fleet schedule delete ${def.name}`]
            : def.kind === 'group'
              ? [`rigsnap schedule update ${opts.scheduleId}`, `rigsnap schedule delete ${opts.scheduleId}`]
              : [`rigsnap schedule update ${def.workspaceId}`, `rigsnap schedule delete ${def.workspaceId}`];
        throw new RigsnapError({
          type: 'ScheduleExists',
          scheduleId: opts.scheduleId,
          message: `schedule ${opts.scheduleId} already exists; nothing changed`,
          advice: `change it with \`${update} [options]\` (only the options you give change), or delete it first (\`${remove}\`)`,
        });
      }
    });
    return { ...(await this.describe(opts.scheduleId)), created: true };
  }
}

/** What a schedule announces before its stops, as its backups apply it (null: nothing, today's behaviour). */
function stopNoticeOf(def: ParsedDefinition): ScheduleInfo['stopNotice'] {
  const args = announcedStopArgs(def) as { notice?: string; window?: string; quietHours?: string[]; maxSnooze?: string };
  if (!Object.keys(args).length) return null;
  return { notice: args.notice ?? null, window: args.window ?? null, quietHours: args.quietHours ?? [], maxSnooze: args.maxSnooze ?? DEFAULT_MAX_SNOOZE };
}
