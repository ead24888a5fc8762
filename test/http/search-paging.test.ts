/**
 * Search and history paging over HTTP (FHIR R4 search.html#count "Paging", http.html#history,
 * bundle.html links; ADR 17): stateless signed keyset cursors in self/first/next links, every result
 * exactly once, tampered or foreign cursors rejected, `_total`, `_summary=count`, `_contained`,
 * `Prefer: handling` (and the self link of lenient handling), POST `_search`, history `_at`.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, TEST_BASE, type TestApp } from '../helpers/test-app';

interface Bundle {
  total?: number;
  entry?: Array<{ resource: { resourceType: string; id: string; meta?: { versionId?: string } }; search?: { mode: string } }>;
  link?: Array<{ relation: string; url: string }>;
}

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const link = (b: Bundle, rel: string): string | undefined => b.link?.find((l) => l.relation === rel)?.url;
const local = (url: string): string => {
  assert.ok(url.startsWith(TEST_BASE), url);
  return `/fhir${url.slice(TEST_BASE.length)}`;
};
const matchIds = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id);

describe('HTTP: search paging with signed cursors', () => {
  let t: TestApp;
  const ids: string[] = [];

  before(async () => {
    t = testApp({ CURSOR_SECRET: SECRET });
    for (let i = 0; i < 50; i++) {
      const id = `pg${String(i).padStart(2, '0')}`;
      ids.push(id);
      const day = String((i % 28) + 1).padStart(2, '0');
      const body = { resourceType: 'Patient', id, name: [{ family: 'Pager', given: [`G${i}`] }], birthDate: `19${50 + (i % 7)}-01-${day}`, gender: i % 2 ? 'male' : 'female' };
      const res = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
      assert.equal(res.status, 201, res.text);
    }
  });
  after(() => t.close());

  async function walk(first: string): Promise<{ seen: string[]; pages: Bundle[] }> {
    const seen: string[] = [];
    const pages: Bundle[] = [];
    let url: string | undefined = first;
    while (url) {
      const res = await request(t.app).get(url);
      assert.equal(res.status, 200, res.text);
      pages.push(res.body as Bundle);
      seen.push(...matchIds(res.body as Bundle));
      const next = link(res.body as Bundle, 'next');
      url = next ? local(next) : undefined;
      assert.ok(pages.length < 20, 'paging must end');
    }
    return { seen, pages };
  }

  for (const [label, query] of [
    ['default order', 'family=Pager&_count=7'],
    ['_sort=-birthdate,_id', 'family=Pager&_count=7&_sort=-birthdate,_id'],
    ['_sort=gender with _total=none', 'family=Pager&_count=7&_sort=gender&_total=none'],
  ] as const) {
    it(`walks all pages of a 50-resource result with _count=7 (${label}) and gets each resource exactly once`, async () => {
      const { seen, pages } = await walk(`/fhir/Patient?${query}`);
      assert.equal(pages.length, 8);
      assert.deepEqual(pages.map((p) => matchIds(p).length), [7, 7, 7, 7, 7, 7, 7, 1]);
      assert.deepEqual([...seen].sort(), ids);
      if (query.includes('_total=none')) assert.equal(pages[0]!.total, undefined);
      else assert.equal(pages[0]!.total, 50);
      for (const p of pages.slice(1)) assert.match(link(p, 'self')!, /[?&]_cursor=/);
      for (const p of pages.slice(0, -1)) {
        const cursor = new URL(link(p, 'next')!).searchParams.get('_cursor')!;
        const payload = JSON.parse(Buffer.from(cursor.split('.')[0]!, 'base64url').toString('utf8')) as { a?: unknown[]; o?: number };
        assert.ok(Array.isArray(payload.a), 'every next link carries the keyset position');
        assert.equal(payload.o, undefined, 'and never an offset');
      }
      assert.equal(link(pages[pages.length - 1]!, 'next'), undefined);
    });
  }

  it('self and first links lead back to the same pages; no previous or last links (positions only continue forward)', async () => {
    const p1 = (await request(t.app).get('/fhir/Patient?family=Pager&_count=7&_sort=birthdate,_id')).body as Bundle;
    const p2 = (await request(t.app).get(local(link(p1, 'next')!))).body as Bundle;
    for (const p of [p1, p2]) {
      assert.equal(link(p, 'previous'), undefined);
      assert.equal(link(p, 'last'), undefined);
    }
    const self = (await request(t.app).get(local(link(p2, 'self')!))).body as Bundle;
    assert.deepEqual(matchIds(self), matchIds(p2));
    const first = (await request(t.app).get(local(link(p2, 'first')!))).body as Bundle;
    assert.deepEqual(matchIds(first), matchIds(p1));
    // An _offset start: its self link repeats it (in the cursor), the next page continues by position.
    const at14 = (await request(t.app).get('/fhir/Patient?family=Pager&_count=7&_sort=birthdate,_id&_offset=7')).body as Bundle;
    assert.deepEqual(matchIds(at14), matchIds(p2));
    assert.deepEqual(matchIds((await request(t.app).get(local(link(at14, 'self')!))).body as Bundle), matchIds(p2));
    const p3 = (await request(t.app).get(local(link(p2, 'next')!))).body as Bundle;
    assert.deepEqual(matchIds((await request(t.app).get(local(link(at14, 'next')!))).body as Bundle), matchIds(p3));
  });

  it('a short page ends the walk: no next link when the store has no more, whatever the total counted on the first page', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await request(t.app).put(`/fhir/Patient/sp${i}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: `sp${i}`, name: [{ family: 'Shortpage' }] }));
      assert.equal(res.status, 201, res.text);
    }
    const p1 = (await request(t.app).get('/fhir/Patient?family=Shortpage&_count=5&_sort=_id&_total=accurate')).body as Bundle;
    assert.equal(p1.total, 12);
    // sp0, sp1, sp10, sp11, sp2 served; all but sp3 and sp4 of the rest deleted.
    for (const i of [5, 6, 7, 8, 9]) assert.equal((await request(t.app).delete(`/fhir/Patient/sp${i}`)).status, 204);
    const p2 = (await request(t.app).get(local(link(p1, 'next')!))).body as Bundle;
    assert.deepEqual(matchIds(p2), ['sp3', 'sp4']);
    assert.equal(p2.total, 12, 'the total the walk started with');
    assert.equal(link(p2, 'next'), undefined, 'no offset fallback after a short page');
  });

  it('lenient handling: the self link lists only the parameters applied, and its cursors verify without the ignored ones', async () => {
    const res = await request(t.app).get('/fhir/Patient?family=Pager&nonsense=1&_sort=bogus,_id&_contained=both&_revinclude=*&_count=7');
    assert.equal(res.status, 200, res.text);
    const b = res.body as Bundle;
    const self = new URL(link(b, 'self')!);
    assert.deepEqual([...self.searchParams], [['family', 'Pager'], ['_sort', '_id'], ['_count', '7']]);
    const outcome = JSON.stringify(b.entry!.find((e) => e.search?.mode === 'outcome')!.resource);
    for (const name of ['nonsense', '_sort', '_contained', '_revinclude']) assert.match(outcome, new RegExp(name));
    const next = await request(t.app).get(local(link(b, 'next')!));
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(matchIds(next.body as Bundle), ids.slice(7, 14));
  });

  it('_id:not finds every resource whose id is none of the values', async () => {
    const res = await request(t.app).get('/fhir/Patient?family=Pager&_id:not=pg00,pg01&_count=100').set('Prefer', 'handling=strict');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matchIds(res.body as Bundle).sort(), ids.slice(2));
  });

  it('POST [base]/_search with a form body is a system search; its links are GET [base]', async () => {
    const res = await request(t.app).post('/fhir/_search').type('form').send('_type=Patient&family=Pager&_count=20&_sort=_id');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matchIds(res.body as Bundle), ids.slice(0, 20));
    const next = link(res.body as Bundle, 'next')!;
    assert.ok(next.startsWith(`${TEST_BASE}?`), next);
    assert.deepEqual(matchIds((await request(t.app).get(local(next))).body as Bundle), ids.slice(20, 40));
    assert.equal((await request(t.app).get('/fhir/_search')).status, 405);
  });

  it('POST _search with a body that is not a form is 415, never a search that ignores it', async () => {
    for (const path of ['/fhir/Patient/_search', '/fhir/_search', '/fhir/Patient/pg00/Observation/_search']) {
      const res = await request(t.app).post(path).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'family', valueString: 'Nobody' }] }));
      assert.equal(res.status, 415, `${path}: ${res.text}`);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
  });

  it('POST _search applies _summary and _elements from the form body', async () => {
    const res = await request(t.app).post('/fhir/Patient/_search').type('form').send('_id=pg03&_elements=gender');
    assert.equal(res.status, 200, res.text);
    const r = (res.body as Bundle).entry![0]!.resource as unknown as { gender?: string; name?: unknown; meta?: { tag?: Array<{ code: string }> } };
    assert.equal(r.gender, 'male');
    assert.equal(r.name, undefined);
    assert.ok(r.meta?.tag?.some((x) => x.code === 'SUBSETTED'));
  });

  it('a tampered cursor is a 400 OperationOutcome', async () => {
    const p1 = (await request(t.app).get('/fhir/Patient?family=Pager&_count=7')).body as Bundle;
    const next = new URL(link(p1, 'next')!);
    const cursor = next.searchParams.get('_cursor')!;
    const [body, sig] = cursor.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { o: number };
    payload.o = 0;
    next.searchParams.set('_cursor', `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`);
    const res = await request(t.app).get(local(next.toString()));
    assert.equal(res.status, 400);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(res.body.issue[0].diagnostics, /_cursor/);
    next.searchParams.set('_cursor', 'garbage');
    assert.equal((await request(t.app).get(local(next.toString()))).status, 400);
  });

  it('a cursor moved to another query is a 400', async () => {
    const p1 = (await request(t.app).get('/fhir/Patient?family=Pager&_count=7')).body as Bundle;
    const next = new URL(link(p1, 'next')!);
    next.searchParams.set('family', 'Other');
    assert.equal((await request(t.app).get(local(next.toString()))).status, 400);
    const onObservation = `/fhir/Observation?family=Pager&_count=7&_cursor=${encodeURIComponent(new URL(link(p1, 'next')!).searchParams.get('_cursor')!)}`;
    assert.equal((await request(t.app).get(onObservation)).status, 400);
  });

  it('another instance with the same CURSOR_SECRET serves the next page; one with another key refuses it', async () => {
    const p1 = (await request(t.app).get('/fhir/Patient?family=Pager&_count=7')).body as Bundle;
    const next = local(link(p1, 'next')!);
    const same = testApp({ CURSOR_SECRET: SECRET });
    const other = testApp({ CURSOR_SECRET: 'x'.repeat(40) });
    try {
      assert.equal((await request(same.app).get(next)).status, 200);
      assert.equal((await request(other.app).get(next)).status, 400);
    } finally {
      await same.close();
      await other.close();
    }
  });

  it('POST [type]/_search pages with GET links to [type]', async () => {
    const res = await request(t.app).post('/fhir/Patient/_search').type('form').send('family=Pager&_count=20');
    assert.equal(res.status, 200, res.text);
    const next = link(res.body as Bundle, 'next')!;
    assert.ok(next.startsWith(`${TEST_BASE}/Patient?`), next);
    const page2 = await request(t.app).get(local(next));
    assert.equal(page2.status, 200, page2.text);
    assert.equal(matchIds(page2.body as Bundle).length, 20);
  });

  it('_summary=count answers only the total; _total=accurate gives it', async () => {
    const c = (await request(t.app).get('/fhir/Patient?family=Pager&_summary=count')).body as Bundle;
    assert.equal(c.total, 50);
    assert.equal(c.entry, undefined);
    const acc = (await request(t.app).get('/fhir/Patient?family=Pager&_total=accurate&_count=1')).body as Bundle;
    assert.equal(acc.total, 50);
  });

  it('_contained=false is the default; true/both are listed as ignored (lenient) or refused (strict)', async () => {
    const f = await request(t.app).get('/fhir/Patient?family=Pager&_contained=false&_count=1');
    assert.equal(f.status, 200);
    assert.equal((f.body as Bundle).entry!.filter((e) => e.search?.mode === 'outcome').length, 0);
    const lenient = await request(t.app).get('/fhir/Patient?family=Pager&_contained=true&_count=1');
    assert.equal(lenient.status, 200);
    const oo = (lenient.body as Bundle).entry!.find((e) => e.search?.mode === 'outcome')!.resource as unknown as { issue: Array<{ diagnostics: string }> };
    assert.match(oo.issue[0]!.diagnostics, /_contained/);
    const strict = await request(t.app).get('/fhir/Patient?family=Pager&_contained=both').set('Prefer', 'handling=strict');
    assert.equal(strict.status, 400);
  });

  it('unknown parameters: lenient ignores them and says so in an outcome entry; strict answers 400', async () => {
    const lenient = await request(t.app).get('/fhir/Patient?family=Pager&nonsense=1&_count=50');
    assert.equal(lenient.status, 200);
    assert.equal(matchIds(lenient.body as Bundle).length, 50);
    const outcome = (lenient.body as Bundle).entry!.filter((e) => e.search?.mode === 'outcome');
    assert.equal(outcome.length, 1);
    assert.match(JSON.stringify(outcome[0]!.resource), /nonsense/);
    const strict = await request(t.app).get('/fhir/Patient?family=Pager&nonsense=1').set('Prefer', 'handling=strict');
    assert.equal(strict.status, 400);
    assert.equal(strict.body.resourceType, 'OperationOutcome');
  });

  it('history pages with signed cursors too, every version exactly once', async () => {
    for (let v = 2; v <= 10; v++) {
      const res = await request(t.app)
        .put('/fhir/Patient/pg00')
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'Patient', id: 'pg00', name: [{ family: 'Pager', given: [`v${v}`] }] }));
      assert.equal(res.status, 200);
    }
    const versions: string[] = [];
    let url: string | undefined = '/fhir/Patient/pg00/_history?_count=3';
    let pages = 0;
    while (url) {
      const res = await request(t.app).get(url);
      assert.equal(res.status, 200, res.text);
      pages++;
      versions.push(...(res.body as Bundle).entry!.map((e) => e.resource.meta!.versionId!));
      const next = link(res.body as Bundle, 'next');
      if (next) assert.match(next, /_cursor=/);
      url = next ? local(next) : undefined;
      // A version written during the walk is newer than every position: it does not shift later pages.
      if (pages === 1) {
        const res2 = await request(t.app).put('/fhir/Patient/pg00').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'pg00', name: [{ family: 'Pager', given: ['v11'] }] }));
        assert.equal(res2.status, 200);
      }
    }
    assert.equal(pages, 4);
    assert.deepEqual(versions, ['10', '9', '8', '7', '6', '5', '4', '3', '2', '1']);
  });

  it('type history pages by position: resources created during the walk neither repeat nor push entries off', async () => {
    const walk = async (first: string, during: (page: number) => Promise<void>): Promise<string[]> => {
      const seen: string[] = [];
      let url: string | undefined = first;
      for (let page = 1; url; page++) {
        const res = await request(t.app).get(url);
        assert.equal(res.status, 200, res.text);
        // Deletes have no resource: an entry is its fullUrl and version (the ETag).
        seen.push(...((res.body as { entry: Array<{ fullUrl: string; response: { etag: string } }> }).entry ?? []).map((e) => `${e.fullUrl} ${e.response.etag}`));
        const next = link(res.body as Bundle, 'next');
        url = next ? local(next) : undefined;
        await during(page);
      }
      return seen;
    };
    const before = await walk('/fhir/Patient/_history?_count=1000', async () => {});
    let n = 0;
    const seen = await walk('/fhir/Patient/_history?_count=10', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', name: [{ family: `During${n++}` }] }));
        assert.equal(res.status, 201, res.text);
      }
    });
    assert.deepEqual(seen, before);
  });

  it('history _at with a partial date: the versions current at some time during that period', async () => {
    const res = await request(t.app).put('/fhir/Patient/at1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'at1' }));
    assert.equal(res.status, 201, res.text);
    assert.equal((await request(t.app).put('/fhir/Patient/at1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'at1', active: true }))).status, 200);
    const now = new Date();
    const month = now.toISOString().slice(0, 7);
    const versionsAt = async (at: string): Promise<string[]> => {
      const r = await request(t.app).get(`/fhir/Patient/at1/_history?_at=${at}`);
      assert.equal(r.status, 200, r.text);
      return ((r.body as Bundle).entry ?? []).map((e) => e.resource.meta!.versionId!);
    };
    assert.deepEqual(await versionsAt(month), ['2', '1'], `_at=${month}: both versions were current this month`);
    assert.deepEqual(await versionsAt(now.toISOString().slice(0, 4)), ['2', '1']);
    assert.deepEqual(await versionsAt(String(now.getUTCFullYear() - 1)), []);
    assert.equal((await request(t.app).get('/fhir/Patient/at1/_history?_at=2026-13')).status, 400);
  });

  it('history: unknown parameters are ignored and left out of the links (lenient), refused with 400 (strict)', async () => {
    const lenient = await request(t.app).get('/fhir/Patient/pg00/_history?_count=2&nonsense=1&_sort=-_lastUpdated');
    assert.equal(lenient.status, 200, lenient.text);
    assert.deepEqual([...new URL(link(lenient.body as Bundle, 'self')!).searchParams], [['_count', '2']]);
    assert.equal((await request(t.app).get(local(link(lenient.body as Bundle, 'next')!))).status, 200);
    const strict = await request(t.app).get('/fhir/Patient/pg00/_history?nonsense=1').set('Prefer', 'handling=strict');
    assert.equal(strict.status, 400);
    assert.match(JSON.stringify(strict.body), /nonsense/);
    assert.equal((await request(t.app).get('/fhir/Patient/pg00/_history?_list=x').set('Prefer', 'handling=strict')).status, 400);
  });

  it('counts the total on the first page only: later pages carry it in the signed cursor', async () => {
    const first = (await request(t.app).get('/fhir/Patient?family=Pager&_count=20&_total=accurate')).body as Bundle;
    assert.equal(first.total, 50);
    // A new match after the first page does not change the total the search started with.
    const extra = await request(t.app).put('/fhir/Patient/pg-late').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'pg-late', name: [{ family: 'Pager' }] }));
    assert.equal(extra.status, 201, extra.text);
    try {
      const second = (await request(t.app).get(local(link(first, 'next')!))).body as Bundle;
      assert.equal(second.total, 50);
      const fresh = (await request(t.app).get('/fhir/Patient?family=Pager&_count=20&_total=accurate')).body as Bundle;
      assert.equal(fresh.total, 51, 'a new search counts again');
    } finally {
      await request(t.app).delete('/fhir/Patient/pg-late');
    }
  });
});
