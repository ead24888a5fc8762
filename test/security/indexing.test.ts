/**
 * A write indexes completely or fails (FHIR R4 §3.1.1 search.html: a stored resource is found by
 * every search parameter that applies to it; docs/limits.md). Extraction used to swallow a failing
 * parameter (an expression that throws, a stack exhausted by a very large resource) and acknowledge a
 * resource that could never be found by it. Now: not stored, and the client gets a 4xx naming the
 * parameter or the limit. A resource at the default limits is stored and found by every parameter.
 */
import assert from 'node:assert/strict';
import type { Patient, Resource } from 'fhir/r4';
import request from 'supertest';
import type { IndexEntry } from '../../src/search/index-entry';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

const post = (t: TestApp, path: string, body: unknown) => request(t.app).post(`/fhir${path}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));

async function total(t: TestApp, query: string): Promise<number> {
  const res = await request(t.app).get(`/fhir/${query}${query.includes('?') ? '&' : '?'}_total=accurate`);
  assert.equal(res.status, 200, `${query}: ${res.text.slice(0, 500)}`);
  return (res.body as { total: number }).total;
}

describe('security: complete indexing', () => {
  describe('a resource whose index extraction fails', () => {
    let t: TestApp;
    beforeEach(() => {
      t = testApp(GENERIC_ENGINE);
    });
    afterEach(() => t.close());

    it('is not stored when a search parameter cannot be evaluated on it (422 naming the parameter)', async () => {
      const sp = await post(t, '/SearchParameter', {
        resourceType: 'SearchParameter',
        url: 'http://example.org/SearchParameter/family-tail',
        name: 'family-tail',
        status: 'active',
        description: 'The family name without its first letter (fails for several names)',
        code: 'family-tail',
        base: ['Patient'],
        type: 'string',
        expression: 'Patient.name.family.substring(1)',
      });
      assert.equal(sp.status, 201, sp.text);
      const one = await post(t, '/Patient', { resourceType: 'Patient', name: [{ family: 'Solo' }] });
      assert.equal(one.status, 201, one.text);
      assert.equal(await total(t, 'Patient?family-tail=olo'), 1);
      const two = await post(t, '/Patient', { resourceType: 'Patient', name: [{ family: 'Twofold' }, { family: 'Second' }] });
      assert.equal(two.status, 422, two.text);
      assert.equal(two.body.issue[0].code, 'processing');
      assert.match(two.body.issue[0].diagnostics, /family-tail/);
      assert.equal(await total(t, 'Patient?family=Twofold'), 0, 'not stored');
      assert.equal(await total(t, 'Patient/_history'), 1, 'no version of it either');
      // The same in a transaction: nothing of it is left.
      const tx = await post(t, '', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', name: [{ family: 'Kept' }] }, request: { method: 'POST', url: 'Patient' } }, { resource: { resourceType: 'Patient', name: [{ family: 'Twofold' }, { family: 'Again' }] }, request: { method: 'POST', url: 'Patient' } }] });
      assert.equal(tx.status, 422, tx.text);
      assert.match(tx.body.issue[0].diagnostics, /Bundle\.entry\[1\].*family-tail/);
      assert.equal(await total(t, 'Patient?family=Kept'), 0);
    });

    it('is not stored when it is too large to index: a 413, never a 201 without its index', async function () {
      this.timeout(90000);
      // Limits raised far beyond the defaults: the stack of the FHIRPath engine gives out first.
      const big = testApp({ ...GENERIC_ENGINE, MAX_ARRAY_LENGTH: '1000000', MAX_RESOURCE_ELEMENTS: '10000000' });
      try {
        // Observation.component is read by composite parameters, which fhirpath.js evaluates.
        const component = Array.from({ length: 200_000 }, (_, i) => ({ code: { text: `c${i}` }, valueString: 'v' }));
        const observation = { resourceType: 'Observation', status: 'final', code: { text: 'panel' }, component };
        const res = await post(big, '/Observation', observation);
        assert.equal(res.status, 413, res.text.slice(0, 500));
        assert.equal(res.body.issue[0].code, 'too-costly');
        assert.match(res.body.issue[0].diagnostics, /too large to be indexed/);
        assert.equal(await total(big, 'Observation'), 0);
      } finally {
        await big.close();
      }
    });

    it('a resource of the same size whose parameters all run compiled is indexed completely (no deep stack)', async function () {
      // About 800 000 index rows: slow on a busy machine.
      this.timeout(120000);
      const big = testApp({ ...GENERIC_ENGINE, MAX_ARRAY_LENGTH: '1000000', MAX_RESOURCE_ELEMENTS: '10000000' });
      try {
        // Every Patient parameter runs compiled (src/search/compiled-expression.ts): found by its last name.
        const patient = { resourceType: 'Patient', name: Array.from({ length: 200_000 }, (_, i) => ({ family: `F${i}` })) };
        const stored = await post(big, '/Patient', patient);
        assert.equal(stored.status, 201, stored.text.slice(0, 500));
        assert.equal(await total(big, 'Patient?family:exact=F199999'), 1);
      } finally {
        await big.close();
      }
    });
  });

  describe('a resource at the default limits', () => {
    let t: TestApp;
    before(() => {
      t = testApp(GENERIC_ENGINE);
    });
    after(() => t.close());

    /** A Patient with MAX_ARRAY_LENGTH names and as many given names as MAX_RESOURCE_ELEMENTS allows. */
    function atTheLimit(): Patient {
      const { maxArrayLength, maxResourceElements } = t.config.limits;
      const base: Patient = {
        resourceType: 'Patient',
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Narrative of the largest patient</div>' },
        identifier: [{ system: 'urn:example:mrn', value: 'MRN-LIMIT' }],
        active: true,
        telecom: [{ system: 'phone', value: '0123 456789' }, { system: 'email', value: 'largest@example.org' }],
        gender: 'female',
        birthDate: '1961-04-12',
        address: [{ line: ['1 Long Road'], city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' }],
        generalPractitioner: [{ reference: 'Practitioner/gp-1' }],
        managingOrganization: { reference: 'Organization/org-1' },
        link: [{ other: { reference: 'Patient/other-1' }, type: 'seealso' }],
      };
      const rest = maxResourceElements - 200;
      const perName = Math.max(1, Math.floor(rest / maxArrayLength) - 4);
      base.name = Array.from({ length: maxArrayLength }, (_, i) => ({ family: `Fam${i}`, given: Array.from({ length: perName }, (_, g) => `Giv${i}n${g}`) }));
      return base;
    }

    /** A query finding the resource by one index entry of a parameter (the last one: nothing truncated). */
    function queryFor(e: IndexEntry): string | undefined {
      const v = encodeURIComponent;
      switch (e.kind) {
        case 'token':
          if (e.code === null) return e.text ? `${e.param}:text=${v(e.text)}` : undefined;
          return `${e.param}=${e.system === null ? v(e.code) : `${v(e.system)}|${v(e.code)}`}`;
        case 'string':
          return `${e.param}:exact=${v(e.exact)}`;
        case 'date':
          return Number.isFinite(e.low) ? `${e.param}=ge${v(new Date(e.low).toISOString())}` : `${e.param}=le${v(new Date(e.high).toISOString())}`;
        case 'reference':
          return e.targetType && e.targetId ? `${e.param}=${v(`${e.targetType}/${e.targetId}`)}` : e.url ? `${e.param}=${v(e.url)}` : undefined;
        case 'uri':
          return `${e.param}=${v(e.value)}`;
        case 'text':
          return `${e.param}=${v(e.text.split(' ').pop()!)}`;
        default:
          return undefined;
      }
    }

    it('is stored and found by every search parameter it has values for; one item more is refused', async () => {
      const patient = atTheLimit();
      const created = await post(t, '/Patient', patient);
      assert.equal(created.status, 201, created.text.slice(0, 500));
      const id = (created.body as { id: string }).id;
      const entries = t.services.indexer.extract({ ...patient, id } as Resource);
      const lastOf = new Map<string, IndexEntry>();
      for (const e of entries) lastOf.set(e.param, e);
      assert.ok(lastOf.size >= 15, `the Patient has values for ${lastOf.size} parameters`);
      for (const [param, e] of lastOf) {
        const query = queryFor(e);
        assert.ok(query !== undefined, `a query for ${param} (${e.kind})`);
        const res = await request(t.app).get(`/fhir/Patient?${query}&_elements=id`);
        assert.equal(res.status, 200, `${query}: ${res.text.slice(0, 300)}`);
        const ids = ((res.body as { entry?: Array<{ resource: { id: string } }> }).entry ?? []).map((x) => x.resource.id);
        assert.ok(ids.includes(id), `found by ${query}`);
      }
      const over = { ...patient, name: [...patient.name!, { family: 'OneTooMany' }] };
      const refused = await post(t, '/Patient', over);
      assert.equal(refused.status, 413, refused.text.slice(0, 300));
      assert.equal(await total(t, 'Patient?family:exact=OneTooMany'), 0);
    });
  });
});
