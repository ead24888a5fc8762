/**
 * The repository's own profile set (profiles/: UK Core Patient, MedicationRequest and Composition
 * re-expressed under the UK Core canonical urls, their extensions and terminology, and the
 * project's Spine-Patient profile with the NHS Number checks) loaded through the conformance
 * registry without any FHIR package (FHIR R4 profiling.html, structuredefinition.html). Needs no
 * external material: the resources validated here are written in this file.
 */
import assert from 'node:assert/strict';
import type { StructureDefinition } from 'fhir/r4';
import { loadFolder } from '../../src/definitions/packages';
import {
  NHS_NUMBER_SYSTEM,
  PROFILES_DIR,
  SPINE_PATIENT,
  UK_CORE_COMPOSITION,
  UK_CORE_MEDICATION_REQUEST,
  UK_CORE_PATIENT,
  describeIssues,
  errorsOf,
  validationStack,
  type ValidationStack,
} from './stack';
import { VARIANTS } from './variants';

const NARRATIVE = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Test resource</div>' };

/** A UK Core Patient using the NHS Number slice, its verification status and the main UK extensions. */
function patient(): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: 'spine-test-patient',
    text: NARRATIVE,
    extension: [
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'R' }] } },
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex', valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender', code: 'F' }] } },
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ResidentialStatus', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-ResidentialStatus', code: 'H' }] } },
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference',
        extension: [
          { url: 'PreferredContactMethod', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-PreferredContactMethod', code: '9' }] } },
          { url: 'PreferredContactTimes', valueString: 'weekday mornings' },
        ],
      },
    ],
    identifier: [
      {
        extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' }] } }],
        system: NHS_NUMBER_SYSTEM,
        value: '9990000018',
      },
      { system: 'https://example.org/Id/hospital-number', value: 'H123' },
    ],
    name: [{ use: 'official', family: 'Example', given: ['Alex'] }],
    gender: 'female',
    birthDate: '1990-04-01',
    address: [{ line: ['1 Example Street'], city: 'LEEDS', postalCode: 'LS1 1AA', extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AddressKey', extension: [{ url: 'type', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AddressKeyType', code: 'UPRN' }] } }, { url: 'value', valueString: '100023336956' }] }] }],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } }],
  };
}

function medicationRequest(): Record<string, unknown> {
  return {
    resourceType: 'MedicationRequest',
    id: 'spine-test-medication-request',
    text: NARRATIVE,
    extension: [
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation',
        extension: [{ url: 'numberOfPrescriptionsIssued', valueUnsignedInt: 2 }, { url: 'authorisationExpiryDate', valueDateTime: '2026-01-01T00:00:00Z' }],
      },
    ],
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-MedicationRequestCategory', code: 'primarycare' }] }],
    medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '39732411000001106' }] },
    subject: { reference: 'Patient/spine-test-patient' },
    authoredOn: '2025-01-02',
    courseOfTherapyType: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-MedicationRequestCourseOfTherapy', code: 'continuous-repeating-dispensing' }] },
    dosageInstruction: [{ text: 'One capsule three times a day' }],
    substitution: { allowedBoolean: false },
  };
}

const fixtures = { Patient: patient, MedicationRequest: medicationRequest };

describe('profiles/ (the project profile set, no FHIR package)', function () {
  let stack: ValidationStack;
  before(function () {
    stack = validationStack({ profilesDir: PROFILES_DIR });
  });

  it('loads without problems and every resource has a canonical url', function () {
    assert.deepEqual(stack.problems, []);
    const pkg = loadFolder(PROFILES_DIR);
    assert.deepEqual(pkg.problems, []);
    assert.ok(pkg.resources.length >= 40, `only ${pkg.resources.length} resources`);
    for (const r of pkg.resources) assert.ok(r.resource.url, `${r.source} has no url`);
  });

  it('every StructureDefinition gets a snapshot without warnings (every extension and base it names exists)', function () {
    const sds = stack.registry.entriesFrom('StructureDefinition', 'profiles');
    assert.ok(sds.length >= 20);
    for (const e of sds) {
      const url = e.resource.url;
      const sd: StructureDefinition | undefined = stack.registry.structureDefinition(url);
      assert.ok(sd?.snapshot?.element?.length, `${url}: no snapshot`);
      assert.deepEqual(stack.registry.snapshotWarnings(url), [], url);
    }
  });

  it('the UK Core urls it re-expresses come from profiles/ when no package is loaded', function () {
    for (const url of [UK_CORE_PATIENT, UK_CORE_MEDICATION_REQUEST, UK_CORE_COMPOSITION]) {
      assert.equal(stack.registry.entry('StructureDefinition', url)?.source, 'profiles', url);
    }
  });

  it('every ValueSet expands locally except the section headings (a fragment CodeSystem: "not checked")', async function () {
    const unexpandable: string[] = [];
    for (const e of stack.registry.entriesFrom('ValueSet', 'profiles')) {
      const codes = await stack.terminology.expand(e.resource.url ?? '');
      if (!codes?.length) unexpandable.push(e.resource.url ?? '');
    }
    assert.deepEqual(unexpandable, ['https://fhir.hl7.org.uk/ValueSet/UKCore-CompositionSectionCode']);
    const status = await stack.terminology.expand('https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus');
    // England 8 + Wales 9 + the earlier system url PDS sends 8 + NullFlavor NI.
    assert.equal(status?.length, 26);
  });

  it('accepts the project fixtures against UK Core and the Spine Patient profile', async function () {
    for (const [resource, url] of [
      [patient(), UK_CORE_PATIENT],
      [patient(), SPINE_PATIENT],
      [medicationRequest(), UK_CORE_MEDICATION_REQUEST],
    ] as const) {
      const issues = await stack.validate(resource, url);
      assert.deepEqual(errorsOf(issues), [], `${url}:\n${describeIssues(issues)}`);
      assert.deepEqual(issues.filter((i) => i.severity === 'warning'), [], `${url}:\n${describeIssues(issues)}`);
    }
  });

  it('accepts the earlier verification status system PDS still sends (SPINE.md: accept both)', async function () {
    const p = patient();
    const ext = ((p.identifier as Array<{ extension: Array<{ valueCodeableConcept: { coding: Array<{ system: string }> } }> }>)[0]?.extension[0]?.valueCodeableConcept.coding[0]);
    assert.ok(ext);
    ext.system = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus';
    const issues = await stack.validate(p, UK_CORE_PATIENT);
    assert.deepEqual(errorsOf(issues), [], describeIssues(issues));
    assert.equal(issues.filter((i) => /not checked/.test(i.diagnostics) && i.expression[0]?.startsWith('Patient.identifier')).length, 0, 'the code must be checked, not skipped');
  });

  it('reports communication.language (required binding to all-languages) as "not checked", not as an error', async function () {
    const p = patient();
    p.communication = [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'xx-not-a-language' }] } }];
    const issues = await stack.validate(p, UK_CORE_PATIENT);
    assert.deepEqual(errorsOf(issues), []);
    assert.ok(issues.some((i) => i.severity === 'information' && i.expression[0] === 'Patient.communication[0].language' && /not checked/.test(i.diagnostics)), describeIssues(issues));
  });

  it('warns (extensible binding) on a MedicationRequest category outside the UK Core value set', async function () {
    const m = medicationRequest();
    m.category = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'not-a-category' }] }];
    const issues = await stack.validate(m, UK_CORE_MEDICATION_REQUEST);
    assert.deepEqual(errorsOf(issues), []);
    assert.ok(issues.some((i) => i.severity === 'warning' && i.expression[0] === 'MedicationRequest.category[0]'), describeIssues(issues));
  });

  describe('broken variants are rejected with the right expression', function () {
    for (const v of VARIANTS) {
      it(v.name, async function () {
        const r = fixtures[v.resourceType]();
        const expected = v.mutate(r);
        const errors = errorsOf(await stack.validate(r, v.profile));
        assert.ok(
          errors.some((e) => e.expression.includes(expected) && e.diagnostics.includes(v.mentions)),
          `expected an error at ${expected} mentioning "${v.mentions}", got:\n${describeIssues(errors)}`,
        );
      });
    }
  });
});
