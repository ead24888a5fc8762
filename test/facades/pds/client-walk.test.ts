/**
 * A PDS client's walk over real HTTP (fetch against a listening server), with the server's default
 * configuration and SMART on, as a GP system drives the PDS FHIR API: search, read with ETag, PATCH
 * with `{"patches"}` and If-Match, a retry with the same X-Request-ID (answered from the first, no
 * second version), a stale If-Match (409), and the corrected request with the same X-Request-ID
 * (applied). X-Correlation-ID is mirrored on every answer.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Bundle, Patient } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { BASE, loadPds, PDS, smartPdsApp, storePdsPatient } from './helpers';

describe('PDS façade: a client walk over HTTP', function () {
  let w: ReturnType<typeof smartPdsApp>;
  let server: Server;
  let base: string;
  let token: string;
  const correlation = 'walk 0001';

  const call = async (method: string, path: string, opts: { requestId?: string; ifMatch?: string; body?: unknown } = {}): Promise<{ status: number; headers: Headers; body: unknown }> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, 'X-Request-ID': opts.requestId ?? randomUUID(), 'X-Correlation-ID': correlation, Accept: 'application/fhir+json' };
    if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json-patch+json';
    const res = await fetch(`${base}/${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    assert.equal(res.headers.get('x-correlation-id'), correlation, `${method} ${path}: X-Correlation-ID`);
    return { status: res.status, headers: res.headers, body: await res.json() };
  };

  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    w = smartPdsApp();
    await storePdsPatient(w.t, loadPds<Patient>('searchResponses', 'Patient.json'), w.token('system/Patient.cruds'));
    token = w.token('openid fhirUser user/Patient.cruds');
    server = await new Promise<Server>((resolve) => {
      const s = w.t.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await w?.t.close();
  });

  it('search, read, patch, replay, stale, corrected retry', async () => {
    const found = await call('GET', 'Patient?family=Smith&gender=female&birthdate=eq2010-10-22&email=jane.smith@example.com&phone=01632960587');
    assert.equal(found.status, 200, JSON.stringify(found.body));
    const bundle = found.body as Bundle;
    assert.equal(bundle.entry?.length, 1);
    assert.equal(bundle.entry![0]!.resource!.id, '9000000009');
    assert.equal(bundle.entry![0]!.search?.score, 1);
    assert.match(bundle.entry![0]!.fullUrl ?? '', /\/personal-demographics\/FHIR\/R4\/Patient\/9000000009$/);

    const read = await call('GET', 'Patient/9000000009');
    assert.equal(read.status, 200);
    const etag = read.headers.get('etag')!;
    assert.equal(etag, 'W/"1"');

    const change = { patches: [{ op: 'replace', path: '/birthDate', value: '2010-10-21' }] };
    const rid = randomUUID();
    const patched = await call('PATCH', 'Patient/9000000009', { requestId: rid, ifMatch: etag, body: change });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.headers.get('etag'), 'W/"2"');
    assert.equal((patched.body as Patient).birthDate, '2010-10-21');

    const retry = await call('PATCH', 'Patient/9000000009', { requestId: rid, ifMatch: etag, body: change });
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('x-idempotent-replay'), 'true');
    assert.equal(retry.headers.get('etag'), 'W/"2"');
    assert.equal((await call('GET', 'Patient/9000000009')).headers.get('etag'), 'W/"2"', 'the retry made no new version');

    const again = { patches: [{ op: 'replace', path: '/birthDate', value: '2010-10-20' }] };
    const rid2 = randomUUID();
    const stale = await call('PATCH', 'Patient/9000000009', { requestId: rid2, ifMatch: 'W/"1"', body: again });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const corrected = await call('PATCH', 'Patient/9000000009', { requestId: rid2, ifMatch: 'W/"2"', body: again });
    assert.equal(corrected.status, 200, JSON.stringify(corrected.body));
    assert.equal(corrected.headers.get('etag'), 'W/"3"');
    assert.equal((corrected.body as Patient).birthDate, '2010-10-20');
  });
});
