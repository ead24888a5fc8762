import assert from 'node:assert/strict';
import type { Bundle, MedicationRequest } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { validatePrescriptionOrder } from './prescription-order';

const SIG = Buffer.from('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo></SignedInfo><SignatureValue></SignatureValue></Signature>').toString('base64');

function mr(item: string, over: Partial<MedicationRequest> = {}): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: item }],
    status: 'active',
    intent: 'order',
    subject: { reference: 'urn:uuid:p' },
    requester: { reference: 'urn:uuid:r' },
    authoredOn: '2022-10-21T13:47:00+00:00',
    groupIdentifier: { system: 'https://fhir.nhs.uk/Id/prescription-order-number', value: '24F5DA-A83008-7EFE6Z' },
    courseOfTherapyType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy', code: 'acute' }] },
    ...over,
  } as MedicationRequest;
}

function order(mrs: MedicationRequest[], nhs = '9449304130', sig: string | undefined = SIG): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'message',
    entry: [
      { fullUrl: 'urn:uuid:h', resource: { resourceType: 'MessageHeader', eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order' }, source: { endpoint: 'x' }, sender: { identifier: { value: 'A83008' } } } },
      ...mrs.map((m, i) => ({ fullUrl: `urn:uuid:m${i}`, resource: m })),
      { fullUrl: 'urn:uuid:p', resource: { resourceType: 'Patient', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs }] } },
      ...(sig ? [{ fullUrl: 'urn:uuid:s', resource: { resourceType: 'Provenance', target: [], recorded: '2022-10-21T13:47:00+00:00', agent: [], signature: [{ type: [], when: '2022-10-21T13:47:00+00:00', who: {}, data: sig }] } }] : []),
    ],
  } as Bundle;
}

function refusal(body: unknown): { status: number; code: string | undefined; expression: string | undefined } {
  try {
    validatePrescriptionOrder(body);
  } catch (e) {
    assert.ok(e instanceof FhirError);
    return { status: e.status, code: e.issues[0]?.details?.coding?.[0]?.code, expression: e.issues[0]?.expression?.[0] };
  }
  assert.fail('accepted');
}

describe('EPS prescription-order validation', () => {
  it('accepts a consistent order and returns its prescription ID, NHS Number and line items', () => {
    const o = validatePrescriptionOrder(order([mr('a'), mr('b')]));
    assert.equal(o.prescriptionId, '24F5DA-A83008-7EFE6Z');
    assert.equal(o.nhsNumber, '9449304130');
    assert.deepEqual(o.items.map((i) => i.id), ['a', 'b']);
    assert.equal(o.prescriber, 'A83008');
  });

  it('refuses a wrong check character with FAILURE_TO_PROCESS_MESSAGE', () => {
    const r = refusal(order([mr('a', { groupIdentifier: { system: 'https://fhir.nhs.uk/Id/prescription-order-number', value: '24F5DA-A83008-7EFE6A' } })]));
    assert.deepEqual(r, { status: 400, code: 'FAILURE_TO_PROCESS_MESSAGE', expression: 'Bundle.entry.resource.ofType(MedicationRequest).groupIdentifier.value' });
  });

  it('refuses inconsistent MedicationRequests naming the field', () => {
    assert.equal(refusal(order([mr('a'), mr('b', { authoredOn: '2023-01-01' })])).expression, 'Bundle.entry.resource.ofType(MedicationRequest).authoredOn');
    assert.equal(refusal(order([mr('a'), mr('b', { requester: { reference: 'urn:uuid:x' } })])).expression, 'Bundle.entry.resource.ofType(MedicationRequest).requester');
  });

  it('accepts acute with continuous, refuses other mixtures of course of therapy', () => {
    const cont = { courseOfTherapyType: { coding: [{ code: 'continuous' }] } };
    const rep = { courseOfTherapyType: { coding: [{ code: 'continuous-repeat-dispensing' }] } };
    validatePrescriptionOrder(order([mr('a'), mr('b', cont)]));
    assert.deepEqual(refusal(order([mr('a'), mr('b', rep)])), { status: 400, code: 'INVALID_VALUE', expression: 'MedicationRequest.courseOfTherapyType.coding' });
  });

  it('refuses a wrong intent, too many items, an invalid NHS Number, a missing signature, duplicate item ids', () => {
    assert.equal(refusal(order([mr('a', { intent: 'plan' })])).expression, 'Bundle.entry.resource.ofType(MedicationRequest).intent');
    assert.equal(refusal(order(['a', 'b', 'c', 'd', 'e'].map((i) => mr(i)))).code, 'TOO_MANY_VALUES_SUBMITTED');
    assert.equal(refusal(order([])).code, 'TOO_FEW_VALUES_SUBMITTED');
    assert.equal(refusal(order([mr('a')], '9449304131')).expression, 'Bundle.entry.resource.ofType(Patient).identifier');
    assert.equal(refusal(order([mr('a')], undefined, '')).code, 'MISSING_DIGITAL_SIGNATURE');
    assert.equal(refusal(order([mr('a')], undefined, Buffer.from('hello').toString('base64'))).code, 'INVALID_VALUE');
    assert.equal(refusal(order([mr('a'), mr('a')])).expression, 'Bundle.entry.resource.ofType(MedicationRequest).identifier');
    assert.equal(refusal({ resourceType: 'Patient' }).status, 400);
  });

  it('verifies the signature only when a verifier is configured', () => {
    const b = order([mr('a')]);
    assert.throws(() => validatePrescriptionOrder(b, { verifySignature: () => false }), FhirError);
    validatePrescriptionOrder(b, { verifySignature: (xml) => xml.includes('SignedInfo') });
  });
});
