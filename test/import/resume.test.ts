/**
 * `npm run import` resumption (issue 16): an import stopped after N Bundles and run again with the
 * same inputs loads the rest only — nothing duplicated (POSTs without ids included), totals equal —
 * and sends again only the rejected entries; `--restart` ignores the state.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { runImport, type ImportOptions } from '../../src/import/run';
import { engineTarget, type ImportTarget } from '../../src/import/target';
import { BATCH_SIZE } from '../../src/import/units';
import { countOf, ndjson, observation, reportLines, tempDir, write } from './helpers';

describe('import: resume after interruption', () => {
  let t: TestApp;
  let dir: string;
  let report: string;
  beforeEach(() => {
    t = testApp(GENERIC_ENGINE);
    dir = tempDir();
    report = path.join(dir, 'report');
  });
  afterEach(() => t.close());

  const run = (inputs: string[], extra: Partial<ImportOptions> = {}, target: ImportTarget = engineTarget(t.services, 'test')) => runImport({ inputs, target, reportDir: report, ...extra });

  it('stopped after N Bundles, a rerun loads the rest: nothing duplicated, the total equals the input', async () => {
    const total = BATCH_SIZE * 3 + 17;
    // No ids: every entry is a POST, so a resent Bundle would duplicate.
    write(dir, 'in/a.ndjson', ndjson(Array.from({ length: total }, (_, i) => observation(i))));
    write(dir, 'in/b.json', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: observation(-1), request: { method: 'POST', url: 'Observation' } }] });
    const first = await run([path.join(dir, 'in')], { concurrency: 1, maxUnits: 2 });
    assert.equal(first.interrupted, true);
    assert.equal(first.loaded, 2 * BATCH_SIZE);
    assert.ok(fs.existsSync(first.stateFile));
    const second = await run([path.join(dir, 'in')], { concurrency: 3 });
    assert.equal(second.interrupted, false);
    assert.equal(second.skipped, 2 * BATCH_SIZE);
    assert.equal(second.loaded, total + 1 - 2 * BATCH_SIZE);
    assert.equal(await countOf(t.app, 'Observation'), total + 1);
    const third = await run([path.join(dir, 'in')]);
    assert.deepEqual([third.loaded, third.skipped], [0, total + 1]);
    assert.equal(await countOf(t.app, 'Observation'), total + 1);
  });

  it('an interruption by signal stops taking Bundles; those in flight complete and are recorded', async () => {
    write(dir, 'in/a.ndjson', ndjson(Array.from({ length: BATCH_SIZE * 4 }, (_, i) => observation(i))));
    const abort = new AbortController();
    const inner = engineTarget(t.services, 'test');
    let sends = 0;
    const target: ImportTarget = { describe: 'test', send: (bundle) => { if (++sends === 2) abort.abort(); return inner.send(bundle); } };
    const first = await run([path.join(dir, 'in')], { concurrency: 1, signal: abort.signal }, target);
    assert.equal(first.interrupted, true);
    assert.equal(first.loaded, 2 * BATCH_SIZE);
    const second = await run([path.join(dir, 'in')]);
    assert.equal(second.loaded, 2 * BATCH_SIZE);
    assert.equal(await countOf(t.app, 'Observation'), 4 * BATCH_SIZE);
  });

  it('a rerun sends only the rejected entries again; --restart ignores the state', async () => {
    const file = write(dir, 'p.ndjson', ndjson([observation(1, 'r-1'), { resourceType: 'Observation', id: 'r-2', status: 'final' }, observation(3)]));
    const first = await run([file]);
    assert.deepEqual([first.loaded, first.rejected], [2, 1]);
    // The rejected line is corrected in a target that fixes it; only it is sent.
    const inner = engineTarget(t.services, 'test');
    const sent: number[] = [];
    const fixing: ImportTarget = {
      describe: 'test',
      send: (bundle) => {
        sent.push(bundle.entry?.length ?? 0);
        for (const e of bundle.entry ?? []) (e.resource as { code?: unknown }).code = { text: 'fixed' };
        return inner.send(bundle);
      },
    };
    const second = await run([file], {}, fixing);
    assert.deepEqual(sent, [1]);
    assert.deepEqual([second.loaded, second.rejected, second.skipped], [1, 0, 2]);
    assert.equal(reportLines(report).length, 0, 'the report lists this run\'s rejections');
    assert.equal(await countOf(t.app, 'Observation'), 3, 'the POSTed line 3 was not sent again');
    const restarted = await run([file], { restart: true });
    assert.deepEqual([restarted.skipped, restarted.loaded + restarted.rejected], [0, 3]);
  });

  it('other inputs start a fresh state', async () => {
    const a = write(dir, 'a.ndjson', ndjson([observation(1, 'x-1')]));
    const b = write(dir, 'b.ndjson', ndjson([observation(2, 'x-2')]));
    await run([a]);
    const s = await run([b]);
    assert.deepEqual([s.loaded, s.skipped], [1, 0]);
  });
});
