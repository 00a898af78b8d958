/**
 * Enrollment and labels: the rules of the workspace entity's `labels` section (domain/workspace-entity.ts
 * step() delegates these events here), label and selector syntax, and what the entity publishes in its
 * `RigboxLabels` search attribute. Pure, so it is property-tested (test/unit/enrollment.test.ts).
 *
 * A workspace is selected by a selector (`team=ml,env=prod`: every pair must match) only while it is
 * enrolled. Visibility finds candidates by the search attribute; the entity's own state decides
 * (`matchesSelector` on what its query answers), because visibility lags and may be stale.
 */

/** Label keys: `team`, `cost-centre`, `rigbox.dev/owner`; letters, digits and `. _ - /`, starting and ending with a letter or digit. */
export const LABEL_KEY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
/** Label values: `ml`, `prod-eu`; letters, digits and `. _ -`, starting and ending with a letter or digit. */
export const LABEL_VALUE_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/**
 * At most this many labels per workspace: Temporal caps one search attribute's value (2 KB by default),
 * and 10 labels of 63 + 63 characters stay under it.
 */
export const MAX_LABELS = 10;
/** The value of `RigboxLabels` that marks an enrolled workspace; it has no `=`, so no label can look like it. */
export const ENROLLED_MARKER = 'enrolled';

export interface LabelsSection {
  values: Record<string, string>;
  /** Set while the workspace is enrolled (absent in state from before enrollment existed: not enrolled). */
  enrolled?: { at: string; by: string } | null;
}

/** A selector: every key must have exactly this value. An empty selector selects every enrolled workspace. */
export type Selector = Record<string, string>;

export interface EnrollRequest {
  /** Labels to set (added, or replacing the value of the same key). */
  labels?: Record<string, string>;
  /** Label keys to remove. */
  remove?: string[];
  by: string;
}
export interface UnenrollRequest {
  by: string;
}

/** What the entity answers about its enrollment (the `workspaceLabels` query, enroll and unenroll updates). */
export interface EnrollmentView {
  workspaceId: string;
  enrolled: boolean;
  enrolledAt: string | null;
  enrolledBy: string | null;
  labels: Record<string, string>;
}

export type EnrollmentEvent = { type: 'enroll'; request: EnrollRequest; at: string } | { type: 'unenroll'; request: UnenrollRequest; at: string };

const ENROLLMENT_EVENT_TYPES = ['enroll', 'unenroll'] as const;

export function isEnrollmentEvent(event: { type: string }): event is EnrollmentEvent {
  return (ENROLLMENT_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** Why a label key is refused, or null. */
export function refuseLabelKey(key: unknown): string | null {
  if (typeof key !== 'string' || !LABEL_KEY_PATTERN.test(key))
    return `label key ${JSON.stringify(key)}: must be 1-63 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit`;
  return null;
}

/** Why a label value is refused, or null. */
export function refuseLabelValue(key: string, value: unknown): string | null {
  if (typeof value !== 'string' || !LABEL_VALUE_PATTERN.test(value))
    return `label ${key}: value ${JSON.stringify(value)} must be 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit`;
  return null;
}

/** Parses `key=value` (a label, or one term of a selector). Throws with the reason when it is not one. */
export function parseLabel(text: string): [string, string] {
  const i = text.indexOf('=');
  if (i < 0) throw new Error(`"${text}" is not key=value (e.g. team=ml)`);
  const key = text.slice(0, i).trim();
  const value = text.slice(i + 1).trim();
  const why = refuseLabelKey(key) ?? refuseLabelValue(key, value);
  if (why) throw new Error(why);
  return [key, value];
}

/**
 * Parses selector terms: each `key=value`, several separated by commas or given one by one. A key given
 * twice with different values could never match: refused.
 */
export function parseSelector(terms: readonly string[]): Selector {
  const selector: Selector = {};
  for (const term of terms.flatMap((t) => t.split(',')).filter((t) => t.trim() !== '')) {
    const [key, value] = parseLabel(term);
    if (key in selector && selector[key] !== value) throw new Error(`selector: ${key} cannot be both ${selector[key]} and ${value}`);
    selector[key] = value;
  }
  return selector;
}

/** Why a selector (as carried in a workflow input) is refused, or null. */
export function refuseSelector(selector: unknown): string | null {
  if (!selector || typeof selector !== 'object' || Array.isArray(selector)) return 'selector: must be an object of label key → value';
  const entries = Object.entries(selector as Record<string, unknown>);
  if (entries.length === 0) return 'selector: must name at least one label (key=value)';
  if (entries.length > MAX_LABELS) return `selector: at most ${MAX_LABELS} labels`;
  for (const [k, v] of entries) {
    const why = refuseLabelKey(k) ?? refuseLabelValue(k, v);
    if (why) return `selector: ${why}`;
  }
  return null;
}

/** Whether an enrolled workspace with these labels is selected: every term of the selector matches. */
export function matchesSelector(view: Pick<EnrollmentView, 'enrolled' | 'labels'>, selector: Selector): boolean {
  return view.enrolled && Object.entries(selector).every(([k, v]) => Object.prototype.hasOwnProperty.call(view.labels, k) && view.labels[k] === v);
}

/** The selector as text: `team=ml,env=prod` (keys sorted). */
export function formatSelector(selector: Selector): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/** The `key=value` terms of labels, sorted by key. */
export function labelTerms(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
}

/** What the entity publishes in `RigboxLabels`: the marker and its labels while enrolled, nothing otherwise. */
export function labelsAttribute(section: LabelsSection | undefined): string[] {
  if (!section?.enrolled) return [];
  return [ENROLLED_MARKER, ...labelTerms(section.values)];
}

/** Why an enroll request is refused before anything is recorded (the update's validator), or null. */
export function refuseEnrollRequest(request: EnrollRequest | undefined, current?: LabelsSection): string | null {
  if (!request || typeof request !== 'object') return 'enroll: the request is missing';
  if (typeof request.by !== 'string' || !request.by) return 'enroll: must say who enrolls (by)';
  const labels = request.labels ?? {};
  if (typeof labels !== 'object' || Array.isArray(labels)) return 'enroll: labels must be an object of key → value';
  for (const [k, v] of Object.entries(labels)) {
    const why = refuseLabelKey(k) ?? refuseLabelValue(k, v);
    if (why) return why;
  }
  const remove = request.remove ?? [];
  if (!Array.isArray(remove)) return 'enroll: remove must be a list of label keys';
  for (const k of remove) {
    const why = refuseLabelKey(k);
    if (why) return why;
    if (k in labels) return `label ${k}: cannot be both set and removed`;
  }
  if (Object.keys(nextLabels(current?.values ?? {}, labels, remove)).length > MAX_LABELS) return `a workspace has at most ${MAX_LABELS} labels`;
  return null;
}

function nextLabels(values: Record<string, string>, set: Record<string, string>, remove: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { ...values, ...set };
  for (const k of remove) delete out[k];
  return out;
}

export function enrollmentView(workspaceId: string, section: LabelsSection | undefined): EnrollmentView {
  const enrolled = section?.enrolled ?? null;
  return {
    workspaceId,
    enrolled: !!enrolled,
    enrolledAt: enrolled?.at ?? null,
    enrolledBy: enrolled?.by ?? null,
    labels: enrolled ? { ...(section?.values ?? {}) } : {},
  };
}

/**
 * Enroll sets the given labels (keeping the others, dropping `remove`) and keeps the first enrollment's
 * time; unenroll forgets the labels too, so an unenrolled workspace is selected by nothing. A request
 * the validator would refuse changes nothing (the shell's validator runs first; this is the backstop).
 */
export function stepEnrollment(section: LabelsSection | undefined, event: EnrollmentEvent): LabelsSection {
  const s: LabelsSection = { values: { ...(section?.values ?? {}) }, enrolled: section?.enrolled ?? null };
  if (event.type === 'unenroll') return { values: {}, enrolled: null };
  if (refuseEnrollRequest(event.request, s)) return s;
  return {
    values: nextLabels(s.values, event.request.labels ?? {}, event.request.remove ?? []),
    enrolled: s.enrolled ?? { at: event.at, by: event.request.by },
  };
}
