/**
 * The registered OperationDefinitions as resources (definitions.ts; FHIR R4 operationdefinition.html,
 * capabilitystatement.html `operation.definition`): every definition the CapabilityStatement names
 * resolves, each is R4-valid by the server's own validator, one claiming an HL7 canonical is that R4
 * definition (levels and parameters a subset of it), and they are read-only but searchable.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, CapabilityStatement, OperationDefinition, OperationDefinitionParameter } from 'fhir/r4';
import { loadR4Bundle } from '../definitions/r4-package';
import { FHIR_JSON, TEST_BASE, testApp, type TestApp } from '../../test/helpers/test-app';
import { servedDefinition } from './definitions';

describe('operations/definitions: the registered OperationDefinitions as read-only resources', () => {
  let t: TestApp;
  before(() => {
    t = testApp({ REQUIRED_PROFILES: '' });
  });
  after(() => t?.close());

  it('every OperationDefinition the CapabilityStatement names resolves: at its canonical when on this server, else as [base]/OperationDefinition/{id}', async () => {
    const cs = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
    const named = new Map<string, string>();
    for (const o of cs.rest?.[0]?.operation ?? []) named.set(o.definition, o.name);
    for (const r of cs.rest?.[0]?.resource ?? []) for (const o of r.operation ?? []) named.set(o.definition, o.name);
    assert.ok(named.size >= 15, `${named.size} definitions named`);
    for (const [canonical, name] of named) {
      let served: OperationDefinition;
      if (canonical.startsWith(`${TEST_BASE}/`)) {
        const res = await request(t.app).get(`/fhir/${canonical.slice(TEST_BASE.length + 1)}`);
        assert.equal(res.status, 200, `${canonical}: ${res.text}`);
        served = res.body as OperationDefinition;
      } else {
        const found = await request(t.app).get(`/fhir/OperationDefinition?url=${encodeURIComponent(canonical)}`);
        assert.equal(found.status, 200, found.text);
        const entries = (found.body as Bundle).entry ?? [];
        assert.equal(entries.length, 1, `${canonical}: ${entries.length} OperationDefinitions with this url`);
        const id = entries[0]!.resource!.id!;
        const res = await request(t.app).get(`/fhir/OperationDefinition/${id}`);
        assert.equal(res.status, 200, res.text);
        served = res.body as OperationDefinition;
      }
      assert.equal(served.resourceType, 'OperationDefinition');
      assert.equal(served.url, canonical);
      assert.equal(served.code, name, `${canonical} defines $${name}`);
    }
  });

  it("each is R4-valid: the server's own validator finds no error and no warning in it as served", async () => {
    const defs = t.services.operations.all();
    for (const d of defs) {
      const res = await request(t.app).get(`/fhir/OperationDefinition/${d.id}`);
      assert.equal(res.status, 200, `${d.id}: ${res.text}`);
      const report = await t.services.validator.validate!(res.body, { expectedType: 'OperationDefinition' });
      const problems = report.issues.filter((i) => i.severity !== 'information');
      assert.deepEqual(problems, [], `${d.id}: ${JSON.stringify(problems)}`);
      // And through the API: $validate answers "no issues".
      const v = await request(t.app).post('/fhir/OperationDefinition/$validate').set('Content-Type', FHIR_JSON).send(JSON.stringify(res.body));
      assert.equal(v.status, 200);
      assert.deepEqual((v.body as { issue: Array<{ severity: string }> }).issue.map((i) => i.severity), ['information'], `${d.id}: ${v.text}`);
    }
  });

  it('a definition that claims an HL7 canonical is that R4 definition: same code, levels and parameters a subset of it', () => {
    const r4 = new Map<string, OperationDefinition>();
    for (const e of loadR4Bundle('profiles-resources.json').entry ?? []) {
      const r = e.resource as OperationDefinition | undefined;
      if (r?.resourceType === 'OperationDefinition' && r.url) r4.set(r.url, r);
    }
    const hl7 = t.services.operations.all().filter((d) => d.url?.startsWith('http://hl7.org/fhir/'));
    assert.ok(hl7.length >= 12, `${hl7.length} definitions with HL7 canonicals`);
    for (const d of hl7) {
      const base = r4.get(d.url!);
      assert.ok(base, `${d.url} is not an R4 OperationDefinition: the server must not claim it`);
      assert.equal(d.version ?? '4.0.1', '4.0.1', `${d.url}: version`);
      assert.equal(d.code, base.code, `${d.url}: code`);
      for (const level of ['system', 'type', 'instance'] as const) if (d[level]) assert.equal(base[level], true, `${d.url}: R4 does not define it at the ${level} level`);
      for (const r of d.resource ?? []) assert.ok(base.resource?.includes(r), `${d.url}: R4 does not define it on ${r}`);
      for (const p of d.parameter ?? []) {
        const bp: OperationDefinitionParameter | undefined = base.parameter?.find((x) => x.name === p.name && x.use === p.use);
        assert.ok(bp, `${d.url}: R4 has no ${p.use} parameter ${p.name}`);
        assert.equal(p.type, bp.type, `${d.url}: type of ${p.name}`);
        assert.ok(p.min >= bp.min, `${d.url}: ${p.name} min ${p.min} < R4 ${bp.min}`);
        if (bp.max !== '*') assert.ok(p.max !== '*' && Number(p.max) <= Number(bp.max), `${d.url}: ${p.name} max ${p.max} > R4 ${bp.max}`);
        for (const part of p.part ?? []) assert.ok(bp.part?.some((x: OperationDefinitionParameter) => x.name === part.name), `${d.url}: R4 ${p.name} has no part ${part.name}`);
      }
    }
  });

  it('they are read-only: PUT, PATCH and DELETE answer 405 and change nothing; instance history has their one version', async () => {
    const before = await request(t.app).get('/fhir/OperationDefinition/Resource-meta');
    assert.equal(before.status, 200);
    assert.equal(before.headers['etag'], 'W/"1"');
    const changed = { ...before.body, description: 'changed' };
    const put = await request(t.app).put('/fhir/OperationDefinition/Resource-meta').set('Content-Type', FHIR_JSON).send(JSON.stringify(changed));
    assert.equal(put.status, 405, put.text);
    const patch = await request(t.app).patch('/fhir/OperationDefinition/Resource-meta').set('Content-Type', 'application/json-patch+json').send(JSON.stringify([{ op: 'replace', path: '/description', value: 'x' }]));
    assert.equal(patch.status, 405, patch.text);
    assert.equal((await request(t.app).delete('/fhir/OperationDefinition/Resource-meta')).status, 405);
    const tx = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: changed, request: { method: 'PUT', url: 'OperationDefinition/Resource-meta' } }] }));
    assert.equal(tx.status, 405, tx.text);
    const after = await request(t.app).get('/fhir/OperationDefinition/Resource-meta');
    assert.equal(after.text, before.text);
    const history = await request(t.app).get('/fhir/OperationDefinition/Resource-meta/_history');
    assert.equal(history.status, 200);
    assert.equal((history.body as Bundle).total, 1);
    assert.equal((await request(t.app).get('/fhir/OperationDefinition/Resource-meta/_history/1')).status, 200);
    assert.equal((await request(t.app).get('/fhir/OperationDefinition/Resource-meta/_history/2')).status, 404);
    const again = await request(t.app).get('/fhir/OperationDefinition/Resource-meta').set('If-None-Match', 'W/"1"');
    assert.equal(again.status, 304);
  });

  it('are searched with the stored ones (by code, url, _id, paged by keyset across both, counted); stored definitions stay writable', async () => {
    const own = { resourceType: 'OperationDefinition', url: 'http://example.org/OperationDefinition/own-meta', name: 'OwnMeta', status: 'draft', kind: 'operation', code: 'meta', system: true, type: false, instance: false };
    const created = await request(t.app).post('/fhir/OperationDefinition').set('Content-Type', FHIR_JSON).send(JSON.stringify(own));
    assert.equal(created.status, 201, created.text);
    const ids = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
    const byCode = await request(t.app).get('/fhir/OperationDefinition?code=meta&_total=accurate');
    assert.equal(byCode.status, 200, byCode.text);
    assert.deepEqual(ids(byCode.body as Bundle), ['Resource-meta', created.body.id]);
    assert.equal((byCode.body as Bundle).total, 2);
    const all = t.services.operations.all().length + 1;
    const count = await request(t.app).get('/fhir/OperationDefinition?_summary=count');
    assert.equal((count.body as Bundle).total, all);
    // Paged: every one exactly once over pages of 4, and over pages whose first ends exactly with the
    // last registered one (the stored ones then start from the top), following the next links.
    for (const size of [4, all - 1]) {
      const seen: string[] = [];
      let url: string | undefined = `/fhir/OperationDefinition?_count=${size}&_sort=_id`;
      while (url) {
        const page = await request(t.app).get(url);
        assert.equal(page.status, 200, page.text);
        seen.push(...ids(page.body as Bundle));
        const next = (page.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
        url = next ? next.slice(TEST_BASE.length - '/fhir'.length) : undefined;
      }
      assert.equal(seen.length, all, `pages of ${size}`);
      assert.equal(new Set(seen).size, all, `pages of ${size}`);
      const registered = seen.filter((id) => id !== created.body.id);
      assert.deepEqual(registered, [...registered].sort(), 'registered ones ordered by _sort');
    }
    assert.equal((await request(t.app).get('/fhir/OperationDefinition?_id=Patient-everything')).body.entry?.length, 1);
    assert.equal((await request(t.app).get('/fhir/OperationDefinition?url=http://example.org/none')).body.entry, undefined);
    assert.equal((await request(t.app).delete(`/fhir/OperationDefinition/${created.body.id}`)).status, 204);
  });

  it('a served definition has a url (its own canonical, or [base]/OperationDefinition/{id}), version 1 and a narrative', () => {
    const s = servedDefinition({ resourceType: 'OperationDefinition', id: 'x', name: 'X', status: 'active', kind: 'operation', code: 'x<y', system: true, type: false, instance: false }, TEST_BASE, '2024-01-01T00:00:00.000Z');
    assert.equal(s.url, `${TEST_BASE}/OperationDefinition/x`);
    assert.deepEqual(s.meta, { versionId: '1', lastUpdated: '2024-01-01T00:00:00.000Z' });
    assert.ok(s.text?.div.includes('$x&lt;y'), s.text?.div);
  });
});
