/**
 * `npm run import` of Synthea (issue 16): US data, refused under the server's default profiles (UK
 * Core REQUIRED_PROFILES: MedicationRequest, Patient) with ONE line offering `--base-validation`;
 * rerun with the flag, every entry of the Bundles loads (the rejected transactions are sent again).
 * Runs the command line in process against a DATA_DIR of its own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';
import { importCli } from '../../src/import/cli';
import { openImportServices } from '../../src/import/services';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { diagnostic } from '../helpers/diagnostics';
import { countOf, tempDir } from './helpers';

const BUNDLES = 3;

describe('import: Synthea', function () {
  this.timeout(180_000);
  let dir: string;
  let inputs: string;
  let expected: Map<string, number>;
  let entries = 0;

  before(function () {
    const synthea = existingExternalPath('synthea');
    if (!synthea) skipWithReason(this, 'no Synthea bundles in shared/external/synthea');
    const files = fs.readdirSync(synthea).filter((f) => f.endsWith('.json')).sort().slice(0, BUNDLES);
    if (files.length === 0) skipWithReason(this, 'no Synthea bundles in shared/external/synthea');
    dir = tempDir('import-synthea-');
    inputs = path.join(dir, 'in');
    fs.mkdirSync(inputs);
    expected = new Map();
    for (const f of files) {
      fs.symlinkSync(path.join(synthea, f), path.join(inputs, f));
      const b = JSON.parse(fs.readFileSync(path.join(synthea, f), 'utf8')) as Bundle;
      for (const e of b.entry ?? []) expected.set(e.resource!.resourceType, (expected.get(e.resource!.resourceType) ?? 0) + 1);
      entries += b.entry?.length ?? 0;
    }
  });

  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await importCli([inputs, '--report-dir', path.join(dir, 'report'), ...args], { env: { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' }, out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
    return { code, out, err };
  };

  it('is refused under the default profiles, with one line offering --base-validation', async () => {
    const r = await cli([]);
    assert.equal(r.code, 2);
    assert.match(r.out[0]!, new RegExp(`^done: 0 resources loaded, ${entries} rejected`));
    const hints = [...r.out, ...r.err].filter((l) => l.includes('--base-validation'));
    assert.equal(hints.length, 1, hints.join('\n'));
    assert.match(hints[0]!, /REQUIRED_PROFILES/);
    assert.match(r.out.join('\n'), /UKCore-(MedicationRequest|Patient)/);
  });

  it('loads every entry with --base-validation (a rerun after the refusal)', async () => {
    const r = await cli(['--base-validation']);
    assert.equal(r.code, 0, [...r.out, ...r.err].join('\n'));
    assert.match(r.out[0]!, new RegExp(`^done: ${entries} resources loaded, 0 rejected`));
    diagnostic(`import: Synthea ${BUNDLES} bundles, ${r.out[0]}`);
    const opened = await openImportServices({ DATA_DIR: path.join(dir, 'data') }, { baseValidation: true, log: silentLogger() });
    try {
      const app = createApp(opened.services);
      for (const [type, n] of expected) assert.equal(await countOf(app, type), n, type);
    } finally {
      await opened.close();
    }
    const again = await cli(['--base-validation']);
    assert.match(again.out[0]!, new RegExp(`0 resources loaded, 0 rejected, ${entries} skipped`));
  });
});
