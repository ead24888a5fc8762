/**
 * EPS `POST /Claim` over HTTP with the server's default configuration (fhir-dispensing.yaml "Claim for
 * a dispensed prescription"; rules in src/spine/eps/claim-rules.ts): every Claim example of the staged
 * specification examples replayed as success after its prescription is ordered, released and
 * dispensed; 2-Claim-Request-400_Missing_Endorsement_Code refused; each endorsement, reimbursement
 * authority, payee, exemption and line item rule refused with its EPS code and field path, leaving the
 * prescription as it was.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, Claim, Extension, MessageHeader, OperationOutcome, Organization, Parameters, Task } from 'fhir/r4';
import { type TestApp } from '../../helpers/test-app';
import { DISPENSING, EPS, PRESCRIBING, epsCode, epsExample, epsPost, useEpsApp } from './helpers';

const RX = '24F5DA-A83008-7EFE6Z';
/** The NHS Number of the staged primary-care order (the spec claim examples name another patient: aligned). */
const ORDER_NHS = '5839945242';
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const HOMECARE = ['secondary-care', 'homecare', 'acute', 'nominated-pharmacy', 'clinical-practitioner'];
const REPEAT_INFO = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation';

function specClaim(kind: 'acute' | 'repeat' | 'eRD'): Claim {
  const c = epsExample<Claim>('spec', 'dispensing', 'claim', `${kind}-primary-example-req.json`);
  if (kind === 'acute') c.patient.identifier!.value = ORDER_NHS;
  return c;
}
/** The homecare dispense examples are sent by "NHS Digital Spine" (X2601); the pharmacy the release names (VNE51) sends them here. */
function fromPharmacy(b: Bundle): Bundle {
  (b.entry![0]!.resource as MessageHeader).sender = { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNE51' } };
  return b;
}

describe('EPS façades: Claim endorsement and reimbursement rules', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);
  async function ok(base: string, p: string, body: unknown, what: string): Promise<void> {
    const res = await post(base, p, body);
    assert.equal(res.status, 200, `${what}: ${res.text}`);
  }
  async function status(rx: string): Promise<string | undefined> {
    const res = await request(t.app).get(`${EPS}/Task?focus:identifier=${rx}`).set('X-Request-ID', randomUUID());
    assert.equal(res.status, 200, res.text);
    return ((res.body as Bundle).entry?.[0]?.resource as Task | undefined)?.businessStatus?.coding?.[0]?.code;
  }
  /** The staged acute primary-care prescription ordered, released to VNE51 and dispensed (0006). */
  async function acuteDispensed(): Promise<void> {
    await ok(PRESCRIBING, '$process-message', epsExample(...ACUTE, '1-Process-Request-Send-200_OK.json'), 'order');
    await ok(DISPENSING, 'Task/$release', epsExample(...ACUTE, '1-Task-Request-Release-200_OK.json'), 'release');
    await ok(DISPENSING, '$process-message', epsExample('spec', 'dispensing', 'dispense-notification', 'acute-primary-example-03-req.json'), 'dispense');
    assert.equal(await status(RX), '0006');
  }
  async function refused(body: Claim, code: string, expression: string): Promise<OperationOutcome> {
    const res = await post(DISPENSING, 'Claim', body);
    assert.equal(res.status, 400, res.text);
    const oo = res.body as OperationOutcome;
    assert.equal(oo.resourceType, 'OperationOutcome');
    assert.equal(epsCode(oo), code, res.text);
    assert.equal(oo.issue[0]?.details?.coding?.[0]?.system, 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode');
    assert.deepEqual(oo.issue[0]?.expression, [expression], res.text);
    return oo;
  }
  /** A dispense notification like `dn` (a new identifier) reporting only its MedicationDispense `index`, fully dispensed: what finishes an owed item. */
  function finishing(dn: Bundle, index: number): Bundle {
    const rest = structuredClone(dn);
    let n = -1;
    rest.entry = rest.entry!.filter((e) => e.resource?.resourceType !== 'MedicationDispense' || ++n === index);
    (rest.entry!.find((e) => e.resource?.resourceType === 'MedicationDispense')!.resource as { type: { coding: Array<{ code: string }> } }).type.coding[0]!.code = '0001';
    rest.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() };
    return rest;
  }
  const successIssue = (kind: string): OperationOutcome['issue'] => epsExample<OperationOutcome>('spec', 'dispensing', 'claim', `${kind}-primary-example-res.json`).issue;

  it('replays the spec acute claim example: Claimed (0008), answered as its response example', async () => {
    await acuteDispensed();
    const res = await post(DISPENSING, 'Claim', specClaim('acute'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.body as OperationOutcome).issue, successIssue('acute'));
    assert.equal(await status(RX), '0008');
  });

  it('replays the spec repeat (continuous) claim example after its order, release and dispense notification', async () => {
    await ok(PRESCRIBING, '$process-message', epsExample('spec', 'prescribing', 'prescription-order', 'repeat-primary-example-req.json'), 'order');
    await ok(DISPENSING, 'Task/$release', epsExample('spec', 'dispensing', 'release', 'repeat-primary-example-req.json'), 'release');
    // The dispense example leaves one item owing; a second notification finishes it (as the example claim gives it: dispensed).
    const dn = epsExample<Bundle>('spec', 'dispensing', 'dispense-notification', 'repeat-primary-example-req.json');
    await ok(DISPENSING, '$process-message', dn, 'dispense');
    await ok(DISPENSING, '$process-message', finishing(dn, 2), 'dispense the owed item');
    const res = await post(DISPENSING, 'Claim', specClaim('repeat'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.body as OperationOutcome).issue, successIssue('repeat'));
    assert.equal(await status(RX), '0008');
  });

  it('replays the spec eRD claim example for issue 1 of the eRD order (its repeat counts aligned with the order: the staged examples disagree)', async () => {
    await ok(PRESCRIBING, '$process-message', epsExample('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json'), 'order');
    const release = epsExample<Parameters>('spec', 'dispensing', 'release', 'eRD-primary-example-req.json');
    release.parameter!.find((x) => x.name === 'group-identifier')!.valueIdentifier!.value = RX;
    ((release.parameter!.find((x) => x.name === 'owner')!.resource as Organization).identifier![0]!).value = 'VNE51';
    await ok(DISPENSING, 'Task/$release', release, 'release');
    // The eRD dispense example leaves one item owing; a second notification finishes it (as the example claim gives it: dispensed).
    const dn = epsExample<Bundle>('spec', 'dispensing', 'dispense-notification', 'eRD-primary-example-req.json');
    await ok(DISPENSING, '$process-message', dn, 'dispense');
    await ok(DISPENSING, '$process-message', finishing(dn, 2), 'dispense the owed item');
    const claim = specClaim('eRD');
    for (const item of claim.item ?? []) {
      for (const h of [item, ...(item.detail ?? [])]) {
        const info = h.extension?.find((e) => e.url === REPEAT_INFO);
        for (const x of info?.extension ?? []) x.valueInteger = x.url === 'numberOfRepeatsAllowed' ? 6 : 1;
      }
    }
    const res = await post(DISPENSING, 'Claim', claim);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.body as OperationOutcome).issue, successIssue('eRD'));
  });

  for (const n of [1, 4, 6, 7]) {
    it(`replays homecare claim ${n}-Claim-Request-200_OK after its send, release and dispense`, async () => {
      const ex = <T>(f: string): T => epsExample<T>(...HOMECARE, f);
      await ok(PRESCRIBING, '$process-message', ex(`${n}-Process-Request-Send-200_OK.json`), 'send');
      await ok(DISPENSING, 'Task/$release', ex(`${n}-Task-Request-Release-200_OK.json`), 'release');
      await ok(DISPENSING, '$process-message', fromPharmacy(ex(`${n}-Process-Request-Dispense-200_OK.json`)), 'dispense');
      const claim = ex<Claim>(`${n}-Claim-Request-200_OK.json`);
      const rx = claim.prescription!.extension![0]!.extension!.find((e) => e.url === 'shortForm')!.valueIdentifier!.value!;
      const res = await post(DISPENSING, 'Claim', claim);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual((res.body as OperationOutcome).issue, [{ severity: 'information', code: 'informational' }]);
      assert.equal(await status(rx), '0008');
      if (n === 6) await ok(DISPENSING, 'Claim', ex('6-Claim-Request-Amend-200_OK.json'), 'claim amendment');
    });
  }

  it('refuses 2-Claim-Request-400_Missing_Endorsement_Code: MISSING_VALUE "The claim is missing the required endorsement code."', async () => {
    const oo = await refused(epsExample<Claim>(...ACUTE, '2-Claim-Request-400_Missing_Endorsement_Code.json'), 'MISSING_VALUE', 'Claim.item[0].detail[0].programCode');
    assert.equal(oo.issue[0]?.diagnostics, 'The claim is missing the required endorsement code.');
    assert.equal(oo.issue[0]?.code, 'invalid');
  });

  it('refuses each broken rule with its EPS code and field path; the prescription stays Dispensed and the valid claim then succeeds', async () => {
    await acuteDispensed();
    const cases: Array<[string, (c: Claim) => void, string, string]> = [
      ['endorsement not in the code system', (c) => (c.item![0]!.detail![1]!.programCode![1]!.coding![0]!.code = 'XYZ'), 'INVALID_VALUE', 'Claim.item[0].detail[1].programCode[1].coding[0].code'],
      ['prescriber endorsement system', (c) => (c.item![0]!.detail![2]!.programCode![1]!.coding![0]!.system = 'https://fhir.nhs.uk/CodeSystem/medicationrequest-endorsement'), 'INVALID_VALUE', 'Claim.item[0].detail[2].programCode[1].coding[0].system'],
      ['no endorsement on a cancelled item', (c) => c.item![0]!.detail![3]!.programCode!.pop(), 'MISSING_VALUE', 'Claim.item[0].detail[3].programCode'],
      ['unknown prescription charge', (c) => (c.item![0]!.detail![0]!.programCode![0]!.coding![0]!.code = 'paid-thrice'), 'INVALID_VALUE', 'Claim.item[0].detail[0].programCode[0].coding[0].code'],
      ['another reimbursement authority', (c) => (c.insurance[0]!.coverage.identifier!.value = 'X26'), 'INVALID_VALUE', 'Claim.insurance[0].coverage.identifier.value'],
      ['coverage not an ODS code', (c) => (c.insurance[0]!.coverage.identifier!.system = 'https://example.org/insurer'), 'INVALID_VALUE', 'Claim.insurance[0].coverage.identifier.system'],
      ['no insurance', (c) => (c.insurance = []), 'MISSING_VALUE', 'Claim.insurance'],
      ['organisation of another reimbursement authority', (c) => ((c.contained![1] as Organization).extension = [{ url: 'https://fhir.nhs.uk/StructureDefinition/Extension-ODS-OrganisationRelationships', extension: [{ url: 'reimbursementAuthority', valueIdentifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'RQFZ1' } }] }]), 'INVALID_VALUE', 'Claim.contained[1].extension[0].extension[0].valueIdentifier'],
      ['exemption code not four digits', (c) => (c.item![0]!.programCode![0]!.coding![0]!.code = 'exempt'), 'INVALID_VALUE', 'Claim.item[0].programCode[0].coding[0].code'],
      ['no exemption', (c) => c.item![0]!.programCode!.shift(), 'MISSING_VALUE', 'Claim.item[0].programCode'],
      ['unknown exemption evidence', (c) => (c.item![0]!.programCode![1]!.coding![0]!.code = 'hearsay'), 'INVALID_VALUE', 'Claim.item[0].programCode[1].coding[0].code'],
      ['payee not a contained Organization', (c) => (c.payee!.party!.reference = '#nobody'), 'INVALID_VALUE', 'Claim.payee.party.reference'],
      ['claimed by another pharmacy', (c) => ((c.contained![1] as Organization).identifier![0]!.value = 'FX999'), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Claim.payee.party'],
      ['provider of another organisation', (c) => (c.contained!.push({ resourceType: 'Organization', id: 'other', identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'FX999' }] }), ((c.contained![0] as { organization: { reference: string } }).organization.reference = '#other')), 'INVALID_VALUE', 'Claim.contained[0].organization'],
      ['unknown line item', (c) => (c.item![0]!.detail![2]!.extension![1]!.valueReference!.identifier!.value = randomUUID()), 'ITEM_NOT_FOUND', 'Claim.item[0].detail[2].extension'],
      ['a line item claimed twice', (c) => (c.item![0]!.detail![1]!.extension![1]!.valueReference!.identifier!.value = c.item![0]!.detail![0]!.extension![1]!.valueReference!.identifier!.value!), 'INVALID_VALUE', 'Claim.item[0].detail[1].extension[1].valueReference.identifier.value'],
      ['a line item left out', (c) => c.item![0]!.detail!.pop(), 'MISSING_VALUE', 'Claim.item[0].detail'],
      ['a line status other than held', (c) => (c.item![0]!.detail![1]!.modifier![0]!.coding![0]!.code = '0002'), 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', 'Claim.item[0].detail[1].modifier'],
      ['an unfinished line status', (c) => (c.item![0]!.detail![0]!.modifier![0]!.coding![0]!.code = '0004'), 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', 'Claim.item[0].detail[0].modifier'],
      ['Not Dispensed with dispensed lines', (c) => (c.item![0]!.extension![0]!.valueCoding!.code = '0007'), 'INVALID_VALUE', 'Claim.item[0].extension'],
      ['all lines not dispensed on a dispensed prescription', (c) => { c.item![0]!.extension![0]!.valueCoding!.code = '0007'; for (const d of c.item![0]!.detail!) d.modifier![0]!.coding![0]!.code = '0002'; }, 'INVALID_VALUE', 'Claim.item[0].extension'],
      ['claim status an expiry', (c) => ((c.item![0]!.extension![0] as Extension).valueCoding!.code = '0004'), 'INVALID_VALUE', 'Claim.item[0].extension[0].valueCoding.code'],
    ];
    for (const [what, change, code, expression] of cases) {
      const c = specClaim('acute');
      change(c);
      try {
        await refused(c, code, expression);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    }
    assert.equal(await status(RX), '0006');
    const res = await post(DISPENSING, 'Claim', specClaim('acute'));
    assert.equal(res.status, 200, res.text);
    assert.equal(await status(RX), '0008');
  });
});
