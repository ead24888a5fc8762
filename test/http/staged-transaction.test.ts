/**
 * Transaction Bundles of plain creates, prepared without holding the store and written as one unit
 * (ADR 0047, src/fhir/interactions/staged-transaction.ts; FHIR R4 http.html#transaction,
 * bundle.html#references), against the serial processing of bundle.ts they stand in for. Two servers
 * on SQLite files get the same Bundles: one as the server runs (the writer thread writes each staged
 * Bundle in one batch) and one whose store offers no `commitCreates`, so that every Bundle runs in
 * `withTransaction`. Their answers, the stored resources and searches over them must be the same,
 * with the ids each assigned mapped onto each other; so must their failures, after which nothing is
 * stored. Bundles whose entries need the store (a Patient traced for its NHS Number) run as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { existingExternalPath } from '../helpers/external-data';
import { FHIR_JSON, GENERIC_ENGINE, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';

interface Server {
  t: TestApp;
  store: SqliteStore;
}

function server(dir: string, name: string, staged: boolean, env: Readonly<Record<string, string>> = GENERIC_ENGINE): Server {
  const store = openSqliteStore(path.join(dir, name, 'fhir.sqlite'), { writes: 'worker', appendWriter: 'worker' });
  // Without commitCreates every transaction runs in withTransaction (bundle.ts), as before ADR 0047.
  if (!staged) Object.defineProperty(store, 'commitCreates', { value: undefined });
  return { t: testApp(env, { store }), store };
}

const post = (s: Server, body: unknown, prefer = 'return=minimal') => request(s.t.app).post('/fhir').set('Content-Type', FHIR_JSON).set('Prefer', prefer).send(JSON.stringify(body));

/** The ids a transaction-response assigned, by entry: `Type/id` -> `Type/#n`. */
function idsOf(res: { body: Bundle }): Map<string, string> {
  const out = new Map<string, string>();
  (res.body.entry ?? []).forEach((e, i) => {
    const m = /^([A-Za-z]+)\/([^/]+)\/_history\/\d+$/.exec(e.response?.location ?? '');
    if (m) out.set(m[2]!, `#${i}`);
  });
  return out;
}

/** JSON text with every assigned id replaced by its entry's placeholder and instants taken out. */
function normalised(value: unknown, ids: Map<string, string>): string {
  let text = JSON.stringify(value, (k, v: unknown) => (k === 'lastUpdated' || k === 'lastModified' ? undefined : v));
  for (const [id, placeholder] of ids) text = text.split(id).join(placeholder);
  return text;
}

function synthea(n: number): Bundle[] {
  const dir = existingExternalPath('synthea');
  if (!dir) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .slice(0, n)
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Bundle);
}

/** A hand-made Bundle: absolute fullUrls with relative references, a contained resource, a reference to a stored Patient, a urn:uuid inside an extension. */
function handMade(storedPatient: string): Bundle {
  const entry: BundleEntry[] = [
    {
      fullUrl: 'http://example.org/fhir/Patient/p1',
      resource: { resourceType: 'Patient', name: [{ family: 'Staged', given: ['Ann'] }], gender: 'female', birthDate: '1980-02-03', generalPractitioner: [{ reference: 'Practitioner/gp1' }] },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: 'http://example.org/fhir/Practitioner/gp1',
      resource: { resourceType: 'Practitioner', name: [{ family: 'Doctor' }], identifier: [{ system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'G1234567' }] },
      request: { method: 'POST', url: 'Practitioner' },
    },
    {
      fullUrl: 'urn:uuid:0b9e3c1e-0000-4000-8000-000000000003',
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'http://example.org/fhir/Patient/p1' },
        performer: [{ reference: '#perf' }, { reference: storedPatient }],
        contained: [{ resourceType: 'Practitioner', id: 'perf', name: [{ family: 'Contained' }] }],
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        extension: [{ url: 'http://example.org/ext', valueReference: { reference: 'urn:uuid:0b9e3c1e-0000-4000-8000-000000000004' } }],
      },
      request: { method: 'POST', url: 'Observation' },
    },
    {
      fullUrl: 'urn:uuid:0b9e3c1e-0000-4000-8000-000000000004',
      resource: { resourceType: 'Condition', subject: { reference: 'http://example.org/fhir/Patient/p1' }, code: { text: 'Asthma' }, recordedDate: '2026-12-01' },
      request: { method: 'POST', url: 'Condition' },
    },
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

describe('HTTP: transaction Bundles of plain creates, staged (ADR 0047) against serial', function () {
  this.timeout(120_000);
  let dir: string;
  let staged: Server;
  let serial: Server;
  let storedPatient: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'staged-tx-'));
    staged = server(dir, 'staged', true);
    serial = server(dir, 'serial', false);
    // The same stored Patient id in both, for literal references.
    for (const s of [staged, serial]) {
      const res = await request(s.t.app).put('/fhir/Patient/stored1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'stored1', name: [{ family: 'Stored' }] }));
      assert.equal(res.status, 201, res.text);
    }
    storedPatient = 'Patient/stored1';
  });
  after(async () => {
    await staged.t.close();
    await serial.t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Posts `bundle` to both; asserts the same answer and the same stored resources; returns the two id maps. */
  async function same(bundle: Bundle, prefer = 'return=minimal'): Promise<{ a: Map<string, string>; b: Map<string, string> }> {
    const batchesBefore = staged.store.writerThreadBatches ?? 0;
    const [ra, rb] = [await post(staged, bundle, prefer), await post(serial, bundle, prefer)];
    assert.equal(ra.status, rb.status, `${ra.text}\n---\n${rb.text}`);
    assert.equal(ra.status, 200, ra.text);
    // Staged: one writer-thread batch for the whole Bundle.
    assert.equal((staged.store.writerThreadBatches ?? 0) - batchesBefore, 1, 'the staged server wrote the Bundle in one batch');
    const a = idsOf(ra);
    const b = idsOf(rb);
    assert.equal(a.size, bundle.entry!.length);
    assert.equal(normalised(ra.body, a), normalised(rb.body, b));
    for (const [ida, placeholder] of a) {
      const idb = [...b].find(([, p]) => p === placeholder)![0];
      const type = /^([A-Za-z]+)\//.exec(ra.body.entry![Number(placeholder.slice(1))]!.response!.location!)![1]!;
      const [ga, gb] = [await request(staged.t.app).get(`/fhir/${type}/${ida}`), await request(serial.t.app).get(`/fhir/${type}/${idb}`)];
      assert.equal(ga.status, 200);
      assert.equal(normalised(ga.body, a), normalised(gb.body, b), `${type} ${placeholder}`);
    }
    return { a, b };
  }

  it('a hand-made Bundle: the same answers (minimal and representation), resources and searches', async () => {
    const { a, b } = await same(handMade(storedPatient));
    await same(handMade(storedPatient), 'return=representation');
    const patientA = [...a].find(([, p]) => p === '#0')![0];
    const patientB = [...b].find(([, p]) => p === '#0')![0];
    for (const q of [`Observation?subject=Patient/${'%ID%'}`, `Condition?patient=${'%ID%'}`, `Observation?performer=${storedPatient}`, 'Practitioner?identifier=https://fhir.nhs.uk/Id/sds-user-id|G1234567', 'Observation?code=http://loinc.org|8867-4&value-quantity=72', `Patient?general-practitioner.family=Doctor&_id=${'%ID%'}`]) {
      const [sa, sb] = [await request(staged.t.app).get(`/fhir/${q.replace('%ID%', patientA)}`), await request(serial.t.app).get(`/fhir/${q.replace('%ID%', patientB)}`)];
      assert.equal(sa.status, 200, sa.text);
      const idsA = (sa.body as Bundle).entry?.map((e) => e.resource!.id) ?? [];
      const idsB = (sb.body as Bundle).entry?.map((e) => e.resource!.id) ?? [];
      assert.ok(idsA.length > 0, `${q} finds the staged resources`);
      assert.equal(idsA.length, idsB.length, q);
    }
  });

  it('a staged create is updated as any other: only the changed parameters are rewritten (its index digest is stored)', async () => {
    const { a } = await same(handMade(storedPatient));
    const obsId = [...a].find(([, p]) => p === '#2')![0];
    const current = (await request(staged.t.app).get(`/fhir/Observation/${obsId}`)).body as { valueQuantity: { value: number } };
    current.valueQuantity.value = 99;
    const put = await request(staged.t.app).put(`/fhir/Observation/${obsId}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(current));
    assert.equal(put.status, 200, put.text);
    const found = await request(staged.t.app).get(`/fhir/Observation?value-quantity=99&_id=${obsId}`);
    assert.equal((found.body as Bundle).entry?.length, 1);
    const old = await request(staged.t.app).get(`/fhir/Observation?value-quantity=72&_id=${obsId}`);
    assert.equal((old.body as Bundle).entry?.length ?? 0, 0);
    const bySubject = await request(staged.t.app).get(`/fhir/Observation?performer=${storedPatient}&_id=${obsId}`);
    assert.equal((bySubject.body as Bundle).entry?.length, 1, 'an unchanged parameter still finds it');
  });

  it('Synthea Bundles (when present): the same answers and resources', async function () {
    const bundles = synthea(2);
    if (bundles.length === 0) {
      console.log('      (skipped: ../shared/external/synthea is absent)');
      this.skip();
    }
    for (const bundle of bundles) await same(bundle);
  });

  it('random Bundles of creates (references among entries, to stored and unknown resources, invalid values): the same answers (property)', async () => {
    // Resolvable references most of the time, so that whole Bundles are stored often enough to be
    // compared (with the four kinds equally likely, an entry resolved with odds of about 0.4, and 40
    // runs stored no Bundle about once in 100: a clean CI run met it).
    const ref = fc.oneof(
      { weight: 6, arbitrary: fc.nat({ max: 5 }).map((i) => ({ entry: i })) },
      { weight: 2, arbitrary: fc.constant({ literal: storedPatient }) },
      { weight: 1, arbitrary: fc.constant({ literal: 'urn:uuid:0b9e3c1e-0000-4000-8000-0000000000ff' }) },
      { weight: 1, arbitrary: fc.constant({ literal: '#missing' }) },
    );
    const entryArb = fc.record({
      type: fc.constantFrom('Patient', 'Observation', 'Condition', 'Basic'),
      ref,
      invalid: fc.nat({ max: 9 }).map((n) => n < 2),
      absolute: fc.boolean(),
    });
    const outcomes = new Set<number>();
    const batchesBefore = staged.store.writerThreadBatches ?? 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 6 }), async (specs) => {
        const fullUrl = (i: number): string => (specs[i]?.absolute ? `http://example.org/fhir/${specs[i]!.type}/e${i}` : `urn:uuid:0b9e3c1e-0000-4000-8000-${String(i).padStart(12, '0')}`);
        const target = (r: (typeof specs)[number]['ref']): string => ('entry' in r ? (r.entry < specs.length ? fullUrl(r.entry) : storedPatient) : r.literal);
        const entry: BundleEntry[] = specs.map((sp, i) => {
          const reference = { reference: target(sp.ref) };
          const resource: FhirResource =
            sp.type === 'Patient'
              ? ({ resourceType: 'Patient', name: [{ family: `Prop${i}` }], link: [{ other: reference, type: 'seealso' }], ...(sp.invalid ? { gender: 'neither' } : {}) } as FhirResource)
              : sp.type === 'Observation'
                ? ({ resourceType: 'Observation', status: sp.invalid ? 'unknown-status' : 'final', code: { text: `prop ${i}` }, subject: reference } as FhirResource)
                : sp.type === 'Condition'
                  ? ({ resourceType: 'Condition', code: { text: `prop ${i}` }, subject: reference, ...(sp.invalid ? { recordedDate: 'yesterday' } : {}) } as FhirResource)
                  : ({ resourceType: 'Basic', code: { text: `prop ${i}` }, subject: reference, ...(sp.invalid ? { created: '2026-13-40' } : {}) } as FhirResource);
          return { fullUrl: fullUrl(i), resource, request: { method: 'POST', url: sp.type } };
        });
        const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
        const [ra, rb] = [await post(staged, bundle, 'return=representation'), await post(serial, bundle, 'return=representation')];
        assert.equal(ra.status, rb.status, `${ra.text}\n---\n${rb.text}`);
        if (ra.status === 200) assert.equal(normalised(ra.body, idsOf(ra)), normalised(rb.body, idsOf(rb)));
        else assert.deepEqual(ra.body, rb.body);
        outcomes.add(ra.status);
      }),
      { numRuns: 40 },
    );
    assert.ok(outcomes.has(200) && [...outcomes].some((st) => st >= 400), `both stored and refused Bundles were generated: ${[...outcomes].join(', ')}`);
    assert.ok((staged.store.writerThreadBatches ?? 0) > batchesBefore, 'some were staged');
  });

  it('failures are the same and store nothing: invalid entries, an unresolved urn:uuid, a duplicate fullUrl, a null resource, a resource of another type', async () => {
    const count = async (s: Server): Promise<number> => ((await request(s.t.app).get('/fhir/Condition?_summary=count')).body as Bundle).total ?? -1;
    const base = handMade(storedPatient);
    const invalid: Bundle = { ...base, entry: base.entry!.map((e, i) => (i === 3 ? { ...e, resource: { ...e.resource!, clinicalStatus: 'active' } as never } : i === 2 ? { ...e, resource: { ...e.resource!, status: 'not-a-status' } as never } : e)) };
    const unresolved: Bundle = { ...base, entry: [...base.entry!.slice(0, 3), { ...base.entry![3]!, resource: { ...base.entry![3]!.resource!, subject: { reference: 'urn:uuid:0b9e3c1e-0000-4000-8000-00000000dead' } } as never }] };
    const duplicate: Bundle = { ...base, entry: [...base.entry!, base.entry![3]!] };
    const nullResource: Bundle = { ...base, entry: [...base.entry!, { resource: null as never, request: { method: 'POST', url: 'Condition' } }] };
    const otherType: Bundle = { ...base, entry: [...base.entry!, { resource: { resourceType: 'Condition', subject: { reference: 'Patient/stored1' } }, request: { method: 'POST', url: 'Observation' } }] };
    for (const bundle of [invalid, unresolved, duplicate, nullResource, otherType]) {
      const before = [await count(staged), await count(serial)];
      const [ra, rb] = [await post(staged, bundle), await post(serial, bundle)];
      assert.ok(ra.status >= 400 && ra.status < 500, ra.text);
      assert.equal(ra.status, rb.status);
      assert.deepEqual(ra.body, rb.body);
      assert.deepEqual([await count(staged), await count(serial)], before, 'nothing stored');
    }
  });
});

describe('HTTP: transaction Bundles whose creates need the store run as before (ADR 0047)', function () {
  this.timeout(60_000);
  let dir: string;
  let s: Server;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'staged-nhs-'));
    s = server(dir, 'nhs', true, { ...NHS_LAYER, REQUIRED_PROFILES: '' });
  });
  after(async () => {
    await s.t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const bundle = (family: string, nhs?: string): Bundle => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:6f1f7d0e-0000-4000-8000-000000000001',
        resource: { resourceType: 'Patient', ...(nhs ? { identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs }] } : {}), name: [{ family, given: ['Jo'] }], gender: 'male', birthDate: '1970-01-01' },
        request: { method: 'POST', url: 'Patient' },
      },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: 'urn:uuid:6f1f7d0e-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });

  it('a Patient with a valid NHS Number is staged; the same number again is the 409 of POST /Patient, and nothing is stored', async () => {
    const before = s.store.writerThreadBatches ?? 0;
    const ok = await post(s, bundle('Stagedone', '9000000009'));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.entry[0].response.location, 'Patient/9000000009/_history/1');
    assert.equal((s.store.writerThreadBatches ?? 0) - before, 1, 'written in one batch');
    const again = await post(s, bundle('Stagedtwo', '9000000009'));
    assert.equal(again.status, 409, again.text);
    const total = ((await request(s.t.app).get('/fhir/Observation?_summary=count')).body as Bundle).total;
    assert.equal(total, 1);
  });

  it('a Patient without an NHS Number is traced and allocated one, as in withTransaction; so is the next', async () => {
    for (const family of ['Tracedfirst', 'Tracedsecond']) {
      const res = await post(s, bundle(family));
      assert.equal(res.status, 200, res.text);
      const loc = res.body.entry[0].response.location as string;
      assert.match(loc, /^Patient\/\d{10}\/_history\/1$/);
      const obs = await request(s.t.app).get(`/fhir/${(res.body.entry[1].response.location as string).replace(/\/_history\/\d+$/, '')}`);
      assert.equal(obs.body.subject.reference, loc.replace(/\/_history\/\d+$/, ''));
    }
  });
});
