/**
 * Compartment escapes found by an attack with legitimate patient-context tokens (issue 11), each as a
 * regression test (SMART App Launch 2.0.0 patient-level scopes; FHIR R4
 * compartmentdefinition-patient.html, search.html chaining and `_has`, http.html history and vread).
 * Patient A attacks, patient B is the victim (compartment-fixture.ts). "Hidden" means: the answer
 * about B's resource is the answer about a resource that does not exist.
 */
import assert from 'node:assert/strict';
import type { Response } from 'supertest';
import { compartmentWorld, MARKER, nhsNumber, normalisedAnswer, ownObservation, type CompartmentWorld } from './compartment-fixture';

interface Bundle {
  total?: number;
  entry?: Array<{ fullUrl?: string; resource?: { resourceType: string; id: string }; response?: { status: string; outcome?: unknown }; search?: { mode: string } }>;
  link?: Array<{ relation: string; url: string }>;
}
const ids = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.resource && e.search?.mode !== 'outcome').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

/** Same status and body once the two ids (or values) asked about are replaced by one placeholder. */
function assertSameAnswer(outside: Response, absent: Response, names: [string, string]): void {
  const norm = (r: Response, name: string): string => normalisedAnswer(r.text, name);
  assert.equal(outside.status, absent.status, `${outside.status} ${outside.text}\n-- vs --\n${absent.status} ${absent.text}`);
  const answer = norm(outside, names[0]);
  assert.equal(answer, norm(absent, names[1]));
  assert.ok(!answer.includes(MARKER), `B's data leaked: ${outside.text}`);
}

for (const kind of ['generic', 'nhs'] as const) {
  describe(`Security: compartment escapes with patient-context tokens (${kind === 'generic' ? 'generic engine' : 'NHS layer defaults'})`, () => {
    let w: CompartmentWorld;
    let ro: string;
    let rw: string;
    before(async () => {
      w = await compartmentWorld(kind);
      ro = w.patientToken('patient/*.rs');
      rw = w.patientToken('patient/*.cruds');
    });
    after(() => w.close());

    describe('deleted resources, history and vread', () => {
      it("B's deleted resource: read, history and vread answer as for an id that never existed", async () => {
        for (const suffix of ['', '/_history', '/_history/1', '/_history/2']) {
          assertSameAnswer(await w.get(`/fhir/Observation/ob-del${suffix}`, ro), await w.get(`/fhir/Observation/never-was${suffix}`, ro), ['ob-del', 'never-was']);
        }
      });

      it('the same through batch entries', async () => {
        const batch = (id: string): unknown => ({
          resourceType: 'Bundle',
          type: 'batch',
          entry: ['', '/_history', '/_history/1'].map((s) => ({ request: { method: 'GET', url: `Observation/${id}${s}` } })),
        });
        const outside = await w.send('post', '/fhir', ro, batch('ob-del'));
        assert.equal(outside.status, 200, outside.text);
        assertSameAnswer(outside, await w.send('post', '/fhir', ro, batch('never-was')), ['ob-del', 'never-was']);
        for (const e of (outside.body as Bundle).entry ?? []) assert.match(e.response!.status, /^404/);
      });

      it("A's own deleted resource still answers 410 and shows its history (positive control)", async () => {
        assert.equal((await w.get('/fhir/Observation/oa-del', ro)).status, 410);
        const h = await w.get('/fhir/Observation/oa-del/_history', ro);
        assert.equal(h.status, 200, h.text);
        assert.equal((h.body as Bundle).total, 2);
      });

      it("a resource moved from B to A shows only the versions inside A's compartment", async () => {
        const h = await w.get('/fhir/Observation/o-moved/_history', ro);
        assert.equal(h.status, 200, h.text);
        assert.equal((h.body as Bundle).total, 1);
        assert.deepEqual(((h.body as Bundle).entry ?? []).map((e) => (e.resource as { meta?: { versionId?: string } } | undefined)?.meta?.versionId), ['2']);
        assert.ok(!h.text.includes(MARKER), h.text);
        assert.equal((await w.get('/fhir/Observation/o-moved/_history/2', ro)).status, 200);
        assertSameAnswer(await w.get('/fhir/Observation/o-moved/_history/1', ro), await w.get('/fhir/Observation/o-moved/_history/9', ro), ['Version 1 ', 'Version 9 ']);
        const paged = await w.get('/fhir/Observation/o-moved/_history?_count=1', ro);
        assert.equal((paged.body as Bundle).entry?.length, 1);
        assert.ok(!(paged.body as Bundle).link?.some((l) => l.relation === 'next'), 'no second page: the earlier version is not part of A\'s history');
      });

      it('a restricted instance history pages by position: versions written during the walk do not repeat entries', async () => {
        const body = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ resourceType: 'Observation', status: 'final', code: { text: 'paged' }, subject: { reference: `Patient/${w.a}` }, ...extra });
        const created = await w.send('post', '/fhir/Observation', rw, body());
        assert.equal(created.status, 201, created.text);
        const id = (created.body as { id: string }).id;
        for (let v = 2; v <= 5; v++) assert.equal((await w.send('put', `/fhir/Observation/${id}`, rw, body({ id, valueString: `v${v}` }))).status, 200);
        const versions: string[] = [];
        let url: string | undefined = `/fhir/Observation/${id}/_history?_count=2`;
        while (url) {
          const page = await w.get(url, ro);
          assert.equal(page.status, 200, page.text);
          versions.push(...((page.body as Bundle).entry ?? []).map((e) => (e.resource as { meta?: { versionId?: string } }).meta!.versionId!));
          const next = (page.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
          url = next ? `/fhir${next.slice(next.indexOf('/fhir') + 5)}` : undefined;
          assert.equal((await w.send('put', `/fhir/Observation/${id}`, rw, body({ id, valueString: `during ${versions.length}` }))).status, 200);
        }
        assert.deepEqual(versions, ['5', '4', '3', '2', '1']);
        assert.equal((await w.send('delete', `/fhir/Observation/${id}`, rw)).status, 204, 'the world of the other tests is left as it was');
      });

      it('type and system history stay refused for restricted tokens', async () => {
        assert.equal((await w.get('/fhir/Observation/_history', ro)).status, 403);
        assert.equal((await w.get('/fhir/_history', ro)).status, 403);
      });
    });

    describe('chained and _has parameters', () => {
      const count = async (url: string, tok: string): Promise<number | undefined> => {
        const res = await w.get(url, tok);
        assert.equal(res.status, 200, res.text);
        return (res.body as Bundle).total;
      };

      it("a chain through A's own Observation to B (performer) reads nothing of B", async () => {
        const probes: Array<[param: string, victim: string, nobody: string]> = [
          ['family', 'bexley', 'qqnobody'],
          ['given', `beatrix${MARKER}`, 'qqnobody'],
          ['birthdate', '1961', '1850'],
          ['birthdate', '1961-02-03', '1850-01-01'],
          ['gender', 'female', 'other'],
          ['phone', '07700900123', '01234'],
          ['address-city', 'leeds', 'qqnowhere'],
          ['_id', w.b, 'qqnobody'],
        ];
        for (const [param, victim, nobody] of probes) {
          const url = (v: string, extra: string): string => `/fhir/Observation?_id=oa-perf&performer:Patient.${param}=${v}&${extra}`;
          const hit = await w.get(url(victim, '_total=accurate'), ro);
          assert.equal((hit.body as Bundle).total, 0, `${param}=${victim}: ${hit.text}`);
          assertSameAnswer(hit, await w.get(url(nobody, '_total=accurate'), ro), [victim, nobody]);
          assertSameAnswer(await w.get(url(victim, '_summary=count'), ro), await w.get(url(nobody, '_summary=count'), ro), [victim, nobody]);
        }
        // Positive control: the chain to A's own Patient works.
        assert.equal(await count('/fhir/Observation?_id=oa-perf&subject:Patient.family=ashdown&_total=accurate', ro), 1);
      });

      it("a chain from a visible Observation of B's (performed by A) to B's Patient reads nothing of B", async () => {
        assert.equal(await count('/fhir/Observation?_id=ob-by-a&_total=accurate', ro), 1, 'visible: A is its performer');
        assert.equal(await count('/fhir/Observation?subject.name=bexley&_total=accurate', ro), 0);
        assert.equal(await count('/fhir/Observation?subject:Patient.birthdate=1961&_total=accurate', ro), 0);
        assert.equal(await count('/fhir/Observation?subject:Patient.name=ashdown&_total=accurate', ro), 3, 'oa1, oa-perf and o-moved (own subject)');
      });

      it("_has through B's Observation (focus = A) reads nothing of it", async () => {
        const hit = await w.get(`/fhir/Patient?_has:Observation:focus:code=b-${MARKER}-focus&_total=accurate`, ro);
        const miss = await w.get('/fhir/Patient?_has:Observation:focus:code=no-such-code&_total=accurate', ro);
        assert.equal((hit.body as Bundle).total, 0, hit.text);
        assertSameAnswer(hit, miss, [`b-${MARKER}-focus`, 'no-such-code']);
        // Positive control: _has through A's own Observation.
        assert.equal(await count('/fhir/Patient?_has:Observation:subject:code=a-own&_total=accurate', ro), 1);
      });

      it('a chained _sort through a restricted type is refused; an unrestricted token may use it', async () => {
        const res = await w.get('/fhir/Observation?_sort=performer:Patient.birthdate', ro);
        assert.equal(res.status, 403, res.text);
        assert.match(res.text, /_sort/);
        assert.equal((await w.get('/fhir/Observation?_sort=performer:Patient.birthdate', w.system())).status, 200);
      });

      it("_list of B's List answers as an unknown List", async () => {
        assertSameAnswer(await w.get('/fhir/Observation?_list=lb&_total=accurate', ro), await w.get('/fhir/Observation?_list=no-list&_total=accurate', ro), ['lb', 'no-list']);
        assert.equal(await count('/fhir/Observation?_list=la&_total=accurate', ro), 1);
      });
    });

    describe("writes into another patient's record", () => {
      it('an Observation about B (subject B, performer A) is refused, and B never sees it', async () => {
        const res = await w.send('post', '/fhir/Observation', rw, { ...ownObservation(w, 'x'), subject: { reference: `Patient/${w.b}` }, performer: [{ reference: `Patient/${w.a}` }], identifier: [{ system: 'urn:test', value: 'planted-1' }] });
        assert.equal(res.status, 403, res.text);
        const seen = await w.get('/fhir/Observation?identifier=urn:test|planted-1&_total=accurate', w.patientToken('patient/*.rs', w.b));
        assert.equal((seen.body as Bundle).total, 0);
      });

      it('an Observation about A that names B as performer is refused', async () => {
        const res = await w.send('post', '/fhir/Observation', rw, { ...ownObservation(w, 'x'), performer: [{ reference: `Patient/${w.b}` }] });
        assert.equal(res.status, 403, res.text);
        assert.match(res.text, new RegExp(`references Patient/${w.b}`));
      });

      it('an Observation about A alone is written (positive control), also as a transaction entry', async () => {
        assert.equal((await w.send('post', '/fhir/Observation', rw, ownObservation(w, 'x'))).status, 201);
        const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:5b0d9a2e-1d52-4a86-9f0e-3c2f7b8e1a01', resource: ownObservation(w, 'y'), request: { method: 'POST', url: 'Observation' } }] };
        assert.equal((await w.send('post', '/fhir', rw, tx)).status, 200);
      });

      it('a patient token cannot create Patients (no trace answer about someone else either)', async () => {
        const res = await w.send('post', '/fhir/Patient', rw, { resourceType: 'Patient', name: [{ family: `Bexley${MARKER}`, given: [`Beatrix${MARKER}`] }], gender: 'female', birthDate: '1961-02-03' });
        assert.equal(res.status, 403, res.text);
        assert.ok(!res.text.includes(w.b), 'no NHS Number or id of a matching record');
      });

      it("re-creating B's deleted resource id answers as for an unknown id, and it stays deleted", async () => {
        assertSameAnswer(await w.send('put', '/fhir/Observation/ob-del', rw, ownObservation(w, 'ob-del')), await w.send('put', '/fhir/Observation/never-was', rw, ownObservation(w, 'never-was')), ['ob-del', 'never-was']);
        assert.equal((await w.get('/fhir/Observation/ob-del', w.system())).status, 410);
        assert.equal((await w.get('/fhir/Observation/never-was', w.system())).status, 404);
      });

      it("overwriting, patching or deleting B's resources answers as for unknown ids and changes nothing", async () => {
        const patch = [{ op: 'replace', path: '/status', value: 'amended' }];
        assertSameAnswer(await w.send('put', '/fhir/Observation/ob1', rw, ownObservation(w, 'ob1')), await w.send('put', '/fhir/Observation/never-1', rw, ownObservation(w, 'never-1')), ['ob1', 'never-1']);
        assertSameAnswer(await w.send('patch', '/fhir/Observation/ob1', rw, patch, 'application/json-patch+json'), await w.send('patch', '/fhir/Observation/never-1', rw, patch, 'application/json-patch+json'), ['ob1', 'never-1']);
        assertSameAnswer(await w.send('delete', '/fhir/Observation/ob1', rw), await w.send('delete', '/fhir/Observation/never-1', rw), ['ob1', 'never-1']);
        const after = await w.get('/fhir/Observation/ob1', w.system());
        assert.equal(after.status, 200);
        assert.equal(after.body.meta.versionId, '1');
      });

      it("patching A's own Observation into B's record is refused and rolled back", async () => {
        const res = await w.send('patch', '/fhir/Observation/oa1', rw, [{ op: 'replace', path: '/subject/reference', value: `Patient/${w.b}` }], 'application/json-patch+json');
        assert.equal(res.status, 403, res.text);
        const after = await w.get('/fhir/Observation/oa1', w.system());
        assert.equal(after.body.subject.reference, `Patient/${w.a}`);
        assert.equal(after.body.meta.versionId, '1');
      });

      it("a transaction's conditional reference finds only what A may see", async () => {
        const tx = (ident: string): unknown => ({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ fullUrl: 'urn:uuid:0d2b8c4e-6a1f-4f3b-8e2d-9c7a5b3e1f02', resource: { ...ownObservation(w, 'z'), focus: [{ reference: `Patient?identifier=${ident}` }] }, request: { method: 'POST', url: 'Observation' } }],
        });
        const victim = kind === 'nhs' ? `https://fhir.nhs.uk/Id/nhs-number|${w.b}` : `urn:test:mrn|mrn-${w.b}`;
        const other = kind === 'nhs' ? `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber('999000009')}` : 'urn:test:mrn|mrn-nobody';
        assertSameAnswer(await w.send('post', '/fhir', rw, tx(victim)), await w.send('post', '/fhir', rw, tx(other)), [victim, other]);
      });

      it("a plain create's conditional reference finds only what A may see (422, as for nobody)", async () => {
        const body = (ident: string): unknown => ({ ...ownObservation(w, 'z'), focus: [{ reference: `Patient?identifier=${ident}` }] });
        const victim = kind === 'nhs' ? `https://fhir.nhs.uk/Id/nhs-number|${w.b}` : `urn:test:mrn|mrn-${w.b}`;
        const other = kind === 'nhs' ? `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber('999000009')}` : 'urn:test:mrn|mrn-nobody';
        const outside = await w.send('post', '/fhir/Observation', rw, body(victim));
        assert.equal(outside.status, 422, outside.text);
        assertSameAnswer(outside, await w.send('post', '/fhir/Observation', rw, body(other)), [victim, other]);
        const own = await w.send('post', '/fhir/Observation', rw, body(kind === 'nhs' ? `https://fhir.nhs.uk/Id/nhs-number|${w.a}` : `urn:test:mrn|mrn-${w.a}`));
        assert.equal(own.status, 201, own.text);
        assert.equal(own.body.focus[0].reference, `Patient/${w.a}`);
      });
    });

    describe('paging cursors', () => {
      it("a next link minted for B's token is refused for A's token; A's own links work", async () => {
        const tb = w.patientToken('patient/*.rs', w.b);
        const page = await w.get('/fhir/Observation?_count=1&_total=accurate', tb);
        const next = (page.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
        assert.ok(next, page.text);
        const path = next.replace(/^https?:\/\/[^/]+/, '');
        assert.equal((await w.get(path, tb)).status, 200);
        const stolen = await w.get(path, ro);
        assert.equal(stolen.status, 400, stolen.text);
        assert.ok(!stolen.text.includes(MARKER));
        const own = await w.get('/fhir/Observation?_count=1&_total=accurate', ro);
        const ownNext = (own.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
        assert.ok(ownNext);
        assert.equal((await w.get(ownNext.replace(/^https?:\/\/[^/]+/, ''), ro)).status, 200);
      });
    });

    describe('totals', () => {
      it('totals and _summary=count count only what A may see', async () => {
        const all = await w.get('/fhir/Observation?_total=accurate', ro);
        const seen = ids(all.body as Bundle);
        for (const own of ['Observation/oa1', 'Observation/oa-perf', 'Observation/o-moved', 'Observation/ob-by-a']) assert.ok(seen.includes(own), own);
        for (const theirs of ['Observation/ob1', 'Observation/ob-focus', 'Observation/ob-del']) assert.ok(!seen.includes(theirs), theirs);
        assert.equal((all.body as Bundle).total, seen.length);
        assert.ok(!all.text.includes(MARKER));
        const summary = await w.get('/fhir/Observation?_summary=count', ro);
        assert.equal((summary.body as Bundle).total, (all.body as Bundle).total);
      });
    });
  });
}
