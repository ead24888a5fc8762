import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Claim } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { CHARGE_EXEMPTION_SYSTEM, ENDORSEMENT_SYSTEM, ITEM_REFERENCE_EXTENSION, PRESCRIPTION_CHARGE_SYSTEM, TASK_BUSINESS_STATUS_EXTENSION, checkClaimAgainstRecord, checkClaimContent, statusOfLines } from './claim-rules';
import { ORDER_ITEM_NUMBER_SYSTEM } from './prescription-order';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

function detail(id: string, status: string, endorsement: string | null = 'NDEC'): NonNullable<Claim['item']>[number]['detail'] extends Array<infer D> | undefined ? D : never {
  return {
    sequence: 1,
    productOrService: {},
    extension: [{ url: ITEM_REFERENCE_EXTENSION, valueReference: { identifier: { system: ORDER_ITEM_NUMBER_SYSTEM, value: id } } }],
    modifier: [{ coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/medicationdispense-type', code: status }] }],
    programCode: [
      { coding: [{ system: PRESCRIPTION_CHARGE_SYSTEM, code: 'paid-once' }] },
      ...(endorsement ? [{ coding: [{ system: ENDORSEMENT_SYSTEM, code: endorsement }] }] : []),
    ],
  };
}

function claim(lines: Array<[string, string]>, status = '0006'): Claim {
  return {
    resourceType: 'Claim',
    status: 'active',
    type: {},
    use: 'claim',
    patient: {},
    created: '2026-01-01',
    provider: { reference: '#role' },
    priority: {},
    contained: [
      { resourceType: 'PractitionerRole', id: 'role', organization: { reference: '#org' } },
      { resourceType: 'Organization', id: 'org', identifier: [{ system: ODS, value: 'VNE51' }] },
    ],
    insurance: [{ sequence: 1, focal: true, coverage: { identifier: { system: ODS, value: 'T1450' } } }],
    payee: { type: {}, party: { reference: '#org' } },
    item: [
      {
        sequence: 1,
        productOrService: {},
        extension: [{ url: TASK_BUSINESS_STATUS_EXTENSION, valueCoding: { system: 'https://fhir.nhs.uk/CodeSystem/EPS-task-business-status', code: status } }],
        programCode: [{ coding: [{ system: CHARGE_EXEMPTION_SYSTEM, code: '0001' }] }],
        detail: lines.map(([id, st]) => detail(id, st)),
      },
    ],
  };
}

function refusal(f: () => unknown): { code?: string; expression?: string[] } {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FhirError, String(e));
    assert.equal(e.status, 400);
    const issue = e.issues[0]!;
    return { ...(issue.details?.coding?.[0]?.code ? { code: issue.details.coding[0].code } : {}), ...(issue.expression ? { expression: issue.expression } : {}) };
  }
  assert.fail('expected a refusal');
}

describe('EPS claim rules', () => {
  it('accepts a claim of the NHS BSA by the payee organisation, and gives its claimant, status and lines', () => {
    const c = checkClaimContent(claim([['a', '0001'], ['b', '0005']]));
    assert.equal(c.authority, 'T1450');
    assert.equal(c.claimant, 'VNE51');
    assert.equal(c.status, '0006');
    assert.deepEqual(c.lines.map((l) => [l.id, l.status, l.path]), [['a', '0001', 'Claim.item[0].detail[0]'], ['b', '0005', 'Claim.item[0].detail[1]']]);
  });

  it('accepts the Welsh reimbursement authority (NWSSP RQFZ1) too', () => {
    const c = claim([['a', '0001']]);
    c.insurance[0]!.coverage.identifier!.value = 'RQFZ1';
    assert.equal(checkClaimContent(c).authority, 'RQFZ1');
  });

  it('requires an endorsement code from medicationdispense-endorsement on every line', () => {
    const c = claim([['a', '0001'], ['b', '0001']]);
    c.item![0]!.detail![1] = detail('b', '0001', null);
    assert.deepEqual(refusal(() => checkClaimContent(c)), { code: 'MISSING_VALUE', expression: ['Claim.item[0].detail[1].programCode'] });
    c.item![0]!.detail![1] = detail('b', '0001', 'ACBS');
    assert.deepEqual(refusal(() => checkClaimContent(c)), { code: 'INVALID_VALUE', expression: ['Claim.item[0].detail[1].programCode[1].coding[0].code'] });
  });

  it('derives the prescription status from the line statuses: none dispensed is Not Dispensed', () => {
    assert.equal(statusOfLines([{ status: '0002' }, { status: '0005' }]), '0007');
    assert.equal(statusOfLines([{ status: '0002' }, { status: '0001' }]), '0006');
    assert.equal(checkClaimContent(claim([['a', '0002']], '0007')).status, '0007');
    assert.deepEqual(refusal(() => checkClaimContent(claim([['a', '0002']], '0006'))), { code: 'INVALID_VALUE', expression: ['Claim.item[0].extension'] });
  });

  it('compares the claim with the prescription held: unknown, missing and differing lines', () => {
    const content = checkClaimContent(claim([['a', '0001'], ['b', '0002']]));
    checkClaimAgainstRecord(content, 'RX', { itemIds: ['a', 'b'], items: { a: '0001', b: '0002' } });
    assert.deepEqual(refusal(() => checkClaimAgainstRecord(content, 'RX', { itemIds: ['a'] })), { code: 'ITEM_NOT_FOUND', expression: ['Claim.item[0].detail[1].extension'] });
    assert.deepEqual(refusal(() => checkClaimAgainstRecord(content, 'RX', { itemIds: ['a', 'b', 'c'] })), { code: 'MISSING_VALUE', expression: ['Claim.item[0].detail'] });
    assert.deepEqual(refusal(() => checkClaimAgainstRecord(content, 'RX', { itemIds: ['a', 'b'], items: { a: '0001', b: '0005' } })), {
      code: 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION',
      expression: ['Claim.item[0].detail[1].modifier'],
    });
  });

  it('never throws anything but a 400 EPS FhirError for arbitrary JSON in a Claim (fast-check)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('insurance', 'payee', 'contained', 'item', 'provider'), fc.jsonValue()), (parts) => {
        const c = { ...claim([['a', '0001']]), ...parts } as Claim;
        try {
          checkClaimContent(c);
        } catch (e) {
          assert.ok(e instanceof FhirError && e.status === 400, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a 400 EPS FhirError when any field of a valid Claim is replaced by arbitrary JSON (fast-check)', () => {
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, at: Array<string | number>): void => {
      if (at.length) paths.push(at);
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, Array.isArray(v) ? Number(k) : k]);
    };
    walk(claim([['a', '0001'], ['b', '0005']]), []);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (at, value) => {
        const c = claim([['a', '0001'], ['b', '0005']]) as unknown as Record<string | number, unknown>;
        let holder = c;
        for (const k of at.slice(0, -1)) holder = holder[k] as Record<string | number, unknown>;
        holder[at[at.length - 1]!] = value;
        try {
          checkClaimContent(c as unknown as Claim);
        } catch (e) {
          assert.ok(e instanceof FhirError && e.status === 400, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
