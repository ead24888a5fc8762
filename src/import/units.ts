/**
 * Import units (issue 16, `npm run import`): what one request to the server loads. FHIR R4
 * http.html#transaction: a transaction or batch Bundle is sent as it is; the resources of a
 * collection Bundle (bundle.html), of an NDJSON file (FHIR Bulk Data, ndjson.org: one resource a
 * line) or a single resource become entries of batch Bundles built here — PUT `Type/id` when the
 * resource has an id (so loading twice does not duplicate), else POST `Type`.
 */
import type { Bundle, BundleEntry, FhirResource, Resource } from 'fhir/r4';

/** Resources per batch Bundle built from a collection or NDJSON. */
export const BATCH_SIZE = 100;

export interface ImportUnit {
  /** The file or URL the unit comes from. */
  source: string;
  /** Position of the unit in its source: the first entry index (Bundle) or line number (NDJSON, 1-based). */
  offset: number;
  /** Stable key for the resume state: `<source>#<offset>`. */
  key: string;
  /** The Bundle to send (transaction or batch). */
  bundle: Bundle;
  /** Per entry of `bundle`: the entry index or NDJSON line in the source, for the report. */
  positions: number[];
}

/** A unit that could not be built (unparseable line or file): reported, never sent. */
export interface UnreadablePart {
  source: string;
  offset: number;
  diagnostics: string;
}

function requestEntry(resource: Resource): BundleEntry {
  const id = typeof resource.id === 'string' && resource.id !== '' ? resource.id : undefined;
  return { resource: resource as FhirResource, request: id ? { method: 'PUT', url: `${resource.resourceType}/${id}` } : { method: 'POST', url: resource.resourceType } };
}

function batchesOf(source: string, items: Array<{ resource: Resource; position: number }>): ImportUnit[] {
  const units: ImportUnit[] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) {
    const slice = items.slice(i, i + BATCH_SIZE);
    const offset = slice[0]!.position;
    units.push({ source, offset, key: `${source}#${offset}`, bundle: { resourceType: 'Bundle', type: 'batch', entry: slice.map((s) => requestEntry(s.resource)) }, positions: slice.map((s) => s.position) });
  }
  return units;
}

function isResource(v: unknown): v is Resource {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { resourceType?: unknown }).resourceType === 'string';
}

/** Units of one JSON document: a Bundle (transaction, batch, collection) or a single resource. */
export function unitsOfJson(source: string, text: string): { units: ImportUnit[]; unreadable: UnreadablePart[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { units: [], unreadable: [{ source, offset: 0, diagnostics: `not JSON: ${(e as Error).message}` }] };
  }
  if (!isResource(doc)) return { units: [], unreadable: [{ source, offset: 0, diagnostics: 'not a FHIR resource (no resourceType)' }] };
  if (doc.resourceType === 'Bundle') {
    const b = doc as Bundle;
    if (b.type === 'transaction' || b.type === 'batch') {
      return { units: [{ source, offset: 0, key: `${source}#0`, bundle: b, positions: (b.entry ?? []).map((_, i) => i) }], unreadable: [] };
    }
    if (b.type === 'collection') {
      const items: Array<{ resource: Resource; position: number }> = [];
      const unreadable: UnreadablePart[] = [];
      (b.entry ?? []).forEach((e, i) => (isResource(e.resource) ? items.push({ resource: e.resource, position: i }) : unreadable.push({ source, offset: i, diagnostics: `Bundle.entry[${i}] has no resource` })));
      return { units: batchesOf(source, items), unreadable };
    }
    return { units: [], unreadable: [{ source, offset: 0, diagnostics: `Bundle.type ${JSON.stringify(b.type)} is not imported (transaction, batch or collection)` }] };
  }
  return { units: batchesOf(source, [{ resource: doc, position: 0 }]), unreadable: [] };
}

/** Units of an NDJSON document: one resource a line (blank lines ignored), positions are 1-based line numbers. */
export function unitsOfNdjson(source: string, text: string): { units: ImportUnit[]; unreadable: UnreadablePart[] } {
  const items: Array<{ resource: Resource; position: number }> = [];
  const unreadable: UnreadablePart[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const v: unknown = JSON.parse(line);
      if (isResource(v)) items.push({ resource: v, position: i + 1 });
      else unreadable.push({ source, offset: i + 1, diagnostics: `line ${i + 1} is not a FHIR resource (no resourceType)` });
    } catch (e) {
      unreadable.push({ source, offset: i + 1, diagnostics: `line ${i + 1} is not JSON: ${(e as Error).message}` });
    }
  });
  return { units: batchesOf(source, items), unreadable };
}

/** Resources a unit carries (its entries). */
export function resourceCount(unit: ImportUnit): number {
  return unit.bundle.entry?.length ?? 0;
}

/** The part of a unit still to load after an earlier run (a batch's rejected entries; a transaction is all or nothing). */
export function remainderOf(unit: ImportUnit, pending: readonly number[]): ImportUnit {
  if (unit.bundle.type === 'transaction') return unit;
  const entries = unit.bundle.entry ?? [];
  return { ...unit, bundle: { ...unit.bundle, entry: pending.map((i) => entries[i]!).filter((e) => e !== undefined) }, positions: pending.map((i) => unit.positions[i] ?? i) };
}
