/**
 * Idempotent writes of the MongoDB store (PDS FHIR API "X-Request-ID": a retried request is not
 * applied twice; FHIR R4 http.html "Transactional Integrity"): the `Store.claimRequest`,
 * `rememberResponse` and `releaseRequest` contract over the `requests` collection, shared by every
 * server instance. A TTL index on `exp` lets MongoDB delete expired records; expiry is also checked
 * on every claim, so correctness never waits for the TTL monitor.
 */
import type { IdempotencyRecord, RememberedResponse } from '../store';
import type { Doc, DriverCollection, WriteOptions } from './driver';
import { isDuplicateKey } from './errors';

export const REQUESTS = 'requests';

const MAJORITY: WriteOptions = { writeConcern: { w: 'majority', journal: true } };

function toRecord(doc: Doc): IdempotencyRecord {
  const record: IdempotencyRecord = { state: doc.state === 'done' ? 'done' : 'pending', expiresAt: Number(doc.expiresAt) };
  if (typeof doc.response === 'string') record.response = JSON.parse(doc.response) as RememberedResponse;
  return record;
}

const pending = (pendingUntil: number): Doc => ({ state: 'pending', expiresAt: pendingUntil, exp: new Date(pendingUntil) });

export async function claimRequest(requests: DriverCollection, key: string, pendingUntil: number, now: number): Promise<IdempotencyRecord | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await requests.insertOne({ _id: key, ...pending(pendingUntil) }, MAJORITY);
      return undefined;
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
    // Held already: take it over only if it has expired (one atomic compare-and-set).
    const taken = await requests.findOneAndUpdate({ _id: key, expiresAt: { $lte: now } }, { $set: pending(pendingUntil), $unset: { response: '' } }, { ...MAJORITY, returnDocument: 'after' });
    if (taken) return undefined;
    const live = await requests.findOne({ _id: key });
    if (live) return toRecord(live);
    // Released between the two reads: claim again.
  }
  throw new Error(`the request key could not be claimed: it changed hands three times`);
}

export async function rememberResponse(requests: DriverCollection, key: string, response: RememberedResponse, expiresAt: number): Promise<void> {
  await requests.updateOne({ _id: key }, { $set: { state: 'done', response: JSON.stringify(response), expiresAt, exp: new Date(expiresAt) } }, { ...MAJORITY, upsert: true });
}

export async function releaseRequest(requests: DriverCollection, key: string): Promise<void> {
  await requests.deleteOne({ _id: key }, MAJORITY);
}
