/**
 * FHIR XML (FHIR R4 xml.html, formats.html, http.html#mime-type): the media types and the codec.
 * `application/fhir+xml` is the FHIR XML media type; `application/xml` and `text/xml` (and the
 * DSTU2-era `application/xml+fhir`) are accepted for it as R4 allows. See ADR 19.
 */
export { readFhirXml, readFhirXmlCooperatively, type ReadOptions, type ReadResult } from './reader';
export { writeFhirXml, type WriteOptions } from './writer';

/** Request body media types read as FHIR XML. */
export const XML_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir']);

/** Whether a bare media type (no parameters, lower case) is FHIR XML. */
export function isXmlMediaType(mediaType: string): boolean {
  return XML_MEDIA_TYPES.has(mediaType);
}
