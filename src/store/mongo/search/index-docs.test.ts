/**
 * Tests of the embedded search index documents (FHIR R4 §3.1.1 search.html parameter types): every
 * IndexEntry kind maps to its compact sub-document in the index array of its kind, no field is ever
 * null or undefined, text words are merged per parameter, and each index specification covers one
 * array and names only fields the documents have.
 */
import assert from 'node:assert/strict';
import type { IndexEntry } from '../../../search/index-entry';
import { INDEX_ARRAYS, SEARCH_INDEXES, toIndexDocs, type IndexDoc } from './index-docs';

const ALL_FIELDS = new Set(['p', 'k', 's', 'c', 'tx', 'ts', 'tc', 'n', 'e', 'lo', 'hi', 'v', 'un', 'rt', 'ri', 'rv', 'url', 'uv', 'is', 'iv', 'u', 'cs', 'w']);

function assertNoNulls(d: IndexDoc): void {
  for (const [k, v] of Object.entries(d)) {
    assert.ok(ALL_FIELDS.has(k), `unknown field ${k}`);
    assert.ok(v !== null && v !== undefined, `field ${k} is ${String(v)}`);
  }
  for (const c of d.cs ?? []) assertNoNulls(c);
}

describe('MongoDB search index documents', () => {
  it('maps every entry kind to its compact sub-document', () => {
    const entries: IndexEntry[] = [
      { kind: 'token', param: 'code', system: 'http://loinc.org', code: '8310-5', text: 'body temperature' },
      { kind: 'token', param: 'identifier', system: null, code: '123', typeSystem: 'v2', typeCode: 'MR' },
      { kind: 'string', param: 'name', norm: 'bronte', exact: 'Brontë' },
      { kind: 'date', param: 'birthdate', low: -Infinity, high: 10 },
      { kind: 'number', param: 'probability', value: 0.02, low: 0.015, high: 0.025 },
      { kind: 'quantity', param: 'value-quantity', system: 'http://unitsofmeasure.org', code: 'Cel', unit: 'C', value: 36.5, low: 36.45, high: 36.55 },
      { kind: 'reference', param: 'subject', targetType: 'Patient', targetId: 'f001', targetVersion: null, url: null },
      { kind: 'reference', param: 'insurer', targetType: null, targetId: null, url: null, identifierSystem: 'is', identifierValue: '555' },
      { kind: 'uri', param: 'url', value: 'http://a/b' },
      { kind: 'composite', param: 'code-value-quantity', components: [{ kind: 'token', param: 'code', system: 's', code: 'c' }, { kind: 'quantity', param: 'value-quantity', system: null, code: null, value: 1, low: 0.5, high: 1.5 }] },
      { kind: 'text', param: '_text', text: 'Alpha beta' },
      { kind: 'text', param: '_text', text: 'beta Gamma' },
      { kind: 'text', param: '_content', text: '--' },
    ];
    const docs = toIndexDocs(entries);
    Object.values(docs).flat().forEach(assertNoNulls);
    assert.deepEqual(docs, {
      xt: [
        { p: 'code', s: 'http://loinc.org', c: '8310-5', tx: 'body temperature' },
        { p: 'identifier', c: '123', ts: 'v2', tc: 'MR' },
      ],
      xs: [{ p: 'name', n: 'bronte', e: 'Brontë' }],
      xd: [{ p: 'birthdate', lo: -Infinity, hi: 10 }],
      xn: [{ p: 'probability', v: 0.02, lo: 0.015, hi: 0.025 }],
      xq: [{ p: 'value-quantity', s: 'http://unitsofmeasure.org', c: 'Cel', un: 'C', v: 36.5, lo: 36.45, hi: 36.55 }],
      xr: [
        { p: 'subject', rt: 'Patient', ri: 'f001' },
        { p: 'insurer', is: 'is', iv: '555' },
      ],
      xu: [{ p: 'url', u: 'http://a/b' }],
      xc: [{ p: 'code-value-quantity', cs: [{ p: 'code', k: 't', s: 's', c: 'c' }, { p: 'value-quantity', k: 'q', v: 1, lo: 0.5, hi: 1.5 }] }],
      // Words of one param merged; a param without words has no sub-document (as SQLite's FTS row).
      xw: [{ p: '_text', w: ['alpha', 'beta', 'gamma'] }],
    });
    // No array is stored empty: an index without entries of a kind has no field for it.
    assert.deepEqual(toIndexDocs([{ kind: 'text', param: '_content', text: '--' }]), {});
  });

  it('index specifications use only fields of the document model, each covering one array, with unique names', () => {
    const top = new Set(['t', 'i', 'd', 'u']);
    for (const s of SEARCH_INDEXES) {
      const arrays = new Set<string>();
      for (const f of Object.keys(s.key)) {
        if (top.has(f)) continue;
        const [array, field, ...rest] = f.split('.');
        assert.ok(array !== undefined && INDEX_ARRAYS.includes(array) && field !== undefined && ALL_FIELDS.has(field) && rest.length === 0, `${s.options.name}: ${f}`);
        arrays.add(array);
      }
      assert.ok(arrays.size <= 1, `${s.options.name} covers ${[...arrays].join(', ')}: a compound multikey index may cover one array only`);
    }
    // Every array has an index whose key starts with its parameter (after the type), except none.
    for (const array of INDEX_ARRAYS) assert.ok(SEARCH_INDEXES.some((s) => Object.keys(s.key)[1] === `${array}.p`), `no index on ${array}.p`);
    assert.equal(new Set(SEARCH_INDEXES.map((s) => s.options.name)).size, SEARCH_INDEXES.length);
  });
});
