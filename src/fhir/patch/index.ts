/**
 * The body of the FHIR `patch` interaction (FHIR R4 http.html#patch), by media type:
 * `application/json-patch+json` is a JSON Patch (RFC 6902); `application/fhir+json` (or
 * `application/json`) and FHIR XML (`application/fhir+xml`, `application/xml`, `text/xml`: read
 * into FHIR JSON by the HTTP adapter) carry a FHIRPath Patch `Parameters` resource (fhirpatch.html).
 * Anything else (including XML Patch, application/xml-patch+xml, which this server does not
 * support) is 415.
 */
import type { Resource } from 'fhir/r4';
import { FhirError } from '../outcome';
import { applyFhirPathPatch } from './fhirpath-patch';
import { applyJsonPatch } from './json-patch';

export { applyFhirPathPatch } from './fhirpath-patch';
export { applyJsonPatch } from './json-patch';

export const JSON_PATCH_MEDIA_TYPE = 'application/json-patch+json';
export const FHIR_JSON_MEDIA_TYPES: readonly string[] = ['application/fhir+json', 'application/json'];
/** Media types of a FHIR resource body (JSON, or XML already read into JSON). */
const FHIR_RESOURCE_MEDIA_TYPES: readonly string[] = [...FHIR_JSON_MEDIA_TYPES, 'application/fhir+xml', 'application/xml', 'text/xml'];

/**
 * Applies a patch body to a copy of `resource`, choosing the patch format from `contentType`.
 * `maxValues` (MAX_RESOURCE_ELEMENTS) stops a JSON Patch from copying the document past that size.
 */
export function applyPatch(resource: Resource, body: unknown, contentType: string, maxValues?: number): Resource {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === JSON_PATCH_MEDIA_TYPE) return applyJsonPatch(resource, body, maxValues);
  if (FHIR_RESOURCE_MEDIA_TYPES.includes(mediaType)) {
    if (typeof body !== 'object' || body === null || Array.isArray(body) || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
      throw new FhirError('invalid', {
        diagnostics: `A ${mediaType} patch body must be a FHIRPath Patch Parameters resource (send JSON Patch as ${JSON_PATCH_MEDIA_TYPE})`,
      });
    }
    return applyFhirPathPatch(resource, body);
  }
  throw new FhirError('unsupported-media', {
    diagnostics: `Unsupported patch media type '${mediaType || '(none)'}': use ${JSON_PATCH_MEDIA_TYPE} (JSON Patch), application/fhir+json or application/fhir+xml (FHIRPath Patch Parameters)`,
  });
}
