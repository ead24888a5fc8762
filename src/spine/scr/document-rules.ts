/**
 * Summary Care Record document rules (summary-care-record.yaml `POST /Bundle`, UploadBundle.yaml;
 * FHIR R4 documents.html): an SCR upload is a Bundle of type `document` whose first entry is a
 * UK Core Composition of type General Practice Summary (SNOMED 196981000000101), status `final`,
 * whose subject is a Patient entry carrying a valid NHS Number. `relatesTo` with code `replaces`
 * names (by identifier) the summary it supersedes; the latest summary is the newest one no other
 * summary replaces. Pure functions: no store, no HTTP.
 */
import type { Bundle, Composition, Patient, Resource } from 'fhir/r4';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../nhs-number';

export const SNOMED = 'http://snomed.info/sct';
export const GP_SUMMARY_CODE = '196981000000101';
export const GP_SUMMARY_DISPLAY = 'General Practice Summary';
export const UK_CORE_COMPOSITION = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Composition';

/** A well-formed SCR upload, with the parts the façade needs. */
export interface ScrDocument {
  bundle: Bundle;
  composition: Composition;
  /** The Composition's identifier value (the SCR UUID clients use as `composition.identifier`). */
  scrId: string;
  nhsNumber: string;
  /** The subject Patient entry's reference as the document writes it (e.g. `Patient/565B...`). */
  subjectReference: string;
  /** Identifiers of the summaries this one replaces. */
  replaces: string[];
}

export type ScrCheck = { ok: true; document: ScrDocument } | { ok: false; problem: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a Composition's type is the GP Summary. */
export function isGpSummary(composition: Composition): boolean {
  return (composition.type?.coding ?? []).some((c) => c.system === SNOMED && c.code === GP_SUMMARY_CODE);
}

/** The identifiers a Composition replaces (`relatesTo.code = replaces`, by identifier or reference id). */
export function replacedIdentifiers(composition: Composition): string[] {
  const out: string[] = [];
  for (const r of composition.relatesTo ?? []) {
    if (r.code !== 'replaces') continue;
    const value = r.targetIdentifier?.value ?? r.targetReference?.identifier?.value;
    if (typeof value === 'string' && value !== '') out.push(value);
  }
  return out;
}

/** The entry resource a document reference points at (by fullUrl, `Type/id` or fullUrl's tail). */
export function resolveEntry(bundle: Bundle, reference: string): Resource | undefined {
  for (const e of bundle.entry ?? []) {
    const r = e.resource;
    if (!r) continue;
    if (e.fullUrl === reference) return r;
    if (r.id !== undefined && (reference === `${r.resourceType}/${r.id}` || e.fullUrl?.endsWith(`/${reference}`) === true)) return r;
  }
  return undefined;
}

/** Checks an uploaded body against the SCR document rules. */
export function checkScrDocument(body: unknown): ScrCheck {
  if (!isObject(body) || body['resourceType'] !== 'Bundle') return { ok: false, problem: 'The request body must be a FHIR Bundle' };
  const bundle = body as unknown as Bundle;
  if (bundle.type !== 'document') return { ok: false, problem: `Bundle.type must be 'document', not '${String(bundle.type)}'` };
  // UploadBundle.yaml requires the identifier; documents.html (bdl-9): with a system and a value.
  if (typeof bundle.identifier?.system !== 'string' || typeof bundle.identifier.value !== 'string' || bundle.identifier.value === '') return { ok: false, problem: 'Bundle.identifier with a system and a value is required' };
  const first = bundle.entry?.[0]?.resource;
  if (!first || first.resourceType !== 'Composition') return { ok: false, problem: 'The first entry of the Bundle must be a Composition' };
  const composition = first;
  if (!isGpSummary(composition)) return { ok: false, problem: `Composition.type must be ${SNOMED}|${GP_SUMMARY_CODE} (${GP_SUMMARY_DISPLAY})` };
  if (composition.status !== 'final') return { ok: false, problem: `Composition.status must be 'final', not '${String(composition.status)}'` };
  const scrId = composition.identifier?.value;
  if (typeof scrId !== 'string' || scrId === '') return { ok: false, problem: 'Composition.identifier.value is required' };
  const subjectReference = composition.subject?.reference;
  if (typeof subjectReference !== 'string') return { ok: false, problem: 'Composition.subject must reference the Patient entry' };
  const subject = resolveEntry(bundle, subjectReference);
  if (!subject || subject.resourceType !== 'Patient') return { ok: false, problem: `Composition.subject '${subjectReference}' is not a Patient entry of the Bundle` };
  const nhsNumber = ((subject as Patient).identifier ?? []).find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
  if (nhsNumber === undefined) return { ok: false, problem: 'NHS number missing' };
  if (!isValidNhsNumber(nhsNumber)) return { ok: false, problem: `Invalid NHS number '${nhsNumber}'` };
  return { ok: true, document: { bundle, composition, scrId, nhsNumber, subjectReference, replaces: replacedIdentifiers(composition) } };
}

function dateOf(c: Composition): number {
  const t = Date.parse(c.meta?.lastUpdated ?? c.date ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/**
 * The latest GP Summary of a patient's final Compositions: those no other one replaces, newest
 * first by stored time (meta.lastUpdated), then by Composition.date.
 */
export function latestSummary(compositions: readonly Composition[]): Composition | undefined {
  const summaries = compositions.filter((c) => isGpSummary(c) && c.status === 'final');
  const replaced = new Set(summaries.flatMap(replacedIdentifiers));
  const current = summaries.filter((c) => !replaced.has(c.identifier?.value ?? ''));
  return [...current].sort((a, b) => dateOf(b) - dateOf(a) || Date.parse(b.date ?? '') - Date.parse(a.date ?? ''))[0];
}

/** Parses `system|value` for the NHS Number system (or a bare NHS Number); undefined when invalid. */
export function nhsNumberToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const bar = token.indexOf('|');
  const system = bar >= 0 ? token.slice(0, bar) : NHS_NUMBER_SYSTEM;
  const value = bar >= 0 ? token.slice(bar + 1) : token;
  if (system !== NHS_NUMBER_SYSTEM || !isValidNhsNumber(value)) return undefined;
  return value;
}
