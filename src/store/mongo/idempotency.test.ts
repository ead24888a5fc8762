/**
 * Idempotency records of the MongoDB store (PDS FHIR API X-Request-ID; FHIR R4 http.html
 * "Transactional Integrity"): claim, replay, expiry take-over and release, across two instances.
 */
import assert from 'node:assert/strict';
import { MongoStore } from './mongo-store';
import { MingoClient, MingoServer } from './testing/mingo-db';

describe('mongo store: idempotent request records', () => {
  it('claims once across instances, replays the remembered response, and lets an expired or released claim be taken again', async () => {
    const server = new MingoServer();
    const a = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' });
    const b = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' });
    try {
      const now = 1_000_000;
      assert.equal(await a.claimRequest('k', now + 60_000, now), undefined);
      assert.deepEqual(await b.claimRequest('k', now + 60_000, now), { state: 'pending', expiresAt: now + 60_000 });
      const response = { status: 201, headers: { Location: 'x', $odd: 'y' }, body: '{"resourceType":"Patient","id":"a"}' };
      await a.rememberResponse('k', response, now + 86_400_000);
      assert.deepEqual(await b.claimRequest('k', now + 60_000, now + 1), { state: 'done', response, expiresAt: now + 86_400_000 });
      // Expired: the next claim takes it over, without the old response.
      assert.equal(await b.claimRequest('k', now + 86_500_000, now + 86_400_000), undefined);
      assert.deepEqual(await a.claimRequest('k', now, now + 86_400_001), { state: 'pending', expiresAt: now + 86_500_000 });
      await b.releaseRequest('k');
      assert.equal(await a.claimRequest('k', now + 90_000_000, now + 86_400_002), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
