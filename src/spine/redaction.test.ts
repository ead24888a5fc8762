import assert from 'node:assert/strict';
import type { Bundle, Parameters, Patient } from 'fhir/r4';
import { redactResult } from './redaction';
import { CONFIDENTIALITY_SYSTEM, isRestricted, redactPatient } from './restricted';

const deathNotification = { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus', extension: [{ url: 'deathNotificationStatus', valueCodeableConcept: { coding: [{ code: '2' }] } }] };
const restricted: Patient = {
  resourceType: 'Patient',
  id: '9000000025',
  meta: { security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R' }] },
  extension: [
    { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy', valueReference: { identifier: { value: 'Y23456' } } },
    deathNotification,
    { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization', valueReference: { identifier: { value: 'Y34567' } } },
    { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier', valueReference: { identifier: { value: 'Y45678' } } },
    { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Leeds' } },
  ],
  name: [{ family: 'Smythe' }],
  gender: 'female',
  address: [{ postalCode: 'LS1 6AE' }],
  telecom: [{ system: 'phone', value: '01632960587' }],
  contact: [{ telecom: [{ system: 'phone', value: '01632960588' }] }],
  generalPractitioner: [{ identifier: { value: 'Y12345' } }],
};
/** The restricted record as a caller without the permission sees it: exactly this. */
const { address: _a, telecom: _t, contact: _c, generalPractitioner: _g, ...redacted } = { ...restricted, extension: [deathNotification] };
const open: Patient = { resourceType: 'Patient', id: '9000000009', name: [{ family: 'Smith' }], address: [{ postalCode: 'LS1 6AE' }] };

describe('spine/redaction', () => {
  it('drops address, telecom, contact, generalPractitioner and the pharmacy and birth place extensions of restricted patients only', () => {
    assert.equal(isRestricted(restricted), true);
    assert.deepEqual(redactPatient(restricted), redacted);
    assert.equal(restricted.extension?.length, 5, 'the input is not modified');
    assert.equal(redactPatient(open), open);
    const onlyRemoved = { ...restricted, extension: restricted.extension!.filter((e) => e !== deathNotification) };
    assert.equal('extension' in redactPatient(onlyRemoved), false, 'no empty extension array is left');
  });

  it('redacts stored JSON, Bundles and Parameters, and passes other results untouched', () => {
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: open }, { resource: restricted }] };
    const out = redactResult({ status: 200, json: JSON.stringify(bundle) });
    assert.equal(out.json, undefined);
    const b = out.resource as Bundle;
    assert.deepEqual(b.entry![0]!.resource, open);
    assert.deepEqual(b.entry![1]!.resource, redacted);
    const same = { status: 200, json: JSON.stringify(open) };
    assert.equal(redactResult(same), same);
    const input: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'result', resource: restricted }] };
    const params = redactResult({ status: 200, resource: input });
    assert.deepEqual((params.resource as Parameters).parameter![0]!.resource, redacted);
    assert.notEqual(restricted.telecom, undefined, 'the input is not modified');
  });
});
