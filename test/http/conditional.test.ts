/**
 * Conditional create, update, delete and patch (FHIR R4 http.html#ccreate, #cond-update, #cdelete,
 * #patch), and PATCH in both formats.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

const SYS = 'http://example.org/mrn';
const pat = (value: string, family = 'Smith') => ({ resourceType: 'Patient', identifier: [{ system: SYS, value }], name: [{ family }] });

describe('HTTP: conditional interactions and PATCH', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp({ MAX_CONDITIONAL_DELETE: '3' });
  });
  afterEach(() => t.close());

  const post = (body: unknown, headers: Record<string, string> = {}) => {
    let r = request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON);
    for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
    return r.send(JSON.stringify(body));
  };
  const count = async (q: string): Promise<number> => (await request(t.app).get(`/fhir/Patient?${q}&_total=accurate`)).body.total as number;

  it('If-None-Exist: creates when absent, answers 200 with the existing one when present, 412 when ambiguous', async () => {
    const first = await post(pat('A1'), { 'If-None-Exist': `identifier=${SYS}|A1` });
    assert.equal(first.status, 201);
    const second = await post(pat('A1'), { 'If-None-Exist': `identifier=${SYS}|A1` });
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    await post(pat('dup'));
    await post(pat('dup'));
    const ambiguous = await post(pat('dup'), { 'If-None-Exist': `identifier=${SYS}|dup` });
    assert.equal(ambiguous.status, 412);
  });

  it('two parallel conditional creates for the same identifier create exactly one resource', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => post(pat('RACE'), { 'If-None-Exist': `identifier=${SYS}|RACE` })));
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 200).length, 7);
    assert.equal(await count(`identifier=${SYS}|RACE`), 1);
  });

  it('conditional update: creates on no match, updates the single match, 412 on several', async () => {
    const put = (q: string, body: unknown) => request(t.app).put(`/fhir/Patient?${q}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
    const c = await put(`identifier=${SYS}|U1`, pat('U1', 'Before'));
    assert.equal(c.status, 201);
    const u = await put(`identifier=${SYS}|U1`, pat('U1', 'After'));
    assert.equal(u.status, 200);
    assert.equal(u.body.id, c.body.id);
    assert.equal(u.body.meta.versionId, '2');
    await post(pat('U2'));
    await post(pat('U2'));
    assert.equal((await put(`identifier=${SYS}|U2`, pat('U2'))).status, 412);
    assert.equal((await put('', pat('U3'))).status, 400, 'empty criteria are refused');
  });

  it('conditional delete: single, multiple, and over the cap (412, nothing deleted)', async () => {
    for (let i = 0; i < 5; i++) await post(pat('MANY', 'Many'));
    await post(pat('ONE', 'One'));
    const single = await request(t.app).delete(`/fhir/Patient?identifier=${SYS}|ONE`);
    assert.ok(single.status === 200 || single.status === 204);
    assert.equal(await count(`identifier=${SYS}|ONE`), 0);
    const over = await request(t.app).delete('/fhir/Patient?family=Many');
    assert.equal(over.status, 412);
    assert.equal(await count('family=Many'), 5);
    await request(t.app).delete(`/fhir/Patient/${(await request(t.app).get('/fhir/Patient?family=Many&_count=1')).body.entry[0].resource.id}`);
    await request(t.app).delete(`/fhir/Patient/${(await request(t.app).get('/fhir/Patient?family=Many&_count=1')).body.entry[0].resource.id}`);
    const multi = await request(t.app).delete('/fhir/Patient?family=Many');
    assert.equal(multi.status, 200);
    assert.equal(await count('family=Many'), 0);
    const none = await request(t.app).delete('/fhir/Patient?family=Nobody');
    assert.equal(none.status, 204);
  });

  it('JSON Patch: applies atomically, honours If-Match, rejects a failing test op with 422', async () => {
    const c = await post(pat('P1', 'Old'));
    const id = c.body.id as string;
    const ok = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send(JSON.stringify([{ op: 'replace', path: '/name/0/family', value: 'New' }, { op: 'add', path: '/gender', value: 'female' }]));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.name[0].family, 'New');
    assert.equal(ok.body.gender, 'female');
    assert.equal(ok.body.meta.versionId, '2');
    const stale = await request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'application/json-patch+json').set('If-Match', 'W/"1"').send(JSON.stringify([{ op: 'remove', path: '/gender' }]));
    assert.equal(stale.status, 412);
    const failing = await request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify([{ op: 'test', path: '/gender', value: 'male' }, { op: 'remove', path: '/gender' }]));
    assert.equal(failing.status, 422);
    const invalidResult = await request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify([{ op: 'replace', path: '/gender', value: 42 }]));
    assert.equal(invalidResult.status, 422, 'the patched resource is validated');
    const after = await request(t.app).get(`/fhir/Patient/${id}`);
    assert.equal(after.body.gender, 'female');
    assert.equal(after.body.meta.versionId, '2');
  });

  it('FHIRPath Patch (Parameters body) and conditional patch', async () => {
    const c = await post(pat('FP', 'Before'));
    const params = {
      resourceType: 'Parameters',
      parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.name.family' }, { name: 'value', valueString: 'After' }] }],
    };
    const res = await request(t.app).patch(`/fhir/Patient?identifier=${SYS}|FP`).set('Content-Type', FHIR_JSON).send(JSON.stringify(params));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, c.body.id);
    assert.equal(res.body.name[0].family, 'After');
  });
});
