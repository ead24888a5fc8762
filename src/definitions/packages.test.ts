/**
 * Tests of FHIR NPM package and folder loading (FHIR NPM Package specification; R4
 * conformance-module.html), including the tar reader, with property-based round trips.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { isConformanceResource, loadFolder, loadPackage, readTarGz } from './packages';
import { externalDir } from '../validation/external-test-data';
import { diagnostic } from '../../test/helpers/diagnostics';

/** A minimal ustar writer for tests (names up to 100 bytes; longer names go into a pax header). */
function tar(files: ReadonlyArray<[string, Buffer]>): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: string): Buffer => {
    const h = Buffer.alloc(512);
    h.write(name.slice(0, 100), 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(type, 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return h;
  };
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  for (const [name, data] of files) {
    if (Buffer.byteLength(name) > 100) {
      let rec = ` path=${name}\n`;
      let len = Buffer.byteLength(rec) + 2;
      while (Buffer.byteLength(`${len}${rec}`) !== len) len = Buffer.byteLength(`${len}${rec}`);
      rec = `${len}${rec}`;
      const pax = Buffer.from(rec);
      blocks.push(header('PaxHeader', pax.length, 'x'), pad(pax));
    }
    blocks.push(header(name, data.length, '0'), pad(data));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

const VS = { resourceType: 'ValueSet', url: 'http://example.org/vs', version: '1.0.0', status: 'active' };
const SD = { resourceType: 'StructureDefinition', url: 'http://example.org/sd', status: 'active', kind: 'resource', abstract: false, type: 'Patient' };

describe('definitions/packages', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-packages-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('recognises the conformance resource types only', () => {
    assert.ok(isConformanceResource(VS));
    assert.ok(isConformanceResource({ resourceType: 'SearchParameter' }));
    assert.ok(!isConformanceResource({ resourceType: 'Patient' }));
    assert.ok(!isConformanceResource([VS]));
    assert.ok(!isConformanceResource(null));
  });

  it('loads a .tgz package: manifest, top-level resources only, problems reported', () => {
    const file = path.join(tmp, 'example.tgz');
    fs.writeFileSync(
      file,
      tar([
        ['package/package.json', json({ name: 'example.fhir', version: '1.2.3', dependencies: { 'hl7.fhir.r4.core': '4.0.1' } })],
        ['package/ValueSet-vs.json', json(VS)],
        ['package/StructureDefinition-sd.json', json(SD)],
        ['package/Patient-example.json', json({ resourceType: 'Patient', id: 'x' })],
        ['package/example/ValueSet-other.json', json({ ...VS, url: 'http://example.org/other' })],
        ['package/broken.json', Buffer.from('{ not json')],
      ]),
    );
    const pkg = loadPackage(file);
    assert.equal(pkg.name, 'example.fhir');
    assert.equal(pkg.version, '1.2.3');
    assert.deepEqual(pkg.dependencies, { 'hl7.fhir.r4.core': '4.0.1' });
    assert.equal(pkg.kind, 'package');
    assert.deepEqual(pkg.resources.map((r) => r.resource.url).sort(), ['http://example.org/sd', 'http://example.org/vs']);
    assert.equal(pkg.resources[0]?.source, 'example.fhir#1.2.3');
    assert.equal(pkg.problems.length, 1);
    assert.match(pkg.problems[0] ?? '', /broken\.json/);
  });

  it('loads a package directory (extracted archive or the package folder itself)', () => {
    const root = path.join(tmp, 'dirpkg');
    fs.mkdirSync(path.join(root, 'package', 'other'), { recursive: true });
    fs.writeFileSync(path.join(root, 'package', 'package.json'), json({ name: 'dir.pkg', version: '0.1.0' }));
    fs.writeFileSync(path.join(root, 'package', 'vs.json'), json(VS));
    fs.writeFileSync(path.join(root, 'package', 'other', 'sd.json'), json(SD));
    for (const loc of [root, path.join(root, 'package')]) {
      const pkg = loadPackage(loc);
      assert.equal(pkg.name, 'dir.pkg');
      assert.deepEqual(pkg.resources.map((r) => r.resource.url), ['http://example.org/vs']);
    }
  });

  it('loads a plain folder tree recursively, skipping non-conformance resources', () => {
    const root = path.join(tmp, 'profiles');
    fs.mkdirSync(path.join(root, 'nested'), { recursive: true });
    fs.writeFileSync(path.join(root, 'vs.json'), json(VS));
    fs.writeFileSync(path.join(root, 'nested', 'sd.json'), json(SD));
    fs.writeFileSync(path.join(root, 'nested', 'patient.json'), json({ resourceType: 'Patient' }));
    fs.writeFileSync(path.join(root, 'notes.txt'), 'ignored');
    const pkg = loadFolder(root);
    assert.equal(pkg.kind, 'folder');
    assert.deepEqual(pkg.resources.map((r) => r.file).sort(), [path.join('nested', 'sd.json'), 'vs.json']);
    assert.equal(loadPackage(root).kind, 'folder');
  });

  it('throws for a location that does not exist', () => {
    assert.throws(() => loadPackage(path.join(tmp, 'missing.tgz')));
  });

  it('round-trips any set of files through tar + gzip (property)', () => {
    const name = fc
      .array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/).filter((s) => s !== '.' && s !== '..'), { minLength: 1, maxLength: 5 })
      .map((parts) => `package/${parts.join('/')}`);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, fc.uint8Array({ maxLength: 1500 })), { selector: ([n]) => n, maxLength: 6 }), (entries) => {
        const files = readTarGz(tar(entries.map(([n, d]) => [n, Buffer.from(d)])));
        assert.equal(files.size, entries.length);
        for (const [n, d] of entries) assert.deepEqual(files.get(n), Buffer.from(d));
      }),
      { numRuns: 100 },
    );
  });

  it('never crashes on arbitrary bytes: returns files or throws an Error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        try {
          readTarGz(Buffer.from(bytes));
        } catch (e) {
          assert.ok(e instanceof Error);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('loads the UK Core folder: 22 StructureDefinitions, 26 ValueSets, 22 CodeSystems, no examples', function () {
    const dir = externalDir('uk-core');
    if (!dir) {
      diagnostic('    skipped: ../shared/external/uk-core is absent');
      this.skip();
    }
    const pkg = loadPackage(dir);
    const count = (t: string): number => pkg.resources.filter((r) => r.resource.resourceType === t).length;
    assert.equal(count('StructureDefinition'), 22);
    assert.equal(count('ValueSet'), 26);
    assert.equal(count('CodeSystem'), 22);
    assert.equal(pkg.resources.length, 70);
    assert.deepEqual(pkg.problems, []);
  });
});
