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
  /** Sent first (e.g. to create the resource the request patches); must succeed. */
  setup?: RawRequest;
}

const json = { 'Content-Type': 'application/fhir+json' };

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
    setup: { method: 'PUT', target: '/fhir/Basic/chaos-corpus-1', headers: json, body: '{"resourceType":"Basic","id":"chaos-corpus-1","code":{"text":"x"}}' },
    request: { method: 'PATCH', target: '/fhir/Basic/chaos-corpus-1', headers: { 'Content-Type': 'application/json-patch+json' }, body: '[{"op":"move","path":"","from":"/name/0/given/-"}]' },
    where: 'fixed: src/fhir/patch/json-patch.ts (the diagnostics leaked a TypeError message; src/fhir/patch/json-patch.test.ts)',
  },
  {
    name: 'a transaction entry whose request.method is an object',
    request: { method: 'POST', target: '/fhir', headers: json, body: '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":{"toString":"x"},"url":"Basic"}}]}' },
    where: 'open: src/fhir/interactions/bundle.ts parseEntry, String(request.method) throws TypeError "Cannot convert object to primitive value" (500)',
  },
  {
    name: 'a transaction entry whose request.ifNoneExist is a number',
    request: { method: 'POST', target: '/fhir', headers: json, body: '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"POST","url":"Basic","ifNoneExist":1}}]}' },
    where: 'open: src/fhir/interactions/bundle.ts passes a non-string ifNoneExist to parseCriteria, TypeError "criteria.trim is not a function" (500)',
  },
];
