/**
 * EPS_SIGNATURE_TRUSTED_CA over HTTP (src/spine/eps/certificate-trust.ts): with a PEM bundle of test
 * CAs (@peculiar/x509), `$process-message` (EPS_SIGNATURE_VERIFICATION=on) and `$verify-signature`
 * accept a prescription signed with a certificate the trusted CA issued, and refuse, with INVALID_VALUE
 * "Signature is invalid." at Provenance.signature.data, one issued by another CA, an expired one and
 * a self-signed one; a bad bundle path is refused at start-up by name.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, BundleEntry, OperationOutcome, Parameters, Provenance, Task } from 'fhir/r4';
import { ConfigError, loadConfig } from '../../../src/config/config';
import { signDigest, testCa, testSigner, type TestCa, type TestSigner } from '../../helpers/eps-signing';
import { testApp, type TestApp } from '../../helpers/test-app';
import { DISPENSING, EPS_EXAMPLES, PRESCRIBING, epsCode, epsExample, epsPost } from './helpers';
import { skipWithReason } from '../../helpers/external-data';

const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];

describe('EPS façades: trusted CAs for prescription signatures (EPS_SIGNATURE_TRUSTED_CA)', function () {
  this.timeout(60000);
  let dir: string;
  let bundle: string;
  let ca: TestCa;
  let trusted: TestSigner;
  let ofOther: TestSigner;
  let expired: TestSigner;
  let selfSigned: TestSigner;
  before(async function () {
    if (!EPS_EXAMPLES) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
    const other = await testCa({ name: 'CN=Other CA, O=Elsewhere' });
    ca = await testCa();
    [trusted, ofOther, expired, selfSigned] = await Promise.all([testSigner({ issuer: ca }), testSigner({ issuer: other }), testSigner({ issuer: ca, days: -1 }), testSigner()]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eps-ca-'));
    bundle = path.join(dir, 'trusted-ca.pem');
    fs.writeFileSync(bundle, ca.pem);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The acute order `$prepare`d and signed by `by`, with the examples' Provenance. */
  async function signedOrder(t: TestApp, by: TestSigner): Promise<Bundle> {
    const unsigned = epsExample<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    const prepared = await epsPost(t, PRESCRIBING, '$prepare', unsigned);
    assert.equal(prepared.status, 200, prepared.text);
    const value = (n: string): string => (prepared.body as Parameters).parameter!.find((x) => x.name === n)!.valueString!;
    const provenance = structuredClone(epsExample<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json').entry!.find((e) => e.resource?.resourceType === 'Provenance')!) as BundleEntry & { resource: Provenance };
    provenance.resource.recorded = value('timestamp');
    provenance.resource.signature![0] = { ...provenance.resource.signature![0]!, when: value('timestamp'), data: signDigest(value('digest'), by) };
    return { ...unsigned, identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() }, entry: [...unsigned.entry!, provenance] };
  }

  it('$process-message (verification on): accepts a certificate of the trusted CA; refuses another CA\'s, an expired and a self-signed one', async () => {
    const t = testApp({ EPS_SIGNATURE_VERIFICATION: 'on', EPS_SIGNATURE_TRUSTED_CA: bundle });
    try {
      for (const [what, by, diagnostics] of [
        ['another CA', ofOther, 'The signing certificate is not issued by a trusted CA.'],
        ['expired', expired, 'The signing certificate is not valid now.'],
        ['self-signed', selfSigned, 'The signing certificate is not issued by a trusted CA.'],
      ] as const) {
        const res = await epsPost(t, PRESCRIBING, '$process-message', await signedOrder(t, by));
        assert.equal(res.status, 400, `${what}: ${res.text}`);
        const oo = res.body as OperationOutcome;
        assert.equal(epsCode(oo), 'INVALID_VALUE', what);
        assert.equal(oo.issue[0]?.details?.coding?.[0]?.display, 'Signature is invalid.');
        assert.equal(oo.issue[0]?.diagnostics, `Signature is invalid. ${diagnostics}`, what);
        assert.deepEqual(oo.issue[0]?.expression, ['Provenance.signature.data']);
      }
      const res = await epsPost(t, PRESCRIBING, '$process-message', await signedOrder(t, trusted));
      assert.equal(res.status, 200, res.text);
      const tasks = await request(t.app).get('/fhir/Task').expect(200);
      assert.equal(((tasks.body as Bundle).entry ?? []).filter((e) => (e.resource as Task).resourceType === 'Task').length, 1);
    } finally {
      await t.close();
    }
  });

  it('without EPS_SIGNATURE_TRUSTED_CA the issuer is not checked: a self-signed certificate is accepted', async () => {
    const t = testApp({ EPS_SIGNATURE_VERIFICATION: 'on' });
    try {
      const res = await epsPost(t, PRESCRIBING, '$process-message', await signedOrder(t, selfSigned));
      assert.equal(res.status, 200, res.text);
    } finally {
      await t.close();
    }
  });

  it('$verify-signature checks the issuer too (whatever EPS_SIGNATURE_VERIFICATION says)', async () => {
    const t = testApp({ EPS_SIGNATURE_TRUSTED_CA: bundle });
    try {
      const messages = await Promise.all([trusted, ofOther, expired, selfSigned].map((s) => signedOrder(t, s)));
      const res = await epsPost(t, DISPENSING, '$verify-signature', { resourceType: 'Bundle', type: 'searchset', entry: messages.map((m) => ({ resource: m })) });
      assert.equal(res.status, 200, res.text);
      const results = (res.body as Parameters).parameter!.map((p) => (p.part!.find((x) => x.name === 'result')!.resource as OperationOutcome).issue.map((i) => i.details?.coding?.[0]?.code ?? i.code));
      assert.deepEqual(results, [['informational'], ['INVALID_VALUE'], ['INVALID_VALUE'], ['INVALID_VALUE']]);
    } finally {
      await t.close();
    }
  });

  it('refuses at start-up a bundle that is missing or holds no certificate, naming the variable', () => {
    const empty = path.join(dir, 'empty.pem');
    fs.writeFileSync(empty, 'nothing here');
    for (const file of [path.join(dir, 'absent.pem'), empty]) {
      assert.throws(() => loadConfig({ EPS_SIGNATURE_TRUSTED_CA: file }), (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.startsWith('EPS_SIGNATURE_TRUSTED_CA='));
    }
    assert.equal(loadConfig({ EPS_SIGNATURE_TRUSTED_CA: bundle }).epsSignatureTrustedCa, bundle);
    assert.equal(loadConfig({}).epsSignatureTrustedCa, undefined);
  });
});
