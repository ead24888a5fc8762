/**
 * Oversized requests for the limits suite (FHIR R4 search.html §3.1.1.3 OR by comma and AND by
 * repetition, §3.1.1.7 `_sort`, `_include`, `_elements`, chaining and `_has`; bundle.html batch and
 * transaction; http.html create): a small description (`OversizedSpec`: a kind and a size) that
 * prints short in a counterexample, and the request it stands for. Searches go as GET while the
 * request line stays under Node's 16 KiB header limit, otherwise as POST `_search` with a form body.
 */
import type { RawRequest } from './http-client';

export const OVERSIZED_KINDS = [
  'or-string',
  'or-token',
  'or-date',
  'or-reference',
  'repeated-params',
  'sort-keys-chained',
  'sort-keys-mixed',
  'includes',
  'elements',
  'has-hops',
  'chain-hops',
  'long-search-value',
  'transaction-entries',
  'batch-entries',
  'array-items',
  'contained-resources',
  'huge-string-element',
] as const;

export type OversizedKind = (typeof OVERSIZED_KINDS)[number];

export interface OversizedSpec {
  kind: OversizedKind;
  /** How many values, keys, entries, items or characters. */
  n: number;
  /** GET when it fits (false: always POST _search). */
  preferGet: boolean;
}

const SORT_MIXED = ['name', 'birthdate', '-_id', 'family', 'given', 'gender', '_lastUpdated', 'general-practitioner.name', 'organization.name', 'address-city', '-telecom', 'identifier', '-address', 'phonetic', 'death-date'];
const INCLUDES = ['_include=Patient:general-practitioner', '_include=Patient:organization', '_include:iterate=Patient:link', '_revinclude=Observation:subject', '_revinclude=Basic:subject', '_revinclude:iterate=Encounter:subject'];

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

function search(type: string, pairs: Array<[string, string]>, preferGet: boolean): RawRequest {
  const q = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  if (preferGet && q.length < 12_000) return { method: 'GET', target: `/fhir/${type}?${q}`, headers: { Accept: 'application/fhir+json' } };
  return { method: 'POST', target: `/fhir/${type}/_search`, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/fhir+json' }, body: q };
}

function json(method: string, target: string, body: unknown): RawRequest {
  return { method, target, headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json', Prefer: 'return=minimal' }, body: JSON.stringify(body) };
}

/** The request a spec stands for. */
export function oversizedRequest(s: OversizedSpec): RawRequest {
  const { n, preferGet } = s;
  switch (s.kind) {
    case 'or-string':
      return search('Patient', [['name', range(n, (i) => `n${i}`).join(',')]], preferGet);
    case 'or-token':
      return search('Patient', [['identifier', range(n, (i) => `urn:chaos|v${i}`).join(',')]], preferGet);
    case 'or-date':
      return search('Patient', [['birthdate', range(n, (i) => `ge19${String(i % 100).padStart(2, '0')}-01-01`).join(',')]], preferGet);
    case 'or-reference':
      return search('Observation', [['subject', range(n, (i) => `Patient/p${i}`).join(',')]], preferGet);
    case 'repeated-params':
      return search('Patient', range(n, (i): [string, string] => [i % 3 === 0 ? 'name' : i % 3 === 1 ? 'birthdate' : 'gender', i % 3 === 0 ? `n${i}` : i % 3 === 1 ? 'ge1900' : 'female']), preferGet);
    case 'sort-keys-chained':
      return search('Patient', [['_sort', range(n, (i) => (i % 2 === 0 ? 'organization.name' : '-general-practitioner.name')).join(',')]], preferGet);
    case 'sort-keys-mixed':
      return search('Patient', [['_sort', range(n, (i) => SORT_MIXED[i % SORT_MIXED.length]!).join(',')]], preferGet);
    case 'includes':
      return search('Patient', range(n, (i): [string, string] => INCLUDES[i % INCLUDES.length]!.split('=') as [string, string]), preferGet);
    case 'elements':
      return search('Patient', [['_elements', range(n, (i) => (i % 4 === 0 ? 'name' : `e${i}`)).join(',')]], preferGet);
    case 'has-hops':
      return search('Patient', [[`${range(n, () => '_has:Observation:patient:').join('')}code`, 'x']], preferGet);
    case 'chain-hops':
      return search('Organization', [[`${range(n, () => 'partof').join('.')}.name`, 'x']], preferGet);
    case 'long-search-value':
      return search('Patient', [['name', 'x'.repeat(n)]], preferGet);
    case 'transaction-entries':
      return json('POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry: range(n, (i) => ({ fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resource: { resourceType: 'Basic', code: { text: `tx-${i}` }, ...(i > 0 ? { subject: { reference: `urn:uuid:00000000-0000-4000-8000-${String(i - 1).padStart(12, '0')}` } } : {}) }, request: { method: 'POST', url: 'Basic' } })) });
    case 'batch-entries':
      return json('POST', '/fhir', { resourceType: 'Bundle', type: 'batch', entry: range(n, (i) => ({ request: { method: 'GET', url: i % 2 === 0 ? `Patient?name=b${i}` : `Basic/none-${i}` } })) });
    case 'array-items':
      return json('POST', '/fhir/Basic', { resourceType: 'Basic', code: { text: 'many' }, identifier: range(n, (i) => ({ system: 'urn:chaos:many', value: `v${i}` })) });
    case 'contained-resources':
      return json('POST', '/fhir/Basic', { resourceType: 'Basic', code: { text: 'contained' }, contained: range(n, (i) => ({ resourceType: 'Basic', id: `c${i}`, code: { text: `c${i}` } })), extension: [{ url: 'urn:chaos:ref', valueReference: { reference: '#c0' } }] });
    case 'huge-string-element':
      return json('POST', '/fhir/Basic', { resourceType: 'Basic', code: { text: 'x'.repeat(n) } });
  }
}

/** A curl-like reproducer of a spec (values elided after a few). */
export function describeOversized(s: OversizedSpec): string {
  const r = oversizedRequest(s);
  const body = r.body === undefined ? '' : ` with a ${Buffer.byteLength(r.body)}-byte ${String((r.headers as Record<string, string>)['Content-Type'])} body starting ${JSON.stringify(String(r.body).slice(0, 160))}`;
  return `${s.kind} n=${s.n}: ${r.method} ${r.target.length > 200 ? `${r.target.slice(0, 200)}... (${r.target.length} chars)` : r.target}${body}`;
}
