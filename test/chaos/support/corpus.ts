/**
 * The corpus of hostile requests the chaos suite has found to break the server (minimal
 * reproducers of shrunk counterexamples), replayed on every run by hostile-inputs.test.ts under the
 * same rules as generated requests (support/invariants.ts). Fixed ones stay as regressions; those in
 * code owned elsewhere stay red until fixed there, naming the module.
 */
import type { RawRequest } from './http-client';

export interface CorpusEntry {
  name: string;
  /** The request; `Authorization` is added with a system token when the server runs SMART. */
  request: RawRequest;
  /** Where the defect was (and, when fixed, the regression test beside the fix). */
  where: string;
  /** Sent first, in order (e.g. to create the resource the request patches); each must succeed. */
  setup?: RawRequest[];
  /** Sent after the request, under the same rules (e.g. a write that a stored definition applies to). */
  after?: RawRequest;
}

const json = { 'Content-Type': 'application/fhir+json' };
/** 40 characters that `^(a+)+$` takes about 2^40 steps to refuse. */
const EVIL = `${'a'.repeat(40)}!`;

export const CORPUS: readonly CorpusEntry[] = [
  {
    name: 'a header section over 16 KiB',
    request: { method: 'GET', target: '/fhir/metadata', headers: { 'X-Chaos-Big': 'h'.repeat(70_000) } },
    where: 'fixed: src/http/client-errors.ts (431 OperationOutcome; src/http/client-errors.test.ts)',
  },
  {
    name: 'a HEAD request with a header section over 16 KiB',
    request: { method: 'HEAD', target: '/fhir/Patient', headers: { 'X-Chaos-Big': 'h'.repeat(17_000) } },
    where: 'fixed: src/http/client-errors.ts (no body for HEAD)',
  },
  {
    name: 'Content-Encoding: gzip on a body that is not gzip',
    request: { method: 'PUT', target: '/fhir/Basic/chaos-gz', headers: { ...json, 'Content-Encoding': 'gzip' }, body: '{"resourceType":"Basic","id":"chaos-gz","code":{"text":"x"}}' },
    where: 'fixed: src/http/app.ts bodyParserError (test/http/body-encoding.test.ts)',
  },
  {
    name: 'a Patient whose identifier list holds null',
    request: { method: 'POST', target: '/fhir/Patient', headers: json, body: '{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990010005"},null],"name":[{"family":"Chaos"}]}' },
    where: 'fixed: src/spine/patient-validator.ts, nhs-number.ts, records.ts (test/spine/malformed-patients.test.ts)',
  },
  {
    name: 'a Patient whose name is a string (create-time trace)',
    request: { method: 'POST', target: '/fhir/Patient', headers: json, body: '{"resourceType":"Patient","name":"Chaos","birthDate":"1980-01-01"}' },
    where: 'fixed: src/spine/records.ts (test/spine/malformed-patients.test.ts)',
  },
  {
    name: 'a conditional patch whose criteria use :above',
    request: { method: 'PATCH', target: '/fhir/Composition?context:above=urn:chaos|a', headers: { 'Content-Type': 'application/json-patch+json' }, body: '[]' },
    where: 'fixed: src/fhir/conditional.ts (test/http/conditional-terminology.test.ts)',
  },
  {
    name: 'a JSON Patch moving a from under a missing element to the root',
    setup: [{ method: 'PUT', target: '/fhir/Basic/chaos-corpus-1', headers: json, body: '{"resourceType":"Basic","id":"chaos-corpus-1","code":{"text":"x"}}' }],
    request: { method: 'PATCH', target: '/fhir/Basic/chaos-corpus-1', headers: { 'Content-Type': 'application/json-patch+json' }, body: '[{"op":"move","path":"","from":"/name/0/given/-"}]' },
    where: 'fixed: src/fhir/patch/json-patch.ts (the diagnostics leaked a TypeError message; src/fhir/patch/json-patch.test.ts)',
  },
  {
    name: 'a FHIRPath Patch path with an exponential regular expression (ReDoS)',
    setup: [{ method: 'PUT', target: '/fhir/Basic/chaos-redos-1', headers: json, body: JSON.stringify({ resourceType: 'Basic', id: 'chaos-redos-1', code: { text: `${EVIL}` } }) }],
    request: { method: 'PATCH', target: '/fhir/Basic/chaos-redos-1', headers: json, body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: "Basic.code.where(text.matches('^(a+)+$')).text" }, { name: 'value', valueString: 'x' }] }] }) },
    where: 'fixed: src/fhirpath/safe-regex.ts via src/fhir/patch/locate.ts (the server froze for minutes; src/fhirpath/safe-regex.test.ts)',
  },
  {
    name: 'a SearchParameter with an exponential regular expression, then a write it indexes (ReDoS)',
    request: { method: 'PUT', target: '/fhir/SearchParameter/chaos-redos-sp', headers: json, body: JSON.stringify({ resourceType: 'SearchParameter', id: 'chaos-redos-sp', url: 'http://chaos.example/SearchParameter/redos', name: 'redos', status: 'active', description: 'x', code: 'redos', base: ['Basic'], type: 'string', expression: "Basic.code.text.where($this.matches('^(a+)+$'))" }) },
    after: { method: 'PUT', target: '/fhir/Basic/chaos-redos-2', headers: json, body: JSON.stringify({ resourceType: 'Basic', id: 'chaos-redos-2', code: { text: EVIL } }) },
    where: 'fixed: src/search/runtime-parameters.ts refuses it (400); src/search/parameters.ts evaluates with src/fhirpath/safe-regex.ts (every write of a Basic froze the server)',
  },
  {
    name: 'a profile constraint with an exponential regular expression, then a resource claiming the profile (ReDoS)',
    setup: [{ method: 'PUT', target: '/fhir/StructureDefinition/chaos-redos-sd', headers: json, body: JSON.stringify({ resourceType: 'StructureDefinition', id: 'chaos-redos-sd', url: 'http://chaos.example/StructureDefinition/redos', name: 'Redos', status: 'active', kind: 'resource', abstract: false, type: 'Basic', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Basic', derivation: 'constraint', differential: { element: [{ id: 'Basic.code', path: 'Basic.code', constraint: [{ key: 'redos-1', severity: 'error', human: 'x', expression: "text.matches('^(a+)+$').not()" }] }] } }) }],
    request: { method: 'PUT', target: '/fhir/Basic/chaos-redos-3', headers: json, body: JSON.stringify({ resourceType: 'Basic', id: 'chaos-redos-3', meta: { profile: ['http://chaos.example/StructureDefinition/redos'] }, code: { text: EVIL } }) },
    where: 'fixed: src/fhirpath/safe-regex.ts via src/validation/profile/fhirpath-r4.ts (validation froze the server)',
  },
  {
    name: 'a ValueSet regex filter with an exponential regular expression, then a search :in it (ReDoS)',
    setup: [
      { method: 'PUT', target: '/fhir/CodeSystem/chaos-redos-cs', headers: json, body: JSON.stringify({ resourceType: 'CodeSystem', id: 'chaos-redos-cs', url: 'http://chaos.example/CodeSystem/redos', status: 'active', content: 'complete', concept: [{ code: EVIL }, { code: 'b' }] }) },
      { method: 'PUT', target: '/fhir/ValueSet/chaos-redos-vs', headers: json, body: JSON.stringify({ resourceType: 'ValueSet', id: 'chaos-redos-vs', url: 'http://chaos.example/ValueSet/redos', status: 'active', compose: { include: [{ system: 'http://chaos.example/CodeSystem/redos', filter: [{ property: 'code', op: 'regex', value: '(a+)+' }] }] } }) },
    ],
    request: { method: 'GET', target: `/fhir/Basic?code:in=${encodeURIComponent('http://chaos.example/ValueSet/redos')}` },
    where: 'fixed: src/terminology/expand.ts refuses the pattern (the filter is unsupported)',
  },
  {
    name: 'a transaction entry whose request.method is an object',
    request: { method: 'POST', target: '/fhir', headers: json, body: '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":{"toString":"x"},"url":"Basic"}}]}' },
    where: 'fixed: src/fhir/interactions/bundle.ts parseEntry checks the type of request.method (400; test/http/bundle.test.ts)',
  },
  {
    name: 'a transaction entry whose request.ifNoneExist is a number',
    request: { method: 'POST', target: '/fhir', headers: json, body: '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"POST","url":"Basic","ifNoneExist":1}}]}' },
    where: 'fixed: src/fhir/interactions/bundle.ts parseEntry checks the type of request.ifMatch/ifNoneExist/ifNoneMatch/ifModifiedSince (400; test/http/bundle.test.ts)',
  },
];
