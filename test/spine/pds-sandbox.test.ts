/**
 * The PDS FHIR API sandbox scenarios (personal-demographics.yaml "Sandbox test scenarios";
 * errorResponses/ and searchResponses/ of NHSDigital/personal-demographics-service-api) that hold on
 * the generic API `/fhir`, against this server loaded with the equivalent records: status, Spine error
 * coding and issue code, and the shape (element names) of the returned resources are compared with
 * the sandbox's. `/fhir` speaks plain FHIR R4, so the scenarios that are PDS wire behaviour (404
 * INVALIDATED_RESOURCE, 400 INVALID_RESOURCE_ID, a superseded number answering its survivor, 409
 * RESOURCE_VERSION_MISMATCH and the If-Match requirement, 200 SINGLE_MATCH, PDS issue severities) are
 * replayed against the PDS façade (/personal-demographics/FHIR/R4) in test/facades/pds/.
 * Skips with a printed reason when ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { SPINE_ERROR_SYSTEM } from '../../src/spine/errors';
import { post, put } from './helpers';

const PDS = existingExternalPath('nhs-apis', 'pds');

function load<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(PDS!, ...parts), 'utf8')) as T;
}

/**
 * Compares an error answer with a sandbox error response: the Spine coding (system, code, display,
 * version) and the issue code. The severity is not compared: PDS answers some errors with severity
 * `information` (RESOURCE_NOT_FOUND), a PDS wire detail the façade reproduces; /fhir answers `error`.
 */
function assertCodedLikeSandbox(body: unknown, file: string): void {
  const expected = load<OperationOutcome>('errorResponses', file).issue[0]!;
  const got = (body as OperationOutcome).issue?.[0];
  assert.ok(got, `no issue in ${JSON.stringify(body)}`);
  const e = expected.details!.coding![0]!;
  const g = got.details?.coding?.find((c) => c.system === SPINE_ERROR_SYSTEM);
  assert.deepEqual({ system: g?.system, code: g?.code, display: g?.display, version: g?.version }, { system: e.system, code: e.code, display: e.display, version: e.version }, file);
  assert.equal(got.code, expected.code, `${file}: issue code`);
}

const extensionUrls = (p: Patient): string[] => (p.extension ?? []).map((e) => e.url).sort();

const keys = (r: object): string[] => Object.keys(r).filter((k) => k !== 'meta').sort();

/** The extensions of Patient.json that Sensitive_Patient.json lacks and the specification says are removed. */
const REMOVED_EXTENSIONS = [
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier',
  'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
];

describe('PDS sandbox scenarios', function () {
  let t: TestApp;
  /** The stored records: the sandbox's, with the restricted one holding the data the sandbox removes. */
  let full: Patient;

  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    // The sandbox records use PDS's older extension shapes (valueCoding where UK Core 2.x has
    // CodeableConcept), so they do not conform to the current UK Core: no profile is required here.
    t = testApp({ ...NHS_LAYER, REQUIRED_PROFILES: '', PROFILES_DIR: '' });
    full = load<Patient>('searchResponses', 'Patient.json');
    const sensitive = load<Patient>('searchResponses', 'Sensitive_Patient.json');
    const stored = [
      full,
      load<Patient>('searchResponses', 'Patient-Jayne-Smyth.json'),
      load<Patient>('searchResponses', 'Minimal_Patient.json'),
      // The restricted record as stored holds everything PDS removes from it: address, telecom, contact,
      // generalPractitioner, and the pharmacy and birth place extensions (next to its own extensions).
      {
        ...sensitive,
        address: full.address,
        telecom: full.telecom,
        contact: full.contact,
        generalPractitioner: full.generalPractitioner,
        extension: [...(full.extension ?? []).filter((e) => REMOVED_EXTENSIONS.includes(e.url)), ...(sensitive.extension ?? [])],
      },
    ];
    for (const p of stored) {
      const { meta, ...rest } = p;
      const res = await put(t, { ...rest, meta: { security: meta!.security! } });
      assert.equal(res.status, 201, `${p.id}: ${res.text}`);
    }
  });
  after(() => t?.close());

  it('Patient exists (9000000009): 200 with the record, same elements as the sandbox', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000009');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(keys(res.body), keys(full));
    assert.equal(res.headers['etag'], 'W/"1"');
  });

  it('Sensitive patient exists (9000000025): 200 with the restricted data and extensions removed, as the sandbox answers', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000025');
    assert.equal(res.status, 200);
    const expected = load<Patient>('searchResponses', 'Sensitive_Patient.json');
    assert.deepEqual(keys(res.body), keys(expected));
    assert.deepEqual(extensionUrls(res.body as Patient), extensionUrls(expected));
    assert.deepEqual((res.body as Patient).extension, expected.extension, 'the extensions that stay are unchanged');
  });

  it('Patient exists with minimal data (9000000033): 200', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000033');
    assert.equal(res.status, 200);
    assert.deepEqual(keys(res.body), keys(load<Patient>('searchResponses', 'Minimal_Patient.json')));
  });

  it('Patient does not exist (9111231130): 404 not-found with the RESOURCE_NOT_FOUND coding', async () => {
    const res = await request(t.app).get('/fhir/Patient/9111231130');
    assert.equal(res.status, 404);
    assertCodedLikeSandbox(res.body, 'RESOURCE_NOT_FOUND.json');
  });

  // Invalid NHS number (400 INVALID_RESOURCE_ID): PDS wire behaviour, replayed against the PDS façade in test/facades/pds/.

  it('search by NHS Number of a sensitive patient: searchset with the restricted data removed', async () => {
    const res = await request(t.app).get('/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9000000025');
    assert.equal(res.status, 200);
    const expected = load<Bundle>('searchResponses', 'search_patient_9000000025.json');
    const got = res.body as Bundle;
    assert.equal(got.type, expected.type);
    assert.equal(got.entry?.length, expected.entry?.length);
    assert.deepEqual(keys(got.entry![0]!.resource!), keys(expected.entry![0]!.resource!));
    assert.deepEqual(extensionUrls(got.entry![0]!.resource as Patient), extensionUrls(expected.entry![0]!.resource as Patient));
  });

  // Update (If-Match required 412, stale 409 RESOURCE_VERSION_MISMATCH), invalidated record (404
  // INVALIDATED_RESOURCE) and superseded record (answers the survivor): PDS wire behaviour, replayed
  // against the PDS façade in test/facades/pds/. On /fhir they are 412, 410 and the record as stored
  // (test/spine/records.test.ts, test/spine/merge.test.ts).

  it('Create: a new patient is allocated an NHS Number (201); the same person again is 409 duplicate naming it, with the SINGLE_MATCH coding', async () => {
    const body = load<Patient>('specification', 'components', 'examples', 'requests', 'PatientCreate', 'Allocate_NHS_Number.json');
    const created = await post(t, body);
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.id, /^999\d{7}$/);
    const again = await post(t, body);
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.resourceType, 'OperationOutcome');
    assert.equal(again.body.issue[0].code, 'duplicate');
    assert.match(again.body.issue[0].diagnostics, new RegExp(`matching record: Patient/${String(created.body.id)}\\)`));
    assert.equal(again.body.issue[0].details.coding[0].code, 'SINGLE_MATCH');
  });
});
