/**
 * Differential tests of invariant-shortcuts.ts (FHIR R4 per-1 on Period, obs-7 on Observation): where
 * a shortcut answers, its verdict equals fhirpath.js's (an empty result satisfies an invariant) on
 * generated Periods (instants in many time zones, partial dates, fractions, odd JSON) and on the
 * Observations and Periods of the Synthea Bundles (when present) and their mutations; and it answers
 * for the plain cases (so the shortcut is used at all).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Bundle } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../../../test/helpers/external-data';
import { compileFhirPath } from './fhirpath-r4';
import { invariantShortcut } from './invariant-shortcuts';
import { FALLBACK, type NativeInvariant } from './native-invariants';

const PER_1 = 'start.hasValue().not() or end.hasValue().not() or (start <= end)';
const OBS_7 = 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()';

function differ(base: string, expression: string, shortcut: NativeInvariant): (v: Record<string, unknown>) => 'native' | 'fallback' {
  const fn = compileFhirPath(base, expression);
  return (v) => {
    const n = shortcut(v);
    if (n === FALLBACK) return 'fallback';
    const r = fn(v, { resource: v, rootResource: v });
    assert.equal(n !== false, r[0] !== false, `${expression}: shortcut ${String(n)}, fhirpath.js ${JSON.stringify(r)} for ${JSON.stringify(v)}`);
    return 'native';
  };
}

const per1 = invariantShortcut('per-1', PER_1)!;
const obs7 = invariantShortcut('obs-7', OBS_7)!;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const offset = fc.constantFrom('Z', '+00:00', '-05:00', '+05:30', '-12:00', '+14:00', '+13:45', '-00:00', '+01:00', '-09:30');
/** An instant as FHIR writes it, in one of several time zones (around a base instant, so pairs are close). */
const instant = (base: number): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), offset).map(([d, z]) => {
    const minutes = z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6)));
    const t = new Date(base + d + minutes * 60_000);
    return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}${z}`;
  });
const BASE = Date.UTC(2014, 0, 19, 20, 22, 38);
/** A date of one of the three precisions near BASE, sometimes not in the calendar (13th month, 30 February, day 00, year 0000). */
const date = fc.oneof(
  fc.tuple(fc.integer({ min: -40, max: 40 }), fc.constantFrom(4, 7, 10)).map(([d, w]) => {
    const t = new Date(BASE + d * 86_400_000 * 9);
    return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`.slice(0, w);
  }),
  fc.constantFrom('2014-02-30', '2014-02-29', '2016-02-29', '2014-13', '2014-00', '2014-01-00', '2014-04-31', '0000', '0000-01-01', '2014-1-19', '12014'),
);
const bound = fc.oneof(
  { weight: 6, arbitrary: instant(BASE) },
  { weight: 3, arbitrary: date },
  { weight: 1, arbitrary: fc.constantFrom('2014-01-19', '2014-01', '2014', '2014-01-19T20:22:38.123Z', '2014-01-19T20:22', '2014-01-19T20:22:38', 'not a date', '2014-13-01T00:00:00Z', '2014-02-30T00:00:00Z', '') },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 5, true, ['2014-01-19T20:22:38Z'], {}) },
);

describe('invariant shortcuts: per-1 and obs-7 against fhirpath.js', () => {
  it('only for their exact key and expression', () => {
    assert.equal(invariantShortcut('per-1', `${PER_1} and true`), undefined);
    assert.equal(invariantShortcut('per-2', PER_1), undefined);
    assert.equal(invariantShortcut('obs-7', OBS_7.replace('empty()', 'exists()')), undefined);
  });

  it('per-1: the same verdict on generated Periods, and an answer for two instants and for two dates of one precision', () => {
    const check = differ('Period', PER_1, per1);
    // What the shortcut answered itself, by the kind of Period: two instants, two dates, a bound absent.
    const natives = { instants: 0, dates: 0, absent: 0 };
    fc.assert(
      fc.property(bound, bound, fc.boolean(), (start, end, ext) => {
        const v: Record<string, unknown> = {};
        if (start !== undefined) v.start = start;
        if (end !== undefined) v.end = end;
        if (ext) v._start = { extension: [{ url: 'http://x', valueString: 'y' }] };
        if (check(v) === 'native') {
          if (start === undefined || end === undefined) natives.absent++;
          else if (String(start).includes('T')) natives.instants++;
          else natives.dates++;
        }
      }),
      { numRuns: 4000, seed: 17 },
    );
    assert.ok(natives.instants > 600 && natives.dates > 15, `answered ${JSON.stringify(natives)}`);
    assert.equal(per1({ start: '2014-01-19T20:22:38-05:00', end: '2014-01-20T01:22:37Z' }), false);
    assert.equal(per1({ start: '2014-01-19T20:22:38-05:00', end: '2014-01-20T01:22:38Z' }), true);
    assert.equal(per1({ start: '1995-06-01', end: '1999-12-31' }), true);
    assert.equal(per1({ start: '1999-12', end: '1995-06' }), false);
    assert.equal(per1({ start: '2014', end: '2014-01' }), FALLBACK, 'precisions differ: fhirpath.js decides');
    assert.equal(per1({ start: '2014-02-30', end: '2014-03-01' }), FALLBACK, 'not a calendar day');
  });

  it('obs-7: the same verdict on mutated Observations', () => {
    const check = differ('Observation', OBS_7, obs7);
    const code = { coding: [{ system: 'http://loinc.org', code: '85354-9' }] };
    const component = fc.constantFrom(undefined, [], [{ code }], [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 1 } }]);
    const value = fc.constantFrom<Record<string, unknown>>({}, { valueQuantity: { value: 1 } }, { valueString: 'x' }, { _valueString: { extension: [{ url: 'http://x', valueString: 'y' }] } }, { valueCodeableConcept: code });
    fc.assert(
      fc.property(component, value, fc.boolean(), (c, val, ext) => {
        const v: Record<string, unknown> = { resourceType: 'Observation', status: 'final', code, ...val };
        if (c !== undefined) v.component = c;
        if (ext) v._component = [{ extension: [{ url: 'http://x', valueString: 'y' }] }];
        check(v);
      }),
      { numRuns: 400, seed: 17 },
    );
  });

  it('the same verdicts on every Period and Observation of the Synthea Bundles, answering the plain ones', function () {
    this.timeout(120_000);
    const dir = existingExternalPath('synthea');
    if (!dir) skipWithReason(this, 'no Synthea bundles in shared/external/synthea');
    const p = differ('Period', PER_1, per1);
    const o = differ('Observation', OBS_7, obs7);
    const seen = { native: 0, fallback: 0 };
    const visit = (v: unknown, key: string): void => {
      if (Array.isArray(v)) return v.forEach((x) => visit(x, key));
      if (typeof v !== 'object' || v === null) return;
      const obj = v as Record<string, unknown>;
      if (/period$/i.test(key) || key === 'billablePeriod' || key === 'servicedPeriod') seen[p(obj)]++;
      if (obj.resourceType === 'Observation') seen[o(obj)]++;
      for (const [k, x] of Object.entries(obj)) visit(x, k);
    };
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort().slice(0, 12)) {
      for (const e of (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Bundle).entry ?? []) visit(e.resource, '');
    }
    assert.ok(seen.native > 1000 && seen.fallback < seen.native / 10, JSON.stringify(seen));
  });
});
