/**
 * Table-driven search conformance (FHIR R4 §3.1.1 search.html): one row is a query and the exact
 * set (or order) of resources it must return, written by hand from the data's contents. Rows run
 * over HTTP (supertest) against the real app with `Prefer: handling=strict`, so a parameter the
 * server does not support fails its row with the server's 4xx/501 instead of being silently ignored.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { FHIR_JSON, TEST_BASE, type TestApp } from '../helpers/test-app';

export interface SearchRow {
  /** The feature the row proves (parameter type, prefix, modifier, result parameter ...). */
  feature: string;
  /** Path and query below the base, e.g. `Patient?family=Solo` or `?_type=Patient` (system search). */
  query: string | (() => string);
  /** `Type/id` of the entries with search.mode `match` (as a set unless `ordered`). */
  match: string[];
  /** `Type/id` of the entries with search.mode `include` (as a set); none when absent. */
  include?: string[];
  /** The match entries must come in exactly this order. */
  ordered?: boolean;
  /** Expected Bundle.total. */
  total?: number;
  /** POST `[type]/_search` with the query as a form body instead of GET. */
  post?: boolean;
  /** Follow `next` links: the match entries of each following page, in order. */
  nextPages?: string[][];
  /** Extra check of the whole Bundle; returns a problem or undefined. */
  check?: (bundle: Bundle) => string | undefined;
}

const key = (r: Resource | undefined): string => `${r?.resourceType ?? '?'}/${r?.id ?? '?'}`;

/** The base-relative path of an absolute link under TEST_BASE. */
export function localLink(url: string): string {
  assert.ok(url.startsWith(TEST_BASE), `link ${url} is not under ${TEST_BASE}`);
  return `/fhir${url.slice(TEST_BASE.length)}`;
}

export async function fetchBundle(app: TestApp['app'], path: string, post = false): Promise<Bundle> {
  let res: request.Response;
  if (post) {
    const q = path.indexOf('?');
    const target = q >= 0 ? path.slice(0, q) : path;
    const body = q >= 0 ? path.slice(q + 1) : '';
    res = await request(app)
      .post(`/fhir/${target}/_search`)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Accept', FHIR_JSON)
      .set('Prefer', 'handling=strict')
      .send(body);
  } else {
    res = await request(app).get(path.startsWith('/fhir') ? path : `/fhir/${path}`).set('Accept', FHIR_JSON).set('Prefer', 'handling=strict');
  }
  const shown = JSON.stringify(res.body).slice(0, 400);
  assert.equal(res.status, 200, `GET ${path} -> ${res.status} ${shown}`);
  const bundle = res.body as Bundle;
  assert.equal(bundle.resourceType, 'Bundle', `not a Bundle: ${shown}`);
  assert.equal(bundle.type, 'searchset');
  return bundle;
}

export function entriesWithMode(bundle: Bundle, mode: 'match' | 'include'): string[] {
  return (bundle.entry ?? []).filter((e: BundleEntry) => (e.search?.mode ?? 'match') === mode && e.resource).map((e) => key(e.resource));
}

function setDiff(what: string, expected: string[], actual: string[]): string | undefined {
  const exp = new Set(expected);
  const act = new Set(actual);
  const missing = [...exp].filter((x) => !act.has(x));
  const extra = [...act].filter((x) => !exp.has(x));
  const dupes = actual.length !== act.size ? actual.filter((x, i) => actual.indexOf(x) !== i) : [];
  if (missing.length === 0 && extra.length === 0 && dupes.length === 0) return undefined;
  const parts = [`${what}: expected ${exp.size}, got ${act.size}`];
  if (missing.length > 0) parts.push(`missing ${missing.join(', ')}`);
  if (extra.length > 0) parts.push(`unexpected ${extra.slice(0, 15).join(', ')}${extra.length > 15 ? ` ... (+${extra.length - 15})` : ''}`);
  if (dupes.length > 0) parts.push(`duplicated ${dupes.join(', ')}`);
  return parts.join('; ');
}

function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === 'next')?.url;
}

/** Runs one row; throws an AssertionError naming every difference. */
export async function runRow(app: TestApp['app'], row: SearchRow): Promise<void> {
  const query = typeof row.query === 'function' ? row.query() : row.query;
  const bundle = await fetchBundle(app, query, row.post);
  const problems: string[] = [];
  const match = entriesWithMode(bundle, 'match');
  if (row.ordered) {
    if (JSON.stringify(match) !== JSON.stringify(row.match)) problems.push(`order: expected [${row.match.join(', ')}], got [${match.join(', ')}]`);
  } else {
    const d = setDiff('match', row.match, match);
    if (d) problems.push(d);
  }
  const d = setDiff('include', row.include ?? [], entriesWithMode(bundle, 'include'));
  if (d) problems.push(d);
  if (row.total !== undefined && bundle.total !== row.total) problems.push(`total: expected ${row.total}, got ${String(bundle.total)}`);
  const extra = row.check?.(bundle);
  if (extra) problems.push(extra);
  let page = bundle;
  for (const [i, expected] of (row.nextPages ?? []).entries()) {
    const next = nextLink(page);
    if (!next) {
      problems.push(`page ${i + 2}: no next link`);
      break;
    }
    page = await fetchBundle(app, localLink(next));
    const got = entriesWithMode(page, 'match');
    if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`page ${i + 2}: expected [${expected.join(', ')}], got [${got.join(', ')}]`);
  }
  if (problems.length > 0) assert.fail(`${query}\n    ${problems.join('\n    ')}`);
}

/** `Type/id` for each id. */
export const ids = (type: string, ...list: string[]): string[] => list.map((id) => `${type}/${id}`);

/** Registers one mocha test per row; `app()` is resolved when the test runs (after `before`). */
export function rowTests(rows: SearchRow[], app: () => TestApp['app'] | undefined, skipReason: string): void {
  for (const row of rows) {
    const label = typeof row.query === 'function' ? `${row.feature} (query built at run time)` : `${row.feature}: ${row.query}`;
    it(label, async function () {
      const a = app();
      if (!a) {
        console.log(`      skipped: ${skipReason}`);
        this.skip();
      }
      await runRow(a, row);
    });
  }
}
