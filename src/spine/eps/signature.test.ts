import assert from 'node:assert/strict';
import type { MedicationRequest } from 'fhir/r4';
import fc from 'fast-check';
import { signDigest, testSigner, type TestSigner } from '../../../test/helpers/eps-signing';
import { normaliseSigningTimestamp, prepareSignature, prescriptionContent, signingTimestamp, verifyPrescriptionSignature, type SignedLineItem } from './signature';

function item(id: string, quantity = 63): SignedLineItem {
  const resource = {
    resourceType: 'MedicationRequest',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: id }],
    status: 'active',
    intent: 'order',
    subject: { reference: 'urn:uuid:p' },
    groupIdentifier: { system: 'https://fhir.nhs.uk/Id/prescription-order-number', value: '24F5DA-A83008-7EFE6Z' },
    dispenseRequest: { quantity: { value: quantity, unit: 'tablet' } },
  } as MedicationRequest;
  return { fullUrl: `urn:uuid:${id}`, resource };
}
const AT = '2024-12-09T11:50:04+00:00';

function signedInfoOf(digest: string): string {
  return Buffer.from(digest, 'base64').toString('utf8');
}

describe('EPS prescription signing (SignedInfo, exc-c14n digest)', () => {
  let signer: TestSigner;
  before(async function () {
    this.timeout(60000);
    signer = await testSigner();
  });

  it('gives the same digest for the same prescription and timestamp, another for another timestamp or content', () => {
    const a = prepareSignature([item('a'), item('b')], AT, 'RS256');
    assert.equal(prepareSignature([item('a'), item('b')], AT, 'RS256').digest, a.digest);
    assert.notEqual(prepareSignature([item('a'), item('b')], '2024-12-09T11:50:05+00:00', 'RS256').digestValue, a.digestValue);
    assert.notEqual(prepareSignature([item('a'), item('b', 64)], AT, 'RS256').digestValue, a.digestValue);
    assert.notEqual(prepareSignature([item('b'), item('a')], AT, 'RS256').digestValue, a.digestValue);
  });

  it('writes the SignedInfo of the examples: exc-c14n, rsa-sha256/sha256 (RS256) or rsa-sha1/sha1 (RS1)', () => {
    const rs256 = signedInfoOf(prepareSignature([item('a')], AT, 'RS256').digest);
    assert.match(rs256, /^<SignedInfo xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#"><CanonicalizationMethod Algorithm="http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#"><\/CanonicalizationMethod>/);
    assert.ok(rs256.includes('<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></SignatureMethod>'));
    assert.ok(rs256.includes('<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></DigestMethod>'));
    const rs1 = prepareSignature([item('a')], AT, 'RS1');
    assert.ok(signedInfoOf(rs1.digest).includes('<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"></SignatureMethod>'));
    assert.equal(Buffer.from(rs1.digestValue, 'base64').length, 20);
    assert.equal(Buffer.from(prepareSignature([item('a')], AT, 'RS256').digestValue, 'base64').length, 32);
  });

  it('digests canonical FHIR XML carrying the timestamp and the MedicationRequests', () => {
    const xml = prescriptionContent([item('a')], AT);
    assert.ok(xml.startsWith('<Bundle xmlns="http://hl7.org/fhir"><type value="collection"></type><timestamp value="2024-12-09T11:50:04+00:00"></timestamp>'));
    assert.ok(xml.includes('<MedicationRequest>') && xml.includes('<value value="63"></value>'));
  });

  it('verifies a signature over the prepared SignedInfo (RS256 and RS1), refuses tampering, another key, an expired certificate', async function () {
    this.timeout(60000);
    for (const alg of ['RS256', 'RS1'] as const) {
      const sig = Buffer.from(signDigest(prepareSignature([item('a')], AT, alg).digest, signer), 'base64').toString('utf8');
      assert.equal(verifyPrescriptionSignature(sig, [item('a')], AT, new Date()), undefined, alg);
      assert.equal(verifyPrescriptionSignature(sig, [item('a', 99)], AT, new Date())?.kind, 'mismatch', alg);
      assert.equal(verifyPrescriptionSignature(sig, [item('a')], '2024-12-09T11:50:05+00:00', new Date())?.kind, 'mismatch', alg);
    }
    const good = Buffer.from(signDigest(prepareSignature([item('a')], AT, 'RS256').digest, signer), 'base64').toString('utf8');
    const other = await testSigner();
    const otherCert = good.replace(signer.certificate, other.certificate);
    assert.equal(verifyPrescriptionSignature(otherCert, [item('a')], AT, new Date())?.kind, 'invalid');
    assert.equal(verifyPrescriptionSignature(good, [item('a')], AT, new Date(Date.now() + 3 * 86400_000))?.kind, 'invalid');
    assert.equal(verifyPrescriptionSignature(good.replace(/<SignatureValue>[^<]*</, '<SignatureValue><'), [item('a')], AT, new Date())?.kind, 'invalid');
    assert.equal(verifyPrescriptionSignature('<Signature>', [item('a')], AT, new Date())?.kind, 'invalid');
    const hidden = good.replace(/(<SignedInfo[\s\S]*<\/SignedInfo>)/, '<Object>$1</Object>');
    assert.equal(verifyPrescriptionSignature(hidden, [item('a')], AT, new Date())?.kind, 'invalid', 'a SignedInfo below an Object is not the signature\'s');
  });

  it('never throws on arbitrary signature text, and accepts none of it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>', '<a><b></a>', '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')), (s) => {
        assert.notEqual(verifyPrescriptionSignature(s, [item('a')], AT, new Date()), undefined);
      }),
      { numRuns: 200 },
    );
  });

  it('normalises signing timestamps to the seconds-and-offset form of the examples', () => {
    assert.equal(signingTimestamp(new Date('2024-12-09T11:50:04.123Z')), AT);
    assert.equal(normaliseSigningTimestamp('2024-12-09T12:50:04+01:00'), AT);
    assert.equal(normaliseSigningTimestamp('2024-12-09'), undefined);
    assert.equal(normaliseSigningTimestamp('yesterday'), undefined);
  });
});
