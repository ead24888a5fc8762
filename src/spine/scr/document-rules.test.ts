import assert from 'node:assert/strict';
import type { Bundle, Composition } from 'fhir/r4';
import { checkScrDocument, latestSummary, nhsNumberToken, replacedIdentifiers } from './document-rules';

function composition(id: string, extra: Partial<Composition> = {}): Composition {
  return {
    resourceType: 'Composition',
    id,
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: id },
    status: 'final',
    type: { coding: [{ system: 'http://snomed.info/sct', code: '196981000000101' }] },
    subject: { reference: 'Patient/p1' },
    date: '2020-11-17T01:00:00+00:00',
    author: [{ display: 'GP' }],
    title: 'GP Summary',
    ...extra,
  };
}

function doc(c: Composition, nhs = '9000000009'): Bundle {
  return {
    resourceType: 'Bundle',
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: `doc-${c.id!}` },
    type: 'document',
    entry: [
      { fullUrl: `urn:uuid:${c.id}`, resource: c },
      { fullUrl: 'https://x/Patient/p1', resource: { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs }] } },
    ],
  };
}

describe('spine/scr document rules', () => {
  it('accepts a GP Summary document and reads its NHS Number, id and replaced summaries', () => {
    const r = checkScrDocument(doc(composition('A', { relatesTo: [{ code: 'replaces', targetIdentifier: { value: 'OLD' } }] })));
    assert.ok(r.ok);
    assert.equal(r.document.nhsNumber, '9000000009');
    assert.equal(r.document.scrId, 'A');
    assert.deepEqual(r.document.replaces, ['OLD']);
  });
  it('refuses non-documents, wrong first entries, types, statuses and NHS Numbers', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ resourceType: 'Patient' }, /must be a FHIR Bundle/],
      [{ ...doc(composition('A')), type: 'collection' }, /Bundle.type/],
      [{ resourceType: 'Bundle', identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:1' }, type: 'document', entry: [{ resource: { resourceType: 'Patient' } }] }, /first entry/],
      [{ ...doc(composition('A')), identifier: { value: 'x' } }, /Bundle.identifier/],
      [doc(composition('A', { type: { coding: [{ system: 'http://snomed.info/sct', code: '1' }] } })), /Composition.type/],
      [doc(composition('A', { status: 'preliminary' })), /status/],
      [doc(composition('A'), '9000000001'), /Invalid NHS number/],
      [doc(composition('A', { subject: { reference: 'Patient/none' } })), /not a Patient entry/],
    ];
    for (const [body, re] of cases) {
      const r = checkScrDocument(body);
      assert.ok(!r.ok);
      assert.match(r.problem, re);
    }
  });
  it('the latest summary is the newest one that nothing replaces', () => {
    const a = composition('A', { meta: { lastUpdated: '2024-01-01T00:00:00Z' } });
    const b = composition('B', { meta: { lastUpdated: '2024-01-02T00:00:00Z' }, relatesTo: [{ code: 'replaces', targetIdentifier: { value: 'A' } }] });
    assert.equal(latestSummary([a, b])?.id, 'B');
    // A replaced summary is never latest, even if stored later.
    const a2 = { ...a, meta: { lastUpdated: '2025-01-01T00:00:00Z' } };
    assert.equal(latestSummary([a2, b])?.id, 'B');
    assert.equal(latestSummary([composition('C', { status: 'preliminary' })]), undefined);
    assert.deepEqual(replacedIdentifiers(b), ['A']);
  });
  it('parses the NHS Number token', () => {
    assert.equal(nhsNumberToken('https://fhir.nhs.uk/Id/nhs-number|9000000009'), '9000000009');
    assert.equal(nhsNumberToken('9000000009'), '9000000009');
    assert.equal(nhsNumberToken('http://other|9000000009'), undefined);
    assert.equal(nhsNumberToken('INVALID NHS NUMBER'), undefined);
  });
});
