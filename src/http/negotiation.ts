/**
 * Content negotiation (FHIR R4 §3.1.0.1.9 http.html#mime-type, §2.6.0 formats.html): JSON and XML.
 * Accepted request types: application/fhir+json, application/json (and the DSTU2-era
 * application/json+fhir), application/fhir+xml, application/xml, text/xml (and application/xml+fhir),
 * application/json-patch+json for PATCH, form bodies for `_search`. `_format` overrides Accept
 * (`json`, `xml` and the media types). Anything else: 406 (response) / 415 (request body).
 */
import { FhirError } from '../fhir/outcome';
import { acceptForR4, normaliseFormat } from './media-rules';
import { isXmlMediaType } from '../formats/xml';

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const FORMAT_ALIASES: Record<string, string> = {
  json: 'application/fhir+json',
  'application/json': 'application/json',
  'application/fhir+json': 'application/fhir+json',
  'application/json+fhir': 'application/fhir+json',
  xml: 'application/fhir+xml',
  'application/fhir+xml': 'application/fhir+xml',
  'application/xml+fhir': 'application/fhir+xml',
  'application/xml': 'application/xml',
  'text/xml': 'text/xml',
  // A readable page for people using a browser (src/http/html-view.ts).
  html: 'text/html',
  'text/html': 'text/html',
};

/** The media type to answer with, or a 406. */
export function responseMediaType(accept: string | undefined, format: string | undefined): string {
  // fhirVersion parameters and `_format` with an unescaped `+` (src/http/media-rules.ts).
  if (format !== undefined) format = normaliseFormat(format);
  if (accept !== undefined && accept.trim() !== '') accept = acceptForR4(accept);
  if (format !== undefined) {
    const f = FORMAT_ALIASES[format.trim().toLowerCase().split(';')[0]!.trim()];
    if (!f) throw new FhirError('not-acceptable', { diagnostics: `_format=${JSON.stringify(format)} is not supported; this server speaks JSON (json, application/fhir+json, application/json) and XML (xml, application/fhir+xml, application/xml, text/xml)`, expression: ['_format'] });
    return f;
  }
  if (!accept || accept.trim() === '') return 'application/fhir+json';
  const ranges = accept.split(',').map((r) => {
    const [type, ...params] = r.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: type!.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const ok = ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q);
  for (const r of ok) {
    if (r.type === 'application/fhir+json' || r.type === 'application/json+fhir') return 'application/fhir+json';
    if (r.type === 'application/json') return 'application/json';
    if (r.type === 'application/fhir+xml' || r.type === 'application/xml+fhir') return 'application/fhir+xml';
    if (r.type === 'application/xml' || r.type === 'text/xml') return r.type;
    if (r.type === 'text/html' || r.type === 'application/xhtml+xml') return 'text/html';
    if (r.type === '*/*' || r.type === 'application/*') return 'application/fhir+json';
  }
  throw new FhirError('not-acceptable', { diagnostics: `None of the media types in Accept: ${accept} is supported; this server answers application/fhir+json, application/json, application/fhir+xml, application/xml or text/xml` });
}

export type BodyKind = 'json' | 'xml' | 'json-patch' | 'form';

/** Classifies a request body's Content-Type, or throws 415. */
export function requestBodyKind(contentType: string | undefined, method: string): { kind: BodyKind; mediaType: string } {
  if (!contentType) {
    throw new FhirError('unsupported-media', { diagnostics: 'A request body needs a Content-Type: application/fhir+json (or application/json-patch+json for PATCH)' });
  }
  const [type, ...params] = contentType.toLowerCase().split(';').map((s) => s.trim());
  const charset = params.find((p) => p.startsWith('charset='));
  if (charset && !/^charset="?utf-8"?$/.test(charset)) {
    throw new FhirError('unsupported-media', { diagnostics: `Content-Type charset ${charset.slice(8)} is not supported; send UTF-8` });
  }
  if (type && JSON_TYPES.has(type)) return { kind: 'json', mediaType: type === 'application/json+fhir' ? 'application/fhir+json' : type };
  if (type && isXmlMediaType(type)) return { kind: 'xml', mediaType: type === 'application/xml+fhir' ? 'application/fhir+xml' : type };
  if (type === 'application/json-patch+json' && method === 'PATCH') return { kind: 'json-patch', mediaType: type };
  if (type === 'application/x-www-form-urlencoded' && method === 'POST') return { kind: 'form', mediaType: type };
  throw new FhirError('unsupported-media', { diagnostics: `Content-Type ${type} is not supported here; this server accepts application/fhir+json, application/fhir+xml${method === 'PATCH' ? ' and application/json-patch+json' : ''}` });
}

/** Rejects pathologically nested JSON before any recursive processing sees it. */
export function assertDepth(value: unknown, maxDepth: number): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > maxDepth) throw new FhirError('invalid', { code: 'structure', diagnostics: `The JSON body is nested more than ${maxDepth} levels deep` });
    for (const c of Array.isArray(v) ? v : Object.values(v)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
}
