/**
 * Tests of the in-memory search matcher (FHIR R4 §3.1.1 search.html), end to end: resources are
 * indexed with extractIndex, queries parsed with parseSearchQuery, and matched with matchesExpr.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import type { ReferenceEntry } from './index-entry';
import { extractIndex } from './extract';
import { compareCodePoints, compareSortValues, matchesExpr, sortValues, type MatchContext, type MatchTarget } from './match';
import { defaultSearchParameters } from './parameters';
import { parseSearchQuery } from './parse';

const registry = defaultSearchParameters();
const NOW = Date.parse('2024-01-01T00:00:00Z');

function target(r: Resource, lastUpdated = '2023-06-01T12:00:00.000Z'): MatchTarget {
  return { resourceType: r.resourceType, id: r.id ?? 'x', lastUpdated, index: extractIndex(r) };
}

const patient = target({
  resourceType: 'Patient',
  id: 'p1',
  identifier: [
    {
      system: 'https://fhir.nhs.uk/Id/nhs-number',
      value: '9000000009',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Medical record' },
    },
  ],
  name: [{ family: 'Smith-Jönes', given: ['Jane', 'Ann'] }],
  gender: 'female',
  birthDate: '1980-05-17',
  generalPractitioner: [{ reference: 'Practitioner/dr1' }],
  managingOrganization: { reference: 'Organization/org1' },
} as Resource);

const practitioner = target({ resourceType: 'Practitioner', id: 'dr1', name: [{ family: 'Who' }] } as Resource);
const org = target({ resourceType: 'Organization', id: 'org1', name: 'Acme Health' } as Resource);
const obs = (id: string, code: string, value: number, subject = 'Patient/p1'): MatchTarget =>
  target({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: subject },
    effectiveDateTime: '2021-03-04T10:00:00Z',
    valueQuantity: { value, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
  } as Resource);
const observations = [obs('o1', '8480-6', 120), obs('o2', '8462-4', 80), obs('o3', '8480-6', 5.4, 'Patient/other')];
const all = [patient, practitioner, org, ...observations];

const ctx: MatchContext = {
  resolve: (ref: ReferenceEntry) => all.find((t) => t.resourceType === ref.targetType && t.id === ref.targetId),
  referrers: (type) => all.filter((t) => t.resourceType === type),
};

function ids(type: string, qs: Array<[string, string]>): string[] {
  const { query } = parseSearchQuery([type], qs, registry, { strict: true, defaultCount: 10, maxCount: 100, now: NOW });
  return all.filter((t) => t.resourceType === type && (!query.where || matchesExpr(query.where, t, ctx))).map((t) => t.id);
}

describe('search/match', () => {
  it('strings: prefix, contains, exact, accents ignored by default', () => {
    assert.deepEqual(ids('Patient', [['family', 'smith-jo']]), ['p1']);
    assert.deepEqual(ids('Patient', [['family', 'jones']]), []);
    assert.deepEqual(ids('Patient', [['family:contains', 'JONES']]), ['p1']);
    assert.deepEqual(ids('Patient', [['family:exact', 'Smith-Jönes']]), ['p1']);
    assert.deepEqual(ids('Patient', [['family:exact', 'smith-jönes']]), []);
    assert.deepEqual(ids('Patient', [['name', 'ann']]), ['p1']);
  });

  it('tokens: system|code, |code, system|, :not, :text, :of-type', () => {
    assert.deepEqual(ids('Patient', [['identifier', 'https://fhir.nhs.uk/Id/nhs-number|9000000009']]), ['p1']);
    assert.deepEqual(ids('Patient', [['identifier', '|9000000009']]), []);
    assert.deepEqual(ids('Patient', [['identifier', 'https://fhir.nhs.uk/Id/nhs-number|']]), ['p1']);
    assert.deepEqual(ids('Patient', [['gender', 'female']]), ['p1']);
    assert.deepEqual(ids('Patient', [['gender:not', 'female']]), []);
    assert.deepEqual(ids('Observation', [['code:not', 'http://loinc.org|8480-6']]), ['o2']);
    assert.deepEqual(ids('Patient', [['identifier:text', 'medical']]), ['p1']);
    assert.deepEqual(ids('Patient', [['identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|9000000009']]), ['p1']);
    assert.deepEqual(ids('Patient', [['identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|1']]), []);
  });

  it('dates: prefixes against the precision ranges', () => {
    assert.deepEqual(ids('Patient', [['birthdate', '1980']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', '1980-05-17']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', 'ne1980-05-17']]), []);
    assert.deepEqual(ids('Patient', [['birthdate', 'gt1980-05-16']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', 'gt1980-05-17']]), []);
    assert.deepEqual(ids('Patient', [['birthdate', 'ge1980-05-17'], ['birthdate', 'le1980-05-17']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', 'sa1980-05-16']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', 'eb1980-05-17']]), []);
    assert.deepEqual(ids('Patient', [['birthdate', 'ap1980-06-01']]), ['p1']);
    assert.deepEqual(ids('Patient', [['birthdate', 'ap2000-06-01']]), []);
    assert.deepEqual(ids('Observation', [['date', 'lt2021-03-04T10:00:01Z']]).length, 3);
  });

  it('quantities: value with and without units', () => {
    assert.deepEqual(ids('Observation', [['value-quantity', '5.4']]), ['o3']);
    assert.deepEqual(ids('Observation', [['value-quantity', '5.4||mg']]), ['o3']);
    assert.deepEqual(ids('Observation', [['value-quantity', '5.4|http://unitsofmeasure.org|mg']]), ['o3']);
    assert.deepEqual(ids('Observation', [['value-quantity', '5.4|http://unitsofmeasure.org|g']]), []);
    assert.deepEqual(ids('Observation', [['value-quantity', 'gt100']]), ['o1']);
    assert.deepEqual(ids('Observation', [['value-quantity', 'le80']]), ['o2', 'o3']);
  });

  it('references: Type/id, id, :identifier and :missing', () => {
    assert.deepEqual(ids('Observation', [['subject', 'Patient/p1']]), ['o1', 'o2']);
    assert.deepEqual(ids('Observation', [['subject', 'p1']]), ['o1', 'o2']);
    assert.deepEqual(ids('Observation', [['patient', 'other']]), ['o3']);
    assert.deepEqual(ids('Observation', [['subject:Group', 'p1']]), []);
    assert.deepEqual(ids('Patient', [['general-practitioner:missing', 'false']]), ['p1']);
    assert.deepEqual(ids('Patient', [['link:missing', 'true']]), ['p1']);
  });

  it('_id and _lastUpdated', () => {
    assert.deepEqual(ids('Observation', [['_id', 'o2,o3']]), ['o2', 'o3']);
    assert.deepEqual(ids('Observation', [['_lastUpdated', 'gt2023-06-01']]), []);
    assert.deepEqual(ids('Observation', [['_lastUpdated', 'eq2023-06-01']]).length, 3);
  });

  it('chains and _has', () => {
    assert.deepEqual(ids('Observation', [['subject:Patient.name', 'jane']]), ['o1', 'o2']);
    assert.deepEqual(ids('Observation', [['subject:Patient.general-practitioner.family', 'who']]), ['o1', 'o2']);
    assert.deepEqual(ids('Observation', [['subject:Patient.organization.name', 'nope']]), []);
    assert.deepEqual(ids('Patient', [['_has:Observation:subject:code', '8462-4']]), ['p1']);
    assert.deepEqual(ids('Patient', [['_has:Observation:subject:value-quantity', '5.4']]), [], 'o3 refers to another patient');
    assert.deepEqual(ids('Practitioner', [['_has:Patient:general-practitioner:_has:Observation:subject:code', '8480-6']]), ['dr1']);
  });

  it('composites match within one component value, not across values', () => {
    const bp = target({
      resourceType: 'Observation',
      id: 'bp',
      status: 'final',
      code: { text: 'BP' },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 107, code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 60, code: 'mm[Hg]' } },
      ],
    } as Resource);
    const q = (v: string): boolean => {
      const { query } = parseSearchQuery(['Observation'], [['component-code-value-quantity', v]], registry, { strict: true, defaultCount: 10, maxCount: 10 });
      return matchesExpr(query.where!, bp, ctx);
    };
    assert.equal(q('http://loinc.org|8480-6$107'), true);
    assert.equal(q('http://loinc.org|8480-6$gt100'), true);
    assert.equal(q('http://loinc.org|8462-4$gt100'), false);
    assert.equal(q('http://loinc.org|8462-4$lt61'), true);
  });

  it('needs the context callbacks for chains and _has', () => {
    const { query } = parseSearchQuery(['Observation'], [['subject:Patient.name', 'x']], registry, { strict: true, defaultCount: 10, maxCount: 10 });
    assert.throws(() => matchesExpr(query.where!, observations[0]!, {}), FhirError);
  });

  it('and/or/not connectives, including the empty cases', () => {
    assert.equal(matchesExpr({ op: 'and', args: [] }, patient), true);
    assert.equal(matchesExpr({ op: 'or', args: [] }, patient), false);
    assert.equal(matchesExpr({ op: 'not', arg: { op: 'id', ids: ['p1'] } }, patient), false);
  });

  it('uri: exact, below, above', () => {
    const vs = { resourceType: 'ValueSet', id: 'vs', index: [{ kind: 'uri' as const, param: 'url', value: 'http://acme.org/fhir/ValueSet/a' }], lastUpdated: '2020-01-01T00:00:00.000Z' };
    const m = (value: string, mode: 'exact' | 'below' | 'above'): boolean => matchesExpr({ op: 'uri', param: 'url', value, mode }, vs);
    assert.equal(m('http://acme.org/fhir/ValueSet/a', 'exact'), true);
    assert.equal(m('http://acme.org/fhir/', 'below'), true);
    assert.equal(m('http://acme.org/fhir/ValueSet/a/b', 'above'), true);
    assert.equal(m('http://acme.org/fhir/', 'exact'), false);
  });

  it('_text / _content: every word of the query, whole words, accents and case ignored', () => {
    const p = target({
      resourceType: 'Patient',
      id: 'pt',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Seen at the <b>Héart</b> clinic</div>' },
      name: [{ family: 'Zebedee' }],
    } as Resource);
    const m = (scope: 'narrative' | 'content', query: string): boolean => matchesExpr({ op: 'text', scope, query }, p);
    assert.equal(m('narrative', 'heart clinic'), true);
    assert.equal(m('narrative', 'HEART'), true);
    assert.equal(m('narrative', 'heart zebedee'), false, 'the name is not in the narrative');
    assert.equal(m('content', 'heart zebedee'), true);
    assert.equal(m('narrative', 'hear'), false, 'no prefix matching');
    assert.equal(m('narrative', '!!'), false, 'no words: no match');
  });

  it('refuses unresolved terminology and list predicates', () => {
    assert.throws(() => matchesExpr({ op: 'token', param: 'gender', valueSet: 'http://x' }, patient), (e: unknown) => e instanceof FhirError && e.category === 'fault');
    assert.throws(() => matchesExpr({ op: 'token', param: 'code', hierarchy: { system: 's', code: 'c', direction: 'below' } }, patient), FhirError);
    assert.throws(() => matchesExpr({ op: 'list', listId: 'l' }, patient), FhirError);
  });

  it('matches gender with its implied system', () => {
    assert.deepEqual(ids('Patient', [['gender', 'http://hl7.org/fhir/administrative-gender|female']]), ['p1']);
    assert.deepEqual(ids('Patient', [['gender', 'female']]), ['p1']);
  });

  it('sort values: lowest ascending, highest descending, chained through references, nulls last', () => {
    const date = { param: 'birthdate', kind: 'date' as const, descending: false };
    assert.deepEqual(sortValues(patient, [date]), [Date.parse('1980-05-17T00:00:00Z')]);
    assert.deepEqual(sortValues(patient, [{ ...date, descending: true }]), [Date.parse('1980-05-18T00:00:00Z') - 1]);
    const chained = { param: 'family', kind: 'string' as const, descending: false, chain: [{ param: 'general-practitioner', targetTypes: ['Practitioner'] }] };
    assert.deepEqual(sortValues(patient, [chained, { param: '_id', kind: 'special', descending: true }], ctx), ['who', 'p1']);
    assert.deepEqual(sortValues(practitioner, [chained], ctx), [null]);
    const keys = [{ param: 'x', kind: 'string' as const, descending: true }];
    assert.ok(compareSortValues(['b'], ['a'], keys) < 0);
    assert.ok(compareSortValues([null], ['a'], keys) > 0, 'nulls last, also descending');
    assert.equal(compareSortValues([null], [null], keys), 0);
    assert.ok(compareCodePoints('\u{1F600}', '\uFFFD') > 0, 'code point order, not UTF-16 code units');
  });
});
