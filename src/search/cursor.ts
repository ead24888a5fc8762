/**
 * Stateless, tamper-proof paging cursors (FHIR R4 §3.1.1.6 search.html "Paging" and §2.36.4
 * bundle.html links `self`/`next`/`previous`: the server decides what the page links contain).
 *
 * A cursor is `base64url(JSON payload) "." base64url(HMAC-SHA256(key, payload))`. The payload binds the
 * cursor to the query it was issued for (a hash of the request path and the parameters applied, and
 * of the caller, so it cannot be replayed on another search or by another caller), the sort, the
 * position (the store's keyset position, or a starting offset for the `self` link of an `_offset`
 * page), the page size, the time it was created, and what the walk carries from its first page: the
 * total and the store's watermark. No state is kept on the server: any instance sharing the key
 * (CURSOR_SECRET) can serve any page.
 *
 * Positions may hold ±Infinity (open date ranges, unbounded Ranges), which JSON cannot: such a value
 * travels as `{"inf": 1}` / `{"inf": -1}` (a position holds no other objects).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FhirError } from '../fhir/outcome';
import type { SearchPosition } from './ir';

export interface CursorPayload {
  /** Format version (2: keyset positions everywhere; version 1 cursors are refused). */
  v: 2;
  /** Hash of the request path, its applied selecting parameters and the caller (see `queryHash`). */
  h: string;
  /** The `_sort` specification as applied ('' when none). */
  s: string;
  /** Offset of the page's first entry, for a page that starts at an offset (`_offset`) rather than a position. */
  o?: number;
  /** Keyset position to continue after (from the store's `SearchPage.next` / `HistoryPage.next`). */
  a?: SearchPosition;
  /** Page size. */
  c: number;
  /** Created at, epoch seconds. */
  t: number;
  /** The total counted on the first page, carried so later pages need not count again. */
  n?: number;
  /** The store's watermark when the first page was served (SearchPage.watermark), epoch ms. */
  w?: number;
}

const MAX_CURSOR_LENGTH = 4096;

let processKey: Buffer | undefined;

/** The signing key: the configured secret, else a random key made once per process. */
export function cursorKey(secret: string | undefined): Buffer {
  if (secret !== undefined) return Buffer.from(secret, 'utf8');
  processKey ??= randomBytes(32);
  return processKey;
}

/** A hash identifying a query: its path and applied parameters in order (callers drop the paging ones first). */
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

type EncodedValue = string | number | null | { inf: 1 | -1 };

function encodePosition(a: SearchPosition): EncodedValue[] {
  return a.map((x) => (typeof x === 'number' && !Number.isFinite(x) ? { inf: x > 0 ? 1 : -1 } : x));
}

function decodePosition(x: unknown): SearchPosition | undefined {
  if (!Array.isArray(x) || x.length > 64) return undefined;
  const out: Array<string | number | null> = [];
  for (const v of x as unknown[]) {
    if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out.push(v);
    else if (typeof v === 'object' && Object.keys(v).length === 1 && ((v as { inf?: unknown }).inf === 1 || (v as { inf?: unknown }).inf === -1)) {
      out.push((v as { inf: number }).inf * Infinity);
    } else return undefined;
  }
  return out;
}

export function signCursor(payload: CursorPayload, key: Buffer): string {
  const wire = payload.a !== undefined ? { ...payload, a: encodePosition(payload.a) } : payload;
  const body = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

function bad(reason: string): FhirError {
  return new FhirError('invalid', { code: 'invalid', diagnostics: `_cursor: ${reason}; restart the search from its first page`, expression: ['_cursor'] });
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/**
 * Checks a cursor's signature and shape and returns its payload. A cursor that was altered, signed
 * with another key, is malformed or of an older format throws `FhirError('invalid')` (400).
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
  const o = p as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.v === 1) throw bad('the cursor was issued by an older version of this server');
  const a = o && typeof o === 'object' && o.a !== undefined ? decodePosition(o.a) : undefined;
  if (
    !o ||
    typeof o !== 'object' ||
    o.v !== 2 ||
    typeof o.h !== 'string' ||
    typeof o.s !== 'string' ||
    (o.o !== undefined && !isCount(o.o)) ||
    !isCount(o.c) ||
    !isCount(o.t) ||
    (o.a !== undefined && a === undefined) ||
    (o.n !== undefined && !isCount(o.n)) ||
    (o.w !== undefined && !(typeof o.w === 'number' && Number.isSafeInteger(o.w)))
  ) {
    throw bad('the cursor is malformed');
  }
  const out: CursorPayload = { v: 2, h: o.h, s: o.s, c: o.c, t: o.t };
  if (o.o !== undefined) out.o = o.o as number;
  if (a !== undefined) out.a = a;
  if (o.n !== undefined) out.n = o.n as number;
  if (o.w !== undefined) out.w = o.w as number;
  return out;
}
