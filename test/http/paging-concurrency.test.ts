/**
 * Paging under concurrent writes (FHIR R4 search.html "Paging", http.html#history, bundle.html
 * links; ADR 17): walks over search pages (every kind of sort, and a compartment `*` search, which
 * pages type by type) and over history pages, each page requested while other requests create,
 * update and delete resources of the same kinds. Every walk must give no entry twice and every
 * "stable" match: a resource that matched when the first page was served and that no write touched
 * during the walk (for history: every version that existed when the walk began).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, testApp, TEST_BASE, type TestApp } from '../helpers/test-app';
import { prng } from '../../src/seed/uk-data'; // mulberry32: a failing walk can be replayed

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; id: string };
  response?: { etag: string };
  search?: { mode: string };
}
interface Bundle {
  entry?: Entry[];
  link?: Array<{ relation: string; url: string }>;
}

const SEED = 20260;

const local = (url: string): string => {
  assert.ok(url.startsWith(TEST_BASE), url);
  return `/fhir${url.slice(TEST_BASE.length)}`;
};

const PATIENTS = 90;
/** Patients the concurrent writers update or delete; the others are the stable matches. */
const CHURN = (i: number): boolean => i % 3 === 0;
const patientId = (i: number): string => `walk${String(i).padStart(3, '0')}`;
const patient = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Patient',
  id: patientId(i),
  name: [{ family: 'Walker', given: [`G${i}`] }],
  birthDate: `19${String(40 + (i % 50)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
  gender: i % 2 ? 'male' : 'female',
  ...extra,
});

describe('HTTP: paging while other requests write', function () {
  this.timeout(120_000);
  let t: TestApp;

  const put = async (body: Record<string, unknown>): Promise<void> => {
    const res = await request(t.app).put(`/fhir/${String(body.resourceType)}/${String(body.id)}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
    assert.ok(res.status === 200 || res.status === 201, res.text);
  };

  before(async () => {
    t = testApp({ ...GENERIC_ENGINE, CURSOR_SECRET: 'paging-concurrency-secret-0123456789abcdef' });
    for (let i = 0; i < PATIENTS; i++) await put(patient(i));
    for (let v = 0; v < 10; v++) await put(patient(0, { active: v % 2 === 0 }));
    await put({ resourceType: 'Patient', id: 'hub', name: [{ family: 'Hub' }] });
    for (let i = 0; i < 45; i++) {
      await put({ resourceType: 'Observation', id: `hobs${i}`, status: 'final', code: { text: `o${i % 5}` }, subject: { reference: 'Patient/hub' } });
      if (i < 30) await put({ resourceType: 'Condition', id: `hcond${i}`, subject: { reference: 'Patient/hub' }, code: { text: `c${i}` } });
      if (i < 20) await put({ resourceType: 'Encounter', id: `henc${i}`, status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/hub' } });
    }
  });
  after(() => t.close());

  /** Writes that run while a page is being served: creates, updates and deletes of the same kinds. */
  function writer(seed: number): { burst: () => Promise<void>; touched: Set<string> } {
    const rnd = prng(seed);
    const touched = new Set<string>();
    let created = 0;
    const burst = async (): Promise<void> => {
      const ops: Array<Promise<unknown>> = [];
      for (let k = 0; k < 4; k++) {
        const r = rnd();
        const churn = [...Array(PATIENTS).keys()].filter(CHURN);
        const i = churn[Math.floor(rnd() * churn.length)]!;
        if (r < 0.3) {
          const id = `new${seed}-${created++}`;
          touched.add(`Patient/${id}`);
          ops.push(request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient(i), id, birthDate: `19${40 + Math.floor(rnd() * 50)}-01-01` })));
        } else if (r < 0.6) {
          touched.add(`Patient/${patientId(i)}`);
          ops.push(request(t.app).put(`/fhir/Patient/${patientId(i)}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(patient(i, { birthDate: `19${40 + Math.floor(rnd() * 50)}-05-05`, active: rnd() < 0.5 }))));
        } else if (r < 0.75) {
          touched.add(`Patient/${patientId(i)}`);
          ops.push(request(t.app).delete(`/fhir/Patient/${patientId(i)}`));
        } else {
          // The hub's compartment: new members, updated and deleted churn members of every type.
          const type = ['Observation', 'Condition', 'Encounter'][Math.floor(rnd() * 3)]!;
          const prefix = type === 'Observation' ? 'hobs' : type === 'Condition' ? 'hcond' : 'henc';
          const n = Math.floor(rnd() * 10) * 3; // members whose number is a multiple of 3 churn
          const id = rnd() < 0.4 ? `${prefix}-new${seed}-${created++}` : `${prefix}${n}`;
          touched.add(`${type}/${id}`);
          const body =
            type === 'Observation'
              ? { resourceType: type, id, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/hub' } }
              : type === 'Condition'
                ? { resourceType: type, id, subject: { reference: 'Patient/hub' }, code: { text: 'x' } }
                : { resourceType: type, id, status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/hub' } };
          ops.push(rnd() < 0.3 && !id.includes('-new') ? request(t.app).delete(`/fhir/${type}/${id}`) : request(t.app).put(`/fhir/${type}/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)));
        }
      }
      // And always a new version of one churn Patient (its instance history grows during the walk).
      touched.add('Patient/walk000');
      ops.push(request(t.app).put('/fhir/Patient/walk000').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient(0, { active: rnd() < 0.5 }))));
      for (const res of (await Promise.all(ops)) as request.Response[]) assert.ok(res.status < 300, res.text);
    };
    return { burst, touched };
  }

  /** Every page of a walk, each requested together with a burst of writes; the entries' keys in order. */
  async function walk(first: string, key: (e: Entry) => string, seed: number): Promise<{ seen: string[]; touched: Set<string>; pages: number }> {
    const w = writer(seed);
    const seen: string[] = [];
    let url: string | undefined = first;
    let pages = 0;
    while (url) {
      const [res]: [request.Response, void] = await Promise.all([request(t.app).get(url), w.burst()]);
      assert.equal(res.status, 200, res.text);
      const b = res.body as Bundle;
      seen.push(...(b.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.search?.mode !== 'include').map(key));
      const next = b.link?.find((l) => l.relation === 'next')?.url;
      url = next ? local(next) : undefined;
      pages++;
      assert.ok(pages < 200, 'the walk must end');
    }
    return { seen, touched: w.touched, pages };
  }

  const duplicates = (xs: string[]): string[] => xs.filter((x, i) => xs.indexOf(x) !== i);
  const asKey = (e: Entry): string => `${e.resource!.resourceType}/${e.resource!.id}`;

  /** The matches of a search now (one page of all of them, no writes meanwhile). */
  async function matchesNow(query: string): Promise<string[]> {
    const res = await request(t.app).get(`${query}${query.includes('?') ? '&' : '?'}_count=1000`);
    assert.equal(res.status, 200, res.text);
    return ((res.body as Bundle).entry ?? []).filter((e) => e.search?.mode === 'match').map(asKey);
  }

  const searches: Array<[string, string]> = [
    ['default order', '/fhir/Patient?family=Walker'],
    ['_sort=_id', '/fhir/Patient?family=Walker&_sort=_id'],
    ['_sort=_lastUpdated', '/fhir/Patient?family=Walker&_sort=_lastUpdated'],
    ['_sort=-_lastUpdated', '/fhir/Patient?family=Walker&_sort=-_lastUpdated'],
    ['_sort=birthdate', '/fhir/Patient?family=Walker&_sort=birthdate'],
    ['_sort=-birthdate,_id with _total=accurate', '/fhir/Patient?family=Walker&_sort=-birthdate,_id&_total=accurate'],
    ['_sort=gender,-_id', '/fhir/Patient?family=Walker&_sort=gender,-_id'],
    ['a compartment * search (type by type)', '/fhir/Patient/hub/*'],
  ];
  searches.forEach(([label, query], n) => {
    it(`search, ${label}: no duplicates, every stable match`, async () => {
      const before = await matchesNow(query);
      assert.ok(before.length > 40, `${before.length} matches before the walk`);
      const { seen, touched, pages } = await walk(`${query}${query.includes('?') ? '&' : '?'}_count=7`, asKey, SEED + n);
      assert.ok(pages > 5, `${pages} pages`);
      assert.deepEqual(duplicates(seen), [], 'no resource twice');
      const stable = before.filter((k) => !touched.has(k));
      const missing = stable.filter((k) => !seen.includes(k));
      assert.deepEqual(missing, [], `every stable match is seen (${stable.length} stable of ${before.length})`);
    });
  });

  const histories: Array<[string, string]> = [
    ['type history', '/fhir/Patient/_history'],
    ['system history', '/fhir/_history'],
    ['instance history', '/fhir/Patient/walk000/_history'],
  ];
  histories.forEach(([label, path], n) => {
    it(`history, ${label}: no duplicates, every version that existed when the walk began`, async () => {
      const key = (e: Entry): string => `${e.fullUrl!} ${e.response!.etag}`;
      const all = await request(t.app).get(`${path}?_count=1000`);
      assert.equal(all.status, 200, all.text);
      const before = ((all.body as Bundle).entry ?? []).map(key);
      const { seen, pages } = await walk(`${path}?_count=${label === 'instance history' ? 2 : 25}`, key, SEED + 100 + n);
      assert.ok(pages > 3, `${pages} pages`);
      assert.deepEqual(duplicates(seen), [], 'no version twice');
      assert.deepEqual(
        before.filter((k) => !seen.includes(k)),
        [],
        `every version of the first page's history is seen (${before.length})`,
      );
    });
  });
});
