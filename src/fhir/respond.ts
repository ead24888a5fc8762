/**
 * Building responses for resource interactions (FHIR R4 §3.1.0 http.html: create/update/patch
 * responses, `Prefer: return`, ETag/Last-Modified/Location).
 */
import type { Resource } from 'fhir/r4';
import { etag, httpDate, preferReturn } from './headers';
import { outcome } from './outcome';
import type { FhirRequest, FhirResult } from './types';
import type { StoredVersion } from '../store/store';

export function resourceUrl(baseUrl: string, v: Pick<StoredVersion, 'resourceType' | 'id'>): string {
  return `${baseUrl}/${v.resourceType}/${v.id}`;
}

export function versionUrl(baseUrl: string, v: Pick<StoredVersion, 'resourceType' | 'id' | 'versionId'>): string {
  return `${resourceUrl(baseUrl, v)}/_history/${v.versionId}`;
}

/** A stored version as a 200 read response: the stored bytes, untouched. */
export function readResult(v: StoredVersion, status = 200): FhirResult {
  return { status, json: v.json, headers: { ETag: etag(v), 'Last-Modified': httpDate(v.lastUpdated) }, lastUpdated: v.lastUpdated };
}

/** The answer to a write: status, Location (create), ETag, Last-Modified and the body `Prefer` asks for. */
export function writeResult(req: FhirRequest, baseUrl: string, v: StoredVersion, status: number, message: string): FhirResult {
  const headers: Record<string, string> = { ETag: etag(v), 'Last-Modified': httpDate(v.lastUpdated) };
  if (status === 201) headers['Location'] = versionUrl(baseUrl, v);
  else headers['Content-Location'] = versionUrl(baseUrl, v);
  switch (preferReturn(req)) {
    case 'minimal':
      return { status, headers, lastUpdated: v.lastUpdated };
    case 'OperationOutcome':
      return { status, headers, resource: outcome('information', 'informational', message), lastUpdated: v.lastUpdated };
    case 'representation':
      return { status, headers, json: v.json, lastUpdated: v.lastUpdated };
  }
}

export function parseStored(v: StoredVersion): Resource {
  return JSON.parse(v.json ?? 'null') as Resource;
}
