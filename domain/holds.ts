/**
 * Holds, the baseline and the deletions rigsnap authorised: the rules of the workspace entity's `holds`
 * and `baseline` sections (domain/workspace-entity.ts step() delegates these events here). Pure: the
 * entity shell (workflows/workspace-entity.ts) turns updates into events and answers with what this
 * returns.
 *
 * Invariants (property-tested in test/unit/holds.test.ts):
 * - a snapshot with an active hold is never authorised for deletion without `force`;
 * - a forced deletion of a held snapshot is recorded as an override (what, when, why, who) and its holds end;
 * - a snapshot being deleted, or deleted by rigsnap, cannot be held: whichever the entity takes first decides;
 * - a hold whose `until` has passed holds nothing (expiry is read at check time: no timer).
 */

/** Where a hold came from: a person or service (`manual`), or rigsnap itself. */
export type HoldKind = 'manual' | 'checkpoint' | 'safety' | 'baseline';

export interface Hold {
  /** `<kind>:<owner or "-">:<snapshotId>`: one hold per snapshot, kind and owner (holding again updates it). */
  id: string;
  snapshotId: string;
  reason: string;
  by: string;
  /** ISO time the hold ends by itself, or null (until unheld). */
  until: string | null;
  since?: string;
  kind?: HoldKind;
  /** The workflow that placed an automatic hold (a checkpoint, a restore). */
  owner?: string;
}

/** A forced deletion of a held snapshot: what, when, why, who. */
export interface HoldOverride {
  snapshotId: string;
  at: string;
  reason: string;
  by: string;
  workflowId: string;
  /** The holds it overrode, as they were. */
  overridden: Hold[];
}

/** A deletion rigsnap authorised: in flight (`deleting`) or done (`deleted`). */
export interface AuthorisedDeletion {
  snapshotId: string;
  workflowId: string;
  at: string;
}

/** When an audit last found a held (or baseline) snapshot in Rigbox, and its name then. */
export interface HeldSighting {
  at: string;
  name: string;
}

export interface HoldsSection {
  items: Hold[];
  overrides?: HoldOverride[];
  deleting?: AuthorisedDeletion[];
  deleted?: AuthorisedDeletion[];
  /** By snapshot id: the last audit that found it (only held and baseline snapshots are kept). */
  seen?: Record<string, HeldSighting>;
}

export interface BaselineSection {
  snapshotId: string | null;
  setAt?: string;
  by?: string;
}

/** How many overrides and deletions the entity remembers (the newest; older ones are in the histories). */
export const REMEMBER_HOLD_RECORDS = 200;
/** An authorised deletion still "in flight" after this long was cut short (its run terminated): it blocks holds no more. */
export const DELETING_STALE_MS = 60 * 60_000;
/** How long a restore's safety snapshot is held. */
export const SAFETY_HOLD_MS = 24 * 60 * 60_000;

export interface HoldRequest {
  snapshotId: string;
  reason: string;
  by: string;
  /** ISO time; omitted or null: until unheld. */
  until?: string | null;
  kind?: HoldKind;
  owner?: string;
}

export interface UnholdRequest {
  snapshotId: string;
  by: string;
  /** Which holds to end: `manual` (the default), or an automatic hold's kind with its owner. */
  kind?: HoldKind;
  owner?: string;
}

export interface DeleteAuthorisationRequest {
  snapshotIds: string[];
  workflowId: string;
  by: string;
  force?: boolean;
  reason?: string;
}

export interface BaselineRequest {
  snapshotId: string;
  by: string;
}

export type HoldsEvent =
  | { type: 'hold'; request: HoldRequest; at: string }
  | { type: 'unhold'; request: UnholdRequest; at: string }
  | { type: 'authorise-deletes'; request: DeleteAuthorisationRequest; at: string }
  /** The deletions of a workflow ended: `deleted` went, the rest did not. */
  | { type: 'deletes-settled'; workflowId: string; deleted: string[]; at: string }
  | { type: 'baseline-set'; request: BaselineRequest; at: string }
  /** An audit found these held (or baseline) snapshots in Rigbox (tamper detection's "last seen"). */
  | { type: 'held-seen'; seen: Array<{ snapshotId: string; name: string }>; at: string };

export type HoldAnswer = { status: 'held'; hold: Hold } | { status: 'refused'; reason: string };
export interface UnholdAnswer {
  released: Hold[];
  /** Holds of the snapshot that still hold it (other kinds or owners). */
  remaining: Hold[];
}
export interface DeleteAuthorisation {
  allowed: string[];
  refused: Array<{ snapshotId: string; holds: Hold[] }>;
  overrides: HoldOverride[];
}
export type BaselineAnswer = { status: 'set'; baseline: BaselineSection; previous: string | null } | { status: 'refused'; reason: string };
export type HoldsAnswer = HoldAnswer | UnholdAnswer | DeleteAuthorisation | BaselineAnswer;

/** What `holds` shows: the active holds, the recent overrides, the baseline. */
export interface HoldsView {
  workspaceId: string;
  holds: Hold[];
  overrides: HoldOverride[];
  baseline: BaselineSection;
  deleted: AuthorisedDeletion[];
  /** Deletions rigsnap authorised that are still in flight (absent in views from before tamper detection). */
  deleting?: AuthorisedDeletion[];
  /** When an audit last found each held or baseline snapshot (absent in views from before tamper detection). */
  seen?: Record<string, HeldSighting>;
}

const SNAPSHOT_ID = /^snap_[A-Za-z0-9_-]{1,64}$/;

export function holdId(kind: HoldKind, owner: string | undefined, snapshotId: string): string {
  return `${kind}:${owner ?? '-'}:${snapshotId}`;
}

/** Whether a hold still holds at `at` (expiry is lazy: a passed `until` holds nothing). */
export function isActive(hold: Hold, at: string): boolean {
  return hold.until === null || Date.parse(hold.until) > Date.parse(at);
}

export function untilPassed(hold: Hold, at: string): boolean {
  return !isActive(hold, at);
}

export function activeHolds(section: HoldsSection, at: string, snapshotId?: string): Hold[] {
  return section.items.filter((h) => isActive(h, at) && (snapshotId === undefined || h.snapshotId === snapshotId));
}

/**
 * When the guard of each of these snapshots ends: the latest `until` of its active holds, or null when
 * one has none or it is the baseline (it holds until changed). For showing when a held snapshot is due.
 */
export function holdEndsOf(view: { holds: Hold[]; baseline: BaselineSection }, snapshotIds: readonly string[], at: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const id of snapshotIds) {
    const holds = view.holds.filter((h) => h.snapshotId === id && isActive(h, at));
    const never = view.baseline.snapshotId === id || holds.some((h) => h.until === null);
    const latest = holds.reduce<string | null>((a, h) => (h.until !== null && (a === null || Date.parse(h.until) > Date.parse(a)) ? h.until : a), null);
    out.set(id, never ? null : latest);
  }
  return out;
}

/** The keep reason prune gives a held snapshot. */
export function keepReason(hold: Hold): string {
  return `hold: ${hold.reason}`;
}

/** Why a hold request is refused before it changes anything (the update's validator), or null. */
export function refuseHoldRequest(r: HoldRequest | undefined): string | null {
  if (!r || typeof r !== 'object') return 'the hold request is missing';
  if (typeof r.snapshotId !== 'string' || !SNAPSHOT_ID.test(r.snapshotId)) return 'snapshotId must be "snap_" followed by 1-64 letters, digits, "_" or "-"';
  if (typeof r.reason !== 'string' || !r.reason.trim() || r.reason.length > 500) return 'reason must be 1-500 characters';
  if (typeof r.by !== 'string' || !r.by.trim() || r.by.length > 200) return 'by must name who holds it (1-200 characters)';
  if (r.until !== undefined && r.until !== null && (typeof r.until !== 'string' || Number.isNaN(Date.parse(r.until)))) return 'until must be an ISO date';
  if (r.kind !== undefined && !['manual', 'checkpoint', 'safety', 'baseline'].includes(r.kind)) return 'kind must be manual, checkpoint, safety or baseline';
  return null;
}

export function refuseUnholdRequest(r: UnholdRequest | undefined): string | null {
  if (!r || typeof r !== 'object') return 'the unhold request is missing';
  if (typeof r.snapshotId !== 'string' || !SNAPSHOT_ID.test(r.snapshotId)) return 'snapshotId must be "snap_" followed by 1-64 letters, digits, "_" or "-"';
  if (typeof r.by !== 'string' || !r.by.trim()) return 'by must name who releases it';
  return null;
}

export function refuseDeleteAuthorisation(r: DeleteAuthorisationRequest | undefined): string | null {
  if (!r || typeof r !== 'object' || !Array.isArray(r.snapshotIds)) return 'snapshotIds must be a list';
  if (r.snapshotIds.some((id) => typeof id !== 'string' || !SNAPSHOT_ID.test(id))) return 'every snapshot id must be "snap_…"';
  if (typeof r.workflowId !== 'string' || !r.workflowId) return 'the request names no workflow';
  if (r.force && (typeof r.reason !== 'string' || !r.reason.trim())) return 'a forced delete needs a reason';
  return null;
}

/** Sections as stored: version-1 states from before holds carry only `items`. */
export function normaliseHolds(section: Partial<HoldsSection> | undefined): Required<HoldsSection> {
  return {
    items: [...(section?.items ?? [])],
    overrides: [...(section?.overrides ?? [])],
    deleting: [...(section?.deleting ?? [])],
    deleted: [...(section?.deleted ?? [])],
    seen: { ...(section?.seen ?? {}) },
  };
}

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > REMEMBER_HOLD_RECORDS) list.splice(0, list.length - REMEMBER_HOLD_RECORDS);
}

/** Why a snapshot cannot be held now (it is being deleted, or rigsnap deleted it), or null. */
function deletionBlocksHold(s: Required<HoldsSection>, snapshotId: string, at: string): string | null {
  const d = s.deleting.find((x) => x.snapshotId === snapshotId && Date.parse(at) - Date.parse(x.at) < DELETING_STALE_MS);
  if (d) return `${snapshotId} is being deleted by ${d.workflowId} (since ${d.at})`;
  const gone = s.deleted.find((x) => x.snapshotId === snapshotId);
  if (gone) return `${snapshotId} was deleted by ${gone.workflowId} at ${gone.at}`;
  return null;
}

function hold(s: Required<HoldsSection>, r: HoldRequest, at: string): HoldAnswer {
  const refused = refuseHoldRequest(r) ?? deletionBlocksHold(s, r.snapshotId, at);
  if (refused) return { status: 'refused', reason: refused };
  const kind = r.kind ?? 'manual';
  const h: Hold = {
    id: holdId(kind, r.owner, r.snapshotId),
    snapshotId: r.snapshotId,
    reason: r.reason.trim(),
    by: r.by,
    until: r.until ?? null,
    since: at,
    kind,
  };
  if (r.owner) h.owner = r.owner;
  const i = s.items.findIndex((x) => x.id === h.id);
  if (i >= 0) s.items[i] = { ...h, since: s.items[i]!.since ?? at };
  else s.items.push(h);
  return { status: 'held', hold: i >= 0 ? s.items[i]! : h };
}

function unhold(s: Required<HoldsSection>, r: UnholdRequest, at: string): UnholdAnswer {
  const id = holdId(r.kind ?? 'manual', r.owner, r.snapshotId);
  const released = s.items.filter((h) => h.id === id);
  s.items = s.items.filter((h) => h.id !== id);
  return { released, remaining: activeHolds(s, at, r.snapshotId) };
}

function authorise(s: Required<HoldsSection>, r: DeleteAuthorisationRequest, at: string): DeleteAuthorisation {
  const answer: DeleteAuthorisation = { allowed: [], refused: [], overrides: [] };
  for (const snapshotId of r.snapshotIds) {
    const holds = activeHolds(s, at, snapshotId);
    if (holds.length && !r.force) {
      answer.refused.push({ snapshotId, holds });
      continue;
    }
    if (holds.length) {
      const o: HoldOverride = { snapshotId, at, reason: r.reason!.trim(), by: r.by, workflowId: r.workflowId, overridden: holds };
      remember(s.overrides, o);
      answer.overrides.push(o);
    }
    // A forced (or unheld) deletion ends every hold of the snapshot, expired ones included.
    s.items = s.items.filter((h) => h.snapshotId !== snapshotId);
    if (!s.deleting.some((d) => d.snapshotId === snapshotId && d.workflowId === r.workflowId)) s.deleting.push({ snapshotId, workflowId: r.workflowId, at });
    answer.allowed.push(snapshotId);
  }
  return answer;
}

function settle(s: Required<HoldsSection>, workflowId: string, deleted: string[], at: string): void {
  s.deleting = s.deleting.filter((d) => d.workflowId !== workflowId);
  for (const snapshotId of deleted) if (!s.deleted.some((d) => d.snapshotId === snapshotId)) remember(s.deleted, { snapshotId, workflowId, at });
}

/** Holds that expired are dropped at the next event: the state stays small without a timer. */
function dropExpired(s: Required<HoldsSection>, at: string): void {
  s.items = s.items.filter((h) => isActive(h, at));
}

/** Records what an audit found, and forgets sightings of snapshots no longer held nor the baseline (the state stays small). */
function sighted(s: Required<HoldsSection>, baseline: BaselineSection, seen: Array<{ snapshotId: string; name: string }>, at: string): void {
  const guarded = new Set(s.items.map((h) => h.snapshotId));
  if (baseline.snapshotId) guarded.add(baseline.snapshotId);
  for (const x of seen) if (guarded.has(x.snapshotId)) s.seen[x.snapshotId] = { at, name: x.name };
  for (const id of Object.keys(s.seen)) if (!guarded.has(id)) delete s.seen[id];
}

/** The transition of the holds and baseline sections. Pure. */
export function stepHolds(
  holds: Partial<HoldsSection> | undefined,
  baseline: BaselineSection,
  event: HoldsEvent,
): { holds: Required<HoldsSection>; baseline: BaselineSection; answer: HoldsAnswer | undefined } {
  const s = normaliseHolds(holds);
  dropExpired(s, event.at);
  switch (event.type) {
    case 'hold':
      return { holds: s, baseline, answer: hold(s, event.request, event.at) };
    case 'unhold':
      return { holds: s, baseline, answer: unhold(s, event.request, event.at) };
    case 'authorise-deletes':
      return { holds: s, baseline, answer: authorise(s, event.request, event.at) };
    case 'deletes-settled': {
      settle(s, event.workflowId, event.deleted, event.at);
      // A forced delete of the baseline leaves no baseline: `reset` must not point at a snapshot that is gone.
      const gone = baseline.snapshotId !== null && event.deleted.includes(baseline.snapshotId);
      return { holds: s, baseline: gone ? { snapshotId: null, setAt: event.at, by: event.workflowId } : baseline, answer: undefined };
    }
    case 'held-seen':
      sighted(s, baseline, Array.isArray(event.seen) ? event.seen : [], event.at);
      return { holds: s, baseline, answer: undefined };
    case 'baseline-set': {
      const { snapshotId, by } = event.request;
      const held = hold(s, { snapshotId, by, reason: 'team baseline', kind: 'baseline' }, event.at);
      if (held.status === 'refused') return { holds: s, baseline, answer: held };
      // The previous baseline is no longer the one to reset to: its baseline hold ends.
      if (baseline.snapshotId && baseline.snapshotId !== snapshotId)
        s.items = s.items.filter((h) => h.id !== holdId('baseline', undefined, baseline.snapshotId!));
      const next: BaselineSection = { snapshotId, setAt: event.at, by };
      return { holds: s, baseline: next, answer: { status: 'set', baseline: next, previous: baseline.snapshotId } };
    }
  }
}

export const HOLDS_EVENT_TYPES: ReadonlyArray<HoldsEvent['type']> = ['hold', 'unhold', 'authorise-deletes', 'deletes-settled', 'baseline-set', 'held-seen'];

export function isHoldsEvent(event: { type: string }): event is HoldsEvent {
  return (HOLDS_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** The `holds` view at `at`: active holds only. */
export function holdsView(workspaceId: string, holds: Partial<HoldsSection> | undefined, baseline: BaselineSection, at: string): HoldsView {
  const s = normaliseHolds(holds);
  return { workspaceId, holds: activeHolds(s, at), overrides: s.overrides, baseline, deleted: s.deleted, deleting: s.deleting, seen: s.seen };
}

/** The message of a refused delete: names the hold and how to release it. */
export function heldMessage(workspaceId: string, snapshotId: string, holds: Hold[]): string {
  const what = holds.map((h) => `"${h.reason}" (${h.kind ?? 'manual'}, by ${h.by}${h.until ? `, until ${h.until}` : ''})`).join('; ');
  return `${snapshotId} of ${workspaceId} is held: ${what}. Release it with \`rigsnap unhold ${workspaceId} ${snapshotId}\`, or override with \`rigsnap delete ${workspaceId} ${snapshotId} --force --reason <why>\``;
}
