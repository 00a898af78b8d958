import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { z } from 'zod';
import {
  BACKUP_NAME_SUFFIX,
  BackupFleetInput,
  BackupWorkspaceInput,
  DEFAULT_BACKUP_PREFIX,
  MEMO_KEYS,
  type RetentionPolicy,
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  parseDuration,
  scheduleIds,
  slug,
  type Operation,
} from '../domain/index.js';
import { scheduleUrl, workflowUrl } from './connection.js';
import type { RigsnapClient } from './rigsnap-client.js';
import { RigsnapError, invalidInput, validate, validateField } from './errors.js';
import {
  BACKUP_PREFIX,
  BackupScheduleOptions,
  FLEET_PREFIX,
  FleetScheduleOptions,
  Note,
  OVERLAP_POLICIES,
  fmtMs,
  pad2,
  resolveScheduleId,
  type BackfillOptions,
  type OverlapPolicy,
  type ScheduleUpdate,
} from './schedule-options.js';

export {
  BackupScheduleOptions,
  FleetName,
  FleetScheduleOptions,
  OVERLAP_POLICIES,
  fleetScheduleId,
  resolveScheduleId,
  type BackfillOptions,
  type OverlapPolicy,
  type ScheduleUpdate,
} from './schedule-options.js';

const workspaceIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.workspaceId, SearchAttributeType.KEYWORD);
const operationKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.operation, SearchAttributeType.KEYWORD);


// ---- views --------------------------------------------------------------------------------------

export interface ScheduleRun {
  scheduledAt: string;
  startedAt: string;
  workflowId: string;
  runId: string;
  url: string;
  /** RUNNING, COMPLETED, FAILED…; null if the run is no longer visible. */
  status: string | null;
}

export interface ScheduleInfo {
  scheduleId: string;
  url: string;
  kind: 'workspace' | 'fleet';
  workspaceId: string | null;
  fleetName: string | null;
  workspaceIds: string[] | null;
  concurrency: number | null;
  at: string[];
  timezone: string;
  jitter: string | null;
  catchupWindow: string;
  pauseOnFailure: boolean;
  overlap: string;
  namePrefix: string;
  retention: z.output<typeof RetentionPolicy> | null;
  paused: boolean;
  /** What the schedule does, in one sentence (also the first line of the schedule's note in the Temporal UI). */
  description: string;
  /** The note a person gave (create/update/pause/unpause --note). */
  note: string | null;
  nextRuns: string[];
  recentRuns: ScheduleRun[];
  running: Array<{ workflowId: string; runId: string; url: string }>;
  actionsTaken: number;
  missedCatchupWindow: number;
  skippedOverlap: number;
  createdAt: string;
  updatedAt: string | null;
}

export interface ScheduleListItem {
  scheduleId: string;
  url: string;
  kind: 'workspace' | 'fleet';
  workspaceId: string | null;
  fleetName: string | null;
  paused: boolean;
  description: string | null;
  note: string | null;
  nextRun: string | null;
  /** The schedule's timezone (for showing its times), when the listing carries it. */
  timezone: string | null;
  lastRun: { scheduledAt: string; workflowId: string } | null;
}

export interface TriggerResult {
  scheduleId: string;
  /** The run the trigger started; null if it was skipped (a backup was still running) or not seen yet. */
  run: ScheduleRun | null;
  skipped: boolean;
}

function toIso(d: Date | string, field: string): Date {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) throw invalidInput(`${field}: must be a date and time such as "2026-04-01T00:00:00Z"`, [field]);
  return date;
}

type ParsedWorkspace = z.output<typeof BackupScheduleOptions>;
type ParsedFleet = z.output<typeof FleetScheduleOptions>;
type ParsedDefinition = ({ kind: 'workspace' } & ParsedWorkspace) | ({ kind: 'fleet' } & ParsedFleet);

/**
 * Temporal Schedules for rigsnap: one per workspace (`rigsnap-backup-<ws>` running backupWorkspace) and
 * one per named fleet (`rigsnap-fleet-<name>` running backupFleet). Create refuses an existing schedule
 * (ScheduleExists): changing one is `update`, which changes only what it is given.
 */
export class RigsnapSchedules {
  constructor(private readonly rigsnap: RigsnapClient) {}

  private get client() {
    return this.rigsnap.temporal;
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

  /** Changes some settings of an existing schedule (a workspace id or a schedule id); the rest stay. */
  async update(target: string, changes: ScheduleUpdate): Promise<ScheduleInfo> {
    const scheduleId = resolveScheduleId(target);
    const current = definitionOf(await this.rawDescribe(scheduleId));
    const merged: Record<string, unknown> = { ...current };
    for (const [k, val] of Object.entries(changes)) {
      if (val === undefined) continue;
      if (val === null) delete merged[k];
      else merged[k] = val;
    }
    const { kind, ...rest } = merged as ParsedDefinition;
    if (kind === 'workspace' && (changes.workspaceIds !== undefined || changes.concurrency !== undefined)) {
      throw invalidInput('workspaceIds, concurrency: only fleet schedules have them', ['workspaceIds', 'concurrency'].filter((f) => f in changes));
    }
    const def: ParsedDefinition =
      kind === 'fleet' ? { kind, ...validate(FleetScheduleOptions, rest) } : { kind, ...validate(BackupScheduleOptions, rest) };
    const opts = this.build(def);
    await this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).update(() => toUpdate(opts)));
    return this.describe(scheduleId);
  }

  async describe(target: string): Promise<ScheduleInfo> {
    const scheduleId = resolveScheduleId(target);
    const desc = await this.rawDescribe(scheduleId);
    const def = definitionOf(desc);
    const { note } = splitNote(desc.state.note);
    const ns = this.rigsnap.namespace;
    const ui = this.rigsnap.uiUrl;
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
          url: workflowUrl(ui, ns, workflowId, runId),
          status,
        };
      }),
    );
    const at = Array.isArray(def.at) ? def.at : [def.at];
    return {
      scheduleId,
      url: scheduleUrl(ui, ns, scheduleId),
      kind: def.kind,
      workspaceId: def.kind === 'workspace' ? def.workspaceId : null,
      fleetName: def.kind === 'fleet' ? def.name : null,
      workspaceIds: def.kind === 'fleet' ? def.workspaceIds : null,
      concurrency: def.kind === 'fleet' ? def.concurrency : null,
      at,
      timezone: def.timezone,
      jitter: def.jitter ?? null,
      catchupWindow: def.catchupWindow,
      pauseOnFailure: def.pauseOnFailure,
      overlap: desc.policies.overlap ?? 'SKIP',
      namePrefix: def.namePrefix,
      // As the backups apply it: a policy without its own timezone uses the schedule's.
      retention: def.retention ? { ...def.retention, timezone: def.retention.timezone ?? def.timezone } : null,
      paused: desc.state.paused,
      description: describeDefinition(def),
      note,
      nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
      recentRuns: recentRuns.sort((a, b) => b.startedAt.localeCompare(a.startedAt)), // newest first
      running: desc.info.runningActions.map((a) => ({
        workflowId: a.workflow.workflowId,
        runId: a.workflow.firstExecutionRunId,
        url: workflowUrl(ui, ns, a.workflow.workflowId, a.workflow.firstExecutionRunId),
      })),
      actionsTaken: desc.info.numActionsTaken,
      missedCatchupWindow: desc.info.numActionsMissedCatchupWindow,
      skippedOverlap: desc.info.numActionsSkippedOverlap,
      createdAt: desc.info.createdAt.toISOString(),
      updatedAt: desc.info.lastUpdatedAt?.toISOString() ?? null,
    };
  }

  /** rigsnap's schedules (workspace and fleet), from Temporal's visibility: a new one may take a moment to appear. */
  async list(): Promise<ScheduleListItem[]> {
    const items: ScheduleListItem[] = [];
    const ns = this.rigsnap.namespace;
    const ui = this.rigsnap.uiUrl;
    await this.rigsnap.call({}, async () => {
      for await (const s of this.client.schedule.list()) {
        const isWorkspace = s.scheduleId.startsWith(BACKUP_PREFIX);
        const isFleet = s.scheduleId.startsWith(FLEET_PREFIX);
        if (!isWorkspace && !isFleet) continue;
        const last = s.info.recentActions[s.info.recentActions.length - 1];
        const { description, note } = splitNote(s.state.note);
        items.push({
          scheduleId: s.scheduleId,
          url: scheduleUrl(ui, ns, s.scheduleId),
          kind: isFleet ? 'fleet' : 'workspace',
          workspaceId: isWorkspace ? s.scheduleId.slice(BACKUP_PREFIX.length) : null,
          fleetName: isFleet ? s.scheduleId.slice(FLEET_PREFIX.length) : null,
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
    await this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).pause(full));
  }

  /** Resumes a paused schedule; `note` replaces the schedule's note, which otherwise stays. */
  async unpause(target: string, note?: string): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    const n = note === undefined ? undefined : validateField('note', Note, note);
    const full = await this.noteWith(scheduleId, n);
    await this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).unpause(full));
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
    await this.rigsnap.call({ scheduleId }, () => handle.trigger(overlap));
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
            url: workflowUrl(this.rigsnap.uiUrl, this.rigsnap.namespace, workflowId, runId),
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
    await this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).backfill({ start, end, overlap }));
  }

  async delete(target: string): Promise<void> {
    const scheduleId = resolveScheduleId(target);
    await this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).delete());
  }

  // ---- internals --------------------------------------------------------------------------------

  private async rawDescribe(scheduleId: string): Promise<ScheduleDescription> {
    return this.rigsnap.call({ scheduleId }, () => this.client.schedule.getHandle(scheduleId).describe());
  }

  /**
   * Creates the schedule; refuses one that exists. A create used to replace an existing schedule with
   * its own defaults, silently dropping a retention policy and a timezone set before.
   */
  private async put(def: ParsedDefinition): Promise<ScheduleInfo & { created: boolean }> {
    const opts = this.build(def);
    await this.rigsnap.call({ scheduleId: opts.scheduleId }, async () => {
      try {
        await this.client.schedule.create(opts);
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        const [update, remove] =
          def.kind === 'fleet'
            ? [`rigsnap fleet schedule update ${def.name}`, `rigsnap fleet schedule delete ${def.name}`]
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

  /** The Temporal schedule for a definition: calendar spec in its timezone, SKIP overlap, catch-up window. */
  private build(def: ParsedDefinition): ScheduleOptions {
    const times = Array.isArray(def.at) ? def.at : [def.at];
    // The retention buckets follow the schedule's timezone unless the policy names its own.
    const retention = def.retention ? { ...def.retention, timezone: def.retention.timezone ?? def.timezone } : undefined;
    const operation: Operation = def.kind === 'fleet' ? 'fleet-backup' : 'backup';
    const scheduleId = def.kind === 'fleet' ? scheduleIds.fleet(def.name) : scheduleIds.backup(def.workspaceId);
    const args =
      def.kind === 'fleet'
        ? validate(BackupFleetInput, {
            workspaceIds: def.workspaceIds,
            concurrency: def.concurrency,
            namePrefix: def.namePrefix,
            ...(retention ? { retention } : {}),
          })
        : validate(BackupWorkspaceInput, { workspaceId: def.workspaceId, namePrefix: def.namePrefix, ...(retention ? { retention } : {}) });
    const searchAttributes: SearchAttributePair[] = [{ key: operationKey, value: operation }];
    if (def.kind === 'workspace') searchAttributes.push({ key: workspaceIdKey, value: def.workspaceId });
    return {
      scheduleId,
      spec: {
        calendars: times.map((t) => {
          const [h, m] = t.split(':').map(Number) as [number, number];
          return { hour: h, minute: m, comment: `every day at ${pad2(h)}:${pad2(m)} ${def.timezone}` };
        }),
        timezone: def.timezone,
        ...(def.jitter ? { jitter: parseDuration(def.jitter)! } : {}),
      },
      action: {
        type: 'startWorkflow',
        workflowType: def.kind === 'fleet' ? WORKFLOW_TYPES['fleet-backup'] : WORKFLOW_TYPES.backup,
        // Temporal appends the scheduled time to this id, one run per fire.
        workflowId: scheduleId,
        taskQueue: this.rigsnap.taskQueue,
        args: [args],
        // The backup names its date in the schedule's timezone.
        memo: { [MEMO_KEYS.timezone]: def.timezone },
        typedSearchAttributes: searchAttributes,
        staticSummary:
          def.kind === 'fleet'
            ? `scheduled backup of fleet "${def.name}" (${def.workspaceIds.length} workspaces)`
            : `scheduled backup of ${def.workspaceId}`,
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: parseDuration(def.catchupWindow)!,
        pauseOnFailure: def.pauseOnFailure,
      },
      typedSearchAttributes: searchAttributes,
      state: { paused: def.paused, note: composeNote(describeDefinition(def), def.note ?? null) },
    };
  }
}

/** One sentence about what a schedule does: the first line of its note, so the Temporal UI shows it. */
export function describeDefinition(def: ParsedDefinition): string {
  const times = (Array.isArray(def.at) ? def.at : [def.at]).join(', ');
  const what =
    def.kind === 'fleet'
      ? `backs up fleet ${def.name} (${def.workspaceIds.length} workspace${def.workspaceIds.length === 1 ? '' : 's'}, ${def.concurrency} at once)`
      : `backs up ${def.workspaceId}`;
  const r = def.retention;
  const keep: string[] = [];
  if (r?.keepLast !== undefined) keep.push(`the last ${r.keepLast}`);
  if (r?.keepDaily !== undefined) keep.push(`${r.keepDaily} daily`);
  if (r?.keepWeekly !== undefined) keep.push(`${r.keepWeekly} weekly`);
  if (r?.keepMonthly !== undefined) keep.push(`${r.keepMonthly} monthly`);
  if (r?.keepWithinDays !== undefined) keep.push(`all within ${r.keepWithinDays} days`);
  const retention = keep.length ? `keeps ${keep.join(', ')}` : 'keeps every backup (no retention)';
  return `${NOTE_MARK}${what} every day at ${times} ${def.timezone} as ${def.namePrefix}${BACKUP_NAME_SUFFIX}; ${retention}`;
}

/** Marks the first line of a schedule's note as rigsnap's description; what follows is a person's note. */
const NOTE_MARK = 'rigsnap: ';

export function composeNote(description: string, note: string | null): string {
  return note ? `${description}\n${note}` : description;
}

/** A schedule's note as rigsnap wrote it: the description line and the person's note (or a note set elsewhere). */
export function splitNote(raw: string | undefined): { description: string | null; note: string | null } {
  const text = raw ?? '';
  if (!text.startsWith(NOTE_MARK)) return { description: null, note: text || null };
  const nl = text.indexOf('\n');
  if (nl < 0) return { description: text, note: null };
  return { description: text.slice(0, nl), note: text.slice(nl + 1) || null };
}

function toUpdate(opts: ScheduleOptions): ScheduleUpdateOptions {
  return {
    spec: opts.spec,
    action: opts.action,
    ...(opts.policies ? { policies: opts.policies } : {}),
    ...(opts.typedSearchAttributes ? { typedSearchAttributes: opts.typedSearchAttributes } : {}),
    state: { paused: opts.state?.paused ?? false, ...(opts.state?.note !== undefined ? { note: opts.state.note } : {}) },
  };
}

/** Reads a schedule back into the options that make it, so an update can change a few and keep the rest. */
function definitionOf(desc: ScheduleDescription): ParsedDefinition {
  const action = desc.action;
  const input = (action.args?.[0] ?? {}) as Record<string, unknown>;
  const at = (desc.spec.calendars ?? []).map((c) => `${pad2(c.hour[0]?.start ?? 0)}:${pad2(c.minute[0]?.start ?? 0)}`);
  const common = {
    at: at.length === 1 ? at[0]! : at.length ? at : '03:00',
    timezone: desc.spec.timezone ?? 'UTC',
    namePrefix: (input.namePrefix as string | undefined) ?? DEFAULT_BACKUP_PREFIX,
    retention: input.retention as ParsedWorkspace['retention'],
    jitter: desc.spec.jitter ? fmtMs(desc.spec.jitter) : undefined,
    catchupWindow: fmtMs(desc.policies.catchupWindow),
    pauseOnFailure: desc.policies.pauseOnFailure,
    note: splitNote(desc.state.note).note ?? undefined,
    paused: desc.state.paused,
  };
  // A retention timezone equal to the schedule's is the one build() filled in: it follows the schedule,
  // so that `update --timezone` moves the retention buckets too. One that differs was chosen: it stays.
  if (common.retention?.timezone === common.timezone) {
    const { timezone: _followsSchedule, ...rest } = common.retention;
    common.retention = rest;
  }
  if (!common.retention) delete common.retention;
  if (!common.jitter) delete common.jitter;
  if (!common.note) delete common.note;
  if (action.workflowType === WORKFLOW_TYPES['fleet-backup'] || desc.scheduleId.startsWith(FLEET_PREFIX)) {
    return {
      kind: 'fleet',
      name: desc.scheduleId.startsWith(FLEET_PREFIX) ? desc.scheduleId.slice(FLEET_PREFIX.length) : slug(desc.scheduleId),
      workspaceIds: (input.workspaceIds as string[] | undefined) ?? [],
      concurrency: (input.concurrency as number | undefined) ?? 10,
      ...common,
    };
  }
  return {
    kind: 'workspace',
    workspaceId: (input.workspaceId as string | undefined) ?? desc.scheduleId.slice(BACKUP_PREFIX.length),
    ...common,
  };
}
