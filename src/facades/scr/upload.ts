/**
 * `POST /Bundle` — upload a patient's Summary Care Record (summary-care-record.yaml operation
 * upload-scr). The document is checked (src/spine/scr/document-rules.ts), its Patient entry is
 * matched to the stored Patient by NHS Number (unknown: 400), the SCR id must be new (400, PSIS-30134
 * style duplicate), and a replacement may only replace a summary of the same patient. Then an engine
 * transaction stores the Composition and the document as `Bundle/{scr id}`, after each supporting
 * entry under its own id (an entry that is not valid R4 is left out, see docs/scr.md), subject references
 * pointing at the stored Patient: all searchable on `/fhir`.
 * Answer: 201 without a body.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { ID_PATTERN } from '../../fhir/types';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { checkScrDocument, GP_SUMMARY_DISPLAY, UK_CORE_COMPOSITION } from '../../spine/scr/document-rules';
import { callEngine, engineRequest, parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { patientOf, summariesOf } from './records';

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

export async function uploadScr(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const check = checkScrDocument(parseJsonBody(services, req.rawBody));
  if (!check.ok) throw new FhirError('invalid', check.problem);
  const { bundle, scrId, nhsNumber, subjectReference, replaces } = check.document;
  if (!ID_PATTERN.test(scrId)) throw new FhirError('invalid', `Composition.identifier.value '${scrId}' is not a usable SCR id`);

  const patient = await patientOf(services, req, nhsNumber);
  if (!patient) throw new FhirError('invalid', `Patient with NHS number ${nhsNumber} not found`);
  const existing = await summariesOf(services, req, patient);
  if (existing.some((c) => c.identifier?.value === scrId)) {
    throw new FhirError('invalid', `[PSIS-30134] - Duplicate event with eventId ${scrId} and nhsNumber ${nhsNumber}.`);
  }
  const known = new Set(existing.map((c) => c.identifier?.value));
  const unknown = replaces.filter((r) => !known.has(r));
  if (existing.length > 0 && unknown.length > 0) throw new FhirError('invalid', `Composition.relatesTo replaces ${unknown.join(', ')}, which is not a summary of this patient`);

  const subjectEntry = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient' && (e.fullUrl === subjectReference || `Patient/${e.resource.id}` === subjectReference || e.fullUrl?.endsWith(`/${subjectReference}`)));
  const aliases = new Set([subjectReference, ...(subjectEntry?.fullUrl ? [subjectEntry.fullUrl] : []), ...(subjectEntry?.resource?.id ? [`Patient/${subjectEntry.resource.id}`] : [])]);
  const stored = rewriteReferences(bundle, aliases, `Patient/${patient.id!}`);

  const entries: BundleEntry[] = [];
  for (const e of stored.entry ?? []) {
    const r = e.resource;
    // The Patient is the stored one: the document's Patient entry is not written over it.
    if (!r || r.resourceType === 'Patient') continue;
    let resource: FhirResource = r;
    // SCR uploads omit Composition.title (1..1 in R4): the stored one is titled by its type's display.
    if (r.resourceType === 'Composition') resource = { ...r, title: r.title ?? GP_SUMMARY_DISPLAY, meta: { ...(r.meta ?? {}), profile: [...new Set([...(r.meta?.profile ?? []), UK_CORE_COMPOSITION])] } };
    // Clinical entries without a subject (as SCR uploads send them) are about the document's patient.
    if (SUBJECT_TYPES.has(resource.resourceType) && (resource as { subject?: unknown }).subject === undefined) resource = { ...resource, subject: { reference: `Patient/${patient.id!}` } } as FhirResource;
    const keep = { ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource };
    if (r.id !== undefined && ID_PATTERN.test(r.id)) entries.push({ ...keep, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } });
    else entries.push({ ...keep, request: { method: 'POST', url: r.resourceType } });
  }
  // The supporting entries first, each on its own: one that is not a valid R4 resource (the spec's
  // example Organizations without name or identifier) is left out of the store and of the document.
  const [composition, ...supporting] = entries;
  const accepted: BundleEntry[] = [];
  for (const e of supporting) {
    try {
      // Each write its own request id, derived from the caller's (a retry repeats them all).
      const id = `${req.requestId}/${e.request!.url}`;
      await callEngine(services, { ...engineRequest(req, { method: e.request!.method, path: e.request!.url, body: e.resource, contentType: 'application/fhir+json', headers: { 'x-request-id': id } }), requestId: id });
      accepted.push(e);
    } catch (err) {
      if (!(err instanceof FhirError) || (err.status !== 400 && err.status !== 422)) throw err;
    }
  }
  const entry = (e: BundleEntry): BundleEntry => ({ ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}), resource: e.resource! });
  const document: Bundle = {
    ...stored,
    id: scrId,
    entry: [entry(composition!), ...accepted.map(entry), { fullUrl: `Patient/${patient.id!}`, resource: { resourceType: 'Patient', id: patient.id!, identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }] } }],
  };
  delete document.meta;
  // The Composition and the document together.
  const transaction: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [composition!, { resource: document, request: { method: 'PUT', url: `Bundle/${scrId}` } }] };
  await callEngine(services, engineRequest(req, { method: 'POST', path: '', body: transaction, contentType: 'application/fhir+json' }));
  return { status: 201, headers: { ...scrResponseHeaders(req.headers), Location: `Bundle/${scrId}` } };
}
