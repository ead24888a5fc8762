/**
 * PDS patient coverage: the European Health Insurance Card (EHIC) details of a patient record
 * (`GET Coverage?subscriber:identifier=<NHS Number>`, components/paths/coverage-get.yaml;
 * `POST Coverage`, coverage-post.yaml; schemas/Coverage.yaml, CoverageSearch.yaml).
 *
 * A record holds at most one set of EHIC details: it is stored as the R4 Coverage `ehic-<NHS Number>`
 * whose `subscriber` and `beneficiary` reference `Patient/<NHS Number>` (so it is in that patient's
 * compartment, found by `Coverage?patient=Patient/<NHS Number>`) besides the identifiers PDS gives
 * them; PDS clients never see the references or the resource id.
 *
 * - patient access only ("You can only use this endpoint if you are using patient access mode"):
 *   other SMART callers 403 ACCESS_DENIED, a patient asking about another record 403 ACCESS_DENIED;
 *   with AUTH_MODE=off the endpoints are open;
 * - GET: the only parameter is `subscriber:identifier` (anything else, or none, 400
 *   INVALID_SEARCH_DATA with PDS's diagnostics), an NHS Number (400 INVALID_RESOURCE_ID), of a known
 *   record (404 RESOURCE_NOT_FOUND / INVALIDATED_RESOURCE; a superseded record: its survivor's
 *   coverage). Answer: a searchset with zero or one Coverage, `meta.versionId` and `ETag` the
 *   coverage details' version (0 when there are none yet);
 * - POST: `If-Match` required (412 PRECONDITION_FAILED) naming that version; the body checked as
 *   Coverage.yaml (MISSING_VALUE / INVALID_VALUE naming the field, INVALID_RESOURCE_ID for the
 *   subscriber's NHS Number); a version that is not the current one 409 RESOURCE_VERSION_MISMATCH.
 *   Replacing details is written with that version as the engine's If-Match (the store's atomic
 *   lock); the first details (version 0) are a plain engine create, so two concurrent first posts
 *   are not serialised (patient-context tokens may not write conditionally). 201 with the searchset
 *   holding the new details and their new version.
 */
import type { Bundle, Coverage, Identifier, Reference } from 'fhir/r4';
import type { FhirResult } from '../../fhir/types';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { spineError } from '../../spine/errors';
import { callEngine, engineRequest, parseJsonBody, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsCaller } from './caller';
import { pdsResponseHeaders } from './headers';
import { assertNhsNumberId, readPdsPatient } from './read';
import { pdsBaseUrl } from './view';

export const SEARCH_FORMAT = "Invalid search data provided - 'Coverage search request must follow the format /Coverage?subscriber:identifier=NHS_NUMBER'";
const JSON_TYPES = new Set(['application/json', 'application/json-patch+json', 'application/fhir+json']);
const VALUE_RE = (max: number): RegExp => new RegExp(`^[a-zA-Z0-9\\-,/:'. ]{1,${max}}$`);
const COUNTRY_RE = /^[A-Z]{3}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Coverage details are the patient's own: refuses callers PDS refuses (see the module comment). */
async function checkCaller(services: FhirServices, req: FacadeRequest, nhs: string): Promise<void> {
  const caller = await pdsCaller(services, req);
  if (!caller.authenticated) return;
  if (caller.mode !== 'patient') throw spineError('forbidden', 'ACCESS_DENIED', 'Your access token has insufficient permissions. See documentation regarding Patient access restrictions https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir');
  if (caller.patient !== nhs) throw spineError('forbidden', 'ACCESS_DENIED', 'Patient cannot perform this action');
}

/** The NHS Number of a `subscriber:identifier` value (`[system|]value`). */
function subscriberOf(query: Array<[string, string]>): string {
  if (query.length !== 1 || query[0]![0] !== 'subscriber:identifier') throw spineError('invalid', 'INVALID_SEARCH_DATA', SEARCH_FORMAT);
  const value = query[0]![1];
  const bar = value.indexOf('|');
  if (bar >= 0 && value.slice(0, bar) !== NHS_NUMBER_SYSTEM) throw spineError('invalid', 'INVALID_SEARCH_DATA', SEARCH_FORMAT);
  return bar >= 0 ? value.slice(bar + 1) : value;
}

/** The stored coverage of a record and its version (0 when there is none), as the caller may see it. */
async function storedCoverage(services: FhirServices, req: FacadeRequest, nhs: string): Promise<{ coverage?: Coverage; version: number }> {
  const result = await callEngine(services, engineRequest(req, { method: 'GET', path: 'Coverage', query: [['patient', `Patient/${nhs}`], ['_count', '1']], headers: { 'x-request-id': undefined, 'if-match': undefined } }));
  const found = (resultResource<Bundle>(result)?.entry ?? []).find((e) => e.resource?.resourceType === 'Coverage')?.resource as Coverage | undefined;
  return found ? { coverage: found, version: Number(found.meta?.versionId ?? 0) } : { version: 0 };
}

/** A stored Coverage as PDS clients receive it. */
export function toPdsCoverage(stored: Coverage): Coverage {
  const { id: _id, meta: _m, subscriber, beneficiary, ...rest } = stored;
  const strip = (r: Reference | undefined): Reference | undefined => (r ? (({ reference: _r, ...x }) => x)(r) : undefined);
  const s = strip(subscriber);
  return { ...rest, ...(s ? { subscriber: s } : {}), beneficiary: strip(beneficiary) ?? {} } as Coverage;
}

/** PDS's Coverage (checked) in the stored shape, for record `nhs`. */
export function fromPdsCoverage(pds: Coverage, nhs: string, id?: string): Coverage {
  const { resourceType: _t, id: _id, meta: _m, ...rest } = pds;
  return {
    ...rest,
    resourceType: 'Coverage',
    ...(id !== undefined ? { id } : {}),
    subscriber: { reference: `Patient/${nhs}`, identifier: { system: NHS_NUMBER_SYSTEM, value: nhs } },
    beneficiary: { ...pds.beneficiary, reference: `Patient/${nhs}` },
  };
}

function searchset(services: FhirServices, nhs: string, version: number, coverage: Coverage | undefined): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    total: coverage ? 1 : 0,
    meta: { versionId: String(version) },
    ...(coverage ? { entry: [{ fullUrl: `${pdsBaseUrl(services)}/Coverage?subscriber:identifier=${nhs}`, resource: toPdsCoverage(coverage) }] } : {}),
  };
}

export async function searchCoverage(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const asked = subscriberOf(req.query);
  assertNhsNumberId(asked);
  await checkCaller(services, req, asked);
  const { patient } = await readPdsPatient(services, req, asked);
  const { coverage, version } = await storedCoverage(services, req, patient.id!);
  return { status: 200, body: searchset(services, patient.id!, version, coverage), headers: { ...pdsResponseHeaders(req.headers), ETag: `W/"${version}"` } };
}

function missing(field: string): never {
  throw spineError('invalid', 'MISSING_VALUE', `Missing value - '${field}'`, field);
}
function invalid(field: string, value: unknown): never {
  throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${typeof value === 'string' ? value : JSON.stringify(value)}' in field '${field}'`, field);
}

function checkValue(obj: unknown, field: string, max: number): void {
  if (!isObject(obj)) missing(field);
  const v = obj['value'];
  if (v === undefined || v === '') missing(`${field}/value`);
  if (typeof v !== 'string' || !VALUE_RE(max).test(v)) invalid(`${field}/value`, v);
}

function checkSingle(body: Json, key: string): Json {
  const v = body[key];
  if (v === undefined) missing(key);
  if (!Array.isArray(v) || v.length === 0) throw spineError('invalid', 'TOO_FEW_VALUES_SUBMITTED', `Too few values submitted - '${key}' must have 1 item`, key);
  if (v.length > 1) throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', `Too many values submitted - '${key}' must have 1 item`, key);
  if (!isObject(v[0])) invalid(`${key}/0`, v[0]);
  return v[0];
}

/** The body checked as PDS's Coverage (Coverage.yaml); answers the subscriber's NHS Number. */
export function checkCoverageRequest(body: unknown): { coverage: Coverage; nhs: string } {
  if (!isObject(body)) invalid('body', body ?? '');
  if (body['resourceType'] !== undefined && body['resourceType'] !== 'Coverage') invalid('resourceType', body['resourceType']);
  for (const k of ['status', 'subscriber', 'identifier', 'payor', 'beneficiary', 'period']) if (body[k] === undefined) missing(k);
  if (body['status'] !== 'active') invalid('status', body['status']);
  const sub = body['subscriber'];
  if (!isObject(sub) || !isObject(sub['identifier'])) missing('subscriber/identifier');
  const sid = sub['identifier'] as Json;
  if (sid['system'] !== undefined && sid['system'] !== NHS_NUMBER_SYSTEM) invalid('subscriber/identifier/system', sid['system']);
  if (typeof sid['value'] !== 'string' || sid['value'] === '') missing('subscriber/identifier/value');
  const identifier = checkSingle(body, 'identifier');
  checkValue(identifier, 'identifier/0', 25);
  const assigner = identifier['assigner'];
  if (!isObject(assigner)) missing('identifier/0/assigner');
  const country = (assigner['identifier'] as Identifier | undefined)?.value;
  if (country === undefined) missing('identifier/0/assigner/identifier/value');
  if (!COUNTRY_RE.test(country)) invalid('identifier/0/assigner/identifier/value', country);
  const payor = checkSingle(body, 'payor');
  checkValue(payor['identifier'], 'payor/0/identifier', 30);
  const beneficiary = body['beneficiary'];
  checkValue(isObject(beneficiary) ? beneficiary['identifier'] : undefined, 'beneficiary/identifier', 25);
  const period = body['period'];
  if (!isObject(period) || period['end'] === undefined) missing('period/end');
  const end = period['end'];
  if (typeof end !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(end) || Number.isNaN(Date.parse(end))) invalid('period/end', end);
  return { coverage: body as unknown as Coverage, nhs: sid['value'] };
}

export async function postCoverage(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  if (req.contentType !== undefined && !JSON_TYPES.has(req.contentType)) throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${req.contentType}' in header 'Content-Type'`, 'Content-Type');
  const { coverage, nhs } = checkCoverageRequest(parseJsonBody(services, req.rawBody));
  assertNhsNumberId(nhs);
  await checkCaller(services, req, nhs);
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined || ifMatch === '') throw spineError('precondition', 'PRECONDITION_FAILED', 'Invalid request with error - If-Match header must be supplied to update this resource', 'If-Match');
  const version = /^W\/"(\d+)"$/.exec(ifMatch)?.[1];
  if (version === undefined) throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${ifMatch}' in header 'If-Match'`, 'If-Match');
  const { patient } = await readPdsPatient(services, req, nhs);
  const nhsId = patient.id!;
  const expected = Number(version);
  const mismatch = (): FhirError => spineError('conflict', 'RESOURCE_VERSION_MISMATCH', 'Invalid update with error - This resource has changed since you last read. Please re-read and try again with the new version number.', 'If-Match');
  const { coverage: current, version: currentVersion } = await storedCoverage(services, req, nhsId);
  if (currentVersion !== expected) throw mismatch();
  let result: FhirResult;
  try {
    result = current
      ? // The store's lock: the version read must still be the current one when it is replaced.
        await callEngine(services, engineRequest(req, { method: 'PUT', path: `Coverage/${current.id}`, body: fromPdsCoverage(coverage, nhsId, current.id), contentType: 'application/fhir+json', headers: { 'if-match': `W/"${expected}"`, prefer: 'return=representation' } }))
      : // The first details: a plain create (patient-context tokens may not write conditionally, so
        // two concurrent first posts are not serialised: see the module comment).
        await callEngine(services, engineRequest(req, { method: 'POST', path: 'Coverage', body: fromPdsCoverage(coverage, nhsId), contentType: 'application/fhir+json', headers: { prefer: 'return=representation' } }));
  } catch (e) {
    if (e instanceof FhirError && (e.status === 412 || e.status === 409)) throw mismatch();
    throw e;
  }
  const stored = resultResource<Coverage>(result)!;
  const newVersion = Number(stored.meta?.versionId ?? 0);
  return { status: 201, body: searchset(services, nhsId, newVersion, stored), headers: { ...pdsResponseHeaders(req.headers), ETag: `W/"${newVersion}"` } };
}
