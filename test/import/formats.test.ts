/**
 * `npm run import` inputs (issue 16): NDJSON, transaction, batch and collection Bundles, single
 * resources and directories, loaded in process through the engine with validation; rejections are
 * counted and reported with their reasons.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import request from 'supertest';
import { GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { runImport } from '../../src/import/run';
import { engineTarget } from '../../src/import/target';
import { countOf, ndjson, observation, reportLines, tempDir, write } from './helpers';

describe('import: formats (in process)', () => {
  let t: TestApp;
  let dir: string;
  beforeEach(() => {
    t = testApp(GENERIC_ENGINE);
    dir = tempDir();
  });
  afterEach(() => t.close());

  const load = (inputs: string[], extra: { concurrency?: number } = {}) => runImport({ inputs, target: engineTarget(t.services, 'test'), reportDir: path.join(dir, 'report'), ...extra });

  it('NDJSON: PUT by id, POST without; invalid and unparseable lines are rejected with line numbers and reasons', async () => {
    const file = write(dir, 'data/obs.ndjson', ndjson([{ resourceType: 'Patient', id: 'pat-1', gender: 'female' }, observation(1), observation(2, 'obs-2'), { resourceType: 'Patient', gender: 'sometimes' }]) + '{not json\n');
    const s = await load([file]);
    assert.equal(s.loaded, 3);
    assert.equal(s.rejected, 2);
    assert.equal((await request(t.app).get('/fhir/Patient/pat-1')).status, 200);
    assert.equal((await request(t.app).get('/fhir/Observation/obs-2')).status, 200);
    assert.equal(await countOf(t.app, 'Observation'), 2);
    const lines = reportLines(path.join(dir, 'report'));
    assert.deepEqual(lines.map((l) => [l.entry, l.status]).sort(), [[4, 422], [5, 0]].sort());
    const gender = lines.find((l) => l.entry === 4)!;
    assert.equal(gender.file, file);
    assert.match(gender.diagnostics.join(' '), /gender|sometimes/);
    assert.match(lines.find((l) => l.entry === 5)!.diagnostics[0]!, /line 5 is not JSON/);
    assert.ok(s.reasons.length >= 2);
  });

  it('transaction: urn:uuid references resolved, all or nothing; a failing transaction is one report line naming the entry', async () => {
    const good = write(dir, 'tx.json', {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6f1c2f2e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...observation(1), subject: { reference: 'urn:uuid:6f1c2f2e-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    const bad = write(dir, 'tx-bad.json', {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { resource: observation(2), request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Observation', code: { text: 'no status' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    const s = await load([good, bad]);
    assert.equal(s.loaded, 2);
    assert.equal(s.rejected, 2);
    assert.equal(await countOf(t.app, 'Observation'), 1, 'the failed transaction stored nothing');
    const search = await request(t.app).get('/fhir/Observation?subject.family=Tx');
    assert.equal((search.body as { total?: number; entry?: unknown[] }).entry?.length, 1);
    const lines = reportLines(path.join(dir, 'report'));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.file, bad);
    assert.equal(lines[0]!.entry, undefined);
    assert.ok(lines[0]!.status >= 400 && lines[0]!.status < 500);
    assert.match(lines[0]!.diagnostics.join(' '), /entry\[1\]/);
  });

  it('batch: each entry on its own; the rejected entry is reported by its index', async () => {
    const file = write(dir, 'batch.json', {
      resourceType: 'Bundle', type: 'batch',
      entry: [
        { resource: observation(1, 'b-1'), request: { method: 'PUT', url: 'Observation/b-1' } },
        { resource: { resourceType: 'Observation', status: 'final' }, request: { method: 'POST', url: 'Observation' } },
        { resource: observation(3), request: { method: 'POST', url: 'Observation' } },
      ],
    });
    const s = await load([file]);
    assert.deepEqual([s.loaded, s.rejected], [2, 1]);
    assert.equal(await countOf(t.app, 'Observation'), 2);
    const lines = reportLines(path.join(dir, 'report'));
    assert.deepEqual(lines.map((l) => l.entry), [1]);
    assert.match(lines[0]!.diagnostics.join(' '), /code/);
  });

  it('collection Bundles, single resources and directories (recursively, *.json and *.ndjson only)', async () => {
    write(dir, 'in/a/collection.json', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: observation(1, 'c-1') }, { resource: observation(2) }] });
    write(dir, 'in/b/c/patient.json', { resourceType: 'Patient', id: 'single' });
    write(dir, 'in/b/more.ndjson', ndjson([observation(3), observation(4)]));
    write(dir, 'in/notes.txt', 'not FHIR');
    const s = await load([path.join(dir, 'in')], { concurrency: 2 });
    assert.deepEqual([s.loaded, s.rejected, s.sources], [5, 0, 3]);
    assert.equal(await countOf(t.app, 'Observation'), 4);
    assert.equal((await request(t.app).get('/fhir/Patient/single')).status, 200);
    assert.equal(reportLines(path.join(dir, 'report')).length, 0);
  });
});
