/**
 * FHIR XML proven on published material (FHIR R4 xml.html, json.html, formats.html §2.6.4
 * "Conversion between formats"), read at run time from ../shared/external (skipped with a printed
 * reason when absent):
 *
 * 1. every FHIR JSON resource the suites load (the R4 examples, UK Core, the fhir-test-cases R4
 *    examples and validator cases, the NHS API examples, the TestScript fixtures, Synthea) goes
 *    JSON -> XML -> JSON unchanged: the same properties and arrays, decimals with the same text
 *    (`20.00`, `1.000000000000000000E-245`), the narrative the same string (XML line-end
 *    normalisation aside, counted). A file that is not R4 JSON (an element R4 does not have, an empty
 *    object or string, a number where R4 has a string) must be refused with a 406 naming that element;
 * 2. every XML document written is valid FHIR XML by an independent checker driven by the R4
 *    StructureDefinitions (test/helpers/fhir-xml-checker.ts: another XML parser, element order, value
 *    attributes, XHTML narrative), as the R4 XSDs are not available; of Synthea's 52 large bundles
 *    (the same few resource types again and again, 30 MB of XML) every fourth is checked, to keep
 *    the suite fast;
 * 3. every official R4 XML example available (fhir-test-cases r4/examples and validator) read as
 *    XML equals the official JSON of the same example (hl7-r4-examples by type and id, the JSON of
 *    the same name, the validator's `.converted.json`), decimals by exact value and the narrative as
 *    XHTML, since the official JSON was written by other tools.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FhirError } from '../../src/fhir/outcome';
import { parseJsonKeepingNumbers } from '../../src/formats/json-numbers';
import { readFhirXml, writeFhirXml } from '../../src/formats/xml';
import { existingExternalPath, externalPath, skipWithReason } from '../helpers/external-data';
import { firstFhirDifference } from '../helpers/fhir-json-compare';
import { checkFhirXml } from '../helpers/fhir-xml-checker';
import { diagnostic } from '../helpers/diagnostics';

/** The folders of ../shared/external whose JSON resources are converted, and how many of their XML documents are checked (every nth). */
const SETS: Array<[string, number]> = [
  ['hl7-r4-examples', 1],
  ['uk-core', 1],
  ['fhir-test-cases', 1],
  ['nhs-apis', 1],
  ['testscripts', 1],
  ['synthea', 4],
];

/**
 * Files that are not R4 JSON, each refused (406) at the element named. Most are validator test cases
 * made invalid on purpose; the others break json.html's rules (no empty objects or strings).
 */
const NOT_R4_JSON: Record<string, { why: string; at: string }> = {
  'uk-core/examples/Extension-UKCore-AddressKey-Example.json': { why: '"_line": [{}], an empty object', at: 'Patient.address[0].line[0]' },
  'uk-core/examples/Extension-UKCore-RepeatInformation-Example.json': { why: '"_status": {}, an empty object', at: 'MedicationRequest.status' },
  'uk-core/examples/UKCore-Composition-Discharge-Example.json': { why: '"_status": {}, an empty object', at: 'Composition.status' },
  'fhir-test-cases/validator/Observation-ex-pain.json': { why: '_valueInteger holds a value (an invalid validator case)', at: 'Observation.valueInteger' },
  'fhir-test-cases/validator/ai3.json': { why: 'unknownElement (an invalid validator case)', at: 'Patient.unknownElement' },
  'fhir-test-cases/validator/empty-array.json': { why: 'an empty array (an invalid validator case)', at: 'DocumentReference.category[0].coding' },
  'fhir-test-cases/validator/json-comments.json': { why: 'fhir_comments, not R4 (a validator case)', at: 'Patient.fhir_comments' },
  'fhir-test-cases/validator/opdef-out-profile.json': { why: 'ElementDefinition.max given as the number 0', at: 'StructureDefinition.differential.element[15].max' },
  'fhir-test-cases/validator/synthea.json': { why: 'Encounter.reasonCode not an array (an invalid validator case)', at: 'Encounter.reasonCode' },
  'fhir-test-cases/validator/toplevel-maxvalueduration-profile.json': { why: 'ElementDefinition.maxValueDuration is not R4', at: 'StructureDefinition.differential.element[0].maxValueDuration' },
  'fhir-test-cases/validator/toplevel-minvalueduration-profile.json': { why: 'ElementDefinition.minValueDuration is not R4', at: 'StructureDefinition.differential.element[0].minValueDuration' },
  'nhs-apis/eps/examples/sandbox/Release-Response-200_OK.json': { why: 'coding.display is the empty string', at: 'Parameters.parameter[0].resource.entry[0].resource.entry[5].resource.code[0].coding[0].display' },
  'nhs-apis/eps/examples/secondary-care/community/acute/nominated-pharmacy/clinical-practitioner/1-Process-Request-Cancel-200_OK.json': { why: '"focus": [], an empty array', at: 'Bundle.entry[0].resource.focus' },
  'nhs-apis/eps/examples/spec/errors/prescription-order-update/bundle-success.json': { why: 'coding.display is the empty string', at: 'Bundle.entry[4].resource.code[0].coding[0].display' },
  'nhs-apis/pds/specification/components/examples/Personal_Details_RelatedPersonBundle.json': { why: '"patient": {}, an empty object', at: 'Bundle.entry[0].resource.patient' },
};

/**
 * Official XML and JSON of the same example that differ in content (not in representation): the
 * comparison must find exactly this difference.
 */
const KNOWN_CONTENT_DIFFERENCES: Record<string, { why: string; at: string }> = {
  'r4/examples/observation-example.xml': { why: "fhir-test-cases' XML carries a patient-age extension that neither JSON of the example has", at: '$.extension' },
};

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(p));
    else if (e.name.endsWith('.json') && e.name !== 'package.json') out.push(p);
  }
  return out.sort();
}

interface Tally {
  files: number;
  resources: number;
  unchanged: number;
  valid: number;
  checked: number;
  refused: number;
  divLineEnds: number;
  xmlBytes: number;
}

function roundTrip(dir: string, checkEvery: number, t: Tally): string[] {
  const failures: string[] = [];
  const root = externalPath();
  for (const file of jsonFiles(dir)) {
    t.files++;
    const rel = path.relative(root, file).split(path.sep).join('/');
    let parsed: ReturnType<typeof parseJsonKeepingNumbers>;
    try {
      parsed = parseJsonKeepingNumbers(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // not JSON (the validator's deliberately broken files)
    }
    const v = parsed.value as { resourceType?: unknown } | null;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof v.resourceType !== 'string') continue; // OpenAPI, indexes, JSON Patch
    t.resources++;
    const expected = NOT_R4_JSON[rel];
    let xml: string;
    try {
      xml = writeFhirXml(v, { lexemes: parsed.lexemes });
    } catch (e) {
      if (expected && e instanceof FhirError && e.status === 406 && e.issues[0]?.expression?.[0] === expected.at) {
        t.refused++;
        continue;
      }
      failures.push(`${rel}: ${expected ? `expected a 406 at ${expected.at}, got: ` : ''}${(e as Error).message}`);
      continue;
    }
    if (expected) {
      failures.push(`${rel}: written as XML, but it is not R4 JSON (${expected.why})`);
      continue;
    }
    t.xmlBytes += xml.length;
    if ((t.resources - 1) % checkEvery === 0) {
      t.checked++;
      const problems = checkFhirXml(xml);
      if (problems.length === 0) t.valid++;
      else failures.push(`${rel}: the XML is not valid FHIR XML: ${problems.slice(0, 3).join('; ')}`);
    }
    let back: ReturnType<typeof readFhirXml>;
    try {
      back = readFhirXml(xml);
    } catch (e) {
      failures.push(`${rel}: the XML written cannot be read back: ${(e as Error).message}`);
      continue;
    }
    const tally = { divLineEnds: 0 };
    const d = firstFhirDifference(parsed, back, { numbers: 'text', div: 'text', tally });
    t.divLineEnds += tally.divLineEnds;
    if (d) failures.push(`${rel}: JSON -> XML -> JSON changed ${d}`);
    else t.unchanged++;
  }
  return failures;
}

describe('FHIR XML over the published examples (JSON -> XML -> JSON, validity, XML -> JSON)', function () {
  this.timeout(120_000);
  const t: Tally = { files: 0, resources: 0, unchanged: 0, valid: 0, checked: 0, refused: 0, divLineEnds: 0, xmlBytes: 0 };
  const official = { pairs: 0, equal: 0, known: 0 };
  after(() => {
    if (t.files === 0) return;
    diagnostic(
      `      FHIR XML: ${t.unchanged}/${t.resources - t.refused} resources round-trip unchanged (${t.divLineEnds} narratives differ only by CR LF -> LF), ${t.valid}/${t.checked} XML documents checked valid (${(t.xmlBytes / 1e6).toFixed(1)} MB written), ${t.refused} files not R4 JSON refused as listed; official XML -> JSON: ${official.equal}/${official.pairs} equal (${official.known} known content difference)`,
    );
  });

  for (const [set, checkEvery] of SETS) {
    it(`${set}: every resource round-trips and its XML is valid`, function () {
      const dir = existingExternalPath(set);
      if (!dir) skipWithReason(this, `../shared/external/${set} is absent`);
      const failures = roundTrip(dir, checkEvery, t);
      assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
    });
  }

  it('every file listed as not R4 JSON exists (the list is not stale)', function () {
    if (!existingExternalPath('hl7-r4-examples')) skipWithReason(this, '../shared/external is absent');
    const missing = Object.keys(NOT_R4_JSON).filter((rel) => !fs.existsSync(externalPath(...rel.split('/'))));
    assert.deepEqual(missing, []);
  });

  it('the official R4 XML examples read as XML equal their official JSON', function () {
    const tc = existingExternalPath('fhir-test-cases');
    if (!tc) skipWithReason(this, '../shared/external/fhir-test-cases is absent');
    const xmlFiles = ['r4/examples', 'validator'].flatMap((d) =>
      fs
        .readdirSync(path.join(tc, d))
        .filter((f) => f.endsWith('.xml'))
        .map((f) => `${d}/${f}`),
    );
    const failures: string[] = [];
    let withoutJson = 0;
    for (const rel of xmlFiles) {
      const file = path.join(tc, rel);
      const read = readFhirXml(fs.readFileSync(file, 'utf8'));
      const r = read.value as { resourceType: string; id?: string };
      const candidates = [file.replace(/\.xml$/, '.json'), file.replace(/\.xml$/, '.converted.json'), externalPath('hl7-r4-examples', `${r.resourceType}-${r.id ?? ''}.json`)].filter((f) => fs.existsSync(f));
      if (candidates.length === 0) withoutJson++;
      for (const json of candidates) {
        official.pairs++;
        const d = firstFhirDifference(parseJsonKeepingNumbers(fs.readFileSync(json, 'utf8')), read, { numbers: 'value', div: 'xhtml' });
        const known = KNOWN_CONTENT_DIFFERENCES[rel];
        if (!d) official.equal++;
        else if (known && d.startsWith(`${known.at}:`)) official.known++;
        else failures.push(`${rel} vs ${path.basename(json)}: ${d}`);
      }
    }
    assert.equal(withoutJson, 0, 'every official XML example has a JSON counterpart');
    assert.ok(official.pairs >= 20, `only ${official.pairs} XML/JSON pairs`);
    assert.deepEqual(failures, []);
  });
});
