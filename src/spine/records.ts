/**
 * NHS Number Patient records on the generic FHIR API (PDS FHIR API "Create a new patient"; FHIR R4
 * http.html create, update, read and patch, operationoutcome.html issue type `duplicate`), active
 * when PATIENT_ID_POLICY=nhs-number. What `/fhir` answers stays plain FHIR R4; the PDS wire behaviour
 * (404 INVALIDATED_RESOURCE, 400 INVALID_RESOURCE_ID, superseded redirects, 409 on a stale If-Match,
 * 200 SINGLE_MATCH) is the PDS façade's, at /personal-demographics/FHIR/R4 (docs/spine.md).
 *
 * - create with an NHS Number: stored with the NHS Number as id (routed with `assignedId`); a live
 *   record under that number is 409 `duplicate` (Spine coding INVALID_CREATE as an extra coding).
 * - create without an NHS Number and without If-None-Exist: a demographic trace first
 *   (`traceFromResource`, certain grade only). A match is **409 Conflict**, issue code `duplicate`,
 *   expression `Patient`, the diagnostics naming the matching record(s) (`matching record:
 *   Patient/<id>`), Spine coding SINGLE_MATCH (one) or MULTIPLE_MATCHES (several) in
 *   `issue.details.coding`; `duplicateMatchesOf(err)` gives the matched ids to a façade. No match: a
 *   new NHS Number is allocated (allocation.ts) and added as the Patient's NHS Number identifier
 *   (verification status 01). With If-None-Exist the engine's conditional create decides (no trace).
 * - in a transaction Bundle the id is chosen before references are rewritten (`FhirServices.assignId`
 *   = `transactionPatientIds`): the NHS Number, or for a Patient without one the same trace and
 *   allocation (a certain match fails the transaction with the same 409 `duplicate`).
 * - update (PUT, conditional update, Bundle entries): no Patient is created under an id that is not a
 *   valid NHS Number (422 at `Patient.id`, patient-id-guard.ts); records already stored under other
 *   ids (from a store that ran with PATIENT_ID_POLICY=server) can still be updated.
 * - read, vread, patch, delete, history: the generic engine's. A deleted Patient reads 410, an unknown
 *   id 404, a stale If-Match is 412 and PATCH takes what the engine takes (no If-Match required); a
 *   superseded (merged) record is answered as stored, with its `replaced-by` link. `resolveRecord`
 *   (PDS errors, following replaced-by links) is kept for the PDS façade; `/fhir` does not use it.
 */
import type { Identifier, Patient } from 'fhir/r4';
import type { FhirServices, InteractionContext } from '../fhir/context';
import type { Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { StoredVersion } from '../store/store';
import { allocate, NhsNumberAllocator, RangeExhaustedError } from './allocation';
import { spineDetails, spineError, type SpineCode } from './errors';
import { replacedBy } from './links';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM, nhsNumberOf } from './nhs-number';
import { withPatientIdGuard } from './patient-id-guard';
import { traceFromResource } from './trace';
import { validateResource } from '../validation/base-validator';

export const VERIFICATION_STATUS_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
export const VERIFICATION_STATUS_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland';

/** Most replaced-by links followed from a superseded record to its survivor. */
const MAX_HOPS = 5;

/** The NHS Number identifier given to a record whose number was allocated here. */
export function allocatedIdentifier(nhsNumber: string): Identifier {
  return {
    extension: [
      {
        url: VERIFICATION_STATUS_URL,
        valueCodeableConcept: { coding: [{ system: VERIFICATION_STATUS_SYSTEM, code: '01', display: 'Number present and verified' }] },
      },
    ],
    system: NHS_NUMBER_SYSTEM,
    value: nhsNumber,
  };
}

export interface ResolvedRecord {
  version: StoredVersion & { json: string };
  /** True when the id asked for was superseded and `version` is its survivor. */
  superseded: boolean;
}

/**
 * The live record answering for `id` (following replaced-by links), or the Spine error PDS answers:
 * INVALID_RESOURCE_ID, RESOURCE_NOT_FOUND, INVALIDATED_RESOURCE. For the PDS façade (which answers a
 * superseded NHS Number with its survivor); the `/fhir` read path does not use it (plain R4 there).
 */
export async function resolveRecord(ctx: InteractionContext, id: string, opts: { followMerges: boolean }): Promise<ResolvedRecord> {
  let v = await ctx.session.read('Patient', id);
  if (!v) {
    if (!isValidNhsNumber(id)) throw spineError('invalid', 'INVALID_RESOURCE_ID', `${JSON.stringify(id)} is not a valid NHS Number (10 digits with a Modulus 11 check digit)`, 'Patient.id');
    throw spineError('not-found', 'RESOURCE_NOT_FOUND', `Patient ${id} does not exist`);
  }
  if (v.deleted || v.json === undefined) throw spineError('not-found', 'INVALIDATED_RESOURCE', `The record of Patient ${id} has been invalidated`);
  let superseded = false;
  if (opts.followMerges) {
    const seen = new Set<string>([id]);
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const next = replacedBy(JSON.parse(v.json!) as Patient);
      if (next === undefined || seen.has(next)) break;
      const s = await ctx.session.read('Patient', next);
      if (!s || s.deleted || s.json === undefined) break;
      seen.add(next);
      v = s;
      superseded = true;
    }
  }
  return { version: v as StoredVersion & { json: string }, superseded };
}

function isPatientBody(body: unknown): body is Patient {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { resourceType?: unknown }).resourceType === 'Patient';
}

/** Whether a body is a well-formed R4 Patient, so that the trace and the allocation may read its elements. */
function wellFormedPatient(body: unknown): body is Patient {
  return isPatientBody(body) && !validateResource(body, { expectedType: 'Patient' }).some((i) => i.severity === 'error' || i.severity === 'fatal');
}

/** The ids of the existing records a refused create duplicates, by the error answered (see `duplicateMatchesOf`). */
const duplicateMatches = new WeakMap<FhirError, readonly string[]>();

/** How the diagnostics of a duplicate name its matches (`duplicateMatchesOf` reads them back). */
const MATCHES_TEXT = /matching records?: ((?:Patient\/[A-Za-z0-9\-.]{1,64})(?:, Patient\/[A-Za-z0-9\-.]{1,64})*)/;

/**
 * 409 Conflict for a create that would duplicate existing records (issue code `duplicate`, the R4
 * issue type for "an attempt was made to create a duplicate record"): the diagnostics name every match
 * as `Patient/<id>`, the Spine code (SINGLE_MATCH, MULTIPLE_MATCHES, INVALID_CREATE) is an extra coding
 * in `details` for a façade to map, and the matched ids are kept for `duplicateMatchesOf`.
 */
export function duplicatePatientError(spineCode: SpineCode, ids: readonly string[], diagnostics: string, expression: string): FhirError {
  const named = ids.map((id) => `Patient/${id}`).join(', ');
  const err = new FhirError('conflict', {
    severity: 'error',
    code: 'duplicate',
    details: spineDetails(spineCode),
    diagnostics: `${diagnostics} (matching record${ids.length === 1 ? '' : 's'}: ${named})`,
    expression: [expression],
  });
  duplicateMatches.set(err, [...ids]);
  return err;
}

/**
 * The ids of the existing Patients a create was refused as duplicating (409 `duplicate`), best first;
 * empty for any other error. Read from the error object itself, or — for a copy of it, such as the
 * error a transaction answers with its entry named — from the `matching record(s): Patient/<id>` of
 * the diagnostics of its `duplicate` issues.
 */
export function duplicateMatchesOf(err: FhirError): string[] {
  const kept = duplicateMatches.get(err);
  if (kept) return [...kept];
  const ids: string[] = [];
  for (const issue of err.issues) {
    if (issue.code !== 'duplicate') continue;
    const m = MATCHES_TEXT.exec(issue.diagnostics ?? '');
    for (const ref of m?.[1]?.split(', ') ?? []) {
      const id = ref.slice('Patient/'.length);
      if (!ids.includes(id)) ids.push(id);
    }
  }
  return ids;
}

/** Creates the Patient under its NHS Number; a live record under it is 409 `duplicate` (INVALID_CREATE). */
async function createUnder(ctx: InteractionContext, nhs: string, create: () => Promise<FhirResult>): Promise<FhirResult> {
  try {
    return await create();
  } catch (e) {
    if (e instanceof FhirError && e.category === 'precondition' && (await ctx.session.read('Patient', nhs))?.deleted === false) throw existingNumber(nhs);
    throw e;
  }
}

/** A create of a Patient whose NHS Number already has a live record. */
function existingNumber(nhs: string): FhirError {
  return duplicatePatientError('INVALID_CREATE', [nhs], `Patient ${nhs} already exists: update it (PATCH or PUT Patient/${nhs}) instead of creating it again`, 'Patient.identifier');
}

/** The 409 `duplicate` of a create the trace found certain matches for (SINGLE_MATCH or MULTIPLE_MATCHES). */
function tracedDuplicate(matches: ReadonlyArray<{ version: StoredVersion }>): FhirError {
  const ids = matches.map((m) => m.version.id);
  if (ids.length === 1) {
    return duplicatePatientError('SINGLE_MATCH', ids, `Unable to create new patient: a single record matching the supplied demographic data exists (NHS Number ${ids[0]!}); use it (refer to, PATCH or PUT Patient/${ids[0]!}) instead of creating a duplicate`, 'Patient');
  }
  return duplicatePatientError('MULTIPLE_MATCHES', ids, 'Unable to create new patient: several records match the supplied demographic data; identify the person (e.g. by NHS Number) instead of creating a duplicate', 'Patient');
}

/** The certain trace matches of a Patient about to be created (at most 2: one, or "several"). */
function certainMatches(ctx: InteractionContext, patient: Patient): Promise<Array<{ version: StoredVersion }>> {
  return traceFromResource(ctx, patient, { onlyCertain: true, count: 2 });
}

/** An unused NHS Number from the range (500 SERVER_ERROR naming NHS_NUMBER_RANGE when none is left). */
async function allocated<T>(allocator: NhsNumberAllocator, attempt: (candidate: string) => Promise<T | undefined>): Promise<T> {
  try {
    return await allocate(allocator, attempt);
  } catch (e) {
    if (e instanceof RangeExhaustedError) throw spineError('fault', 'SERVER_ERROR', `${e.message} (NHS_NUMBER_RANGE)`);
    throw e;
  }
}

function withAllocatedNumber(patient: Patient, nhs: string): Patient {
  return { ...patient, identifier: [allocatedIdentifier(nhs), ...(patient.identifier ?? [])] };
}

async function createPatient(req: FhirRequest, ctx: InteractionContext, next: (req?: FhirRequest) => Promise<FhirResult>, allocator: NhsNumberAllocator): Promise<FhirResult> {
  const body = req.body;
  if (req.assignedId !== undefined) {
    // A transaction entry: its id was chosen before references were rewritten (transactionPatientIds).
    const assigned = req.assignedId;
    return isPatientBody(body) && nhsNumberOf(body) === assigned ? createUnder(ctx, assigned, () => next()) : next();
  }
  // The trace and the allocation below read the body's elements: a body that is not a well-formed R4
  // Patient goes straight to the engine, whose validation answers it (never a TypeError here).
  if (!wellFormedPatient(body)) return next();
  const nhs = nhsNumberOf(body);
  if (nhs !== undefined) {
    if (!isValidNhsNumber(nhs)) return next(); // the write rules answer 422 INVALID_VALUE
    return createUnder(ctx, nhs, () => next({ ...req, assignedId: nhs }));
  }
  if (req.headers['if-none-exist'] === undefined) {
    const matches = await certainMatches(ctx, body);
    if (matches.length > 0) throw tracedDuplicate(matches);
  }
  return allocated(allocator, async (candidate) => {
    if (await ctx.session.read('Patient', candidate)) return undefined; // used before (live, merged or invalidated)
    try {
      return await next({ ...req, body: withAllocatedNumber(body, candidate), assignedId: candidate });
    } catch (e) {
      // Lost a race for the candidate (another request or instance took it): try the next one.
      if (e instanceof FhirError && e.category === 'precondition' && (await ctx.session.read('Patient', candidate))) return undefined;
      throw e;
    }
  });
}

/**
 * The id of a Patient POSTed in a transaction Bundle (`FhirServices.assignId`), chosen before the
 * references to its fullUrl are rewritten, by the rules of `POST /Patient`: its NHS Number when it has
 * a valid one; otherwise, unless the entry had an `ifNoneExist`, a trace first — a certain match (one
 * or several) fails the transaction with 409 `duplicate` (Spine coding SINGLE_MATCH / MULTIPLE_MATCHES)
 * instead of creating a duplicate (docs/spine.md) — and then a newly allocated NHS Number, added as the Patient's NHS Number
 * identifier. The transaction writes it with the store's must-not-exist lock like any create.
 */
export function transactionPatientIds(allocator: NhsNumberAllocator, previous?: FhirServices['assignId']): NonNullable<FhirServices['assignId']> {
  return async (ctx, resourceType, resource, opts) => {
    if (resourceType !== 'Patient' || !wellFormedPatient(resource)) return previous?.(ctx, resourceType, resource, opts);
    const nhs = nhsNumberOf(resource);
    // An invalid NHS Number: a server id, and the write rules answer 422 INVALID_VALUE.
    if (nhs !== undefined) return isValidNhsNumber(nhs) ? { id: nhs } : undefined;
    if (!opts.conditional) {
      const matches = await certainMatches(ctx, resource);
      if (matches.length > 0) throw tracedDuplicate(matches);
    }
    const id = await allocated(allocator, async (candidate) => ((await ctx.session.read('Patient', candidate)) ? undefined : candidate));
    return { id, resource: withAllocatedNumber(resource, id) };
  };
}

/** The NHS Number record rules around Patient interactions (PATIENT_ID_POLICY=nhs-number only). */
export function patientRecordsInterceptor(allocator: NhsNumberAllocator): Interceptor {
  return async (req, interaction, ctx, next) => {
    if (interaction.resourceType !== 'Patient' || ctx.services.config.patientIdPolicy !== 'nhs-number') return next();
    switch (interaction.kind) {
      case 'create':
        return createPatient(req, ctx, (r) => next(r), allocator);
      case 'update':
        // PUT, conditional update and Bundle entries: never a new record under a non-NHS Number id.
        return next(req, withPatientIdGuard(ctx));
      default:
        return next();
    }
  };
}
