/**
 * SMART tokens for the PDS façade suites (SMART App Launch 2.0.0; the pattern of
 * test/security/compartment-fixture.ts): an app with AUTH_MODE=smart verifying RS256 tokens signed
 * with a key generated per run, and tokens of the three PDS access modes.
 */
import crypto, { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { TEST_BASE, type TestApp } from '../../helpers/test-app';
import { pdsApp } from './helpers';

const ISSUER = 'http://localhost:8080/auth';

export interface SmartPds {
  t: TestApp;
  /** Healthcare worker access (user/ scopes). */
  worker(): string;
  /** Patient access for `patient` (patient/ scopes). */
  patient(patient: string, scope?: string): string;
  /** Application-restricted access (system/ scopes). */
  application(): string;
}

export function smartPdsApp(env: Readonly<Record<string, string>> = {}): SmartPds {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const t = pdsApp({ AUTH_MODE: 'smart', ...env }, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
  const sign = (claims: Record<string, unknown>): string =>
    jwt.sign({ client_id: 'pds-app', sub: String(claims['patient'] ?? 'someone'), jti: crypto.randomUUID(), ...claims }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE, expiresIn: 600 });
  return {
    t,
    worker: () => sign({ scope: 'openid fhirUser user/*.cruds' }),
    patient: (patient, scope = 'patient/*.cruds') => sign({ scope: `launch/patient openid fhirUser ${scope}`, patient }),
    application: () => sign({ scope: 'system/*.cruds' }),
  };
}
