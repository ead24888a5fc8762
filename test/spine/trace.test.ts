/**
 * `Patient/$trace` and `Patient/$match` over HTTP (PDS FHIR API "Search for a patient"; FHIR R4
 * patient-operation-match.html).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import type { TestApp } from '../helpers/test-app';
import { patient, seed, traceApp } from './trace-fixtures';

const SPINE = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';
const R = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }];

const PEOPLE: Patient[] = [
  patient('9000000009', 'Smith', ['Jane', 'Anne'], '2010-10-22', { address: [{ postalCode: 'LS1 6AE' }], generalPractitioner: [{ identifier: { value: 'Y12345' } }] }),
  patient('9000000017', 'Smythe', ['Jayne'], '2010-10-22', { address: [{ postalCode: 'LS1 6AB' }] }),
  patient('9000000025', 'Smith', ['Jane'], '1975-03-04', { address: [{ postalCode: 'M1 1AA' }] }),
  patient('9000000033', 'Garton', ['Bill'], '1948-01-05', { gender: 'male', name: [{ family: 'Garton', given: ['Bill'] }, { use: 'old', family: 'Godsoe', given: ['Bill'] }] }),
  patient('9000000041', 'Hidden', ['Hattie'], '1990-06-07', { meta: { security: R }, address: [{ postalCode: 'LS1 6AE' }] }),
  // A merged pair: 9000000068 was superseded by 9000000076.
  patient('9000000068', 'Cuff', ['Carl'], '1960-02-02', { active: false, gender: 'male', link: [{ other: { reference: 'Patient/9000000076' }, type: 'replaced-by' }] }),
  patient('9000000076', 'Cuff', ['Carl'], '1960-02-02', { gender: 'male', link: [{ other: { reference: 'Patient/9000000068' }, type: 'replaces' }] }),
];

function bundle(res: request.Response): Bundle {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const b = res.body as Bundle;
  assert.equal(b.type, 'searchset');
  return b;
}
const ids = (b: Bundle): string[] => (b.entry ?? []).map((e) => (e.resource as Patient).id!);
const scores = (b: Bundle): number[] => (b.entry ?? []).map((e) => e.search!.score!);

describe('Patient/$trace', () => {
  let t: TestApp;
  before(async () => {
    t = traceApp();
    await seed(t, PEOPLE);
  });
  after(() => t.close());
  const trace = (q: string) => request(t.app).get(`/fhir/Patient/$trace?${q}`);

  it('a non-fuzzy trace finds the exact record with score 1.0 (case-insensitive)', async () => {
    const b = bundle(await trace('family=SMITH&given=jane&birthdate=eq2010-10-22'));
    assert.deepEqual(ids(b), ['9000000009']);
    assert.deepEqual(scores(b), [1]);
    assert.equal(b.total, 1);
  });

  it('wildcards match from the third character, with a score below 1.0', async () => {
    const b = bundle(await trace('family=Sm*&birthdate=eq2010-10-22'));
    assert.deepEqual(ids(b).sort(), ['9000000009', '9000000017']);
    assert.ok(scores(b).every((s) => s < 1));
  });

  it('a wildcard in the first two characters or in fuzzy mode is INVALID_SEARCH_DATA', async () => {
    for (const q of ['family=S*&birthdate=2010-10-22', 'family=Smi*&given=Jane&birthdate=2010-10-22&_fuzzy-match=true']) {
      const res = await trace(q);
      assert.equal(res.status, 400, q);
      assert.equal((res.body as OperationOutcome).issue[0]!.details?.coding?.[0]?.code, 'INVALID_SEARCH_DATA');
      assert.equal((res.body as OperationOutcome).issue[0]!.details?.coding?.[0]?.system, SPINE);
    }
  });

  it('enforces the minimum combinations with INVALID_SEARCH_DATA', async () => {
    for (const q of ['family=Smith', 'birthdate=2010-10-22', 'given=Jane&birthdate=2010-10-22&_fuzzy-match=true', 'family=Smith&birthdate=2010-10-22&gender=female&_fuzzy-match=true', 'family=Smith&birthdate=22-10-2010', 'family=Smith&birthdate=2010-10-22&unknown=1']) {
      const res = await trace(q);
      assert.equal(res.status, 400, q);
      assert.equal((res.body as OperationOutcome).issue[0]!.details?.coding?.[0]?.code, 'INVALID_SEARCH_DATA', q);
    }
    assert.equal((await trace('family=Smith&birthdate=2010-10-22&_max-results=51')).status, 400);
  });

  it('fuzzy: homophones match (Smith finds Smythe), best first', async () => {
    const b = bundle(await trace('family=Smith&given=Jane&birthdate=2010-10-22&_fuzzy-match=true'));
    assert.deepEqual(ids(b), ['9000000009', '9000000017']);
    assert.ok(scores(b)[0]! === 1 && scores(b)[1]! < 1);
  });

  it('fuzzy: transposed given and family names match', async () => {
    const b = bundle(await trace('family=Jane&given=Smith&birthdate=2010-10-22&_fuzzy-match=true'));
    assert.equal(ids(b)[0], '9000000009');
  });

  it('fuzzy: a day/month transposed birth date still finds the record', async () => {
    const b = bundle(await trace('family=Smith&given=Jane&birthdate=1975-04-03&_fuzzy-match=true'));
    assert.equal(ids(b)[0], '9000000025');
    assert.ok(scores(b)[0]! < 1);
  });

  it('previous names match only with _history', async () => {
    assert.deepEqual(ids(bundle(await trace('family=Godsoe&birthdate=1948-01-05'))), []);
    const b = bundle(await trace('family=Godsoe&birthdate=1948-01-05&_history=true'));
    assert.deepEqual(ids(b), ['9000000033']);
    assert.ok(scores(b)[0]! < 1);
  });

  it('birthdate ranges (ge/le) and postcode ignoring case and spaces', async () => {
    assert.deepEqual(ids(bundle(await trace('family=Smith&birthdate=ge1970-01-01&birthdate=le1980-01-01'))), ['9000000025']);
    assert.deepEqual(ids(bundle(await trace('family=Smith&birthdate=2010-10-22&address-postalcode=ls16ae'))), ['9000000009']);
    assert.deepEqual(ids(bundle(await trace('family=Smith&birthdate=2010-10-22&address-postalcode=LS9*'))), []);
  });

  it('_exact-match keeps only 1.0 scores', async () => {
    const b = bundle(await trace('family=Sm*&birthdate=2010-10-22&_exact-match=true'));
    assert.deepEqual(ids(b), []);
  });

  it('more matches than _max-results: 200 with TOO_MANY_MATCHES', async () => {
    const res = await trace('family=Sm*&birthdate=eq2010-10-22&_max-results=1');
    assert.equal(res.status, 200);
    const oo = res.body as OperationOutcome;
    assert.equal(oo.resourceType, 'OperationOutcome');
    assert.equal(oo.issue[0]!.severity, 'information');
    assert.equal(oo.issue[0]!.code, 'multiple-matches');
    assert.equal(oo.issue[0]!.details?.coding?.[0]?.code, 'TOO_MANY_MATCHES');
  });

  it('restricted patients are left out of traces using postcode or GP, not of others', async () => {
    assert.deepEqual(ids(bundle(await trace('family=Hidden&birthdate=1990-06-07'))), ['9000000041']);
    assert.deepEqual(ids(bundle(await trace('family=Hidden&birthdate=1990-06-07&address-postalcode=LS1 6AE'))), []);
  });

  it('a superseded record is replaced by its survivor, once', async () => {
    const b = bundle(await trace('family=Cuff&given=Carl&birthdate=1960-02-02'));
    assert.deepEqual(ids(b), ['9000000076']);
  });

  it('POST with a Parameters body gives the same answer as GET', async () => {
    const res = await request(t.app)
      .post('/fhir/Patient/$trace')
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'Parameters', parameter: [{ name: 'family', valueString: 'Smith' }, { name: 'given', valueString: 'Jane' }, { name: 'birthdate', valueString: 'eq2010-10-22' }, { name: '_fuzzy-match', valueBoolean: true }] });
    assert.deepEqual(ids(bundle(res)), ['9000000009', '9000000017']);
  });

  it('is listed in the CapabilityStatement; its internal index parameters are neither listed nor accepted by the search API (strict: 400; lenient: ignored and reported)', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    const patientRes = (res.body as { rest: Array<{ resource: Array<{ type: string; operation?: Array<{ name: string }>; searchParam?: Array<{ name: string }> }> }> }).rest[0]!.resource.find((r) => r.type === 'Patient')!;
    const ops = (patientRes.operation ?? []).map((o) => o.name);
    assert.ok(ops.includes('trace') && ops.includes('match'), ops.join(','));
    assert.deepEqual((patientRes.searchParam ?? []).filter((p) => p.name.startsWith('spine-')), []);
    // They are the trace engine's keys (queried with IR it builds), not client search parameters.
    const strict = await request(t.app).get('/fhir/Patient?spine-family-phonetic=S530&birthdate=2010-10-22').set('Prefer', 'handling=strict');
    assert.equal(strict.status, 400, strict.text);
    const lenient = await request(t.app).get('/fhir/Patient?spine-family-phonetic=S530&birthdate=2010-10-22');
    assert.equal(lenient.status, 200);
    assert.ok(((lenient.body as Bundle).entry ?? []).some((e) => e.search?.mode === 'outcome'), 'the ignored parameter is reported');
  });
});

describe('Patient/$match', () => {
  let t: TestApp;
  before(async () => {
    t = traceApp();
    await seed(t, PEOPLE);
  });
  after(() => t.close());
  const match = (resource: Patient, extra: Array<Record<string, unknown>> = []) =>
    request(t.app)
      .post('/fhir/Patient/$match')
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource }, ...extra] });

  it('returns scored matches with the match-grade extension', async () => {
    const b = bundle(await match({ resourceType: 'Patient', name: [{ family: 'smith', given: ['JANE'] }], birthDate: '2010-10-22', gender: 'female' }));
    assert.equal(ids(b)[0], '9000000009');
    const first = b.entry![0]!;
    assert.equal(first.search!.score, 1);
    assert.equal(first.search!.extension?.[0]?.url, 'http://hl7.org/fhir/StructureDefinition/match-grade');
    assert.equal(first.search!.extension?.[0]?.valueCode, 'certain');
    const second = b.entry![1];
    assert.ok(second && second.search!.extension?.[0]?.valueCode !== 'certain');
  });

  it('onlyCertainMatches returns the single certain match, count limits the results', async () => {
    const res = await match({ resourceType: 'Patient', name: [{ family: 'Smith', given: ['Jane'] }], birthDate: '2010-10-22' }, [{ name: 'onlyCertainMatches', valueBoolean: true }]);
    assert.deepEqual(ids(bundle(res)), ['9000000009']);
    const limited = await match({ resourceType: 'Patient', name: [{ family: 'Smith', given: ['Jane'] }], birthDate: '2010-10-22' }, [{ name: 'count', valueInteger: 1 }]);
    assert.equal(ids(bundle(limited)).length, 1);
  });

  it('refuses a resource without usable demographics', async () => {
    const res = await match({ resourceType: 'Patient', gender: 'female' });
    assert.equal(res.status, 400);
  });
});
