/**
 * PDS-style Patient records (PDS FHIR API "Get patient details", "Create a new patient", "Update
 * patient details"; FHIR R4 http.html read/create/patch), active when PATIENT_ID_POLICY=nhs-number:
 *
 * - create with an NHS Number: stored with the NHS Number as id (routed with `assignedId`); an existing
 *   record under that number is a 409. In a transaction Bundle the id is chosen before references are
 *   rewritten (`FhirServices.assignId` = `transactionPatientIds`): the NHS Number, or for a Patient
 *   without one the same trace and allocation as a single create (a certain match fails the
 *   transaction with 409 SINGLE_MATCH / MULTIPLE_MATCHES: no duplicate is created).
 * - create without an NHS Number: a demographic trace first (`traceFromResource`, certain grade only):
 *   one certain match answers 200 OperationOutcome SINGLE_MATCH (its NHS Number in the diagnostics and
 *   Content-Location), several answer 200 MULTIPLE_MATCHES; otherwise a new NHS Number is allocated
 *   (allocation.ts) and added as the Patient's NHS Number identifier (verification status 01).
 * - read `Patient/{id}`: an id that is not a valid NHS Number and names no record is 400
 *   INVALID_RESOURCE_ID; unknown 404 RESOURCE_NOT_FOUND; invalidated (deleted) 404
 *   INVALIDATED_RESOURCE; superseded (merged) answers the surviving record directly (200, the
 *   survivor's id and ETag), as PDS does.
 * - patch: `If-Match: W/"n"` required (missing or malformed 412 PRECONDITION_FAILED; stale 409
 *   RESOURCE_VERSION_MISMATCH); JSON Patch (`application/json-patch+json`) only.
 */
import type { Identifier, Patient } from 'fhir/r4';
import type { FhirServices, InteractionContext } from '../fhir/context';
import { parseETagVersion } from '../fhir/headers';
import type { Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import { readResult } from '../fhir/respond';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { StoredVersion } from '../store/store';
import { allocate, NhsNumberAllocator, RangeExhaustedError } from './allocation';
import { spineError, spineOutcome } from './errors';
import { replacedBy } from './links';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM, nhsNumberOf } from './nhs-number';
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
 * INVALID_RESOURCE_ID, RESOURCE_NOT_FOUND, INVALIDATED_RESOURCE.
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

/** Creates the Patient under its NHS Number; an existing record under it is 409 INVALID_CREATE. */
async function createUnder(ctx: InteractionContext, nhs: string, create: () => Promise<FhirResult>): Promise<FhirResult> {
  try {
    return await create();
  } catch (e) {
    if (e instanceof FhirError && e.category === 'precondition' && (await ctx.session.read('Patient', nhs))?.deleted === false) {
      throw spineError('conflict', 'INVALID_CREATE', `Patient ${nhs} already exists: update it (PATCH or PUT Patient/${nhs}) instead of creating it again`, 'Patient.identifier');
    }
    throw e;
  }
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
    if (matches.length === 1) {
      const m = matches[0]!;
      return {
        status: 200,
        resource: spineOutcome('SINGLE_MATCH', `Unable to create new patient. A single matching record was found for the supplied demographic data: NHS Number ${m.version.id}`),
        headers: { 'Content-Location': `${ctx.services.config.baseUrl}/Patient/${m.version.id}` },
      };
    }
    if (matches.length > 1) {
      return { status: 200, resource: spineOutcome('MULTIPLE_MATCHES', 'Unable to create new patient. Multiple matches found for supplied demographic data.') };
    }
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
 * or several) fails the transaction with 409 SINGLE_MATCH / MULTIPLE_MATCHES instead of creating a
 * duplicate (docs/spine.md) — and then a newly allocated NHS Number, added as the Patient's NHS Number
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
      if (matches.length === 1) {
        const id = matches[0]!.version.id;
        throw spineError('conflict', 'SINGLE_MATCH', `Unable to create new patient. A single matching record was found for the supplied demographic data: NHS Number ${id}; refer to Patient/${id} (or PUT it) instead of POSTing a new Patient`, 'Patient');
      }
      if (matches.length > 1) throw spineError('conflict', 'MULTIPLE_MATCHES', 'Unable to create new patient. Multiple matches found for supplied demographic data.', 'Patient');
    }
    const id = await allocated(allocator, async (candidate) => ((await ctx.session.read('Patient', candidate)) ? undefined : candidate));
    return { id, resource: withAllocatedNumber(resource, id) };
  };
}

async function readPatient(req: FhirRequest, ctx: InteractionContext, id: string, next: () => Promise<FhirResult>): Promise<FhirResult> {
  const { version, superseded } = await resolveRecord(ctx, id, { followMerges: true });
  if (!superseded) return next();
  return readResult(version);
}

async function patchPatient(req: FhirRequest, ctx: InteractionContext, id: string, next: () => Promise<FhirResult>): Promise<FhirResult> {
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined) throw spineError('precondition', 'PRECONDITION_FAILED', 'An update needs the If-Match header with the version being updated, e.g. If-Match: W/"2" (the ETag of the last read)', 'If-Match');
  if (parseETagVersion(ifMatch) === undefined || !/^\s*W\//.test(ifMatch)) {
    throw spineError('precondition', 'PRECONDITION_FAILED', `If-Match ${JSON.stringify(ifMatch)} is not of the form W/"<version>"`, 'If-Match');
  }
  if (req.contentType !== 'application/json-patch+json') {
    throw spineError('invalid', 'INVALID_VALUE', `A Patient update must be a JSON Patch sent as application/json-patch+json (got ${JSON.stringify(req.contentType ?? 'no body')})`, 'Content-Type');
  }
  await resolveRecord(ctx, id, { followMerges: false });
  try {
    return await next();
  } catch (e) {
    if (e instanceof FhirError && e.category === 'precondition') {
      throw spineError('conflict', 'RESOURCE_VERSION_MISMATCH', `If-Match ${ifMatch} is not the current version of Patient ${id}: read it again and re-apply the change`);
    }
    throw e;
  }
}

/** The PDS record rules around Patient interactions (PATIENT_ID_POLICY=nhs-number only). */
export function patientRecordsInterceptor(allocator: NhsNumberAllocator): Interceptor {
  return async (req, interaction, ctx, next) => {
    if (interaction.resourceType !== 'Patient' || ctx.services.config.patientIdPolicy !== 'nhs-number') return next();
    const id = interaction.id;
    switch (interaction.kind) {
      case 'create':
        return createPatient(req, ctx, (r) => next(r), allocator);
      case 'read':
        return id === undefined ? next() : readPatient(req, ctx, id, () => next());
      case 'patch':
        return id === undefined ? next() : patchPatient(req, ctx, id, () => next());
      default:
        return next();
    }
  };
}
