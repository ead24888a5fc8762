/**
 * Serialisation of stored versions (FHIR R4 §3.1.0 http.html "versionId"/"lastUpdated", Resource.meta)
 * and the FIFO write lock.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import { FifoLock } from './lock';
import { serialiseWithMeta } from './writes';

const T = '2024-01-02T03:04:05.678Z';

describe('serialiseWithMeta', () => {
  it('inserts meta after id when the resource has none, keeping every other key in place', () => {
    const json = serialiseWithMeta({ resourceType: 'Patient', id: 'a', active: true, gender: 'male' } as Resource, 'a', 1, T);
    assert.equal(json, `{"resourceType":"Patient","id":"a","meta":{"versionId":"1","lastUpdated":"${T}"},"active":true,"gender":"male"}`);
  });

  it('replaces meta.versionId/lastUpdated in place and keeps the other meta elements', () => {
    const r = { resourceType: 'Patient', active: true, meta: { profile: ['p'], versionId: '9' }, id: 'a' } as Resource;
    assert.equal(serialiseWithMeta(r, 'a', 2, T), `{"resourceType":"Patient","active":true,"meta":{"profile":["p"],"versionId":"2","lastUpdated":"${T}"},"id":"a"}`);
  });

  it('sets the id given by the store, inserting it after resourceType when absent', () => {
    assert.equal(serialiseWithMeta({ resourceType: 'Basic', code: {} } as Resource, 'x', 3, T), `{"resourceType":"Basic","id":"x","meta":{"versionId":"3","lastUpdated":"${T}"},"code":{}}`);
    assert.equal(JSON.parse(serialiseWithMeta({ resourceType: 'Basic', id: 'other' } as Resource, 'x', 1, T)).id, 'x');
  });

  it('does not change the caller object', () => {
    const r = { resourceType: 'Patient', id: 'a', meta: { versionId: '9' } } as Resource;
    serialiseWithMeta(r, 'a', 1, T);
    assert.deepEqual(r, { resourceType: 'Patient', id: 'a', meta: { versionId: '9' } });
  });
});

describe('FifoLock', () => {
  it('runs holders one at a time in arrival order and releases after a throw', async () => {
    const lock = new FifoLock();
    const log: string[] = [];
    const job = (name: string, fail = false) =>
      lock.run(async () => {
        log.push(`${name}+`);
        assert.ok(lock.heldByCaller());
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`${name}-`);
        if (fail) throw new Error(name);
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    assert.deepEqual(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(lock.heldByCaller(), false);
    assert.equal(lock.queued, 0);
  });
});
