/**
 * `mayMatch` (score.ts) is an upper bound of `scoreRecord`: a record it rejects is one `scoreRecord`
 * rejects, whatever the query and the record. Checked on generated queries and Patients (fast-check)
 * and on every query variant of a seeded population against every record sharing its blocking keys'
 * Soundex, the candidates a fuzzy trace scores.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Address, ContactPoint, HumanName, Patient } from 'fhir/r4';
import { patientFeatures, recordFeatures } from './features';
import type { DateBound, TraceQuery } from './query';
import { mayMatch, probeOf, scoreRecord } from './score';
import { soundex } from './phonetic';
import { makePopulation, makeVariant, prng, VARIANT_KINDS } from '../../../test/spine/trace-population';

const NOW = new Date('2026-06-01T00:00:00Z');

const families = ['Smith', 'Smyth', 'Smith-Jones', 'Jones', "O'Brien", 'OBrien', 'Ng', 'Schmidt', 'smith '];
const givens = ['Jane', 'Jayne', 'John', 'Jon', 'Bill', 'William', 'J', 'Mary Ann', 'Anne'];
const dates = ['1980-02-03', '1980-03-02', '1980-02-04', '1981-02-03', '1908-02-03', '1980-02-30', '1980-12-03', '1980', '1980-02', '1979-11-23'];
const postcodes = ['LS1 6AE', 'LS16AE', 'LS1 6AF', 'LS2 7XY', 'M1 1AA', 'ls1 6ae'];
const periods = [undefined, { end: '2020-01-01' }, { start: '2021-01-01' }, { end: '2030-05-01' }];

const arbName: fc.Arbitrary<HumanName> = fc.record(
  {
    use: fc.constantFrom<HumanName['use']>('usual', 'official', 'old', 'maiden', undefined),
    family: fc.constantFrom(...families),
    given: fc.array(fc.constantFrom(...givens), { maxLength: 3 }),
    period: fc.constantFrom(...periods),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<HumanName>;

const arbAddress: fc.Arbitrary<Address> = fc.record(
  { use: fc.constantFrom<Address['use']>('home', 'temp', 'old', undefined), postalCode: fc.constantFrom(...postcodes), period: fc.constantFrom(...periods) },
  { requiredKeys: [] },
) as fc.Arbitrary<Address>;

const arbTelecom: fc.Arbitrary<ContactPoint> = fc.record(
  {
    system: fc.constantFrom<ContactPoint['system']>('phone', 'email'),
    value: fc.constantFrom('01632 960587', '+44 1632 960587', 'jane@example.org', 'JANE@example.org', 'x@example.org'),
    use: fc.constantFrom<ContactPoint['use']>('home', 'mobile', 'old', undefined),
    period: fc.constantFrom(...periods),
  },
  { requiredKeys: ['system', 'value'] },
) as fc.Arbitrary<ContactPoint>;

const arbPatient: fc.Arbitrary<Patient> = fc
  .record(
    {
      name: fc.array(arbName, { maxLength: 3 }),
      birthDate: fc.constantFrom(...dates),
      gender: fc.constantFrom<Patient['gender']>('male', 'female', 'unknown', 'other'),
      address: fc.array(arbAddress, { maxLength: 3 }),
      telecom: fc.array(arbTelecom, { maxLength: 3 }),
      generalPractitioner: fc.array(fc.constantFrom({ identifier: { value: 'Y12345' } }, { reference: 'Organization/A20047' }), { maxLength: 1 }),
      deceasedDateTime: fc.constantFrom('2020-01-05T10:00:00Z', '2021-07-01'),
      identifier: fc.array(fc.constantFrom({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }, { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000017' }), { maxLength: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((p) => ({ resourceType: 'Patient', ...p }) as Patient);

const arbBirthdate: fc.Arbitrary<DateBound[]> = fc.oneof(
  fc.constantFrom(...dates.filter((d) => d.length === 10 && d !== '1980-02-30')).map((date): DateBound[] => [{ prefix: 'eq', date }]),
  fc.constant<DateBound[]>([{ prefix: 'ge', date: '1979-01-01' }, { prefix: 'le', date: '1980-12-31' }]),
  fc.constant<DateBound[]>([]),
);

const arbQuery: fc.Arbitrary<TraceQuery> = fc
  .record(
    {
      family: fc.constantFrom(...families, 'Smi*'),
      given: fc.array(fc.constantFrom(...givens, 'Ja*'), { maxLength: 2 }),
      birthdate: arbBirthdate,
      deathDate: fc.constantFrom<DateBound[]>([], [{ prefix: 'eq', date: '2020-01-05' }]),
      gender: fc.constantFrom('male', 'female', 'unknown'),
      postcode: fc.constantFrom(...postcodes, 'LS1*'),
      gp: fc.constantFrom('Y12345', 'A20047', 'B99999'),
      email: fc.constantFrom('jane@example.org', 'x@example.org'),
      phone: fc.constantFrom('01632960587', '07700900000'),
      nhsNumber: fc.constantFrom('9000000009', '9000000017'),
      fuzzy: fc.boolean(),
      history: fc.boolean(),
    },
    { requiredKeys: ['given', 'birthdate', 'deathDate', 'fuzzy', 'history'] },
  )
  .map((q) => ({ exact: false, maxResults: 50, ...q }) as TraceQuery);

const nhsOf = (p: Patient): string | undefined => p.identifier?.[0]?.value;

describe('Trace scoring: the upper bound that skips name comparison (mayMatch)', () => {
  it('rejects only records that scoreRecord rejects (generated queries and Patients, with and without skipMissing)', () => {
    let rejected = 0;
    fc.assert(
      fc.property(arbQuery, arbPatient, fc.boolean(), (q, p, skipMissing) => {
        const probe = probeOf(q, skipMissing ? { skipMissing: true } : {});
        if (mayMatch(probe, recordFeatures(p, NOW), nhsOf(p))) return;
        rejected++;
        assert.equal(scoreRecord(probe, patientFeatures(p, NOW), nhsOf(p)), undefined);
      }),
      { numRuns: 4000 },
    );
    assert.ok(rejected > 400, `the bound rejected only ${rejected} of 4000 generated records`);
  });

  it('rejects only non-matches among the records a fuzzy trace scores (a seeded population, every variant kind)', () => {
    const population = makePopulation(7, 3000);
    const bySoundex = new Map<string, Patient[]>();
    for (const person of population) {
      const key = soundex(person.family.toLowerCase());
      bySoundex.set(key, [...(bySoundex.get(key) ?? []), person.patient]);
    }
    const rnd = prng(11);
    let compared = 0;
    let skipped = 0;
    for (let i = 0; i < 240; i++) {
      const person = population[Math.floor(rnd() * population.length)]!;
      const v = makeVariant(rnd, person, VARIANT_KINDS[i % VARIANT_KINDS.length]!);
      const q: TraceQuery = {
        given: v.given,
        birthdate: [{ prefix: 'eq', date: v.birthDate }],
        deathDate: [],
        gender: v.gender,
        fuzzy: true,
        exact: false,
        history: true,
        maxResults: 50,
        ...(v.family !== undefined ? { family: v.family } : {}),
        ...(v.postcode !== undefined ? { postcode: v.postcode } : {}),
      };
      const probe = probeOf(q);
      for (const candidate of bySoundex.get(soundex(person.family.toLowerCase())) ?? []) {
        compared++;
        const full = scoreRecord(probe, patientFeatures(candidate, NOW));
        if (mayMatch(probe, recordFeatures(candidate, NOW))) continue;
        skipped++;
        assert.equal(full, undefined, `${v.kind}: ${JSON.stringify(q)} rejected ${candidate.id} scoring ${String(full)}`);
      }
    }
    assert.ok(skipped > compared / 2, `the bound skipped ${skipped} of ${compared} candidates`);
  });
});
