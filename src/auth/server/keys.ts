/**
 * Signing keys of the built-in authorization server (SMART App Launch 2.0.0 app-launch.html "Access
 * token"; RFC 7517 JSON Web Key, RFC 7638 JWK thumbprint, RFC 7515 `kid`).
 *
 * Access and id tokens are signed RS256 with an RSA 2048 key whose `kid` is its JWK thumbprint. The
 * keys live in `DATA_DIR/auth-keys.json` (mode 0600), created on first start; without a data
 * directory (`SQLITE_PATH=:memory:`) they live in memory for the life of the process. The file holds
 * a list of keys, newest first: the newest signs, every one verifies and is published in the JWKS,
 * so a key can be rotated by adding a new one in front and removing the old one after the longest
 * token lifetime has passed.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SigningKeys {
  /** The kid of the signing key. */
  kid: string;
  alg: 'RS256';
  privateKey: KeyObject;
  /** The public key with that kid (the signing key or an older one still published), if any. */
  publicKey(kid: string): KeyObject | undefined;
  /** The published JSON Web Key Set (public parts only). */
  jwks(): { keys: JsonWebKey[] };
}

export const KEYS_FILE = 'auth-keys.json';

interface StoredKey {
  kid: string;
  /** Private JWK of the RSA key. */
  jwk: JsonWebKey;
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an RSA public JWK: the required members in lexicographic order. */
export function rsaThumbprint(jwk: JsonWebKey): string {
  if (jwk.kty !== 'RSA' || typeof jwk.e !== 'string' || typeof jwk.n !== 'string') throw new Error('not an RSA public JWK');
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

function generateKey(): StoredKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { kid: rsaThumbprint(jwk), jwk };
}

function readKeys(file: string): StoredKey[] {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const list = (raw as { keys?: unknown }).keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${file} holds no keys (expected {"keys": [{"kid", "jwk"}, ...]})`);
  return list.map((k: unknown, i) => {
    const jwk = (k as { jwk?: unknown }).jwk as JsonWebKey | undefined;
    if (!jwk || jwk.kty !== 'RSA' || typeof jwk.d !== 'string') throw new Error(`${file}: key ${i} is not a private RSA JWK`);
    return { kid: rsaThumbprint(jwk), jwk };
  });
}

/** Builds the key set from stored keys (the first one signs). */
export function signingKeysOf(stored: readonly StoredKey[]): SigningKeys {
  const first = stored[0];
  if (!first) throw new Error('no signing key');
  const publics = new Map<string, { key: KeyObject; jwk: JsonWebKey }>();
  for (const s of stored) {
    const key = createPublicKey({ key: s.jwk, format: 'jwk' });
    const pub = key.export({ format: 'jwk' });
    publics.set(s.kid, { key, jwk: { kty: pub.kty, n: pub.n, e: pub.e, kid: s.kid, alg: 'RS256', use: 'sig' } });
  }
  const privateKey = createPrivateKey({ key: first.jwk, format: 'jwk' });
  return {
    kid: first.kid,
    alg: 'RS256',
    privateKey,
    publicKey: (kid) => publics.get(kid)?.key,
    jwks: () => ({ keys: [...publics.values()].map((p) => ({ ...p.jwk })) }),
  };
}

/**
 * The server's signing keys: read from `dataDir/auth-keys.json`, created there (0600) when absent;
 * generated in memory when `dataDir` is undefined.
 */
export function loadSigningKeys(dataDir: string | undefined): SigningKeys {
  if (dataDir === undefined) return signingKeysOf([generateKey()]);
  const file = path.join(dataDir, KEYS_FILE);
  if (fs.existsSync(file)) {
    // Keys readable by others are tightened rather than refused: the file is ours.
    fs.chmodSync(file, 0o600);
    return signingKeysOf(readKeys(file));
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = generateKey();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ keys: [key] }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return signingKeysOf([key]);
}
