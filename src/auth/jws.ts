/**
 * Decoding the JWS compact serialization of a JWT before any key is chosen (RFC 7515 §7.1 compact
 * serialization and §5.2 validation steps 1-5; RFC 7519 §7.2 steps 1-6: the header and the claims set
 * must be UTF-8 JSON objects; RFC 8725 §3.1 and §3.11: the algorithm and the token type are checked by
 * the recipient).
 *
 * `decodeJws` never throws: anything that is not three base64url segments whose first two are JSON
 * objects (with a string `alg`, a string `kid` when present) is `undefined`. Every token and client
 * assertion the server receives goes through it before `jsonwebtoken` sees it: `jsonwebtoken.decode`
 * throws a SyntaxError for a header `typ: JWT` over a payload that is not JSON, which used to escape
 * as a 500 with a stack trace.
 */

export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: unknown;
  [parameter: string]: unknown;
}

export interface DecodedJws {
  header: JwsHeader;
  /** The JWT claims set (a JSON object). */
  payload: Record<string, unknown>;
}

/** Three base64url segments (the signature may be empty, as for `alg: none`). */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Longer than any token this server issues or accepts by far; a bound on the work done for garbage. */
export const MAX_JWS_LENGTH = 16 * 1024;

function jsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The header and claims of a compact JWS, or undefined when it is not one (never throws). */
export function decodeJws(token: unknown): DecodedJws | undefined {
  if (typeof token !== 'string' || token.length > MAX_JWS_LENGTH || !COMPACT.test(token)) return undefined;
  const [h, p] = token.split('.');
  const header = jsonObject(h ?? '');
  if (!header || typeof header['alg'] !== 'string') return undefined;
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string') return undefined;
  const payload = jsonObject(p ?? '');
  if (!payload) return undefined;
  return { header: header as JwsHeader, payload };
}
