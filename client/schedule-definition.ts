import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleOptions, type ScheduleUpdateOptions } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { z } from 'zod';
import { WORKFLOW_TYPES, operationKey, workspaceIdKey } from '../contract/index.js';
import {
  BACKUP_NAME_SUFFIX,
  BackupFleetInput,
  BackupGroupInput,
  BackupWorkspaceInput,
  DEFAULT_BACKUP_PREFIX,
  DEFAULT_GROUP_BACKUP_PREFIX,
  MEMO_KEYS,
  parseDuration,
  priorityFor,
  scheduleIds,
  slug,
  type Operation,
} from '../domain/index.js';
import { formatSelector } from '../domain/enrollment.js';
import { validate } from './errors.js';
import {
  BACKUP_PREFIX,
  FLEET_PREFIX,
  GROUP_BACKUP_PREFIX,
  fmtMs,
  pad2,
  type BackupScheduleOptions,
  type FleetScheduleOptions,
  type GroupScheduleOptions,
} from './schedule-options.js';

/**
 * A backup schedule both ways: from its checked options to the Temporal schedule that runs it
 * (calendar, action, policies, note), and from a described Temporal schedule back to its options, so
 * an update changes a few settings and keeps the rest. No calls to Temporal here.
 */

export type ParsedWorkspace = z.output<typeof BackupScheduleOptions>;
export type ParsedFleet = z.output<typeof FleetScheduleOptions>;
export type ParsedGroup = z.output<typeof GroupScheduleOptions>;
export type ParsedDefinition = ({ kind: 'workspace' } & ParsedWorkspace) | ({ kind: 'fleet' } & ParsedFleet) | ({ kind: 'group' } & ParsedGroup);

/** The schedule id of a definition. */
export function scheduleIdOf(def: ParsedDefinition): string {
  return def.kind === 'fleet' ? scheduleIds.fleet(def.name) : def.kind === 'group' ? scheduleIds.group(def.group) : scheduleIds.backup(def.workspaceId);
}

/** Each kind's operation, workflow type and priority kind: a group's backup runs at a scheduled backup's level (3). */
const KIND = {
  workspace: { operation: 'backup', workflowType: WORKFLOW_TYPES.backup, priority: 'scheduled-backup' },
  fleet: { operation: 'fleet-backup', workflowType: WORKFLOW_TYPES['fleet-backup'], priority: 'fleet' },
  group: { operation: 'group-backup', workflowType: WORKFLOW_TYPES['group-backup'], priority: 'scheduled-backup' },
} as const satisfies Record<ParsedDefinition['kind'], { operation: Operation; workflowType: string; priority: 'scheduled-backup' | 'fleet' }>;

/** The action's input: the workflow input, checked by its own schema. */
function actionArgs(def: ParsedDefinition, retention: ParsedWorkspace['retention']): unknown {
  if (def.kind === 'group') return validate(BackupGroupInput, { group: def.group, namePrefix: def.namePrefix, ...(retention ? { retention } : {}) });
  const stop = announcedStopArgs(def);
  if (def.kind === 'fleet')
    return validate(BackupFleetInput, {
      ...(def.selector ? { selector: def.selector } : { workspaceIds: def.workspaceIds }),
      concurrency: def.concurrency,
      namePrefix: def.namePrefix,
      ...(retention ? { retention } : {}),
      ...stop,
    });
  return validate(BackupWorkspaceInput, { workspaceId: def.workspaceId, namePrefix: def.namePrefix, ...(retention ? { retention } : {}), ...stop });
}

function staticSummaryOf(def: ParsedDefinition): string {
  if (def.kind === 'fleet') return `scheduled backup of fleet "${def.name}" (${fleetMembers(def)})`;
  if (def.kind === 'group') return `scheduled backup of group ${def.group} as one set`;
  return `scheduled backup of ${def.workspaceId}`;
}

/**
 * The Temporal schedule for a definition: calendar spec in its timezone, SKIP overlap, catch-up window.
 * The action's `priority`: @temporalio/client 1.24 encodes it on create and update and decodes it on
 * describe, but its ScheduleOptions type leaves it out, hence the cast (checked by the schedule tests).
 */
export function scheduleOptionsFor(def: ParsedDefinition, taskQueue: string): ScheduleOptions {
  const times = Array.isArray(def.at) ? def.at : [def.at];
  // The retention buckets follow the schedule's timezone unless the policy names its own.
  const retention = def.retention ? { ...def.retention, timezone: def.retention.timezone ?? def.timezone } : undefined;
  const { operation, workflowType, priority } = KIND[def.kind];
  const scheduleId = scheduleIdOf(def);
  const args = actionArgs(def, retention);
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
      workflowType,
      // Temporal appends the scheduled time to this id, one run per fire.
      workflowId: scheduleId,
      taskQueue,
      args: [args],
      // The backup names its date in the schedule's timezone.
      memo: { [MEMO_KEYS.timezone]: def.timezone },
      typedSearchAttributes: searchAttributes,
      staticSummary: staticSummaryOf(def),
      // Behind on-demand operations; a fleet's children take the fleet's (workflows/backup-fleet.ts), a group's set its backup's.
      priority: priorityFor(priority, def, scheduleId),
    } as ScheduleOptions['action'],
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: parseDuration(def.catchupWindow)!,
      pauseOnFailure: def.pauseOnFailure,
    },
    typedSearchAttributes: searchAttributes,
    state: { paused: def.paused, note: composeNote(describeDefinition(def), def.note ?? null) },
  };
}

/** The priority a definition's runs get, as ScheduleInfo shows it. */
export function priorityView(def: ParsedDefinition): { priorityKey: number; fairnessKey: string | null; fairnessWeight: number } {
  const p = priorityFor(KIND[def.kind].priority, def, scheduleIdOf(def));
  return { priorityKey: p.priorityKey, fairnessKey: p.fairnessKey ?? null, fairnessWeight: p.fairnessWeight ?? 1 };
}

/**
 * The action input's notice, window, quiet hours and snooze cap: present only when the schedule asks
 * for a notice or quiet hours (or a window), so a schedule without them starts exactly the backups it
 * always did. The window defaults to the catch-up window: a run that may still start that late may
 * still stop the workspace that late.
 */
export function announcedStopArgs(def: ParsedDefinition): Record<string, unknown> {
  if (def.kind === 'group') return {};
  const notice = def.notice !== undefined && (parseDuration(def.notice) ?? 0) > 0 ? def.notice : undefined;
  const quiet = def.quietHours?.length ? def.quietHours : undefined;
  if (!notice && !quiet && def.window === undefined) return {};
  return {
    ...(notice ? { notice } : {}),
    window: def.window ?? def.catchupWindow,
    ...(quiet ? { quietHours: quiet } : {}),
    ...(def.maxSnooze !== undefined ? { maxSnooze: def.maxSnooze } : {}),
  };
}

/** Whom a fleet backs up: `3 workspaces`, or `the enrolled workspaces matching team=ml` (resolved at each run). */
export function fleetMembers(def: ParsedFleet): string {
  if (def.selector) return `the enrolled workspaces matching ${formatSelector(def.selector)}`;
  const n = def.workspaceIds?.length ?? 0;
  return `${n} workspace${n === 1 ? '' : 's'}`;
}

/** One sentence about what a schedule does: the first line of its note, so the Temporal UI shows it. */
export function describeDefinition(def: ParsedDefinition): string {
  const times = (Array.isArray(def.at) ? def.at : [def.at]).join(', ');
  const what =
    def.kind === 'fleet'
      ? `backs up fleet ${def.name} (${fleetMembers(def)}, ${def.concurrency} at once)`
      : def.kind === 'group'
        ? `backs up group ${def.group} as one set`
        : `backs up ${def.workspaceId}`;
  const r = def.retention;
  const keep: string[] = [];
  if (r?.keepLast !== undefined) keep.push(`the last ${r.keepLast}${def.kind === 'group' ? ' sets' : ''}`);
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

export function toUpdate(opts: ScheduleOptions): ScheduleUpdateOptions {
  return {
    spec: opts.spec,
    action: opts.action,
    ...(opts.policies ? { policies: opts.policies } : {}),
    ...(opts.typedSearchAttributes ? { typedSearchAttributes: opts.typedSearchAttributes } : {}),
    state: { paused: opts.state?.paused ?? false, ...(opts.state?.note !== undefined ? { note: opts.state.note } : {}) },
  };
}

/**
 * The priority overrides a schedule was made with, read from its action: a level other than its kind's
 * default, a fairness key other than the schedule id, a weight. Schedules made before priorities have none.
 */
function overridesOf(desc: ScheduleDescription): { priority?: number; team?: string; weight?: number } {
  const p = desc.action.priority;
  const fleet = desc.action.workflowType === WORKFLOW_TYPES['fleet-backup'];
  const defaults = priorityFor(fleet ? 'fleet' : 'scheduled-backup', {}, desc.scheduleId);
  // A group's backup takes the scheduled-backup level, like a workspace's.
  return {
    ...(p?.priorityKey && p.priorityKey !== defaults.priorityKey ? { priority: p.priorityKey } : {}),
    ...(p?.fairnessKey && p.fairnessKey !== defaults.fairnessKey ? { team: p.fairnessKey } : {}),
    ...(p?.fairnessWeight ? { weight: p.fairnessWeight } : {}),
  };
}

/** Reads a schedule back into the options that make it, so an update can change a few and keep the rest. */
export function definitionOf(desc: ScheduleDescription): ParsedDefinition {
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
    ...overridesOf(desc),
  };
  // A retention timezone equal to the schedule's is the one build() filled in: it follows the schedule,
  // so that `update --timezone` moves the retention buckets too. One that differs was chosen: it stays.
  if (common.retention?.timezone === common.timezone) {
    const { timezone: _followsSchedule, ...rest } = common.retention;
    common.retention = rest;
  }
  // The same for the window: one equal to the catch-up window follows it.
  const stop = {
    notice: input.notice as string | undefined,
    window:
      input.window === common.catchupWindow || (typeof input.window === 'string' && parseDuration(input.window) === desc.policies.catchupWindow)
        ? undefined
        : (input.window as string | undefined),
    quietHours: input.quietHours as string[] | undefined,
    maxSnooze: input.maxSnooze as string | undefined,
  };
  for (const [k, v] of Object.entries(stop)) if (v !== undefined) (common as Record<string, unknown>)[k] = v;
  if (!common.retention) delete common.retention;
  if (!common.jitter) delete common.jitter;
  if (!common.note) delete common.note;
  if (action.workflowType === WORKFLOW_TYPES['group-backup'] || desc.scheduleId.startsWith(GROUP_BACKUP_PREFIX)) {
    return {
      kind: 'group',
      group: (input.group as string | undefined) ?? desc.scheduleId.slice(GROUP_BACKUP_PREFIX.length),
      ...common,
      namePrefix: (input.namePrefix as string | undefined) ?? DEFAULT_GROUP_BACKUP_PREFIX,
    };
  }
  if (action.workflowType === WORKFLOW_TYPES['fleet-backup'] || desc.scheduleId.startsWith(FLEET_PREFIX)) {
    return {
      kind: 'fleet',
      name: desc.scheduleId.startsWith(FLEET_PREFIX) ? desc.scheduleId.slice(FLEET_PREFIX.length) : slug(desc.scheduleId),
      ...(input.selector ? { selector: input.selector as Record<string, string> } : { workspaceIds: (input.workspaceIds as string[] | undefined) ?? [] }),
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
