/**
 * Search conformance over the project's own small fixtures (FHIR R4 §3.1.1 search.html): what the
 * official examples cannot show — `_text` (narrative) and `_content` (§3.1.1.5.x), `_tag`,
 * `_security`, `_source`, `_list`, `_lastUpdated` with every prefix, escaping of `\,` (§3.1.1.6),
 * accent-insensitive strings, and `:in` / `:not-in` / `:above` / `:below` against a CodeSystem and
 * ValueSet stored through the API (terminologies.html).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { CodeSystem, List, Observation, Patient, Resource, ValueSet } from 'fhir/r4';
import { testApp, FHIR_JSON, type TestApp } from '../helpers/test-app';
import { ids, rowTests, type SearchRow } from './rows';

const COLOURS = 'http://example.org/fhir/CodeSystem/colours';
const WARM = 'http://example.org/fhir/ValueSet/warm-colours';
const IDS = 'http://example.org/fhir/ids';
const TAGS = 'http://example.org/fhir/tags';
const div = (text: string): Patient['text'] => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${text}</p></div>` });

const codeSystem: CodeSystem = {
  resourceType: 'CodeSystem',
  id: 'colours',
  url: COLOURS,
  status: 'active',
  content: 'complete',
  hierarchyMeaning: 'is-a',
  concept: [
    { code: 'warm', display: 'Warm colour', concept: [{ code: 'red', display: 'Red' }, { code: 'orange', display: 'Orange' }] },
    { code: 'cool', display: 'Cool colour', concept: [{ code: 'blue', display: 'Blue' }, { code: 'green', display: 'Green' }] },
  ],
};
const valueSet: ValueSet = {
  resourceType: 'ValueSet',
  id: 'warm-colours',
  url: WARM,
  status: 'active',
  compose: { include: [{ system: COLOURS, concept: [{ code: 'red' }, { code: 'orange' }] }] },
};

const patients: Patient[] = [
  {
    resourceType: 'Patient',
    id: 'pt-a',
    meta: { tag: [{ system: TAGS, code: 'cohort-a' }], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }], source: 'http://example.org/fhir/source/registry' },
    text: div('Lives near the old <b>lighthouse</b> at Whitby.'),
    identifier: [{ system: IDS, value: '1' }],
    name: [{ family: 'Brontë', given: ['Zoë'] }],
    birthDate: '1990-01-01',
  },
  {
    resourceType: 'Patient',
    id: 'pt-b',
    meta: { tag: [{ system: TAGS, code: 'cohort-b' }], source: 'http://example.org/fhir/source/clinic' },
    text: div('Prefers tea in the morning.'),
    identifier: [{ system: IDS, value: 'A,1' }],
    name: [{ family: 'Bronte', given: ['Anne'] }],
    birthDate: '1990-06-01',
  },
  {
    resourceType: 'Patient',
    id: 'pt-c',
    identifier: [{ system: IDS, value: 'A' }],
    name: [{ family: 'Brown', given: ['Charlotte'] }],
    address: [{ line: ['1 Seaweed Lane'], city: 'Haworth' }],
    birthDate: '1991-01-01',
  },
];
const late: Patient = { resourceType: 'Patient', id: 'pt-late', name: [{ family: 'Later' }] };

const obs = (id: string, system: string, code: string, subject: string): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system, code }] },
  subject: { reference: `Patient/${subject}` },
});
const observations: Observation[] = [
  obs('obs-red', COLOURS, 'red', 'pt-a'),
  obs('obs-blue', COLOURS, 'blue', 'pt-b'),
  obs('obs-warm', COLOURS, 'warm', 'pt-a'),
  obs('obs-loinc', 'http://loinc.org', '8310-5', 'pt-c'),
];
const list: List = { resourceType: 'List', id: 'fixture-list', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/pt-a' } }, { item: { reference: 'Patient/pt-c' } }] };

/** The instant between the fixtures and `pt-late` (set in `before`). */
let between = '';

const P = (...list: string[]): string[] => ids('Patient', ...list);
const O = (...list: string[]): string[] => ids('Observation', ...list);

export const FIXTURE_ROWS: SearchRow[] = [
  { feature: 'string, accents removed', query: 'Patient?family=bronte', match: P('pt-a', 'pt-b') },
  { feature: 'string, accents removed from the query', query: 'Patient?given=zoë', match: P('pt-a') },
  { feature: 'string :exact keeps accents', query: 'Patient?family:exact=Brontë', match: P('pt-a') },
  { feature: 'string :contains', query: 'Patient?family:contains=ront', match: P('pt-a', 'pt-b') },
  { feature: 'escaped comma is part of the value', query: `Patient?identifier=${encodeURIComponent(`${IDS}|A\\,1`)}`, match: P('pt-b') },
  { feature: 'unescaped comma is OR', query: `Patient?identifier=${encodeURIComponent(`${IDS}|A,${IDS}|1`)}`, match: P('pt-a', 'pt-c') },
  { feature: 'escaped comma without system', query: `Patient?identifier=${encodeURIComponent('A\\,1')}`, match: P('pt-b') },
  { feature: '_text (narrative)', query: 'Patient?_text=lighthouse', match: P('pt-a') },
  { feature: '_text, every word', query: 'Patient?_text=lighthouse%20whitby', match: P('pt-a') },
  { feature: '_text, every word (one absent)', query: 'Patient?_text=lighthouse%20tea', match: [] },
  { feature: '_text, OR by comma', query: 'Patient?_text=lighthouse,tea', match: P('pt-a', 'pt-b') },
  { feature: '_content (string content)', query: 'Patient?_content=seaweed', match: P('pt-c') },
  { feature: '_tag', query: `Patient?_tag=${TAGS}|cohort-a`, match: P('pt-a') },
  { feature: '_tag (code only)', query: 'Patient?_tag=cohort-b', match: P('pt-b') },
  { feature: '_security', query: 'Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', match: P('pt-a') },
  { feature: '_source', query: 'Patient?_source=http://example.org/fhir/source/clinic', match: P('pt-b') },
  { feature: '_list', query: 'Patient?_list=fixture-list', match: P('pt-a', 'pt-c') },
  { feature: '_lastUpdated gt', query: () => `Patient?_lastUpdated=gt${between}`, match: P('pt-late') },
  { feature: '_lastUpdated sa', query: () => `Patient?_lastUpdated=sa${between}`, match: P('pt-late') },
  { feature: '_lastUpdated ge', query: () => `Patient?_lastUpdated=ge${between}`, match: P('pt-late') },
  { feature: '_lastUpdated lt', query: () => `Patient?_lastUpdated=lt${between}`, match: P('pt-a', 'pt-b', 'pt-c') },
  { feature: '_lastUpdated le', query: () => `Patient?_lastUpdated=le${between}`, match: P('pt-a', 'pt-b', 'pt-c') },
  { feature: '_lastUpdated eb', query: () => `Patient?_lastUpdated=eb${between}`, match: P('pt-a', 'pt-b', 'pt-c') },
  { feature: '_lastUpdated ne', query: () => `Patient?_lastUpdated=ne${between}`, match: P('pt-a', 'pt-b', 'pt-c', 'pt-late') },
  { feature: '_lastUpdated eq', query: () => `Patient?_lastUpdated=eq${between}`, match: [] },
  { feature: 'token :below (stored CodeSystem)', query: `Observation?code:below=${COLOURS}|warm`, match: O('obs-red', 'obs-warm') },
  { feature: 'token :below (other branch)', query: `Observation?code:below=${COLOURS}|cool`, match: O('obs-blue') },
  { feature: 'token :above (stored CodeSystem)', query: `Observation?code:above=${COLOURS}|red`, match: O('obs-red', 'obs-warm') },
  { feature: 'token :in (stored ValueSet)', query: `Observation?code:in=${WARM}`, match: O('obs-red') },
  { feature: 'token :not-in (stored ValueSet)', query: `Observation?code:not-in=${WARM}`, match: O('obs-blue', 'obs-warm', 'obs-loinc') },
  { feature: '_has with :in', query: `Patient?_has:Observation:subject:code:in=${WARM}`, match: P('pt-a') },
];

async function put(app: TestApp['app'], r: Resource): Promise<void> {
  const res = await request(app).put(`/fhir/${r.resourceType}/${r.id!}`).set('Content-Type', FHIR_JSON).set('Accept', FHIR_JSON).send(JSON.stringify(r));
  assert.ok(res.status === 200 || res.status === 201, `PUT ${r.resourceType}/${r.id!} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
}

describe('Search conformance: project fixtures', function () {
  let t: TestApp | undefined;
  before(async function () {
    t = testApp();
    for (const r of [codeSystem, valueSet, ...patients, ...observations, list]) await put(t.app, r);
    // A millisecond instant strictly after every fixture write and strictly before pt-late's.
    await new Promise((r) => setTimeout(r, 5));
    between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await put(t.app, late);
  });
  after(async function () {
    await t?.close();
  });
  rowTests(FIXTURE_ROWS, () => t?.app, 'unreachable: fixtures are always loaded');
});
