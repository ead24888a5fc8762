/**
 * Server-assigned ids (new-id.ts, ADR 0046): UUID version 7 (RFC 9562 §5.7) in text form, valid FHIR
 * ids, distinct, and sorting in the order they were generated, also within one millisecond.
 */
import assert from 'node:assert/strict';
import { newId } from './new-id';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

describe('newId (server-assigned ids)', () => {
  it('is a UUID version 7 whose timestamp is now, and a valid FHIR id', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    assert.match(id, UUID_V7);
    assert.match(id, FHIR_ID);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(ms >= before && ms <= after, `timestamp ${ms} outside ${before}..${after}`);
  });

  it('gives distinct ids that sort in the order they were made (many per millisecond)', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `id ${i} ${ids[i]} sorts before ${ids[i - 1]}`);
    const perMs = new Map<string, number>();
    for (const id of ids) perMs.set(id.slice(0, 13), (perMs.get(id.slice(0, 13)) ?? 0) + 1);
    assert.ok(Math.max(...perMs.values()) > 1, 'some millisecond held more than one id');
  });
});
