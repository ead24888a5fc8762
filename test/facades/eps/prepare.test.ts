/**
 * EPS `$prepare` and signature verification over HTTP: every Prepare request of
 * nhs-apis/eps/examples replayed through `$prepare` (the Parameters digest / timestamp / algorithm,
 * or the error of the example's response), and the whole signing round trip with a test key:
 * `$prepare` → sign the SignedInfo → Provenance signature → `$process-message` with
 * EPS_SIGNATURE_VERIFICATION=on accepted, tampered prescriptions refused.
 *
 * The examples' digests are over Spine's HL7 v3 fragments and this server digests FHIR XML (ADR 34),
 * so the digest VALUE never equals the example's: the tests compare the SignedInfo with the
 * DigestValue taken out, the parameter names and value types, and the algorithm.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import request from 'supertest';
import type { Bundle, BundleEntry, MedicationRequest, OperationOutcome, Parameters, Provenance, Task } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { signDigest, testSigner, type TestSigner } from '../../helpers/eps-signing';
import { testApp, type TestApp } from '../../helpers/test-app';
import { EPS_EXAMPLES, epsPost, useEpsApp } from './helpers';

const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
const EPS = '/electronic-prescriptions/FHIR/R4';
const DISPENSING = '/fhir-dispensing/FHIR/R4';
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];

const dir = EPS_EXAMPLES;
function read<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
function example<T = unknown>(...parts: string[]): T {
  return read<T>(path.join(dir!, ...parts));
}

/** Every *Prepare-Request* file below the examples, and spec/prepare's requests, with the response file each names. */
function prepareExamples(root: string): Array<{ request: string; response: string }> {
  const out: Array<{ request: string; response: string }> = [];
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (/Prepare-Request.*\.json$/.test(f.name)) out.push({ request: p, response: path.join(d, f.name.replace('Prepare-Request-Send-', 'Prepare-Response-').replace('Prepare-Request', 'Prepare-Response')) });
      else if (path.basename(d) === 'prepare' && f.name.endsWith('-req.json')) out.push({ request: p, response: path.join(d, f.name.replace(/-req\.json$/, '-res.json')) });
    }
  };
  walk(root);
  return out.sort((a, b) => a.request.localeCompare(b.request));
}

function param(p: Parameters, name: string): string | undefined {
  return p.parameter?.find((x) => x.name === name)?.valueString;
}
function signedInfo(p: Parameters): string {
  return Buffer.from(param(p, 'digest') ?? '', 'base64').toString('utf8');
}
function withoutDigestValue(signedInfoXml: string): string {
  return signedInfoXml.replace(/<DigestValue>[^<]*<\/DigestValue>/, '<DigestValue/>');
}
function epsCode(oo: OperationOutcome): string | undefined {
  return oo.issue[0]?.details?.coding?.[0]?.code;
}

describe('EPS façades: $prepare', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);

  it('answers every Prepare request example as its response example does (the shape: the digest is over FHIR XML, not HL7 v3)', async () => {
    const cases = prepareExamples(dir!);
    assert.ok(cases.length >= 20, `${cases.length} Prepare requests`);
    let ok = 0;
    let refused = 0;
    for (const c of cases) {
      const name = path.relative(dir!, c.request);
      assert.ok(fs.existsSync(c.response), `${name}: no response example ${c.response}`);
      const expected = read<Parameters | OperationOutcome>(c.response);
      if (expected.resourceType === 'Parameters') {
        const algorithm = param(expected, 'algorithm')!;
        const res = await post(PRESCRIBING, `$prepare?algorithm=${algorithm}`, read(c.request));
        assert.equal(res.status, 200, `${name}: ${res.text}`);
        const got = res.body as Parameters;
        assert.equal(got.resourceType, 'Parameters');
        assert.deepEqual(got.parameter?.map((p) => [p.name, Object.keys(p).sort()]), expected.parameter?.map((p) => [p.name, Object.keys(p).sort()]), name);
        assert.equal(param(got, 'algorithm'), algorithm, name);
        assert.match(param(got, 'timestamp')!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/, name);
        assert.equal(withoutDigestValue(signedInfo(got)), withoutDigestValue(signedInfo(expected)), name);
        assert.notEqual(signedInfo(got), signedInfo(expected), `${name}: an HL7 v3 digest cannot come from FHIR XML`);
        ok++;
      } else {
        const res = await post(PRESCRIBING, '$prepare', read(c.request));
        assert.equal(res.status, 400, `${name}: ${res.text}`);
        const want = expected.issue[0]!;
        const issue = (res.body as OperationOutcome).issue[0]!;
        if (want.details?.coding?.[0]?.code) assert.equal(epsCode(res.body as OperationOutcome), want.details.coding[0].code, name);
        if (want.expression) assert.deepEqual(issue.expression, want.expression, name);
        if (want.diagnostics) assert.equal(issue.diagnostics, want.diagnostics, name);
        assert.equal(issue.code, want.code, name);
        refused++;
      }
    }
    assert.ok(ok > 0 && refused > 0, `${ok} prepared, ${refused} refused`);
  });

  it('is deterministic for the same prescription and timestamp, and differs when the prescription changes', async () => {
    t.services.now = () => new Date('2024-12-09T11:50:04Z');
    const body = example<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    const a = (await post(PRESCRIBING, '$prepare', body)).body as Parameters;
    const b = (await post(EPS, '$prepare', body)).body as Parameters;
    assert.equal(param(a, 'timestamp'), '2024-12-09T11:50:04+00:00');
    assert.deepEqual(a, b);
    const mr = body.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest;
    mr.dispenseRequest!.quantity!.value = 999;
    const c = (await post(PRESCRIBING, '$prepare', body)).body as Parameters;
    assert.notEqual(param(c, 'digest'), param(a, 'digest'));
  });

  it('is not served on fhir-dispensing; refuses an unknown algorithm, a non-order message, a known prescription ID', async () => {
    const body = example<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    const disp = await post(DISPENSING, '$prepare', body);
    assert.equal(disp.status, 404, disp.text);
    assert.equal((disp.body as OperationOutcome).resourceType, 'OperationOutcome');
    const alg = await post(PRESCRIBING, '$prepare?algorithm=ES256', body);
    assert.equal(alg.status, 400);
    assert.deepEqual((alg.body as OperationOutcome).issue[0]?.expression, ['algorithm']);
    const other = structuredClone(body);
    (other.entry![0]!.resource as { eventCoding: { code: string } }).eventCoding.code = 'prescription-order-response';
    const ev = await post(PRESCRIBING, '$prepare', other);
    assert.equal(ev.status, 400);
    assert.equal((ev.body as OperationOutcome).issue[0]?.diagnostics, 'MessageHeader.eventCoding.code must be one of: prescription-order, prescription-order-update, dispense-notification.');
    for (const bad of [{ resourceType: 'Patient' }, { resourceType: 'Bundle', type: 'message', entry: [] }]) {
      const res = await post(PRESCRIBING, '$prepare', bad);
      assert.equal(res.status, 400, res.text);
    }
    assert.equal((await post(PRESCRIBING, '$process-message', example(...ACUTE, '1-Process-Request-Send-200_OK.json'))).status, 200);
    const dup = await post(PRESCRIBING, '$prepare', body);
    assert.equal(dup.status, 400);
    assert.equal(epsCode(dup.body as OperationOutcome), 'DUPLICATE_PRESCRIPTION_ID');
  });
});

describe('EPS façades: signed prescriptions (EPS_SIGNATURE_VERIFICATION)', function () {
  let signer: TestSigner;
  let impostor: TestSigner;
  before(async function () {
    this.timeout(60000);
    if (!dir) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
    signer = await testSigner();
    impostor = await testSigner();
  });

  const post = (t: TestApp, p: string, body: unknown): request.Test => epsPost(t, PRESCRIBING, p, body);

  /** The unsigned order, `$prepare`d, signed by `by` and sent back with the examples' Provenance. */
  async function signedOrder(t: TestApp, algorithm: 'RS256' | 'RS1', by: TestSigner, certOf: TestSigner = by): Promise<Bundle> {
    const unsigned = example<Bundle>(...ACUTE, '1-Prepare-Request-200_OK.json');
    const prepared = await post(t, `$prepare?algorithm=${algorithm}`, unsigned);
    assert.equal(prepared.status, 200, prepared.text);
    const p = prepared.body as Parameters;
    let data = signDigest(param(p, 'digest')!, by);
    if (certOf !== by) data = Buffer.from(Buffer.from(data, 'base64').toString('utf8').replace(by.certificate, certOf.certificate)).toString('base64');
    const provenance = structuredClone(example<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json').entry!.find((e) => e.resource?.resourceType === 'Provenance')!) as BundleEntry & { resource: Provenance };
    provenance.resource.recorded = param(p, 'timestamp')!;
    provenance.resource.signature![0] = { ...provenance.resource.signature![0]!, when: param(p, 'timestamp')!, data };
    return { ...unsigned, entry: [...unsigned.entry!, provenance] };
  }
  function tamper(b: Bundle): Bundle {
    const copy = structuredClone(b);
    const mr = copy.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest;
    mr.dispenseRequest!.quantity!.value = (mr.dispenseRequest!.quantity!.value ?? 0) + 10;
    return copy;
  }
  async function tasks(t: TestApp): Promise<Task[]> {
    const res = await request(t.app).get('/fhir/Task').expect(200);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
  }

  it('on: accepts the prescription signed over its $prepare digest (RS256 and RS1)', async function () {
    this.timeout(60000);
    for (const algorithm of ['RS256', 'RS1'] as const) {
      const t = testApp({ EPS_SIGNATURE_VERIFICATION: 'on' });
      try {
        const res = await post(t, '$process-message', await signedOrder(t, algorithm, signer));
        assert.equal(res.status, 200, `${algorithm}: ${res.text}`);
        assert.equal((await tasks(t)).length, 1);
      } finally {
        await t.close();
      }
    }
  });

  it('on: refuses a prescription changed after signing (INVALID), another key, a missing or moved timestamp, the unsigned example signature; nothing is stored', async function () {
    this.timeout(60000);
    const t = testApp({ EPS_SIGNATURE_VERIFICATION: 'on' });
    try {
      const good = await signedOrder(t, 'RS256', signer);
      const changed = await post(t, '$process-message', tamper(good));
      assert.equal(changed.status, 400, changed.text);
      const oo = changed.body as OperationOutcome;
      assert.equal(epsCode(oo), 'INVALID');
      assert.equal(oo.issue[0]?.details?.coding?.[0]?.display, "Signature doesn't match prescription.");
      assert.deepEqual(oo.issue[0]?.expression, ['Provenance.signature.data']);

      const forged = await post(t, '$process-message', await signedOrder(t, 'RS256', impostor, signer));
      assert.equal(forged.status, 400, forged.text);
      assert.equal(epsCode(forged.body as OperationOutcome), 'INVALID_VALUE');
      assert.equal((forged.body as OperationOutcome).issue[0]?.details?.coding?.[0]?.display, 'Signature is invalid.');

      const moved = structuredClone(good);
      (moved.entry!.find((e) => e.resource?.resourceType === 'Provenance')!.resource as Provenance).signature![0]!.when = '2020-01-01T00:00:00+00:00';
      assert.equal(epsCode((await post(t, '$process-message', moved)).body as OperationOutcome), 'INVALID');
      const noWhen = structuredClone(good);
      delete ((noWhen.entry!.find((e) => e.resource?.resourceType === 'Provenance')!.resource as Provenance).signature![0] as { when?: string }).when;
      assert.equal(epsCode((await post(t, '$process-message', noWhen)).body as OperationOutcome), 'INVALID_VALUE');

      const exampleSigned = await post(t, '$process-message', example(...ACUTE, '1-Process-Request-Send-200_OK.json'));
      assert.equal(exampleSigned.status, 400, exampleSigned.text);
      assert.equal((await tasks(t)).length, 0);
      assert.equal((await post(t, '$process-message', good)).status, 200);
    } finally {
      await t.close();
    }
  });

  it('off (the default): a present, parseable signature is enough, even over other content', async function () {
    this.timeout(60000);
    const t = testApp();
    try {
      assert.equal(t.config.epsSignatureVerification, 'off');
      const res = await post(t, '$process-message', tamper(await signedOrder(t, 'RS256', signer)));
      assert.equal(res.status, 200, res.text);
    } finally {
      await t.close();
    }
  });
});
