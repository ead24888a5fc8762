/**
 * EPS `$verify-signature` over HTTP with the default configuration (EPS_SIGNATURE_VERIFICATION off:
 * the operation verifies regardless): the example request of
 * primary-care/repeat-dispensing/.../din answered in the shape of examples/sandbox's response, and
 * the round trip `$prepare` → sign → `$verify-signature` with a test key (verified, changed after
 * signing, signed by another key).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, BundleEntry, MedicationRequest, OperationOutcome, Parameters, ParametersParameter, Provenance } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { signDigest, testSigner, type TestSigner } from '../../helpers/eps-signing';
import { testApp, type TestApp } from '../../helpers/test-app';
import { EPS_EXAMPLES, epsPost } from './helpers';

const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
const DISPENSING = '/fhir-dispensing/FHIR/R4';
const EPS = '/electronic-prescriptions/FHIR/R4';
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const DIN = ['primary-care', 'repeat-dispensing', 'nominated-pharmacy', 'medical-prescriber', 'author', 'gmc', 'responsible-party', 'medication-list', 'din'];

const dir = EPS_EXAMPLES;
function example<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(dir!, ...parts), 'utf8')) as T;
}
function part(p: ParametersParameter, name: string): ParametersParameter | undefined {
  return p.part?.find((x) => x.name === name);
}
function resultCodes(p: ParametersParameter): string[] {
  return ((part(p, 'result')?.resource as OperationOutcome).issue ?? []).map((i) => i.details?.coding?.[0]?.code ?? i.code).sort();
}

describe('EPS façades: $verify-signature', function () {
  let t: TestApp;
  let signer: TestSigner;
  let impostor: TestSigner;
  before(async function () {
    this.timeout(60000);
    if (!dir) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
    signer = await testSigner();
    impostor = await testSigner();
  });
  beforeEach(() => {
    t = testApp();
  });
  afterEach(() => t?.close());

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);
  /** The acute example `$prepare`d, signed by `by` (certificate of `certOf`), as a message Bundle. */
  async function signed(by: TestSigner, certOf: TestSigner = by): Promise<Bundle> {
    const unsigned = example<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    const prepared = await post(PRESCRIBING, '$prepare', unsigned);
    assert.equal(prepared.status, 200, prepared.text);
    const p = prepared.body as Parameters;
    const value = (n: string): string => p.parameter!.find((x) => x.name === n)!.valueString!;
    let data = signDigest(value('digest'), by);
    if (certOf !== by) data = Buffer.from(Buffer.from(data, 'base64').toString('utf8').replace(by.certificate, certOf.certificate)).toString('base64');
    const provenance = structuredClone(example<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json').entry!.find((e) => e.resource?.resourceType === 'Provenance')!) as BundleEntry & { resource: Provenance };
    provenance.resource.signature![0] = { ...provenance.resource.signature![0]!, when: value('timestamp'), data };
    return { ...unsigned, identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() }, entry: [...unsigned.entry!, provenance] };
  }
  function searchset(...messages: Bundle[]): Bundle {
    return { resourceType: 'Bundle', type: 'searchset', total: messages.length, entry: messages.map((m) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource: m })) };
  }

  it('answers the example request in the sandbox response shape: a real Spine signature does not verify here', async () => {
    const req = example<Bundle>(...DIN, '1-VerifySignature-Request-200_OK.json');
    const expected = example<Parameters>('sandbox', 'VerifySignature-Response-200_OK.json');
    for (const base of [EPS, DISPENSING]) {
      const res = await post(base, '$verify-signature', req);
      assert.equal(res.status, 200, res.text);
      const got = res.body as Parameters;
      assert.equal(got.resourceType, 'Parameters');
      assert.deepEqual(got.parameter?.map((p) => [p.name, p.part?.map((x) => x.name)]), expected.parameter?.map((p) => [p.name, p.part?.map((x) => x.name)]));
      const inner = req.entry![0]!.resource as Bundle;
      assert.deepEqual(part(got.parameter![0]!, 'messageIdentifier')?.valueReference?.identifier, inner.identifier);
      const result = part(got.parameter![0]!, 'result')!.resource as OperationOutcome;
      assert.ok(result.meta?.lastUpdated);
      // Its digest is over HL7 v3, never this server's FHIR XML digest: at least the mismatch.
      assert.ok(resultCodes(got.parameter![0]!).includes('INVALID'), JSON.stringify(result));
      // Its certificate (2022) has expired, so the answer is the sandbox's two issues.
      assert.deepEqual(resultCodes(got.parameter![0]!), resultCodes(expected.parameter![0]!));
      const want = new Map((part(expected.parameter![0]!, 'result')!.resource as OperationOutcome).issue.map((i) => [i.details!.coding![0]!.code, i]));
      for (const i of result.issue) {
        const w = want.get(i.details?.coding?.[0]?.code);
        assert.ok(w, `unexpected issue ${JSON.stringify(i)}`);
        assert.equal(i.details?.coding?.[0]?.display, w.details?.coding?.[0]?.display);
        assert.equal(i.details?.coding?.[0]?.system, w.details?.coding?.[0]?.system);
        assert.deepEqual(i.expression, w.expression);
        assert.equal(i.code, w.code);
      }
    }
  });

  it('verifies each message of a searchset: signed over the $prepare digest, changed after signing, signed by another key', async function () {
    this.timeout(60000);
    const good = await signed(signer);
    const changed = structuredClone(good);
    const mr = changed.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest;
    mr.dispenseRequest!.quantity!.value = (mr.dispenseRequest!.quantity!.value ?? 0) + 10;
    const forged = await signed(impostor, signer);
    const unsigned = example<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    assert.equal(t.config.epsSignatureVerification, 'off');
    const res = await post(DISPENSING, '$verify-signature', searchset(good, changed, forged, unsigned));
    assert.equal(res.status, 200, res.text);
    const params = (res.body as Parameters).parameter!;
    assert.deepEqual(params.map((p) => p.name), ['0', '1', '2', '3']);
    assert.deepEqual(part(params[0]!, 'messageIdentifier')?.valueReference?.identifier, good.identifier);
    const ok = (part(params[0]!, 'result')!.resource as OperationOutcome).issue;
    assert.deepEqual(ok, [{ severity: 'information', code: 'informational' }]);
    assert.deepEqual(resultCodes(params[1]!), ['INVALID']);
    assert.deepEqual(resultCodes(params[2]!), ['INVALID_VALUE']);
    assert.deepEqual(resultCodes(params[3]!), ['MISSING_DIGITAL_SIGNATURE']);
    // A message Bundle on its own is one message; nothing is stored.
    const single = await post(EPS, '$verify-signature', good);
    assert.deepEqual(((single.body as Parameters).parameter![0]!.part![1]!.resource as OperationOutcome).issue[0]?.code, 'informational');
    const tasks = await request(t.app).get('/fhir/Task').expect(200);
    assert.equal((tasks.body as Bundle).total ?? (tasks.body as Bundle).entry?.length ?? 0, 0);
  });

  it('is not served on fhir-prescribing; refuses a body that is not a Bundle of message Bundles with a 400', async () => {
    const pres = await post(PRESCRIBING, '$verify-signature', { resourceType: 'Bundle', type: 'searchset', entry: [] });
    assert.equal(pres.status, 404, pres.text);
    for (const [body, expression] of [
      [{ resourceType: 'Parameters' }, 'resourceType'],
      [{ resourceType: 'Bundle', type: 'searchset', entry: [] }, 'Bundle.entry'],
      [{ resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Patient' } }] }, 'Bundle.entry[0].resource'],
    ] as const) {
      const res = await post(DISPENSING, '$verify-signature', body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual((res.body as OperationOutcome).issue[0]?.expression, [expression]);
    }
  });
});
