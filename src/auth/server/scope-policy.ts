/**
 * Which scopes a client may be granted (SMART App Launch 2.0.0 scopes-and-launch-context.html;
 * RFC 6749 §3.3 access token scope).
 *
 * A requested scope is allowed when one of the client's registered scopes covers it: the same token,
 * or a resource scope of the same context (`patient`/`user`/`system`) whose type is `*` or the same
 * type, whose permissions include every requested one (v1 `read` = `rs`, `write` = `cud`, `*` =
 * `cruds`), and which has no query restriction or the same one. Refresh requests use the same test
 * against the scopes originally granted, so a refresh can narrow but never widen.
 */
import { parseScope } from '../scopes';

/** Splits a space-separated scope string into distinct tokens, in order. */
export function scopeTokens(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  return [...new Set(scope.split(/\s+/).filter((s) => s.length > 0))];
}

function sameQuery(a: ReadonlyArray<readonly [string, string]> | undefined, b: ReadonlyArray<readonly [string, string]> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const key = (q: ReadonlyArray<readonly [string, string]>): string => JSON.stringify([...q].map(([k, v]) => `${k}=${v}`).sort());
  return key(a) === key(b);
}

/** Whether the scope token `allowed` covers the requested token. */
export function covers(allowed: string, requested: string): boolean {
  if (allowed === requested) return true;
  const a = parseScope(allowed);
  const r = parseScope(requested);
  if (!a || !r) return false;
  if (a.context !== r.context) return false;
  if (a.resourceType !== '*' && a.resourceType !== r.resourceType) return false;
  if (!r.permissions.every((p) => a.permissions.includes(p))) return false;
  // An unrestricted allowed scope covers a query-restricted request; a restricted one only the same restriction.
  return a.query === undefined || sameQuery(a.query, r.query);
}

/** The requested tokens no allowed token covers (empty: all allowed). */
export function uncovered(requested: readonly string[], allowed: readonly string[]): string[] {
  return requested.filter((r) => !allowed.some((a) => covers(a, r)));
}
