/**
 * The hand-written data set of the store contract's search tests (FHIR R4 §3.1.1 search.html): resources
 * with explicit IndexEntry arrays, so a store is tested without any index extraction.
 */
import type { Resource } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import type { StoreSession, StoredVersion } from '../store';
import { dateEntry, put, res } from './fixtures';

export const GENDER = 'http://hl7.org/fhir/administrative-gender';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';

const family = (exact: string): IndexEntry => ({ kind: 'string', param: 'family', norm: exact.toLowerCase(), exact });
const token = (param: string, system: string | null, code: string | null, text?: string): IndexEntry => ({ kind: 'token', param, system, code, ...(text ? { text } : {}) });
const ref = (param: string, targetType: string, targetId: string): IndexEntry => ({ kind: 'reference', param, targetType, targetId, url: null });
const qty = (param: string, value: number, half: number, system: string | null, code: string | null, unit: string | null): IndexEntry => ({
  kind: 'quantity',
  param,
  system,
  code,
  unit,
  value,
  low: value - half,
  high: value + half,
});
const codeValue = (code: string, value: IndexEntry): IndexEntry => ({ kind: 'composite', param: 'code-value-quantity', components: [token('code', LOINC, code), value] });

type Row = [Resource & { id: string }, IndexEntry[]];

const obs = (id: string): Resource & { id: string } => res({ resourceType: 'Observation', id, status: 'final', code: { text: id } });

/** Written in this order (lastUpdated grows along it). */
export const DATASET: readonly Row[] = [
  [{ resourceType: 'Practitioner', id: 'dr1' }, [family('Who')]],
  [{ resourceType: 'Practitioner', id: 'dr2' }, [family('House')]],
  [
    { resourceType: 'Patient', id: 'p1' },
    [family('Smith'), family('Adams'), token('identifier', 'urn:nhs', '111'), { kind: 'token', param: 'identifier', system: 'urn:hospital', code: 'MRN1', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR' }, token('gender', GENDER, 'male'), dateEntry('birthdate', '1980-06-01T00:00:00Z', '1980-06-02T00:00:00Z'), ref('general-practitioner', 'Practitioner', 'dr1')],
  ],
  [
    { resourceType: 'Patient', id: 'p2' },
    [family('Smithson'), token('identifier', 'urn:nhs', '222'), token('gender', GENDER, 'female'), dateEntry('birthdate', '1990-05-15T00:00:00Z', '1990-05-16T00:00:00Z'), ref('general-practitioner', 'Practitioner', 'dr2')],
  ],
  [
    { resourceType: 'Patient', id: 'p3' },
    [family('Jones'), token('gender', null, 'female'), dateEntry('birthdate', '1980-01-01T00:00:00Z', '1981-01-01T00:00:00Z'), token('language', 'urn:ietf:bcp:47', 'en-GB', 'english (united kingdom)')],
  ],
  [{ resourceType: 'Patient', id: 'p4' }, [family("O'Brien%_x"), token('gender', GENDER, 'other')]],
  [{ resourceType: 'Patient', id: 'p5' }, [token('gender', GENDER, 'unknown')]],
  [
    obs('o1'),
    [
      ref('subject', 'Patient', 'p1'),
      token('code', LOINC, '1234-5', 'glucose'),
      qty('value-quantity', 5.4, 0.05, UCUM, 'mg', 'mg'),
      dateEntry('date', '2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z'),
      { kind: 'reference', param: 'performer', targetType: null, targetId: null, url: null, identifierSystem: 'urn:org', identifierValue: 'ORG1' },
      codeValue('1234-5', qty('value-quantity', 5.4, 0.05, UCUM, 'mg', 'mg')),
    ],
  ],
  [
    obs('o2'),
    [
      ref('subject', 'Patient', 'p2'),
      token('code', LOINC, '1234-5'),
      qty('value-quantity', 7, 0.5, UCUM, 'mg', 'mg'),
      { kind: 'reference', param: 'based-on', targetType: null, targetId: null, url: 'http://example.org/plan/1', urlVersion: '2' },
      codeValue('1234-5', qty('value-quantity', 7, 0.5, UCUM, 'mg', 'mg')),
    ],
  ],
  [
    obs('o3'),
    [
      ref('subject', 'Patient', 'p1'),
      token('code', LOINC, '9999-9'),
      qty('value-quantity', 7, 0.5, null, null, 'mg'),
      codeValue('9999-9', qty('value-quantity', 7, 0.5, null, null, 'mg')),
      codeValue('1234-5', qty('value-quantity', 1, 0.5, UCUM, 'mg', 'mg')),
    ],
  ],
  [res({ resourceType: 'RiskAssessment', id: 'ra1', status: 'final', subject: { reference: 'Patient/p1' } }), [{ kind: 'number', param: 'probability', value: 0.2, low: 0.15, high: 0.25 }]],
  [res({ resourceType: 'RiskAssessment', id: 'ra2', status: 'final', subject: { reference: 'Patient/p2' } }), [{ kind: 'number', param: 'probability', value: 0.8, low: 0.75, high: 0.85 }]],
  [res({ resourceType: 'ValueSet', id: 'vs1', status: 'active' }), [{ kind: 'uri', param: 'url', value: 'http://acme.org/fhir/ValueSet/123' }]],
  [res({ resourceType: 'ValueSet', id: 'vs2', status: 'active' }), [{ kind: 'uri', param: 'url', value: 'http://acme.org/fhir/ValueSet/456' }]],
  [res({ resourceType: 'ValueSet', id: 'vs3', status: 'active' }), [{ kind: 'uri', param: 'url', value: 'http://other.org/x' }]],
  [res({ resourceType: 'ValueSet', id: 'vs4', status: 'active' }), [{ kind: 'uri', param: 'url', value: 'http://acme.org/fhir%/ValueSet/1' }]],
];

/** Writes the data set; returns each stored version by id. */
export async function loadDataset(s: StoreSession): Promise<Map<string, StoredVersion>> {
  const out = new Map<string, StoredVersion>();
  for (const [resource, index] of DATASET) out.set(resource.id, await put(s, resource, index));
  return out;
}
