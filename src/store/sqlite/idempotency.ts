/**
 * Idempotent writes in the SQLite store (PDS FHIR API "X-Request-ID": a retried request with the same
 * id must not be applied twice): the claim / remember / release statements over the `idempotency`
 * table (schema V4), run as group-commit units on the write connection so a claim is atomic across
 * requests and across server instances sharing the database file.
 */
import type { IdempotencyRecord, RememberedResponse } from '../store';
import type { StatementCache } from './connection';

interface Row {
  state: string;
  status: number | null;
  headers: string | null;
  body: string | null;
  expires_at: number;
}

/** Purge every expired row once in this many claims. */
const PURGE_EVERY = 256;
let claims = 0;

export function claimRequestRow(st: StatementCache, key: string, pendingUntil: number, now: number): IdempotencyRecord | undefined {
  if (++claims % PURGE_EVERY === 0) st.get('DELETE FROM idempotency WHERE expires_at <= ?').run(now);
  else st.get('DELETE FROM idempotency WHERE key = ? AND expires_at <= ?').run(key, now);
  const inserted = st.get("INSERT INTO idempotency (key, state, expires_at) VALUES (?, 'pending', ?) ON CONFLICT (key) DO NOTHING").run(key, pendingUntil);
  if (inserted.changes === 1) return undefined;
  const row = st.get('SELECT state, status, headers, body, expires_at FROM idempotency WHERE key = ?').get(key) as Row | undefined;
  if (!row) return undefined;
  if (row.state !== 'done' || row.status === null) return { state: 'pending', expiresAt: row.expires_at };
  const response: RememberedResponse = { status: row.status, headers: JSON.parse(row.headers ?? '{}') as Record<string, string> };
  if (row.body !== null) response.body = row.body;
  return { state: 'done', response, expiresAt: row.expires_at };
}

export function rememberResponseRow(st: StatementCache, key: string, response: RememberedResponse, expiresAt: number): void {
  st.get(
    "INSERT INTO idempotency (key, state, status, headers, body, expires_at) VALUES (?, 'done', ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = 'done', status = excluded.status, headers = excluded.headers, body = excluded.body, expires_at = excluded.expires_at",
  ).run(key, response.status, JSON.stringify(response.headers), response.body ?? null, expiresAt);
}

export function releaseRequestRow(st: StatementCache, key: string): void {
  st.get("DELETE FROM idempotency WHERE key = ? AND state = 'pending'").run(key);
}
