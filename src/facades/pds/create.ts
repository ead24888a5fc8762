/**
 * PDS "Create a record for a new patient" (`POST Patient`, components/paths/patient-create.yaml):
 *
 * - healthcare worker access only: patient access 403 ACCESS_DENIED, application-restricted 403
 *   INVALID_METHOD (asked of the engine first, caller.ts, so no trace runs for a refused caller);
 * - the body checked as PDS's create request (create-request.ts), its UK Core 1.0.0-era shapes
 *   converted to the stored ones (shapes.ts `toStored`), name and address given object ids and blank
 *   address lines dropped as PDS does;
 * - sent as an engine `POST Patient` with the caller's headers (X-Request-ID: a retry is answered from
 *   the idempotency record): the NHS layer (src/spine/records.ts) traces the person first and
 *   allocates an NHS Number when there is no certain match;
 * - a certain match: 200 OperationOutcome SINGLE_MATCH `Unable to create new patient. NHS number
 *   <nhs> found for supplied demographic data.`; several: 200 MULTIPLE_MATCHES `Unable to create new
 *   patient. Multiple matches found for supplied demographic data.` The engine's answer may be the
 *   old 200 OperationOutcome or the plain-R4 409 `duplicate` with the Spine code in details.coding:
 *   both are mapped;
 * - created: 201 with the record in PDS's shapes (view.ts), `ETag: W/"1"` and `Location` at the façade.
 */
import { createHash } from 'node:crypto';
import type { Address, HumanName, OperationOutcome, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import type { FhirResult } from '../../fhir/types';
import { duplicateMatchesOf } from '../../spine/records';
import { spineCodeOf, spineError, spineOutcome } from '../../spine/errors';
import { callEngine, engineRequest, parseJsonBody, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsCaller } from './caller';
import { checkCreateRequest } from './create-request';
import { pdsResponseHeaders } from './headers';
import { toStored } from './shapes';
import { pdsBaseUrl, pdsView } from './view';

export const SINGLE_MATCH_DIAGNOSTICS = (nhs: string): string => `Unable to create new patient. NHS number ${nhs} found for supplied demographic data.`;
export const MULTIPLE_MATCHES_DIAGNOSTICS = 'Unable to create new patient. Multiple matches found for supplied demographic data.';

const JSON_TYPES = new Set(['application/json', 'application/fhir+json']);

/**
 * An object id as PDS gives names and addresses (8 upper-case hex digits), derived from the request
 * id so that a retry sends the engine the same body (and is recognised as the same request).
 */
function objectId(requestId: string, what: string): string {
  return createHash('sha256').update(`${requestId}\u0000${what}`).digest('hex').slice(0, 8).toUpperCase();
}

function withIds(p: Patient, requestId: string): Patient {
  const name = (p.name ?? []).map((n: HumanName, i) => (n.id !== undefined ? n : { ...n, id: objectId(requestId, `name/${i}`) }));
  const address = (p.address ?? []).map((a: Address, i) => {
    const line = a.line?.filter((l) => l.trim() !== '');
    return { ...a, ...(line !== undefined ? { line } : {}), ...(a.id === undefined ? { id: objectId(requestId, `address/${i}`) } : {}) };
  });
  return { ...p, name, address };
}

/** The NHS Number of the single match an engine answer names (Content-Location, or the diagnostics). */
function matchedNhsNumber(headers: Record<string, string> | undefined, diagnostics: string | undefined): string | undefined {
  const loc = headers?.['Content-Location'] ?? headers?.['Location'];
  const fromLoc = loc ? /\/Patient\/(\d{10})(?:\/|$)/.exec(loc)?.[1] : undefined;
  return fromLoc ?? (diagnostics ? /\b(\d{10})\b/.exec(diagnostics)?.[1] : undefined);
}

/** The PDS answer for an engine's match outcome (either /fhir behaviour), or undefined when it is none. */
function matchAnswer(code: string | undefined, headers: Record<string, string> | undefined, diagnostics: string | undefined): OperationOutcome | undefined {
  if (code === 'MULTIPLE_MATCHES') return spineOutcome('MULTIPLE_MATCHES', MULTIPLE_MATCHES_DIAGNOSTICS);
  if (code !== 'SINGLE_MATCH') return undefined;
  const nhs = matchedNhsNumber(headers, diagnostics);
  return spineOutcome('SINGLE_MATCH', nhs ? SINGLE_MATCH_DIAGNOSTICS(nhs) : 'Unable to create new patient. A single match found for supplied demographic data.');
}

export async function createPatient(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const headers = pdsResponseHeaders(req.headers);
  const caller = await pdsCaller(services, req);
  if (caller.mode === 'patient') throw spineError('forbidden', 'ACCESS_DENIED', 'Patient cannot perform this action');
  if (caller.mode === 'application') throw spineError('forbidden', 'INVALID_METHOD', 'Cannot create resource with application-restricted access token');
  if (req.contentType !== undefined && !JSON_TYPES.has(req.contentType)) {
    throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${req.contentType}' in header 'Content-Type'`, 'Content-Type');
  }
  const patient = withIds(toStored(checkCreateRequest(parseJsonBody(services, req.rawBody))), req.requestId);
  let result: FhirResult;
  try {
    result = await callEngine(services, engineRequest(req, { method: 'POST', path: 'Patient', body: patient, contentType: 'application/fhir+json', headers: { prefer: 'return=representation' } }));
  } catch (e) {
    if (!(e instanceof FhirError)) throw e;
    const matches = duplicateMatchesOf(e);
    const answer = matchAnswer(spineCodeOf(e.issues), e.headers, matches.length === 1 ? matches[0] : e.issues[0]?.diagnostics);
    if (answer) return { status: 200, body: answer, headers };
    throw e;
  }
  const resource = resultResource(result);
  if (resource?.resourceType === 'OperationOutcome') {
    const oo = resource as OperationOutcome;
    const answer = matchAnswer(spineCodeOf(oo.issue), result.headers, oo.issue[0]?.diagnostics);
    if (answer) return { status: 200, body: answer, headers };
  }
  if (resource?.resourceType !== 'Patient') throw new FhirError('fault', { diagnostics: 'The engine created no Patient' });
  const created = resource as Patient;
  const etag = result.headers?.['ETag'];
  return {
    status: 201,
    body: pdsView(created, services),
    headers: { ...headers, ...(etag ? { ETag: etag } : {}), Location: `${pdsBaseUrl(services)}/Patient/${created.id}` },
  };
}
