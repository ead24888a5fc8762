/**
 * Serialises Bundles (FHIR R4 §2.36 bundle.html) around stored resource bytes.
 *
 * Entries embed the stored JSON of each version verbatim: a search or history page is assembled as
 * text without parsing and re-serialising every resource.
 */
import type { BundleEntry, BundleLink, Resource } from 'fhir/r4';

export interface RawEntry {
  fullUrl?: string;
  /** The resource's JSON text, embedded as is. */
  json?: string;
  /** Or a resource object (serialised here). */
  resource?: Resource;
  search?: BundleEntry['search'];
  request?: BundleEntry['request'];
  response?: BundleEntry['response'];
}

export interface RawBundle {
  type: 'searchset' | 'history' | 'batch-response' | 'transaction-response';
  id?: string;
  total?: number;
  link?: BundleLink[];
  entries: RawEntry[];
  timestamp?: string;
}

export function bundleJson(b: RawBundle): string {
  const head: Record<string, unknown> = { resourceType: 'Bundle' };
  if (b.id) head['id'] = b.id;
  head['meta'] = { lastUpdated: b.timestamp ?? new Date().toISOString() };
  head['type'] = b.type;
  if (b.total !== undefined) head['total'] = b.total;
  if (b.link && b.link.length > 0) head['link'] = b.link;
  let out = JSON.stringify(head);
  if (b.entries.length === 0) return out;
  out = out.slice(0, -1) + ',"entry":[';
  out += b.entries.map(entryJson).join(',');
  return out + ']}';
}

function entryJson(e: RawEntry): string {
  const parts: string[] = [];
  if (e.fullUrl !== undefined) parts.push(`"fullUrl":${JSON.stringify(e.fullUrl)}`);
  if (e.json !== undefined) parts.push(`"resource":${e.json}`);
  else if (e.resource !== undefined) parts.push(`"resource":${JSON.stringify(e.resource)}`);
  if (e.search) parts.push(`"search":${JSON.stringify(e.search)}`);
  if (e.request) parts.push(`"request":${JSON.stringify(e.request)}`);
  if (e.response) parts.push(`"response":${JSON.stringify(e.response)}`);
  return `{${parts.join(',')}}`;
}
