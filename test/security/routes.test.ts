/**
 * Every route, with a patient-context token of A, against B's record (issue 11; SMART App Launch
 * 2.0.0 patient-level scopes; FHIR R4 http.html interactions, search.html, operations.html).
 *
 * The routes are the URL shapes of src/fhir/router.ts (instance, history, vread, compartment, type,
 * system, batch) and every operation in the registry at every level it declares; the searches are
 * generated from B's own resources: every search parameter of every type, with the values B's
 * resources are indexed under, plus chains from A's Observation that names B and `_has` through B's
 * Observation that names A, `_include`/`_revinclude` of every reference parameter. For each:
 * - an instance route about B's resource answers exactly what it answers about an id that does not
 *   exist (status and body, once the id is replaced), and B's resource is unchanged afterwards;
 * - a search answers exactly the resources that match it and A may see (the same search with an
 *   unrestricted token, intersected with A's compartment), its total counts those, included resources
 *   are A's, and a chain or `_has` that only B's data can satisfy matches nothing;
 * - no response body carries B's marker text (compartment-fixture.ts);
 * - and, with a real patient user's token from the built-in authorization server, the same holds for its
 *   pages and endpoints (authorize, picker, launch) and the discovery documents.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import type { Response } from 'supertest';
import type { IndexEntry } from '../../src/search/index-entry';
import request from 'supertest';
import { startSecurityServer, type SecurityServer } from '../helpers/security-server';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';
import { compartmentWorld, MARKER, normalisedAnswer, victimResources, type CompartmentWorld } from './compartment-fixture';
import { exportAll, kickOff, local, poll } from '../bulk-data/client';

interface Bundle {
  total?: number;
  entry?: Array<{ resource?: { resourceType: string; id: string }; search?: { mode: string }; response?: { status: string } }>;
}
const entryIds = (b: Bundle, mode?: string): string[] =>
  (b.entry ?? [])
    .filter((e) => e.resource && e.search?.mode !== 'outcome' && (mode === undefined || e.search?.mode === mode))
    .map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)
    .sort();

const normalised = (r: Response, id: string): string => normalisedAnswer(r.text, id);

/** A search value for an index entry (what a client would send to find the resource by it). */
function valueOf(e: IndexEntry): string | undefined {
  switch (e.kind) {
    case 'token':
      return e.code === null ? undefined : e.system ? `${e.system}|${e.code}` : e.code;
    case 'string':
      return e.norm.slice(0, 6) || undefined;
    case 'date':
      return e.low > -1e15 && e.low < 1e15 ? new Date(e.low).toISOString().slice(0, 10) : undefined;
    case 'reference':
      return e.targetType && e.targetId ? `${e.targetType}/${e.targetId}` : (e.url ?? undefined);
    case 'uri':
      return e.value;
    case 'number':
    case 'quantity':
      return String(e.value);
    default:
      return undefined;
  }
}

for (const kind of ['generic', 'nhs'] as const) {
  describe(`Security: every route with a patient token of A, against B's record (${kind === 'generic' ? 'generic engine' : 'NHS layer defaults'})`, function () {
    this.timeout(120_000);
    let w: CompartmentWorld;
    let ro: string;
    let rw: string;
    let sys: string;
    /** Everything A may see: its compartment and its Patient. */
    let visible: Set<string>;
    let tried = 0;

    before(async () => {
      w = await compartmentWorld(kind);
      ro = w.patientToken('patient/*.rs');
      rw = w.patientToken('patient/*.cruds');
      sys = w.system();
      const compartment = await w.get(`/fhir/Patient/${w.a}/*?_count=1000`, sys);
      visible = new Set([...entryIds(compartment.body as Bundle), `Patient/${w.a}`]);
      assert.ok(visible.has('Observation/ob-by-a') && !visible.has('Observation/ob1'));
    });
    after(() => w.close());

    /** No marker in the answer; a search's own links echo the query asked, so for Bundles only the entries count. */
    const noMarker = (r: Response, what: string): void => {
      tried++;
      const body = r.body as { resourceType?: string; type?: string; entry?: unknown } | undefined;
      const text = body?.resourceType === 'Bundle' && body.type === 'searchset' ? JSON.stringify(body.entry ?? []) : r.text;
      assert.ok(!text.includes(MARKER), `${what}: B's data in the answer: ${r.text.slice(0, 600)}`);
    };
    const sameAnswer = (outside: Response, absent: Response, ids: [string, string], what: string): void => {
      assert.equal(outside.status, absent.status, `${what}: ${outside.status} ${outside.text} -- vs -- ${absent.status} ${absent.text}`);
      assert.equal(normalised(outside, ids[0]), normalised(absent, ids[1]), what);
      noMarker(outside, what);
    };

    const bodyFor = (type: string, id: string): Record<string, unknown> => {
      switch (type) {
        case 'Patient':
          return { resourceType: 'Patient', id, name: [{ family: 'Ashdown' }] };
        case 'List':
          return { resourceType: 'List', id, status: 'current', mode: 'working', subject: { reference: `Patient/${w.a}` } };
        default:
          return { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${w.a}` } };
      }
    };

    it('instance routes (read, vread, history, update, patch, delete, instance operations, compartments) answer about B as about nobody', async () => {
      const before = new Map<string, string>();
      for (const [type, id] of victimResources(w)) before.set(`${type}/${id}`, JSON.stringify((await w.get(`/fhir/${type}/${id}/_history`, sys)).body.entry));
      const instanceOps = w.t.services.operations.all().filter((d) => d.instance);
      for (const [type, id] of victimResources(w)) {
        const nobody = kind === 'nhs' && type === 'Patient' ? '9990000093' : 'qq-nobody';
        const both = async (f: (x: string) => Promise<Response>, what: string): Promise<void> => sameAnswer(await f(id), await f(nobody), [id, nobody], `${what} ${type}/${id}`);
        for (const tok of [ro, rw]) {
          for (const suffix of ['', '/_history', '/_history/1', '/_history/2', '/_history?_count=1', '?_summary=true', '?_elements=id']) {
            await both((x) => w.get(`/fhir/${type}/${x}${suffix}`, tok), `GET ${suffix}`);
          }
          await both(async (x) => {
            const r = await w.send('post', '/fhir', tok, { resourceType: 'Bundle', type: 'batch', entry: ['', '/_history', '/_history/1'].map((s) => ({ request: { method: 'GET', url: `${type}/${x}${s}` } })) });
            return r;
          }, 'batch GET');
          for (const d of instanceOps) {
            if (d.resource && !d.resource.includes(type) && !d.resource.includes('Resource')) continue;
            await both((x) => w.send('post', `/fhir/${type}/${x}/$${d.code}`, tok, { resourceType: 'Parameters' }), `POST $${d.code}`);
            if (!d.affectsState) await both((x) => w.get(`/fhir/${type}/${x}/$${d.code}`, tok), `GET $${d.code}`);
          }
          if (type === 'Patient') {
            // B's compartment as A sees it: only what is in both (A's own resources that name B).
            for (const member of ['*', 'Observation', 'List']) {
              const res = await w.get(`/fhir/Patient/${id}/${member}?_total=accurate&_count=1000`, tok);
              assert.equal(res.status, 200, res.text);
              const all = await w.get(`/fhir/Patient/${id}/${member}?_total=accurate&_count=1000`, sys);
              const expected = entryIds(all.body as Bundle).filter((x) => visible.has(x));
              assert.deepEqual(entryIds(res.body as Bundle), expected, `compartment ${member}`);
              assert.equal((res.body as Bundle).total, expected.length);
              noMarker(res, `compartment ${member}`);
            }
          }
        }
        await both((x) => w.send('put', `/fhir/${type}/${x}`, rw, bodyFor(type, x)), 'PUT');
        await both((x) => w.send('patch', `/fhir/${type}/${x}`, rw, [{ op: 'add', path: '/language', value: 'en' }], 'application/json-patch+json'), 'PATCH');
        await both((x) => w.send('delete', `/fhir/${type}/${x}`, rw), 'DELETE');
        await both((x) => w.send('post', '/fhir', rw, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: bodyFor(type, x), request: { method: 'PUT', url: `${type}/${x}` } }] }), 'transaction PUT');
      }
      for (const [type, id] of victimResources(w)) assert.equal(JSON.stringify((await w.get(`/fhir/${type}/${id}/_history`, sys)).body.entry), before.get(`${type}/${id}`), `${type}/${id} unchanged`);
    });

    it('type and system routes and operations: refused or restricted, never anything of B', async () => {
      const registry = w.t.services.operations;
      const typeOps = registry.all();
      let restricting = 0;
      /** An operation that applies the caller's restriction itself (ADR 20) answers, with only what A may see. */
      const restricted = (res: Response, what: string): void => {
        assert.equal(res.status, 200, `${what}: ${res.text}`);
        noMarker(res, what);
        const body = res.body as Bundle & { resourceType: string };
        if (body.resourceType === 'Bundle') {
          for (const id of entryIds(body)) assert.ok(visible.has(id), `${what}: ${id}`);
          if (what.includes('$everything')) assert.deepEqual(entryIds(body, 'match'), [...visible].sort(), `${what}: exactly A's record`);
        }
        restricting++;
      };
      /** Bulk Data `$export` (asynchronous): run to its manifest with A's token; every file holds only what A may see. */
      const exported = async (path: string, tok: string): Promise<void> => {
        const { byType } = await exportAll(w.t.app, path, tok);
        for (const [t, rs] of byType) for (const r of rs) assert.ok(visible.has(`${t}/${r.id!}`), `${path}: ${t}/${r.id!}`);
        restricting++;
      };
      for (const type of ['Patient', 'Observation', 'List']) {
        for (const d of typeOps.filter((o) => o.type && (!o.resource || o.resource.includes(type) || o.resource.includes('Resource')))) {
          if (d.code === 'export') {
            for (const tok of [ro, rw]) await exported(`/fhir/${type}/$export`, tok);
            continue;
          }
          if (registry.appliesRestriction(d.code, 'type', type)) {
            for (const tok of [ro, rw]) {
              restricted(await w.send('post', `/fhir/${type}/$${d.code}`, tok, { resourceType: 'Parameters' }), `POST ${type}/$${d.code}`);
              if (!d.affectsState) restricted(await w.get(`/fhir/${type}/$${d.code}${d.code === 'everything' ? '?_count=1000' : ''}`, tok), `GET ${type}/$${d.code}`);
            }
            continue;
          }
          const res = await w.send('post', `/fhir/${type}/$${d.code}`, rw, { resourceType: 'Parameters', parameter: [{ name: 'family', valueString: 'bexley' }] });
          assert.equal(res.status, 403, `${type}/$${d.code}: ${res.text}`);
          noMarker(res, `${type}/$${d.code}`);
        }
        for (const url of [`/fhir/${type}/_history`, `/fhir/${type}?_total=accurate`, `/fhir/${type}?_summary=count`]) noMarker(await w.get(url, ro), url);
      }
      assert.ok(restricting >= 4, `${restricting} restriction-applying type-level answers checked`);
      for (const d of typeOps.filter((o) => o.system)) {
        if (d.code === 'export') {
          await exported('/fhir/$export', rw);
          continue;
        }
        if (d.code === 'export-poll-status') {
          // Another caller's export job: its status, files and cancel answer A as an absent job (404).
          const status = await kickOff(w.t.app, '/fhir/$export', sys);
          const { manifest } = await poll(w.t.app, status, sys);
          const absent = local(status.replace(/_jobId=[^&]+/, '_jobId=00000000-0000-4000-8000-000000000000'));
          for (const url of [local(status), ...manifest.output.map((o) => local(o.url))]) {
            const theirs = await w.get(url, ro);
            assert.equal(theirs.status, 404, `${url}: ${theirs.text}`);
            noMarker(theirs, url);
          }
          assert.equal((await w.get(absent, ro)).status, 404);
          assert.equal((await request(w.t.app).delete(local(status)).set('Authorization', `Bearer ${rw}`)).status, 404);
          assert.equal((await w.get(local(status), sys)).status, 200, 'the job is still there for its owner');
          continue;
        }
        const res = await w.send('post', `/fhir/$${d.code}`, rw, { resourceType: 'Parameters' });
        if (registry.appliesRestriction(d.code, 'system', undefined) && res.status === 200) restricted(res, `$${d.code}`);
        else assert.ok(res.status === 403, `$${d.code}: ${res.status} ${res.text}`);
        noMarker(res, `$${d.code}`);
      }
      for (const url of ['/fhir/_history', '/fhir?_total=accurate', '/fhir?_type=Patient,Observation,List&_total=accurate&_count=1000']) {
        const res = await w.get(url, ro);
        noMarker(res, url);
        if (res.status === 200) for (const id of entryIds(res.body as Bundle)) assert.ok(visible.has(id), `${url}: ${id}`);
      }
      // System search by POST [base]/_search (a form body) is restricted like GET [base].
      const posted = await request(w.t.app).post('/fhir/_search').set('Authorization', `Bearer ${ro}`).type('form').send('_type=Patient,Observation,List&_total=accurate&_count=1000');
      assert.equal(posted.status, 200, posted.text);
      noMarker(posted, 'POST /_search');
      assert.deepEqual(entryIds(posted.body as Bundle), entryIds((await w.get('/fhir?_type=Patient,Observation,List&_total=accurate&_count=1000', ro)).body as Bundle));
      for (const id of entryIds(posted.body as Bundle)) assert.ok(visible.has(id), `POST /_search: ${id}`);
    });

    it("every search parameter with B's values: exactly what matches and A may see, totals included", async () => {
      const victims = victimResources(w).filter(([type, id]) => type !== 'Observation' || id !== 'ob-del');
      let probes = 0;
      for (const [type, id] of victims) {
        const stored = await w.get(`/fhir/${type}/${id}`, sys);
        const index = w.t.services.indexer.extract(stored.body as Resource);
        const seen = new Set<string>();
        for (const e of index) {
          const v = valueOf(e);
          if (v === undefined || e.param.startsWith('_') || seen.has(`${e.param}=${v}`)) continue;
          seen.add(`${e.param}=${v}`);
          const q = `/fhir/${type}?${encodeURIComponent(e.param)}=${encodeURIComponent(v)}&_total=accurate&_count=1000`;
          const all = await w.get(q, sys);
          assert.equal(all.status, 200, `${q}: ${all.text}`);
          const mine = await w.get(q, ro);
          assert.equal(mine.status, 200, `${q}: ${mine.text}`);
          const expected = entryIds(all.body as Bundle).filter((x) => visible.has(x));
          assert.deepEqual(entryIds(mine.body as Bundle), expected, q);
          assert.equal((mine.body as Bundle).total, expected.length, `${q} total`);
          noMarker(mine, q);
          probes++;
        }
      }
      assert.ok(probes > 40, `only ${probes} probes`);
    });

    it("chains and _has that only B's data satisfies match nothing, with every parameter of the traversed type", async () => {
      const strict = (url: string, tok: string): ReturnType<CompartmentWorld['get']> => w.get(url, tok).set('Prefer', 'handling=strict');
      const probe = async (q: string, what: string): Promise<void> => {
        const all = await strict(q, sys);
        if (all.status === 400 && /not supported|unknown/i.test(all.text)) return; // a parameter chains cannot use (e.g. the trace's own)
        assert.equal(all.status, 200, `${q}: ${all.text}`);
        assert.ok((all.body as Bundle).total! > 0, `${what}: the probe finds something with an unrestricted token (${q})`);
        for (const tail of ['&_total=accurate', '&_summary=count']) {
          const mine = await strict(q.replace('&_total=accurate', '') + tail, ro);
          assert.equal(mine.status, 200, `${q}: ${mine.text}`);
          assert.equal((mine.body as Bundle).total, 0, `${what}: ${mine.text}`);
          noMarker(mine, q);
        }
      };
      const patientB = await w.get(`/fhir/Patient/${w.b}`, sys);
      const patientA = await w.get(`/fhir/Patient/${w.a}`, sys);
      const aValues = new Set(w.t.services.indexer.extract(patientA.body as Resource).map((e) => `${e.param}=${valueOf(e) ?? ''}`));
      let n = 0;
      for (const e of w.t.services.indexer.extract(patientB.body as Resource)) {
        const v = valueOf(e);
        if (v === undefined || e.kind === 'reference' || aValues.has(`${e.param}=${v}`)) continue;
        await probe(`/fhir/Observation?_id=oa-perf&performer:Patient.${encodeURIComponent(e.param)}=${encodeURIComponent(v)}&_total=accurate`, `chain performer:Patient.${e.param}`);
        n++;
      }
      const focus = await w.get('/fhir/Observation/ob-focus', sys);
      for (const e of w.t.services.indexer.extract(focus.body as Resource)) {
        const v = valueOf(e);
        if (v === undefined || e.param.startsWith('_') || e.param === 'focus' || e.kind === 'composite') continue;
        await probe(`/fhir/Patient?_has:Observation:focus:${encodeURIComponent(e.param)}=${encodeURIComponent(v)}&_total=accurate`, `_has:Observation:focus:${e.param}`);
        n++;
      }
      assert.ok(n > 10, `only ${n} traversal probes`);
    });

    it('_include and _revinclude of every reference parameter bring in only what A may see', async () => {
      for (const type of ['Patient', 'Observation', 'List']) {
        const refs = w.t.services.search.parametersFor(type).filter((p) => p.type === 'reference');
        for (const p of refs) {
          for (const q of [`/fhir/${type}?_include=${type}:${p.name}&_count=1000`, `/fhir/${type}?_include:iterate=${type}:${p.name}&_count=1000`]) {
            const res = await w.get(q, ro);
            assert.equal(res.status, 200, `${q}: ${res.text}`);
            for (const id of entryIds(res.body as Bundle)) assert.ok(visible.has(id), `${q}: ${id}`);
            noMarker(res, q);
          }
        }
        for (const source of ['Patient', 'Observation', 'List']) {
          for (const p of w.t.services.search.parametersFor(source).filter((x) => x.type === 'reference')) {
            const q = `/fhir/${type}?_revinclude=${source}:${p.name}&_count=1000`;
            const res = await w.get(q, ro);
            assert.equal(res.status, 200, `${q}: ${res.text}`);
            for (const id of entryIds(res.body as Bundle)) assert.ok(visible.has(id), `${q}: ${id}`);
            noMarker(res, q);
          }
        }
      }
      const wild = await w.get('/fhir/Observation?_include=*&_revinclude=*&_count=1000', ro);
      noMarker(wild, '_include=*');
      if (wild.status === 200) for (const id of entryIds(wild.body as Bundle)) assert.ok(visible.has(id), `_include=*: ${id}`);
    });

    after(() => {
      assert.ok(tried > 100, `${tried} answers checked`);
    });
  });
}

describe("Security: the authorization server's pages and endpoints, with a real patient user's token", function () {
  this.timeout(60_000);
  let s: SecurityServer;
  let patient: string;
  before(async () => {
    s = await startSecurityServer();
    const writer = await s.backendToken('system/Patient.cruds');
    for (const [id, family] of [
      [DEV_PATIENT_ID, 'Own'],
      ['victim', `Victim${MARKER}`],
    ] as const) {
      const res = await request(s.running.server).put(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${writer}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Patient', id, name: [{ family }] }));
      assert.ok(res.status < 300, res.text);
    }
    const t = await s.codeFlow({ scope: 'launch/patient openid fhirUser patient/*.rs', user: 'dev-patient' });
    assert.equal(t.patient, DEV_PATIENT_ID);
    patient = t.access_token;
  });
  after(() => s.close());

  const call = (method: 'get' | 'post', url: string, body?: Record<string, string>): request.Test => {
    const r = request(s.running.server)[method](url).set('Authorization', `Bearer ${patient}`);
    return body ? r.type('form').send(body) : r;
  };

  it('answers about B as about nobody, and shows nothing of B, on every page and endpoint', async () => {
    const pairs: Array<[(id: string) => request.Test, string]> = [
      [(id) => call('get', `/fhir/Patient/${id}`), 'read'],
      [(id) => call('get', `/fhir/Patient/${id}/_history`), 'history'],
      [(id) => call('get', `/fhir/Patient?_id=${id}&_total=accurate`), 'search'],
      [(id) => call('post', '/auth/launch', { patient: id }), 'launch'],
      [(id) => call('get', `/auth/picker?name=${id}`), 'picker'],
      [(id) => call('get', `/auth/authorize?response_type=code&client_id=app&redirect_uri=http://127.0.0.1:9/callback&scope=launch/patient&state=${id}&aud=http://localhost:8080/fhir&code_challenge=x&code_challenge_method=S256`), 'authorize'],
    ];
    for (const [f, what] of pairs) {
      const victim = await f('victim');
      const nobody = await f('nobody1');
      assert.equal(victim.status, nobody.status, `${what}: ${victim.text}`);
      const norm = (r: request.Response, id: string): string =>
        r.text
          .split(id)
          .join('ID')
          .replace(/"lastUpdated":"[^"]+"/g, '')
          .replace(/name="(tx|csrf)" value="[^"]*"/g, '');
      assert.equal(norm(victim, 'victim'), norm(nobody, 'nobody1'), what);
      assert.ok(!victim.text.includes(MARKER), `${what}: ${victim.text}`);
    }
    for (const url of ['/auth/jwks', '/auth/.well-known/openid-configuration', '/fhir/.well-known/smart-configuration', '/fhir/metadata']) {
      const res = await call('get', url);
      assert.ok(res.status < 500 && !res.text.includes(MARKER), url);
    }
    assert.equal((await call('get', `/fhir/Patient/${DEV_PATIENT_ID}`)).status, 200, 'positive control');
  });
});
