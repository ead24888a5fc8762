/**
 * Stateless, tamper-proof paging cursors (FHIR R4 §3.1.1.6 search.html "Paging" and §2.36.4
 * bundle.html links `self`/`next`/`previous`: the server decides what the page links contain).
 *
 * A cursor is `base64url(JSON payload) "." base64url(HMAC-SHA256(key, payload))`. The payload binds the
 * cursor to the query it was issued for (a hash of the request path and its parameters, so it cannot
 * be replayed on another search), the sort, the position (an offset and, when the store supports
 * keyset paging, the store's opaque keyset position), the page size and the time it was created. No
 * state is kept on the server: any instance sharing the key (CURSOR_SECRET) can serve any page.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FhirError } from '../fhir/outcome';
import type { SearchPosition } from './ir';

export interface CursorPayload {
  /** Format version. */
  v: 1;
  /** Hash of the request path and its selecting parameters (see `queryHash`). */
  h: string;
  /** The `_sort` specification as written ('' when none). */
  s: string;
  /** Offset of the page's first entry in the sorted result. */
  o: number;
  /** Keyset position to continue after (from the store's `SearchPage.next`), when there is one. */
  a?: SearchPosition;
  /** Page size. */
  c: number;
  /** Created at, epoch seconds. */
  t: number;
  /** The total counted on the first page, carried so later pages need not count again. */
  n?: number;
}

const MAX_CURSOR_LENGTH = 4096;

let processKey: Buffer | undefined;

/** The signing key: the configured secret, else a random key made once per process. */
export function cursorKey(secret: string | undefined): Buffer {
  if (secret !== undefined) return Buffer.from(secret, 'utf8');
  processKey ??= randomBytes(32);
  return processKey;
}

/** A hash identifying a query: its path and parameters in order (callers drop the paging ones first). */
export function queryHash(path: string, params: ReadonlyArray<readonly [string, string]>, caller?: string): string {
  const h = createHash('sha256');
  h.update(path);
  for (const [k, v] of params) h.update(`\u0000${k}\u0001${v}`);
  // Bound to the caller's view of the data (AccessControl.key): another caller's cursor does not verify.
  if (caller !== undefined) h.update(`\u0002${caller}`);
  return h.digest('base64url').slice(0, 22);
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

export function signCursor(payload: CursorPayload, key: Buffer): string {
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

function bad(reason: string): FhirError {
  return new FhirError('invalid', { code: 'invalid', diagnostics: `_cursor: ${reason}; restart the search from its first page`, expression: ['_cursor'] });
}

function isPosition(x: unknown): x is SearchPosition {
  return Array.isArray(x) && x.length <= 64 && x.every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)));
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/**
 * Checks a cursor's signature and shape and returns its payload. A cursor that was altered, signed
 * with another key, or is malformed throws `FhirError('invalid')` (400).
 */
export function verifyCursor(token: string, key: Buffer): CursorPayload {
  if (token.length > MAX_CURSOR_LENGTH) throw bad('the cursor is too long');
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!m) throw bad('the cursor is malformed');
  const body = m[1]!;
  // Compared as text: base64url has spare bits, so decoding first would accept altered spellings.
  const given = Buffer.from(m[2]!, 'utf8');
  const expected = Buffer.from(mac(key, body).toString('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad('the cursor was not issued by this server or was altered');
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw bad('the cursor is malformed');
  }
  const o = p as Partial<CursorPayload> | null;
  if (
    !o ||
    typeof o !== 'object' ||
    o.v !== 1 ||
    typeof o.h !== 'string' ||
    typeof o.s !== 'string' ||
    !isCount(o.o) ||
    !isCount(o.c) ||
    !isCount(o.t) ||
    (o.a !== undefined && !isPosition(o.a)) ||
    (o.n !== undefined && !isCount(o.n))
  ) {
    throw bad('the cursor is malformed');
  }
  const out: CursorPayload = { v: 1, h: o.h, s: o.s, o: o.o, c: o.c, t: o.t };
  if (o.a !== undefined) out.a = o.a;
  if (o.n !== undefined) out.n = o.n;
  return out;
}
