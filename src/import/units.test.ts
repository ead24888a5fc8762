import assert from 'node:assert/strict';
import { BATCH_SIZE, remainderOf, resourceCount, unitsOfJson, unitsOfNdjson } from './units';

describe('import units', () => {
  it('NDJSON lines become batch Bundles of BATCH_SIZE: PUT Type/id with an id, POST Type without', () => {
    const lines = Array.from({ length: BATCH_SIZE + 5 }, (_, i) => JSON.stringify(i % 2 === 0 ? { resourceType: 'Patient', id: `p${i}` } : { resourceType: 'Observation' }));
    const { units, unreadable } = unitsOfNdjson('f.ndjson', lines.join('\n') + '\n\n');
    assert.equal(unreadable.length, 0);
    assert.deepEqual(units.map(resourceCount), [BATCH_SIZE, 5]);
    assert.equal(units[0]!.bundle.type, 'batch');
    assert.deepEqual(units[0]!.bundle.entry![0]!.request, { method: 'PUT', url: 'Patient/p0' });
    assert.deepEqual(units[0]!.bundle.entry![1]!.request, { method: 'POST', url: 'Observation' });
    // Positions are 1-based line numbers; keys name the first line of the unit.
    assert.equal(units[1]!.positions[0], BATCH_SIZE + 1);
    assert.equal(units[1]!.key, `f.ndjson#${BATCH_SIZE + 1}`);
  });

  it('NDJSON lines that are not JSON or not resources are unreadable, with their line numbers', () => {
    const { units, unreadable } = unitsOfNdjson('f.ndjson', '{"resourceType":"Patient"}\n{oops\n[1]\n');
    assert.equal(units.length, 1);
    assert.deepEqual(unreadable.map((u) => u.offset), [2, 3]);
    assert.match(unreadable[0]!.diagnostics, /line 2 is not JSON/);
    assert.match(unreadable[1]!.diagnostics, /not a FHIR resource/);
  });

  it('transaction and batch Bundles are sent as they are; collection entries become batches; a resource a batch of one', () => {
    const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } }] };
    assert.deepEqual(unitsOfJson('t.json', JSON.stringify(tx)).units[0]!.bundle, tx);
    const coll = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'a' } }, { fullUrl: 'x' }, { resource: { resourceType: 'Patient' } }] };
    const c = unitsOfJson('c.json', JSON.stringify(coll));
    assert.equal(c.units.length, 1);
    assert.equal(c.units[0]!.bundle.type, 'batch');
    assert.deepEqual(c.units[0]!.positions, [0, 2]);
    assert.deepEqual(c.unreadable.map((u) => u.offset), [1]);
    const one = unitsOfJson('p.json', '{"resourceType":"Patient","id":"z"}');
    assert.deepEqual(one.units[0]!.bundle.entry![0]!.request, { method: 'PUT', url: 'Patient/z' });
    assert.match(unitsOfJson('s.json', '{"resourceType":"Bundle","type":"searchset"}').unreadable[0]!.diagnostics, /searchset.*not imported/);
    assert.match(unitsOfJson('n.json', 'nope').unreadable[0]!.diagnostics, /not JSON/);
  });

  it('the remainder of a batch is its pending entries; a transaction stays whole', () => {
    const { units } = unitsOfNdjson('f.ndjson', ['{"resourceType":"Patient","id":"a"}', '{"resourceType":"Patient","id":"b"}', '{"resourceType":"Patient","id":"c"}'].join('\n'));
    const rest = remainderOf(units[0]!, [2]);
    assert.deepEqual(rest.bundle.entry!.map((e) => e.request!.url), ['Patient/c']);
    assert.deepEqual(rest.positions, [3]);
    const tx = unitsOfJson('t.json', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{}, {}] })).units[0]!;
    assert.equal(remainderOf(tx, [1]), tx);
  });
});
