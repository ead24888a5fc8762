import assert from 'node:assert/strict';
import type { Bundle, Parameters, Patient } from 'fhir/r4';
import { redactResult } from './redaction';
import { CONFIDENTIALITY_SYSTEM, isRestricted, redactPatient } from './restricted';

const restricted: Patient = {
  resourceType: 'Patient',
  id: '9000000025',
  meta: { security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R' }] },
  name: [{ family: 'Smythe' }],
  address: [{ postalCode: 'LS1 6AE' }],
  telecom: [{ system: 'phone', value: '01632960587' }],
  generalPractitioner: [{ identifier: { value: 'Y12345' } }],
};
const open: Patient = { resourceType: 'Patient', id: '9000000009', name: [{ family: 'Smith' }], address: [{ postalCode: 'LS1 6AE' }] };

describe('spine/redaction', () => {
  it('drops address, telecom and generalPractitioner of restricted patients only', () => {
    assert.equal(isRestricted(restricted), true);
    const r = redactPatient(restricted);
    assert.equal(r.address, undefined);
    assert.equal(r.telecom, undefined);
    assert.equal(r.generalPractitioner, undefined);
    assert.deepEqual(r.name, restricted.name);
    assert.equal(redactPatient(open), open);
  });

  it('redacts stored JSON, Bundles and Parameters, and passes other results untouched', () => {
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: open }, { resource: restricted }] };
    const out = redactResult({ status: 200, json: JSON.stringify(bundle) });
    assert.equal(out.json, undefined);
    const b = out.resource as Bundle;
    assert.deepEqual(b.entry![0]!.resource, open);
    assert.equal((b.entry![1]!.resource as Patient).address, undefined);
    const same = { status: 200, json: JSON.stringify(open) };
    assert.equal(redactResult(same), same);
    const input: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'result', resource: restricted }] };
    const params = redactResult({ status: 200, resource: input });
    assert.equal(((params.resource as Parameters).parameter![0]!.resource as Patient).telecom, undefined);
    assert.notEqual(restricted.telecom, undefined, 'the input is not modified');
  });
});
