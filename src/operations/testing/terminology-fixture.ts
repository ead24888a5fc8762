/**
 * CodeSystems, ValueSets and ConceptMaps stored through the API for the terminology operation tests
 * (FHIR R4 codesystem.html, valueset.html, conceptmap.html): a complete, case-insensitive `is-a`
 * code system with designations, properties, an abstract and a retired concept; a fragment; a
 * `grouped-by` hierarchy; value sets over them and over SNOMED CT and dm+d; ConceptMaps.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../../../test/helpers/test-app';

export const COLOURS = 'http://example.org/cs/colours';
export const FRAGMENT = 'http://example.org/cs/fragment';
export const GROUPED = 'http://example.org/cs/grouped';
export const RGB = 'http://example.org/cs/rgb';
export const SNOMED = 'http://snomed.info/sct';
export const DMD = 'https://dmd.nhs.uk';

export const RESOURCES: ReadonlyArray<Record<string, unknown>> = [
  {
    resourceType: 'CodeSystem',
    id: 'colours',
    url: COLOURS,
    version: '1.0',
    name: 'Colours',
    title: 'Test colours',
    status: 'active',
    content: 'complete',
    caseSensitive: false,
    hierarchyMeaning: 'is-a',
    property: [
      { code: 'status', type: 'code' },
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
      { code: 'wavelength', type: 'integer' },
    ],
    concept: [
      {
        code: 'colour',
        display: 'Colour',
        property: [{ code: 'notSelectable', valueBoolean: true }],
        concept: [
          { code: 'red', display: 'Red', designation: [{ language: 'es', value: 'Rojo' }], property: [{ code: 'wavelength', valueInteger: 700 }], concept: [{ code: 'dark-red', display: 'Dark red' }] },
          { code: 'green', display: 'Green', property: [{ code: 'status', valueCode: 'retired' }] },
          { code: 'blue', display: 'Blue', definition: 'The colour of a clear sky' },
        ],
      },
    ],
  },
  { resourceType: 'CodeSystem', id: 'fragment', url: FRAGMENT, name: 'Fragment', status: 'active', content: 'fragment', concept: [{ code: 'a', display: 'A', concept: [{ code: 'b', display: 'B' }] }, { code: 'c', display: 'C' }] },
  { resourceType: 'CodeSystem', id: 'grouped', url: GROUPED, name: 'Grouped', status: 'active', content: 'complete', hierarchyMeaning: 'grouped-by', concept: [{ code: 'g1', concept: [{ code: 'g2' }] }] },
  { resourceType: 'CodeSystem', id: 'rgb', url: RGB, name: 'Rgb', status: 'active', content: 'complete', concept: [{ code: 'ff0000' }, { code: '8b0000' }, { code: '00ff00' }, { code: '0000ff' }] },
  { resourceType: 'ValueSet', id: 'warm', url: 'http://example.org/vs/warm', version: '2', name: 'Warm', status: 'active', compose: { include: [{ system: COLOURS, filter: [{ property: 'concept', op: 'is-a', value: 'red' }] }] } },
  { resourceType: 'ValueSet', id: 'all-colours', url: 'http://example.org/vs/all-colours', name: 'AllColours', status: 'active', compose: { include: [{ system: COLOURS }] } },
  { resourceType: 'ValueSet', id: 'snomed-findings', url: 'http://example.org/vs/snomed-findings', name: 'SnomedFindings', status: 'active', compose: { include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '404684003' }] }] } },
  { resourceType: 'ValueSet', id: 'dmd', url: 'http://example.org/vs/dmd', name: 'Dmd', status: 'active', compose: { include: [{ system: DMD }] } },
  { resourceType: 'ValueSet', id: 'listed-snomed', url: 'http://example.org/vs/listed-snomed', name: 'ListedSnomed', status: 'active', compose: { include: [{ system: SNOMED, concept: [{ code: '22298006', display: 'Myocardial infarction' }] }] } },
  { resourceType: 'ValueSet', id: 'fragment-all', url: 'http://example.org/vs/fragment-all', name: 'FragmentAll', status: 'active', compose: { include: [{ system: FRAGMENT }] } },
  {
    resourceType: 'ConceptMap',
    id: 'colours-to-rgb',
    url: 'http://example.org/cm/colours-to-rgb',
    version: '1',
    name: 'ColoursToRgb',
    status: 'active',
    sourceUri: 'http://example.org/vs/all-colours',
    targetUri: 'http://example.org/vs/rgb',
    group: [
      {
        source: COLOURS,
        target: RGB,
        element: [
          { code: 'red', target: [{ code: 'ff0000', equivalence: 'equivalent' }] },
          { code: 'dark-red', target: [{ code: '8b0000', equivalence: 'narrower', comment: 'rgb has one dark red' }] },
          { code: 'green', target: [{ code: '00ff00', equivalence: 'wider' }, { code: '0000ff', equivalence: 'disjoint' }] },
          { code: 'blue', target: [{ code: '0000ff', equivalence: 'equivalent', dependsOn: [{ property: 'http://example.org/lighting', value: 'daylight' }] }] },
          { code: 'colour', target: [{ equivalence: 'unmatched' }] },
        ],
      },
    ],
  },
  {
    resourceType: 'ConceptMap',
    id: 'fragment-to-rgb',
    url: 'http://example.org/cm/fragment-to-rgb',
    name: 'FragmentToRgb',
    status: 'active',
    group: [{ source: FRAGMENT, target: RGB, element: [{ code: 'a', target: [{ code: 'ff0000', equivalence: 'inexact', comment: 'a is roughly red' }] }], unmapped: { mode: 'fixed', code: '0000ff', display: 'Blue' } }],
  },
  {
    resourceType: 'ConceptMap',
    id: 'snomed-part',
    url: 'http://example.org/cm/snomed-part',
    name: 'SnomedPart',
    status: 'active',
    group: [{ source: SNOMED, target: 'http://hl7.org/fhir/sid/icd-10', element: [{ code: '22298006', target: [{ code: 'I21.9', equivalence: 'equivalent' }] }] }],
  },
];

/** A test app (generic engine) with the fixture stored through the API. */
export async function terminologyApp(): Promise<TestApp> {
  const t = testApp(GENERIC_ENGINE);
  for (const r of RESOURCES) {
    const res = await request(t.app).put(`/fhir/${String(r['resourceType'])}/${String(r['id'])}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status === 201 || res.status === 200, `${String(r['id'])}: ${res.status} ${res.text}`);
  }
  return t;
}

/** The value of an output parameter. */
export function out(body: unknown, name: string): unknown {
  const p = (body as { parameter?: Array<Record<string, unknown> & { name: string }> }).parameter?.find((x) => x.name === name);
  if (!p) return undefined;
  const k = Object.keys(p).find((x) => x.startsWith('value'));
  return k ? p[k] : p;
}

/** Asserts a "not available" answer: 422 not-supported naming the system, never a "not found". */
export function assertNotAvailable(res: request.Response, system: string): void {
  assert.equal(res.status, 422, res.text);
  const issue = (res.body as { issue?: Array<{ code?: string; diagnostics?: string }> }).issue?.[0];
  assert.equal(issue?.code, 'not-supported', res.text);
  assert.ok(issue?.diagnostics?.includes(system), res.text);
  assert.ok(!/not found/i.test(issue?.diagnostics ?? ''), res.text);
}
