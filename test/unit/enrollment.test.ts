import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrolledCandidatesQuery } from '../../contract/index.js';
import {
  ENROLLED_MARKER,
  MAX_LABELS,
  enrollmentView,
  formatSelector,
  labelTerms,
  labelsAttribute,
  matchesSelector,
  parseLabel,
  parseSelector,
  refuseEnrollRequest,
  refuseSelector,
  stepEnrollment,
  type EnrollmentEvent,
  type LabelsSection,
} from '../../domain/enrollment.js';
import { emptyEntityState, migrateEntityState, step } from '../../domain/workspace-entity.js';

/**
 * Enrollment and labels (domain/enrollment.ts): label and selector syntax, selector matching, and random
 * sequences of enroll/unenroll against a model of what the labels must be.
 */

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const key = fc.constantFrom('team', 'env', 'cost-centre', 'rigbox.dev/owner');
const value = fc.constantFrom('ml', 'data', 'prod', 'eu-1', 'v1.2');
const labels = fc.dictionary(key, value, { maxKeys: 4 });

describe('labels and selectors', () => {
  it('a selector parsed from its own formatting is the same selector', () => {
    fc.assert(
      fc.property(labels, (sel) => {
        expect(parseSelector([formatSelector(sel)])).toEqual(sel);
        expect(parseSelector(labelTerms(sel))).toEqual(sel);
      }),
    );
  });

  it('matches exactly when every term of the selector is among the labels of an enrolled workspace', () => {
    fc.assert(
      fc.property(labels, labels, fc.boolean(), (have, sel, enrolled) => {
        const expected = enrolled && Object.entries(sel).every(([k, v]) => have[k] === v);
        expect(matchesSelector({ enrolled, labels: have }, sel)).toBe(expected);
      }),
    );
    // The empty selector selects every enrolled workspace and nothing else.
    expect(matchesSelector({ enrolled: true, labels: {} }, {})).toBe(true);
    expect(matchesSelector({ enrolled: false, labels: { team: 'ml' } }, {})).toBe(false);
    // A key inherited from Object.prototype is not a label.
    expect(matchesSelector({ enrolled: true, labels: {} }, { constructor: 'x' })).toBe(false);
  });

  it('refuses malformed labels and selectors with the reason', () => {
    expect(() => parseLabel('team')).toThrow(/not key=value/);
    expect(() => parseLabel('=ml')).toThrow(/label key/);
    expect(() => parseLabel('team=')).toThrow(/value/);
    expect(() => parseLabel('team=m l')).toThrow(/value/);
    expect(() => parseLabel('te"am=ml')).toThrow(/label key/);
    expect(() => parseSelector(['team=ml', 'team=data'])).toThrow(/cannot be both/);
    expect(parseSelector(['team=ml,env=prod', 'team=ml'])).toEqual({ team: 'ml', env: 'prod' });
    expect(refuseSelector({})).toMatch(/at least one/);
    expect(refuseSelector({ team: 'a b' })).toMatch(/value/);
    expect(refuseSelector(['team=ml'])).toMatch(/object/);
    expect(refuseSelector({ team: 'ml' })).toBeNull();
  });

  it('every key and value the patterns accept can be published and searched without quoting', () => {
    fc.assert(
      fc.property(fc.array(alnum, { minLength: 1, maxLength: 8 }), (chars) => {
        const [k, v] = parseLabel(`${chars.join('')}=${chars.reverse().join('')}`);
        expect(enrolledCandidatesQuery([`${k}=${v}`], 'q')).not.toMatch(/""/);
      }),
    );
    expect(enrolledCandidatesQuery(['team=ml'], 'rigbox-snapshots')).toBe(
      'RigboxOperation = "workspace" AND TaskQueue = "rigbox-snapshots" AND ExecutionStatus != "ContinuedAsNew" AND RigboxLabels = "enrolled" AND RigboxLabels = "team=ml"',
    );
  });
});

type Op = { type: 'enroll'; set: Record<string, string>; remove: string[] } | { type: 'unenroll' };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('enroll' as const), set: labels, remove: fc.uniqueArray(key, { maxLength: 2 }) }),
  fc.constant({ type: 'unenroll' as const }),
);

describe('enroll and unenroll', () => {
  it('the labels are what the model says, the attribute publishes exactly them while enrolled, and refused requests change nothing', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
        let s: LabelsSection | undefined;
        let model: { enrolled: boolean; labels: Record<string, string>; since: string | null } = { enrolled: false, labels: {}, since: null };
        ops.forEach((o, i) => {
          const at = new Date(Date.UTC(2026, 11, 1, 0, i)).toISOString();
          const event: EnrollmentEvent =
            o.type === 'unenroll'
              ? { type: 'unenroll', request: { by: 'ann' }, at }
              : { type: 'enroll', request: { labels: o.set, remove: o.remove, by: 'ann' }, at };
          const refused = event.type === 'enroll' ? refuseEnrollRequest(event.request, s) : null;
          s = stepEnrollment(s, event);
          if (o.type === 'unenroll') model = { enrolled: false, labels: {}, since: null };
          else if (!refused) {
            const next = { ...model.labels, ...o.set };
            for (const k of o.remove) delete next[k];
            model = { enrolled: true, labels: next, since: model.since ?? at };
          }
          const view = enrollmentView('ws_a', s);
          expect(view.enrolled).toBe(model.enrolled);
          expect(view.labels).toEqual(model.labels);
          expect(view.enrolledAt).toBe(model.since);
          expect(Object.keys(view.labels).length).toBeLessThanOrEqual(MAX_LABELS);
          expect(labelsAttribute(s)).toEqual(model.enrolled ? [ENROLLED_MARKER, ...labelTerms(model.labels)] : []);
        });
      }),
    );
  });

  it('refuses a label both set and removed, more than MAX_LABELS labels, and a request without who', () => {
    expect(refuseEnrollRequest({ labels: { team: 'ml' }, remove: ['team'], by: 'ann' })).toMatch(/both set and removed/);
    const many = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(refuseEnrollRequest({ labels: many, by: 'ann' })).toMatch(/at most/);
    expect(refuseEnrollRequest({ labels: {}, by: '' })).toMatch(/who/);
    expect(refuseEnrollRequest({ labels: { 'bad key': 'v' }, by: 'ann' })).toMatch(/label key/);
  });

  it('the entity keeps its lock and holds as they were; state from before enrollment reads as not enrolled', () => {
    const before = emptyEntityState('ws_a');
    const r = step(before, { type: 'enroll', request: { labels: { team: 'ml' }, by: 'ann' }, at: '2026-12-06T00:00:00.000Z' });
    expect(r.effects).toEqual([]);
    expect(r.state.lock).toEqual(before.lock);
    expect(r.state.holds).toEqual(before.holds);
    expect(enrollmentView('ws_a', r.state.labels)).toMatchObject({ enrolled: true, labels: { team: 'ml' }, enrolledBy: 'ann' });
    const old = migrateEntityState('ws_a', { ...emptyEntityState('ws_a'), labels: { values: {} } });
    expect(enrollmentView('ws_a', old.labels).enrolled).toBe(false);
    expect(labelsAttribute(old.labels)).toEqual([]);
  });
});
