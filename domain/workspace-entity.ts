/**
 * The workspace entity's rules (workflows/workspace-entity.ts is the shell): its durable, versioned
 * state and a pure `step(state, event) → {state, effects, answer}`. The state has one section per
 * feature; today only `lock` has rules, the others are typed and empty so that holds, baselines,
 * labels, notices and groups are added as new sections and new events without touching the lock's.
 *
 * The lock's invariants, which the property test in test/unit/workspace-entity.test.ts checks:
 * - at most one holder;
 * - every request is answered once: granted, denied, or (from the queue) released;
 * - a holder that closed without releasing owes a repair, and nothing is granted until every repair
 *   owed is settled (done, not needed, abandoned by an operator, or the workspace is gone);
 * - nothing is granted while an old `rigsnap-lock-<id>` run may still hold the workspace.
 */
import { isEnrollmentEvent, labelTerms, stepEnrollment, type EnrollmentEvent, type LabelsSection } from './enrollment.js';
import { isHoldsEvent, stepHolds, type BaselineSection, type Hold, type HoldsAnswer, type HoldsEvent, type HoldsSection } from './holds.js';
import type { LockHolder, LockRequest, LockState } from './lock.js';

export type { BaselineSection, HoldsSection } from './holds.js';
export type { LabelsSection } from './enrollment.js';

/** The failure type a repair ends with when Rigbox confirms the workspace is gone: the repair is settled. */
export const WORKSPACE_GONE = 'WorkspaceGone';

export const ENTITY_STATE_VERSION = 1;

/** The entity's input: its workspace, and the state a successor (continue-as-new, recovery) starts from. */
export interface WorkspaceEntityInput {
  workspaceId: string;
  /** Any earlier shape of the state (domain/workspace-entity.ts migrateEntityState). */
  state?: unknown;
  /** The closed run a recovery read `state` from. */
  recoveredFrom?: string;
  timing?: { holderCheckMs?: number; legacyCheckMs?: number; maxOperationsPerRun?: number };
}

/** A request to hold the workspace; `requestedBy` is the client identity that started the operation. */
export interface EntityRequest extends LockRequest {
  requestedBy?: string;
  /** The requester takes a grant from the acquire's answer (no grant signal when granted at once), and the holds with it. */
  grantInAnswer?: boolean;
}
export interface EntityHolder extends EntityRequest {
  grantedAt: string;
}

/** A closed holder whose workspace may need starting again before anyone else gets it. */
export interface RepairOwed {
  requestId: string;
  workflowId: string;
  runId: string;
  operation: string;
  closedAt: string;
  /** `owed` until the shell has started its repair, then `running`. */
  phase: 'owed' | 'running';
}

/** A run that must release or close before anything is granted (carried over from an old lock's rebuild). */
export interface Blocker {
  workflowId: string;
  runId: string;
  why: string;
}

export interface LockSection {
  holder: EntityHolder | null;
  queue: EntityRequest[];
  repairs: RepairOwed[];
  blockers: Blocker[];
  /** Requests answered for good (released, denied, closed): a retry of one is refused, not queued again. */
  settled: string[];
  /**
   * The old lock workflow (`rigsnap-lock-<id>`): `unchecked` until described, `open` while a run of it
   * may hold the workspace, `closed` for good once seen closed (only operations from before the
   * entity used it, and they all had queued on it already).
   */
  legacyLock: 'unchecked' | 'open' | 'closed';
}

// Sections the next features fill. Typed now so that the state's shape is designed once.
export interface NoticesSection {
  items: Array<{ id: string; text: string; snoozedUntil: string | null }>;
}
export interface GroupsSection {
  names: string[];
}

export interface EntityState {
  v: typeof ENTITY_STATE_VERSION;
  workspaceId: string;
  lock: LockSection;
  holds: HoldsSection;
  baseline: BaselineSection;
  labels: LabelsSection;
  notices: NoticesSection;
  groups: GroupsSection;
}

/** How many settled request ids the entity remembers (a retry older than that is long gone). */
export const REMEMBER_SETTLED = 200;

export function emptyEntityState(workspaceId: string): EntityState {
  return {
    v: ENTITY_STATE_VERSION,
    workspaceId,
    lock: { holder: null, queue: [], repairs: [], blockers: [], settled: [], legacyLock: 'unchecked' },
    holds: { items: [] },
    baseline: { snapshotId: null },
    labels: { values: {} },
    notices: { items: [] },
    groups: { names: [] },
  };
}

/** The carried state of the old lock workflow (WorkspaceLockInput.state): the entity's "version 0". */
export interface LegacyLockCarried {
  holder: LockHolder | null;
  queue: LockRequest[];
  recentlyReleased: string[];
  blockedBy?: Blocker[];
}

/**
 * Any earlier shape to the current one: an entity's own state of any version, or the old lock's carried
 * state (which has no `v`). Unknown later versions are refused: a worker must never run newer state
 * with older rules.
 */
export function migrateEntityState(workspaceId: string, raw: unknown): EntityState {
  if (raw === undefined || raw === null) return emptyEntityState(workspaceId);
  const r = raw as Partial<EntityState> & Partial<LegacyLockCarried>;
  if (r.v === undefined) {
    const base = emptyEntityState(workspaceId);
    base.lock.holder = r.holder ?? null;
    base.lock.queue = [...(r.queue ?? [])];
    base.lock.settled = [...(r.recentlyReleased ?? [])].slice(-REMEMBER_SETTLED);
    base.lock.blockers = [...(r.blockedBy ?? [])];
    // The old lock carried this state, so it was the one granting: it is not open any more.
    base.lock.legacyLock = 'closed';
    return base;
  }
  if (r.v === ENTITY_STATE_VERSION) {
    const base = emptyEntityState(workspaceId);
    // Sections added later to version 1 default to empty rather than forcing a new version.
    return { ...base, ...(r as EntityState), lock: { ...base.lock, ...r.lock } };
  }
  throw new Error(`workspace entity state version ${String(r.v)} is newer than this worker understands (${String(ENTITY_STATE_VERSION)})`);
}

export type EntityEvent =
  /**
   * `grantInAnswer` (issue 24, actions-2026-12): a request granted at once learns it from the answer
   * (`holding`), and no grant signal follows; one granted later, from the queue, still gets the signal.
   */
  | { type: 'acquire'; request: EntityRequest; at: string; grantInAnswer?: boolean }
  | { type: 'release'; requestId: string; reason?: string; at: string }
  /** Describe found the holder's run (or a blocker's) closed without releasing. */
  | { type: 'holder-closed'; workflowId: string; runId: string; at: string }
  /** The grant could not be delivered: the requester closed before its turn, never touching the workspace. */
  | { type: 'requester-gone'; requestId: string; at: string }
  | { type: 'repair-started'; requestId: string; at: string }
  /** A repair ended: the workspace runs again, it was not owed, or Rigbox says the workspace is gone. */
  | { type: 'repair-settled'; requestId: string; outcome: 'restarted' | 'not-owed' | 'workspace-gone' | 'abandoned'; at: string }
  /** An operator abandoned the operation on purpose: no repair is owed for it. */
  | { type: 'abandon-honoured'; workflowId: string; at: string }
  | { type: 'legacy-lock'; open: boolean; at: string }
  /** A run starts from carried or recovered state: repairs cut short start over, the first in line may be granted. */
  | { type: 'resumed'; at: string }
  /** Holds, deletions and the baseline (domain/holds.ts). */
  | HoldsEvent
  /** Enrollment and labels (domain/enrollment.ts). */
  | EnrollmentEvent;

export type EntityEffect =
  | { type: 'grant'; request: EntityRequest }
  | { type: 'deny'; requestId: string; reason: string }
  | { type: 'restart'; repair: RepairOwed }
  | { type: 'notify'; text: string }
  /** Describe the old lock workflow and report with a `legacy-lock` event. */
  | { type: 'check-legacy-lock' };

/**
 * The answer to an acquire: the caller holds the workspace, waits at `position` (1 = next), or is refused.
 * A `holding` answer of an entity on actions-2026-12 carries the workspace's active holds at that moment:
 * a prune under this hold of the lock selects with them instead of asking (an activity and a query); a
 * hold placed later is still refused at deletion (the entity authorises every batch).
 */
export type AcquireAnswer = { status: 'holding'; holds?: Hold[] } | { status: 'queued'; position: number } | { status: 'denied'; reason: string };

export interface StepResult {
  state: EntityState;
  effects: EntityEffect[];
  answer?: AcquireAnswer;
  /** The answer to a holds event (domain/holds.ts). */
  holdsAnswer?: HoldsAnswer;
}

/** Temporal run ids: UUIDs. */
export const RUN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why an acquire is refused before it changes anything (the update's validator), or null. */
export function refuseAcquire(state: EntityState, request: EntityRequest): string | null {
  if (!request || typeof request.requestId !== 'string' || !request.requestId) return 'the request has no request id';
  if (typeof request.workflowId !== 'string' || typeof request.runId !== 'string' || !request.workflowId || !request.runId)
    return 'the request names no workflow run';
  // A run id that is not one would make the grant signal's command invalid, failing the entity's workflow task.
  if (!RUN_ID_PATTERN.test(request.runId)) return 'the run id is not a Temporal run id';
  if (request.workflowId.length > 1000) return 'the workflow id is too long';
  if (!request.requestId.startsWith(`${request.workflowId}/${request.runId}/`)) return 'the request id is not of the requesting run';
  if (state.lock.settled.includes(request.requestId)) return 'this request was already answered (released, denied or its run closed)';
  if (state.lock.repairs.some((r) => r.requestId === request.requestId)) return 'this request held the workspace and its run closed';
  return null;
}

/** Where a known request stands, or undefined if the entity does not know it. */
export function standing(state: EntityState, requestId: string): AcquireAnswer | undefined {
  if (state.lock.holder?.requestId === requestId) return { status: 'holding' };
  const i = state.lock.queue.findIndex((r) => r.requestId === requestId);
  return i >= 0 ? { status: 'queued', position: i + 1 } : undefined;
}

function clone(state: EntityState): EntityState {
  return {
    ...state,
    lock: {
      ...state.lock,
      queue: [...state.lock.queue],
      repairs: [...state.lock.repairs],
      blockers: [...state.lock.blockers],
      settled: [...state.lock.settled],
    },
  };
}

function settle(lock: LockSection, requestId: string): void {
  if (lock.settled.includes(requestId)) return;
  lock.settled.push(requestId);
  if (lock.settled.length > REMEMBER_SETTLED) lock.settled.splice(0, lock.settled.length - REMEMBER_SETTLED);
}

/** Whether the next in line may be granted: no holder, no repair owed, no blocker, no old lock open. */
export function mayGrant(state: EntityState): boolean {
  const l = state.lock;
  return !l.holder && l.repairs.length === 0 && l.blockers.length === 0 && l.legacyLock === 'closed';
}

/** Grants the first in line if nothing stands in the way, or asks for the old lock to be checked. */
function grantNext(state: EntityState, at: string, effects: EntityEffect[]): void {
  const l = state.lock;
  if (l.queue.length === 0 || l.holder) return;
  if (l.legacyLock !== 'closed') {
    if (!effects.some((e) => e.type === 'check-legacy-lock')) effects.push({ type: 'check-legacy-lock' });
    return;
  }
  if (!mayGrant(state)) return;
  const next = l.queue.shift()!;
  l.holder = { ...next, grantedAt: at };
  effects.push({ type: 'grant', request: next });
}

function acquire(state: EntityState, request: EntityRequest, at: string, effects: EntityEffect[], grantInAnswer = false): AcquireAnswer {
  // A retry of a request it knows gets where that request stands: one place per request id.
  const known = standing(state, request.requestId);
  if (known) return known;
  const refused = refuseAcquire(state, request);
  if (refused) {
    effects.push({ type: 'deny', requestId: request.requestId, reason: refused });
    settle(state.lock, request.requestId);
    return { status: 'denied', reason: refused };
  }
  state.lock.queue.push(request);
  grantNext(state, at, effects);
  const answer = standing(state, request.requestId)!;
  if (grantInAnswer && answer.status === 'holding') {
    const i = effects.findIndex((e) => e.type === 'grant' && e.request.requestId === request.requestId);
    if (i >= 0) effects.splice(i, 1);
  }
  return answer;
}

function release(state: EntityState, requestId: string): void {
  const l = state.lock;
  if (l.holder?.requestId === requestId) l.holder = null;
  const i = l.queue.findIndex((r) => r.requestId === requestId);
  if (i >= 0) l.queue.splice(i, 1); // left the queue before its turn (cancelled, failed)
  const b = l.blockers.findIndex((x) => requestId.startsWith(`${x.workflowId}/${x.runId}/`));
  if (b >= 0) l.blockers.splice(b, 1);
  settle(l, requestId);
}

function holderClosed(state: EntityState, workflowId: string, runId: string, at: string, effects: EntityEffect[]): void {
  const l = state.lock;
  const h = l.holder;
  if (h && h.workflowId === workflowId && h.runId === runId) {
    l.holder = null;
    settle(l, h.requestId);
    const repair: RepairOwed = { requestId: h.requestId, workflowId, runId, operation: h.operation, closedAt: at, phase: 'owed' };
    l.repairs.push(repair);
    effects.push({ type: 'restart', repair });
  }
  // Waiting requests of a closed run will never take their turn.
  for (const r of l.queue.filter((q) => q.workflowId === workflowId && q.runId === runId)) release(state, r.requestId);
  l.blockers = l.blockers.filter((b) => !(b.workflowId === workflowId && b.runId === runId));
}

/** The transition function. Pure: the same state and event always give the same result. */
export function step(previous: EntityState, event: EntityEvent): StepResult {
  if (isHoldsEvent(event)) {
    // Holds touch only their own sections: the lock's state and effects are unchanged.
    const r = stepHolds(previous.holds, previous.baseline, event);
    return { state: { ...previous, holds: r.holds, baseline: r.baseline }, effects: [], ...(r.answer ? { holdsAnswer: r.answer } : {}) };
  }
  if (isEnrollmentEvent(event)) {
    // Labels touch only their own section; the shell publishes them as the RigboxLabels search attribute.
    return { state: { ...previous, labels: stepEnrollment(previous.labels, event) }, effects: [] };
  }
  const state = clone(previous);
  const effects: EntityEffect[] = [];
  const l = state.lock;
  let answer: AcquireAnswer | undefined;
  switch (event.type) {
    case 'acquire':
      answer = acquire(state, event.request, event.at, effects, event.grantInAnswer);
      break;
    case 'release':
      release(state, event.requestId);
      break;
    case 'holder-closed':
      holderClosed(state, event.workflowId, event.runId, event.at, effects);
      break;
    case 'requester-gone':
      if (l.holder?.requestId === event.requestId) release(state, event.requestId);
      break;
    case 'repair-started':
      l.repairs = l.repairs.map((r) => (r.requestId === event.requestId ? { ...r, phase: 'running' } : r));
      break;
    case 'repair-settled':
      l.repairs = l.repairs.filter((r) => r.requestId !== event.requestId);
      if (event.outcome === 'workspace-gone')
        effects.push({ type: 'notify', text: `${state.workspaceId} is gone: the repair after ${event.requestId} is settled without a restart` });
      if (event.outcome === 'abandoned')
        effects.push({ type: 'notify', text: `${state.workspaceId} is left stopped: an operator abandoned the repair after ${event.requestId}` });
      break;
    case 'abandon-honoured':
      if (l.holder?.workflowId === event.workflowId) release(state, l.holder.requestId);
      // A repair already started runs to its end: the shell cannot take back a start in flight.
      l.repairs = l.repairs.filter((r) => !(r.workflowId === event.workflowId && r.phase === 'owed'));
      break;
    case 'legacy-lock':
      l.legacyLock = event.open ? 'open' : 'closed';
      break;
    case 'resumed':
      // A repair that was running when its run ended (terminated) may not have finished: do it again.
      l.repairs = l.repairs.map((r) => ({ ...r, phase: 'owed' }));
      for (const repair of l.repairs) effects.push({ type: 'restart', repair });
      break;
  }
  grantNext(state, event.at, effects);
  return { state, effects, ...(answer ? { answer } : {}) };
}

/** The old lock's view (the `lockState` query), so clients and tests that read it keep working. */
export function asLockState(state: EntityState): LockState {
  const l = state.lock;
  return {
    workspaceId: state.workspaceId,
    holder: l.holder,
    queue: [...l.queue],
    blockedBy: [
      ...l.blockers,
      ...l.repairs.map((r) => ({ workflowId: r.workflowId, runId: r.runId, why: 'closed without finishing; starting the workspace it stopped' })),
      ...(l.legacyLock === 'open' ? [{ workflowId: `rigsnap-lock-${state.workspaceId}`, runId: '', why: 'the old lock workflow still runs' }] : []),
    ],
  };
}

/** The entity's current details in the Temporal UI: who holds the workspace, who waits, what blocks. */
export function describeEntity(state: EntityState, alert?: string): string {
  const l = state.lock;
  const who = (r: EntityRequest) => `\`${r.workflowId}\` (${r.operation}${r.requestedBy ? `, asked by ${r.requestedBy}` : ''})`;
  return [
    `**${state.workspaceId}**`,
    l.holder ? `held by ${who(l.holder)} since ${l.holder.grantedAt}` : 'free',
    l.queue.length ? `${l.queue.length} waiting: ${l.queue.map(who).join(', ')}` : 'nobody waiting',
    ...(l.repairs.length ? [`repairing after ${l.repairs.map((r) => `\`${r.workflowId}\``).join(', ')} (closed without finishing)`] : []),
    ...(l.blockers.length ? [`blocked until ${l.blockers.map((b) => `\`${b.workflowId}\` (${b.why})`).join(', ')} release or close`] : []),
    ...(l.legacyLock === 'open' ? ['waiting for the old lock workflow to close'] : []),
    ...(state.labels?.enrolled ? [`enrolled${Object.keys(state.labels.values).length ? `: ${labelTerms(state.labels.values).join(', ')}` : ''}`] : []),
    ...(alert ? [`⚠ ${alert}`] : []),
  ].join('\n\n');
}
