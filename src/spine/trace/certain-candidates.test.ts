/**
 * The candidates of a trace that keeps only `certain` matches (candidates.ts `onlyCertain`, score.ts
 * CERTAIN_BOUNDS): every record the full key set retrieves and scores `certain` is retrieved by the
 * reduced one, which retrieves nothing the full one does not. Checked on generated Patients and the
 * queries of their variants (fast-check) and on every variant kind of a seeded population, by
 * matching each record's own index keys (search-keys.ts) against both candidate expressions.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Address, HumanName, Patient } from 'fhir/r4';
import type { SearchExpr } from '../../search/ir';
import type { TokenEntry } from '../../search/index-entry';
import { matchesExpr } from '../../search/match';
import { candidateExpression, exactDate, nearMissDates, swappedDate } from './candidates';
import { patientFeatures } from './features';
import { queryOfPatient } from './operations';
import { CERTAIN_BOUNDS, dateNearMiss, gradeOf, probeOf, scoreRecord } from './score';
import { spineIndexEntries } from './search-keys';
import type { TraceQuery } from './query';
import { diagnostic } from '../../../test/helpers/diagnostics';
import { makePopulation, makeVariant, prng, COMBINED_KINDS, VARIANT_KINDS } from '../../../test/spine/trace-population';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

/** Whether a record with these index entries is retrieved by a candidate expression (the in-memory IR matcher, the stores' oracle). */
function retrieves(expr: SearchExpr | undefined, entries: TokenEntry[]): boolean {
  return expr !== undefined && matchesExpr(expr, { resourceType: 'Patient', id: 'r1', lastUpdated: '2026-12-08T00:00:00Z', index: entries });
}

const entriesCache = new WeakMap<Patient, TokenEntry[]>();

function entriesOf(p: Patient): TokenEntry[] {
  const cached = entriesCache.get(p);
  if (cached) return cached;
  const ids = (p.identifier ?? []).map((i): TokenEntry => ({ kind: 'token', param: 'identifier', system: i.system ?? null, code: i.value ?? null }));
  const entries = [...spineIndexEntries(p), ...ids];
  entriesCache.set(p, entries);
  return entries;
}

function certain(q: TraceQuery, p: Patient): boolean {
  const score = scoreRecord(probeOf(q, { skipMissing: true }), patientFeatures(p, new Date()), p.identifier?.find((i) => i.system === NHS)?.value);
  return score !== undefined && gradeOf(score) === 'certain';
}

interface Tally {
  certainInFull: number;
  droppedByReduction: number;
}

/** The expression without its undated FG keys (the same in both key sets), so that the dated keys are checked on their own. */
function datedOnly(expr: SearchExpr | undefined): SearchExpr | undefined {
  if (expr === undefined) return undefined;
  if (expr.op === 'or' || expr.op === 'and') return { ...expr, args: expr.args.map((a) => datedOnly(a)!) };
  if (expr.op === 'token' && expr.anyOf) return { ...expr, anyOf: expr.anyOf.filter((k) => !k.code.startsWith('FG:')) };
  return expr;
}

/**
 * The two properties for one query and one record, for the whole key sets and for their dated keys
 * alone (a record that the undated keys retrieve anyway would hide a dated key missing); counts what
 * they exercised.
 */
function check(q: TraceQuery, records: readonly Patient[], tally: Tally, where: string): void {
  const full = candidateExpression(q);
  const reduced = candidateExpression(q, { onlyCertain: true });
  if (exactDate(q) === undefined) {
    // Only a trace of an exact birth date probes fewer keys.
    assert.deepEqual(reduced, full);
    return;
  }
  const pairs = [
    [full, reduced],
    [datedOnly(full), datedOnly(reduced)],
  ] as const;
  for (const p of records) {
    const entries = entriesOf(p);
    let isCertain: boolean | undefined;
    for (const [f, r] of pairs) {
      const inFull = retrieves(f, entries);
      const inReduced = retrieves(r, entries);
      if (inReduced) assert.ok(inFull, `${where}: the reduced keys retrieve a record the full ones do not`);
      if (inFull && !inReduced) tally.droppedByReduction++;
      if (inFull && (isCertain ??= certain(q, p))) {
        tally.certainInFull++;
        assert.ok(inReduced, `${where}: a certain record is not retrieved by the reduced keys: ${JSON.stringify({ q, p })}`);
      }
    }
  }
}

const families = ['Smith', 'Smyth', 'Smith-Jones', 'Jones', "O'Brien", 'Brown', 'Crown'];
const givens = ['Jane', 'Jayne', 'William', 'Bill', 'Will', 'Mary Ann', 'Mary', 'Margaret', 'Peggy'];
const dates = ['1980-02-03', '1980-03-02', '1980-02-04', '1981-02-03', '1980-02-13', '1980-12-03', '1980', '1980-02'];
const postcodes = ['LS1 6AE', 'LS1 6AF', 'M1 1AA'];

const arbName: fc.Arbitrary<HumanName> = fc.record(
  {
    use: fc.constantFrom<HumanName['use']>('official', 'usual', 'old', 'maiden', undefined),
    family: fc.constantFrom(...families),
    given: fc.array(fc.constantFrom(...givens), { minLength: 1, maxLength: 2 }),
    period: fc.constantFrom(undefined, { end: '2020-01-01' }),
  },
  { requiredKeys: ['family', 'given'] },
) as fc.Arbitrary<HumanName>;

/** Mostly true: complete records and queries, which a near-miss birth date or transposed names can still leave certain. */
const mostly = fc.constantFrom(true, true, true, false);

const arbRecord: fc.Arbitrary<Patient> = fc
  .record({
    name: fc.array(arbName, { minLength: 1, maxLength: 3 }),
    birthDate: fc.constantFrom(...dates),
    gender: fc.constantFrom<Patient['gender']>('male', 'female', 'unknown'),
    address: fc.array(fc.record({ use: fc.constantFrom<Address['use']>('home', 'old'), postalCode: fc.constantFrom(...postcodes) }) as fc.Arbitrary<Address>, { minLength: 1, maxLength: 2 }),
    has: fc.array(mostly, { minLength: 4, maxLength: 4 }),
  })
  .map(({ has, ...p }) => {
    const record: Patient = { resourceType: 'Patient', id: 'r1', ...p };
    if (has[0]) record.telecom = [{ system: 'email', value: 'jane@example.org' }, { system: 'phone', value: '01632 960587' }];
    if (has[1]) record.generalPractitioner = [{ identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'Y12345' } }];
    if (has[2]) record.identifier = [{ system: NHS, value: '9000000009' }];
    if (has[3]) record.deceasedDateTime = '2021-07-01';
    return record;
  });

/** The query's Patient: the record itself with some of its fields changed (so that many pairs are certain, many near). */
const arbQueryPatient = (record: Patient): fc.Arbitrary<Patient> => {
  const names: HumanName[] = record.name ?? [];
  const swapped = names.map((n): HumanName => ({ ...n, ...(n.given?.[0] !== undefined ? { family: n.given[0] } : {}), given: n.family !== undefined ? [n.family] : [] }));
  return fc
    .record({
      name: fc.oneof(fc.constant(names), fc.array(arbName, { minLength: 1, maxLength: 1 }), fc.constant(swapped), fc.constant(names.map((n): HumanName => ({ ...n, given: [] })))),
      // The record's date, its day/month swap (the near miss a complete record can still be certain with) or another.
      birthDate: fc.oneof(
        { weight: 3, arbitrary: fc.constant(record.birthDate) },
        { weight: 2, arbitrary: fc.constant(record.birthDate !== undefined && record.birthDate.length === 10 ? (swappedDate(record.birthDate) ?? record.birthDate) : record.birthDate) },
        { weight: 2, arbitrary: fc.constantFrom(...dates) },
      ),
      keep: fc.array(mostly, { minLength: 6, maxLength: 6 }),
    })
    .map(({ name, birthDate, keep }) => {
      const q: Patient = { resourceType: 'Patient', name: name.map((n) => ({ ...n, use: 'official' as const, period: undefined })) };
      if (birthDate !== undefined) q.birthDate = birthDate;
      if (keep[0] && record.gender) q.gender = record.gender;
      if (keep[1] && record.address) q.address = record.address.map((a) => ({ ...a, use: 'home' as const }));
      if (keep[2] && record.telecom) q.telecom = record.telecom;
      if (keep[3] && record.generalPractitioner) q.generalPractitioner = record.generalPractitioner;
      if (keep[4] && record.identifier) q.identifier = record.identifier;
      if (keep[5] && record.deceasedDateTime) q.deceasedDateTime = record.deceasedDateTime;
      return q;
    });
};

describe('Trace candidates of a certain-only trace (onlyCertain)', () => {
  it('keeps the birth dates a certain record can have: the date and its day-month swap', () => {
    assert.ok(CERTAIN_BOUNDS.minBirthSimilarity > 0.7 && CERTAIN_BOUNDS.minBirthSimilarity <= 0.8, String(CERTAIN_BOUNDS.minBirthSimilarity));
    assert.equal(CERTAIN_BOUNDS.nicknameMayBeCertain, false);
    const kept = nearMissDates('1980-02-03').filter((d) => dateNearMiss('1980-02-03', d) >= CERTAIN_BOUNDS.minBirthSimilarity);
    assert.deepEqual(kept, ['1980-02-03', '1980-03-02']);
  });

  it('probes fewer keys, and the same for a query with a wildcard or without an exact birth date', () => {
    const count = (e: SearchExpr | undefined): number => (e?.op === 'token' ? (e.anyOf?.length ?? 1) : e?.op === 'or' || e?.op === 'and' ? e.args.reduce((n, a) => n + count(a), 0) : 0);
    const q = queryOfPatient({ resourceType: 'Patient', name: [{ family: 'Smith', given: ['William'] }], birthDate: '1980-02-03', address: [{ postalCode: 'LS1 6AE' }] }, 10);
    const full = count(candidateExpression(q));
    const reduced = count(candidateExpression(q, { onlyCertain: true }));
    assert.ok(reduced * 4 < full, `${reduced} of ${full} keys`);
    for (const other of [{ ...q, family: 'Smi*' }, { ...q, birthdate: [{ prefix: 'ge' as const, date: '1980-01-01' }] }, { ...q, postcode: 'LS1*' }]) {
      assert.deepEqual(candidateExpression(other, { onlyCertain: true }), candidateExpression(other));
    }
  });

  it('retrieves every certain record the full keys retrieve, and no other record (generated records and queries)', () => {
    const tally: Tally = { certainInFull: 0, droppedByReduction: 0 };
    fc.assert(
      fc.property(
        arbRecord.chain((record) => fc.tuple(fc.constant(record), arbQueryPatient(record))),
        ([record, queryPatient]) => check(queryOfPatient(queryPatient, 10), [record], tally, 'generated'),
      ),
      { numRuns: 4000 },
    );
    diagnostic(`certain-only candidates: ${JSON.stringify(tally)}`);
    assert.ok(tally.certainInFull > 300, `only ${tally.certainInFull} certain records among the generated`);
    assert.ok(tally.droppedByReduction > 100, `the reduction left out only ${tally.droppedByReduction} records`);
  });

  it('retrieves every certain record the full keys retrieve among a seeded population, for every variant kind', () => {
    const population = makePopulation(5, 2000);
    const patients = population.map((p) => p.patient);
    const rnd = prng(17);
    const tally: Tally = { certainInFull: 0, droppedByReduction: 0 };
    const kinds = [...VARIANT_KINDS, ...COMBINED_KINDS];
    for (let i = 0; i < 120; i++) {
      const person = population[Math.floor(rnd() * population.length)]!;
      const v = makeVariant(rnd, person, kinds[i % kinds.length]!);
      const queryPatient: Patient = {
        resourceType: 'Patient',
        name: [{ use: 'official', given: v.given, ...(v.family !== undefined ? { family: v.family } : {}) }],
        birthDate: v.birthDate,
        gender: v.gender as Patient['gender'],
        ...(v.postcode !== undefined ? { address: [{ postalCode: v.postcode }] } : {}),
      };
      check(queryOfPatient(queryPatient, 10), patients, tally, v.kind);
    }
    diagnostic(`certain-only candidates: ${JSON.stringify(tally)}`);
    assert.ok(tally.certainInFull >= 20, `only ${tally.certainInFull} certain records`);
    assert.ok(tally.droppedByReduction > 20, `the reduction left out only ${tally.droppedByReduction} records`);
  });
});
