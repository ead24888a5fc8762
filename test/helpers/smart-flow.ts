/**
 * Helpers of the SMART authorization server suites (SMART App Launch 2.0.0 app-launch.html;
 * RFC 7636 PKCE; RFC 7523 client assertions): PKCE pairs, client assertions, and the form fields of
 * the login and picker pages.
 */
import { createHash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The value of a hidden input of an HTML form. */
export function hiddenField(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  if (!m?.[1]) throw new Error(`no hidden field ${name} in the page`);
  return m[1];
}

/** The `name=value` of a Set-Cookie header. */
export function cookieFrom(setCookie: string[] | string | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (!first) throw new Error('no Set-Cookie');
  return first.split(';')[0] ?? '';
}

export interface AssertionOptions {
  clientId: string;
  aud: string;
  key: KeyObject;
  kid: string;
  alg?: 'RS384' | 'ES384' | 'RS256';
  jti?: string;
  /** Seconds from now (default 240). */
  expiresIn?: number;
  iss?: string;
}

export function clientAssertion(o: AssertionOptions): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iss: o.iss ?? o.clientId, sub: o.clientId, aud: o.aud, jti: o.jti ?? randomUUID(), exp: now + (o.expiresIn ?? 240), iat: now }, o.key, {
    algorithm: o.alg ?? 'RS384',
    keyid: o.kid,
    noTimestamp: true,
  });
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
