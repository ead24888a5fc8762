/**
 * `POST /Bundle` — upload a patient's Summary Care Record (summary-care-record.yaml operation
 * upload-scr). The document is checked (src/spine/scr/document-rules.ts), its Patient entry is
 * matched to the stored Patient by NHS Number (unknown: 400), the SCR id must be new (400, PSIS-30134
 * style duplicate), and a replacement may only replace a summary of the same patient. Then ONE engine
 * transaction (ADR 35) stores the Composition, every supporting entry under its own id and the
 * document as `Bundle/{scr id}`, subject references pointing at the stored Patient: all searchable on
 * `/fhir`. Only the normalisations of docs/scr.md are applied; an entry the engine still refuses
 * refuses the whole upload (400 naming `Bundle.entry[n]` of the upload) and nothing is stored. Two
 * concurrent uploads of one SCR id: the second transaction meets the stored, immutable document
 * (src/fhir/documents.ts) and answers PSIS-30134.
 * Answer: 201 without a body.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { ID_PATTERN } from '../../fhir/types';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { checkScrDocument, GP_SUMMARY_DISPLAY, UK_CORE_COMPOSITION } from '../../spine/scr/document-rules';
import { callEngine, engineRequest, parseJsonBody, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { patientOf, summariesOf } from './records';

const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

/** Entry types whose subject is the document's patient when they name none. */
const SUBJECT_TYPES = new Set(['Condition', 'Observation', 'Encounter', 'Procedure', 'MedicationStatement']);

/** Replaces every `reference` equal to one of `from` by `to` (deeply, in a copy). */
function rewriteReferences<T>(value: T, from: ReadonlySet<string>, to: string): T {
  if (Array.isArray(value)) return value.map((v: unknown) => rewriteReferences(v, from, to)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = k === 'reference' && typeof v === 'string' && from.has(v) ? to : rewriteReferences(v, from, to);
  }
  return out as T;
}

/** The Spine answer to an SCR id that is already stored (PSIS-30134). */
function duplicate(scrId: string, nhsNumber: string): FhirError {
  return new FhirError('invalid', `[PSIS-30134] - Duplicate event with eventId ${scrId} and nhsNumber ${nhsNumber}.`);
}

/**
 * The normalisations of docs/scr.md "Normalisation on upload": what R4 requires and SCR uploads
 * (the spec's own example) leave out. Nothing else is changed; anything still invalid refuses the upload.
 */
export function normaliseEntry(r: FhirResource, patientReference: string): FhirResource {
  let resource: FhirResource = r;
  // SCR uploads omit Composition.title (1..1 in R4): the stored one is titled by its type's display.
  if (r.resourceType === 'Composition') resource = { ...r, title: r.title ?? GP_SUMMARY_DISPLAY, meta: { ...(r.meta ?? {}), profile: [...new Set([...(r.meta?.profile ?? []), UK_CORE_COMPOSITION])] } };
  // Clinical entries without a subject (as SCR uploads send them) are about the document's patient.
  if (SUBJECT_TYPES.has(resource.resourceType) && (resource as { subject?: unknown }).subject === undefined) resource = { ...resource, subject: { reference: patientReference } } as FhirResource;
  // org-1 (R4): an Organization needs a name or an identifier; SCR uploads send the practice's
  // telecom and address only. The name is recorded as absent (data-absent-reason `unknown`), never invented.
  if (resource.resourceType === 'Organization' && resource.name === undefined && (resource.identifier ?? []).length === 0 && (resource as { _name?: unknown })._name === undefined) {
    resource = { ...resource, _name: { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] } } as FhirResource;
  }
  return resource;
}

/** The transaction entry a failed engine transaction names (`Bundle.entry[k]` in its expressions), and the document's entry. */
function failedEntry(err: FhirError): [number | undefined, number | undefined] {
  let k: number | undefined;
  for (const i of err.issues) {
    for (const x of i.expression ?? []) {
      const m = /^Bundle\.entry\[(\d+)\](?:\.resource\.entry\[(\d+)\])?/.exec(x);
      if (!m) continue;
      k ??= Number(m[1]);
      // An entry of the document Bundle (`Bundle.entry[k].resource.entry[m]`).
      if (m[2] !== undefined) return [Number(m[1]), Number(m[2])];
    }
  }
  return [k, undefined];
}

/** The upload's refusal naming the upload's own entry `n` (undefined: the document Bundle itself). */
function refusedEntry(err: FhirError, n: number | undefined, what: string | undefined): FhirError {
  const where = n === undefined ? 'Bundle' : `Bundle.entry[${n}]`;
  const detail = err.issues
    .map((i) => (i.diagnostics ?? i.details?.text ?? '').replace(/^Bundle\.entry\[\d+\] \([A-Z]+ [^)]*\): /, ''))
    .filter((t) => t !== '')
    .join('; ');
  const issues = err.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: `${where}${what ? ` (${what})` : ''} cannot be stored: ${detail}`, expression: [where] }));
  return new FhirError('invalid', issues.slice(0, 1));
}

/** The Patient a stored resource is about (`subject` or `patient`), when it names one. */
function patientReferenceOf(r: FhirResource | undefined): string | undefined {
  for (const k of ['subject', 'patient'] as const) {
    const ref = (r as Record<string, { reference?: unknown } | undefined> | undefined)?.[k]?.reference;
    if (typeof ref === 'string' && ref.startsWith('Patient/')) return ref;
  }
  return undefined;
}

/**
 * An upload stores its entries under their own ids (PUT). An id that already names another patient's
 * resource (a Condition, an Observation ... whose subject is someone else) must not be written over:
 * the upload is refused naming the entry, before anything is stored. Read with the caller's access
 * (what the caller cannot read is not revealed; the engine refuses its write).
 */
async function refuseOtherPatientsResources(services: FhirServices, req: FacadeRequest, txEntries: readonly BundleEntry[], source: readonly number[], patientRef: string): Promise<void> {
  for (const [k, e] of txEntries.entries()) {
    if (e.request?.method !== 'PUT') continue;
    let current: FhirResource | undefined;
    try {
      current = resultResource<FhirResource>(await callEngine(services, engineRequest(req, { method: 'GET', path: e.request.url })));
    } catch (err) {
      if (err instanceof FhirError && err.status < 500) continue; // absent (404, 410) or not readable (403)
      throw err;
    }
    const owner = patientReferenceOf(current);
    if (owner === undefined || owner === patientRef) continue;
    const n = source[k]!;
    throw new FhirError('invalid', [{ severity: 'error', code: 'conflict', diagnostics: `Bundle.entry[${n}] (${e.request.url}) cannot be stored: that id is a resource of another patient`, expression: [`Bundle.entry[${n}]`] }]);
  }
}

export async function uploadScr(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const check = checkScrDocument(parseJsonBody(services, req.rawBody));
  if (!check.ok) throw new FhirError('invalid', check.problem);
  const { bundle, scrId, nhsNumber, subjectReference, replaces } = check.document;
  if (!ID_PATTERN.test(scrId)) throw new FhirError('invalid', `Composition.identifier.value '${scrId}' is not a usable SCR id`);

  const patient = await patientOf(services, req, nhsNumber);
  if (!patient) throw new FhirError('invalid', `Patient with NHS number ${nhsNumber} not found`);
  const existing = await summariesOf(services, req, patient);
  // A retry of this very upload (same X-Request-ID) is answered by the engine's idempotency replay
  // (ADR 24): the transaction decides. Any other upload of a stored SCR id is a duplicate.
  if (existing.some((c) => c.identifier?.value === scrId) && req.headers['x-request-id'] === undefined) {
    throw duplicate(scrId, nhsNumber);
  }
  // The patient's other summaries (a retry's own stored Composition is not one of them).
  const others = existing.filter((c) => c.identifier?.value !== scrId);
  const known = new Set(others.map((c) => c.identifier?.value));
  const unknown = replaces.filter((r) => !known.has(r));
  if (others.length > 0 && unknown.length > 0) throw new FhirError('invalid', `Composition.relatesTo replaces ${unknown.join(', ')}, which is not a summary of this patient`);

  const subjectEntry = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient' && (e.fullUrl === subjectReference || `Patient/${e.resource.id}` === subjectReference || e.fullUrl?.endsWith(`/${subjectReference}`)));
  const aliases = new Set([subjectReference, ...(subjectEntry?.fullUrl ? [subjectEntry.fullUrl] : []), ...(subjectEntry?.resource?.id ? [`Patient/${subjectEntry.resource.id}`] : [])]);
  const stored = rewriteReferences(bundle, aliases, `Patient/${patient.id!}`);

  // The transaction: the Composition and every supporting entry, each under its own id, then the
  // document. `source[k]` is the upload's entry index of transaction entry k (and of document entry k).
  const txEntries: BundleEntry[] = [];
  const source: number[] = [];
  const kept: BundleEntry[] = [];
  (stored.entry ?? []).forEach((e, n) => {
    const r = e.resource;
    // The Patient is the stored one: the document's Patient entry is not written over it.
    if (!r || r.resourceType === 'Patient') return;
    const resource = normaliseEntry(r, `Patient/${patient.id!}`);
    const keep = { ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource };
    kept.push(keep);
    source.push(n);
    if (r.id !== undefined && ID_PATTERN.test(r.id)) txEntries.push({ ...keep, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } });
    else txEntries.push({ ...keep, request: { method: 'POST', url: r.resourceType } });
  });
  await refuseOtherPatientsResources(services, req, txEntries, source, `Patient/${patient.id!}`);
  const document: Bundle = {
    ...stored,
    id: scrId,
    entry: [...kept, { fullUrl: `Patient/${patient.id!}`, resource: { resourceType: 'Patient', id: patient.id!, identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }] } }],
  };
  delete document.meta;
  const transaction: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [...txEntries, { resource: document, request: { method: 'PUT', url: `Bundle/${scrId}` } }] };
  const documentIndex = txEntries.length;
  try {
    await callEngine(services, engineRequest(req, { method: 'POST', path: '', body: transaction, contentType: 'application/fhir+json' }));
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    const [k, inner] = failedEntry(err);
    if (k === documentIndex && (err.status === 405 || err.status === 409 || err.status === 422)) {
      // A concurrent upload of the same SCR id committed first: the document is stored and immutable.
      const now = await summariesOf(services, req, patient);
      if (now.some((c) => c.identifier?.value === scrId)) throw duplicate(scrId, nhsNumber);
    }
    if (k === undefined || err.status >= 500 || err.status === 401 || err.status === 403 || err.status === 429) throw err;
    const n = k === documentIndex ? (inner !== undefined ? source[inner] : undefined) : source[k];
    const r = n !== undefined ? stored.entry?.[n]?.resource : undefined;
    throw refusedEntry(err, n, r ? `${r.resourceType}${r.id !== undefined ? `/${r.id}` : ''}` : undefined);
  }
  return { status: 201, headers: { ...scrResponseHeaders(req.headers), Location: `Bundle/${scrId}` } };
}
