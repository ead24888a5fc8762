/**
 * Backpressure of the audit trail (src/audit/audit-log.ts `admission`, docs/audit.md "Load"): when the
 * writer is behind by the default high-water mark (2 000 events), a new request on the FHIR API waits
 * until fewer than 1 900 are buffered (one batch written) instead of growing the buffer until events
 * are dropped; routes that are not audited (`/healthz`) do not wait; every event is written in the end.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { auditEvent as event, holdAppendCreates } from '../helpers/audit-fixtures';
import { GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { auditLogOf } from '../../src/audit';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';

describe('Audit backpressure: requests wait for a writer that has fallen behind', () => {
  let t: TestApp;
  let held: ReturnType<typeof holdAppendCreates>;
  before(() => {
    const store = openSqliteStore(':memory:');
    held = holdAppendCreates(store);
    t = testApp({ ...GENERIC_ENGINE, AUDIT: 'on' }, { store });
  });
  after(async () => {
    held.release();
    await t.close();
  });

  it('holds a FHIR request while 2 000 events wait, answers it once the writer catches up, and loses no event', async () => {
    const log = auditLogOf(t.services)!;
    // 2 100: the writer takes its first batch of 100 (and waits at the gate), 2 000 stay buffered
    // (the next batch, indexed meanwhile, among them).
    for (let i = 0; i < 2_100; i++) log.add(event(i));
    await held.reached;
    assert.equal(log.buffered, 2_000);
    assert.ok(log.backlogged);

    let answered = false;
    const pending = request(t.app)
      .get('/fhir/metadata')
      .then((res) => {
        answered = true;
        return res;
      });
    const health = await request(t.app).get('/healthz');
    assert.equal(health.status, 200, 'a route that is not audited does not wait');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(answered, false, 'the FHIR request was answered while the writer was stuck');

    held.release();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.ok(log.admissionWaits >= 1);
    await new Promise((r) => setImmediate(r));
    await log.flush();
    assert.equal(log.written, 2_101, 'the 2 100 events and the one of the held request');
  });
});
