import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Bundle } from 'fhir/r4';
import { checkDocumentBundle } from './documents';

const valid: Bundle = {
  resourceType: 'Bundle',
  identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:8c9a5b3e-0d0e-4c57-9a57-1c1f1f1f1f1f' },
  type: 'document',
  timestamp: '2024-05-01T10:00:00Z',
  entry: [{ resource: { resourceType: 'Composition', status: 'final', type: { text: 'x' }, date: '2024-05-01', author: [{ display: 'a' }], title: 't' } }],
};

describe('fhir/documents checkDocumentBundle (documents.html, bdl-9, bdl-10, bdl-11)', () => {
  it('accepts a document with identifier, timestamp and a Composition first', () => {
    assert.equal(checkDocumentBundle(valid), undefined);
  });
  it('names the element that is missing', () => {
    assert.equal(checkDocumentBundle({ ...valid, identifier: { value: 'x' } })?.element, 'Bundle.identifier');
    assert.equal(checkDocumentBundle({ ...valid, identifier: { system: 'urn:x', value: '' } })?.element, 'Bundle.identifier');
    assert.equal(checkDocumentBundle({ ...valid, timestamp: undefined } as unknown as Bundle)?.element, 'Bundle.timestamp');
    assert.equal(checkDocumentBundle({ ...valid, entry: [] })?.element, 'Bundle.entry[0].resource');
    assert.equal(checkDocumentBundle({ ...valid, entry: [{ resource: { resourceType: 'Patient' } }, ...valid.entry!] })?.element, 'Bundle.entry[0].resource');
  });
  it('never throws on arbitrary JSON, and accepts only Bundles meeting all three rules', () => {
    fc.assert(
      fc.property(fc.record({ identifier: fc.option(fc.anything()), timestamp: fc.option(fc.anything()), entry: fc.option(fc.anything()) }, { requiredKeys: [] }), (parts) => {
        const bundle = { resourceType: 'Bundle', type: 'document', ...parts } as unknown as Bundle;
        const r = checkDocumentBundle(bundle);
        const ok =
          typeof bundle.identifier?.system === 'string' && bundle.identifier.system !== '' && typeof bundle.identifier.value === 'string' && bundle.identifier.value !== '' &&
          typeof bundle.timestamp === 'string' && bundle.timestamp !== '' &&
          Array.isArray(bundle.entry) && bundle.entry[0]?.resource?.resourceType === 'Composition';
        assert.equal(r === undefined, ok);
      }),
      { numRuns: 500 },
    );
  });
});
