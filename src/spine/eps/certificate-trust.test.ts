import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parsePemBundle } from '../../formats/pem';
import { testCa, testSigner, type TestCa, type TestSigner } from '../../../test/helpers/eps-signing';
import { certificateTrustProblem } from './certificate-trust';

const der = (b64: string): X509Certificate => new X509Certificate(Buffer.from(b64, 'base64'));

describe('EPS signing certificate trust', function () {
  this.timeout(60000);
  let ca: TestCa;
  let other: TestCa;
  let leaf: TestSigner;
  before(async () => {
    [ca, other] = await Promise.all([testCa(), testCa({ name: 'CN=Other CA, O=Elsewhere' })]);
    leaf = await testSigner({ issuer: ca });
  });

  it('trusts a leaf issued by a trusted CA, and not one of another CA or a self-signed one', async () => {
    const now = new Date();
    assert.equal(certificateTrustProblem(der(leaf.certificate), [], [der(ca.certificate)], now), undefined);
    assert.equal(certificateTrustProblem(der(leaf.certificate), [], [der(other.certificate)], now), 'The signing certificate is not issued by a trusted CA.');
    const self = await testSigner();
    assert.equal(certificateTrustProblem(der(self.certificate), [], [der(ca.certificate)], now), 'The signing certificate is not issued by a trusted CA.');
    // A CA of the same name but another key did not sign it.
    const impostor = await testCa();
    assert.equal(certificateTrustProblem(der(leaf.certificate), [], [der(impostor.certificate)], now), 'The signing certificate is not issued by a trusted CA.');
  });

  it('refuses an expired leaf, and a leaf of an expired CA', async () => {
    const now = new Date();
    const expired = await testSigner({ issuer: ca, days: -2 });
    assert.equal(certificateTrustProblem(der(expired.certificate), [], [der(ca.certificate)], now), 'The signing certificate is not valid now.');
    const oldCa = await testCa({ days: -1, name: 'CN=Old CA' });
    const ofOld = await testSigner({ issuer: oldCa });
    assert.equal(certificateTrustProblem(der(ofOld.certificate), [], [der(oldCa.certificate)], now), 'The trusted CA that issued the signing certificate is not valid now.');
  });

  it('follows an intermediate CA carried with the leaf; a leaf is never an issuer', async () => {
    const now = new Date();
    const intermediate = await testCa({ issuer: ca, name: 'CN=Test Intermediate CA' });
    const deep = await testSigner({ issuer: intermediate });
    assert.equal(certificateTrustProblem(der(deep.certificate), [der(intermediate.certificate)], [der(ca.certificate)], now), undefined);
    assert.equal(certificateTrustProblem(der(deep.certificate), [], [der(ca.certificate)], now), 'The signing certificate is not issued by a trusted CA.');
    // A self-signed certificate that is not a CA, in the bundle, does not make itself trusted.
    const self = await testSigner();
    assert.equal(certificateTrustProblem(der(self.certificate), [], [der(self.certificate)], now), 'The signing certificate is not issued by a trusted CA.');
  });

  it('parses PEM bundles of several certificates; refuses one without certificates or with a broken one', () => {
    assert.equal(parsePemBundle(`${ca.pem}\n${other.pem}\n`).length, 2);
    assert.throws(() => parsePemBundle('not a certificate'), /no PEM certificate/);
    assert.throws(() => parsePemBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /certificate 1 does not parse/);
  });
});
