/**
 * Tests of canonical references and versions (FHIR R4 §2.16 references.html, canonical `url|version`).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CanonicalRegistry, canonicalKey, compareVersions, newest, parseCanonical } from './canonical';

describe('terminology/canonical', () => {
  it('splits url|version and keeps bare urls', () => {
    assert.deepEqual(parseCanonical('http://x/vs|1.2'), { url: 'http://x/vs', version: '1.2' });
    assert.deepEqual(parseCanonical('http://x/vs'), { url: 'http://x/vs' });
    assert.deepEqual(parseCanonical('http://x/vs|'), { url: 'http://x/vs' });
    assert.equal(canonicalKey('http://x/vs', '2'), 'http://x/vs|2');
    assert.equal(canonicalKey('http://x/vs'), 'http://x/vs');
  });

  it('round-trips any url without a bar and any version', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('|')), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), (url, version) => {
        assert.deepEqual(parseCanonical(canonicalKey(url, version)), version === undefined ? { url } : { url, version });
      }),
    );
  });

  it('orders versions numerically by part, a missing version oldest', () => {
    assert.ok(compareVersions('1.10.0', '1.9') > 0);
    assert.ok(compareVersions('2019-11-01', '2019-02-28') > 0);
    assert.ok(compareVersions('1.0', '1.0.1') < 0);
    assert.ok(compareVersions(undefined, '0.1') < 0);
    assert.equal(compareVersions('4.0.1', '4.0.1'), 0);
    assert.ok(compareVersions('1.0.0-beta', '1.0.0-alpha') > 0);
  });

  it('is an antisymmetric comparison', () => {
    const version = fc.option(fc.stringMatching(/^[0-9a-c]{1,3}([.-][0-9a-c]{1,3}){0,3}$/), { nil: undefined });
    fc.assert(
      fc.property(version, version, (a, b) => {
        assert.equal(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a)), 0);
      }),
    );
  });

  it('answers the exact version or the newest, and removes one or every version', () => {
    const reg = new CanonicalRegistry<{ url?: string; version?: string; tag: string }>();
    assert.equal(reg.add({ tag: 'no url' }), false);
    reg.add({ url: 'u', version: '1.2', tag: 'a' });
    reg.add({ url: 'u', version: '1.10', tag: 'b' });
    reg.add({ url: 'u', version: '1.2', tag: 'a2' });
    assert.equal(reg.get('u')?.tag, 'b');
    assert.equal(reg.get('u', '1.2')?.tag, 'a2');
    assert.equal(reg.get('u', '9'), undefined);
    assert.equal(reg.remove('u', '1.10'), true);
    assert.equal(reg.get('u')?.tag, 'a2');
    assert.equal(reg.remove('u'), true);
    assert.equal(reg.get('u'), undefined);
    assert.equal(reg.remove('u'), false);
  });

  it('breaks ties on version by list order', () => {
    assert.equal(newest([{ version: '1', n: 1 }, { version: '1', n: 2 }, { version: '0', n: 3 }])?.n, 1);
    assert.equal(newest([]), undefined);
  });
});
