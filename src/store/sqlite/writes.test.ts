/**
 * Serialisation of stored versions (FHIR R4 §3.1.0 http.html "versionId"/"lastUpdated", Resource.meta).
 * (The write queue that replaced the FIFO lock is tested in group-commit.test.ts.)
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
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

  it('keeps a `__proto__` key as a key (JSON.parse makes it an own property)', () => {
    const r = JSON.parse('{"resourceType":"Basic","__proto__":{"x":1},"code":{}}') as Resource;
    const json = serialiseWithMeta(r, 'b', 1, T);
    assert.equal(json, `{"resourceType":"Basic","id":"b","meta":{"versionId":"1","lastUpdated":"${T}"},"__proto__":{"x":1},"code":{}}`);
  });
});
