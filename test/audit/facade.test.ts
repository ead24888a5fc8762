/**
 * The audit trail covers the NHS API façades (src/audit hooks the HTTP edge): a PDS read
 * (/personal-demographics/FHIR/R4/Patient/{nhsNumber}) yields one AuditEvent about that patient.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle } from 'fhir/r4';
import request from 'supertest';
import { auditLogOf } from '../../src/audit';
import { pds, pdsApp } from '../facades/pds/helpers';
import type { TestApp } from '../helpers/test-app';

describe('Audit: the NHS façades', () => {
  let t: TestApp;
  before(() => {
    t = pdsApp({ AUDIT: 'on' });
  });
  after(async () => t.close());

  it('a PDS retrieval is recorded with the patient, the X-Request-ID and the outcome', async () => {
    const requestId = randomUUID();
    const res = await pds(t, 'get', 'Patient/9000000009', { requestId });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await auditLogOf(t.services)!.flush();
    const all = await request(t.app).get('/fhir/AuditEvent?patient=Patient/9000000009&_count=100');
    assert.equal(all.status, 200, all.text);
    const events = ((all.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent).filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId));
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.equal(e.subtype?.[0]?.code, 'read');
    assert.equal(e.outcome, res.status < 400 ? '0' : '4');
    assert.match(e.outcomeDesc ?? '', /pds/);
  });
});
