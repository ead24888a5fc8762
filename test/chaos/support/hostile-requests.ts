/**
 * fast-check generators of whole hostile HTTP requests against the FHIR RESTful API (FHIR R4
 * http.html, search.html, bundle.html#transaction, fhirpatch.html, RFC 6902 JSON Patch): create,
 * update, conditional create/update/delete/patch, JSON Patch and FHIRPath Patch, batch and transaction
 * Bundles, FHIR XML bodies (xml.html, mutated), search (GET and POST `_search`, type, system and compartment level) with every parameter
 * type of the R4 registry and random modifiers, prefixes, chains, `_has`, `_include`, `_sort`,
 * `_count`, `_cursor` and percent-encoding garbage, history, vread, operations, and headers
 * (Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, X-Request-ID,
 * Authorization, oversized and repeated headers).
 *
 * A generated `RequestSpec` is data (short to print); `toRawRequest` turns it into the bytes sent,
 * with the access token chosen by `auth` filled in at send time.
 */
import fc from 'fast-check';
import { createR4SearchParameters, MODIFIERS_BY_TYPE, type SearchParamType } from '../../../src/search/parameters';
import { checkDigit } from '../../../src/spine/nhs-number';
import { send, type RawRequest } from './http-client';
import { INJECTION_TEXT, ODD_DATES, UNICODE_TEXT, hostileKey, hostileLeaf, hostileValue, mutate, mutationArb, pollutionObject } from './hostile-values';
import { JObj, JRaw, fromPlain, jsonText, obj, type JValue } from './json-text';
import { writeFhirXml } from '../../../src/formats/xml';

/** Which credentials a request carries; tokens are filled in at send time. */
export type AuthChoice = { kind: 'system' } | { kind: 'patient' } | { kind: 'none' } | { kind: 'garbage'; value: string } | { kind: 'token-plus'; suffix: string };

export interface RequestSpec {
  /** What kind of request this is (for the summary's counts). */
  kind: string;
  method: string;
  /** Path below the origin, already encoded (may hold garbage). */
  path: string;
  /** The raw query string without `?` ('' for none). */
  query: string;
  headers: Array<[string, string]>;
  auth: AuthChoice;
  /** A JSON document, raw bytes, or no body. */
  body?: JValue | RawBody;
  /** Content-Type to send when `headers` has none (undefined: none). */
  contentType?: string;
  /** Send `If-Match` with the resource's current version (read just before), unless `headers` has one. */
  matchCurrent?: boolean;
}

/** A body sent as given: text as UTF-8, or (`latin1`) each character as one byte. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly latin1 = false,
  ) {}
  toString(): string {
    return `RawBody(${JSON.stringify(this.text.slice(0, 200))})`;
  }
}

/** The resources the generators refer to (created by the suite before the properties run). */
export interface World {
  /** Ids of stored Patients. */
  patientIds: string[];
  /** `Type/id` of other stored resources (Basic, Observation, Encounter). */
  others: string[];
  /** A real `_cursor` value of a search page link (tampered with by the generators). */
  cursor: string;
}

/** Types the write generators create and change (never the canary types of the suites). */
export const WRITE_TYPES = ['Patient', 'Observation', 'Basic', 'Encounter', 'Condition', 'MedicationRequest', 'SearchParameter', 'ValueSet', 'CodeSystem', 'StructureDefinition', 'Composition', 'List'] as const;
/** Types the read and search generators use. */
export const READ_TYPES = [...WRITE_TYPES, 'Organization', 'Practitioner', 'Device', 'Bundle', 'Binary', 'Parameters', 'OperationOutcome', 'AllergyIntolerance', 'Group'];
const GARBAGE_TYPES = ['patient', 'PATIENT', 'Foo', 'Resource', 'DomainResource', '%50atient', 'Patient%00', '..', '.', '%2e%2e', 'Patient%2FObservation', 'constructor', '__proto__', 'hasOwnProperty', '$meta', '_history', 'metadata', 'Patient;x', 'Patient%20', encodeURIComponent('Pätient'), 'A'.repeat(300)];
const IDS_GARBAGE = ['', '-', '.', '..', '%2e%2e', 'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(5000), '%00', 'x%2Fy', 'x%23y', '%C3%A9', '%FF', '%', '%zz', '1e400', '__proto__', 'constructor', '9999999999', '0000000000', 'null', 'undefined', "'%20OR%201=1", '$everything', '_history', '*'];

/** A valid NHS Number in the test range (the 9-digit stem picks it). */
export function nhsNumber(stem: number): string {
  for (let s = stem; ; s++) {
    const nine = String(999000000 + (s % 999999)).padStart(9, '0');
    const c = checkDigit(nine);
    if (c !== undefined) return `${nine}${c}`;
  }
}

// ---- templates (well-formed starting points that hostile mutations are planted into) ----

function template(type: string, world: World, n: number): Record<string, unknown> {
  const patient = `Patient/${world.patientIds[n % Math.max(1, world.patientIds.length)] ?? 'x'}`;
  switch (type) {
    case 'Patient':
      return {
        resourceType: 'Patient',
        meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] },
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(1000 + n) }],
        name: [{ use: 'official', family: 'Chaos', given: ['Kay', 'M'], prefix: ['Ms'] }],
        gender: 'female',
        birthDate: '1980-02-29',
        telecom: [{ system: 'phone', value: '0113 496 0000', use: 'home' }],
        address: [{ line: ['1 Road'], city: 'Leeds', postalCode: 'LS1 1AA' }],
        extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A' }] } }],
      };
    case 'Observation':
      return {
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
        subject: { reference: patient },
        effectiveDateTime: '2020-01-01T10:00:00Z',
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        component: [{ code: { text: 'x' }, valueString: 'y' }],
      };
    case 'Basic':
      return { resourceType: 'Basic', identifier: [{ system: 'urn:chaos', value: String(n) }], code: { text: 'chaos' }, subject: { reference: patient }, created: '2020-01-01' };
    case 'Encounter':
      return { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: patient }, period: { start: '2020-01-01', end: '2020-01-02' } };
    case 'Condition':
      return { resourceType: 'Condition', subject: { reference: patient }, code: { text: 'x', coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] }, onsetDateTime: '2020-01-01', recordedDate: '2020-01-02' };
    case 'MedicationRequest':
      return { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: patient }, authoredOn: '2020-01-01' };
    case 'SearchParameter':
      return { resourceType: 'SearchParameter', url: `http://chaos.example/SearchParameter/sp${n % 4}`, name: `chaos${n % 4}`, status: 'active', description: 'chaos', code: `chaos${n % 4}`, base: ['Basic'], type: 'string', expression: 'Basic.code.text' };
    case 'ValueSet':
      return { resourceType: 'ValueSet', url: `http://chaos.example/ValueSet/vs${n % 4}`, status: 'active', compose: { include: [{ system: 'http://chaos.example/CodeSystem/cs0', concept: [{ code: 'a' }] }, { valueSet: ['http://chaos.example/ValueSet/vs0'] }] } };
    case 'CodeSystem':
      return { resourceType: 'CodeSystem', url: `http://chaos.example/CodeSystem/cs${n % 4}`, status: 'active', content: 'complete', concept: [{ code: 'a', concept: [{ code: 'b' }] }] };
    case 'StructureDefinition':
      return {
        resourceType: 'StructureDefinition',
        url: `http://chaos.example/StructureDefinition/basic${n % 4}`,
        name: 'ChaosBasic',
        status: 'active',
        kind: 'resource',
        abstract: false,
        type: 'Basic',
        baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Basic',
        derivation: 'constraint',
        differential: { element: [{ id: 'Basic.code', path: 'Basic.code', min: 1, constraint: [{ key: 'chaos-1', severity: 'error', human: 'x', expression: "text.matches('^(a+)+$').not()" }] }] },
      };
    case 'Composition':
      return { resourceType: 'Composition', status: 'final', type: { text: 'x' }, subject: { reference: patient }, date: '2020-01-01', author: [{ reference: patient }], title: 'x', section: [{ title: 's', section: [{ title: 't' }] }] };
    case 'List':
      return { resourceType: 'List', status: 'current', mode: 'working', entry: [{ item: { reference: patient } }] };
    default:
      return { resourceType: type };
  }
}

const writeType = fc.constantFrom(...WRITE_TYPES);
const mutations = fc.array(mutationArb, { maxLength: 4 });

/** A resource of `type`: its template with hostile mutations, or a random hostile document. */
const resourceBody = (world: World, type: string, id?: string): fc.Arbitrary<JValue> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat(), mutations).map(([n, m]) => mutate(fromPlain({ ...template(type, world, n), ...(id !== undefined ? { id } : {}) }), m)) },
    { weight: 1, arbitrary: fc.tuple(hostileValue).map(([v]) => new JObj([['resourceType', type], ['id', v]])) },
    { weight: 1, arbitrary: pollutionObject.map((p) => (p instanceof JObj ? new JObj([['resourceType', type], ...p.members]) : p)) },
    { weight: 1, arbitrary: hostileValue },
  );

// ---- ids and paths ----

const existingId = (world: World, type: string): fc.Arbitrary<string> => {
  const ids = type === 'Patient' ? world.patientIds : world.others.filter((o) => o.startsWith(`${type}/`)).map((o) => o.slice(type.length + 1));
  return ids.length > 0 ? fc.constantFrom(...ids) : fc.constant('chaos-none');
};
const idArb = (world: World, type: string): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: existingId(world, type) }, { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/) }, { weight: 1, arbitrary: fc.constant(nhsNumber(77)) }, { weight: 2, arbitrary: fc.constantFrom(...IDS_GARBAGE) });

/** The id a URL segment names (undecodable segments: as written). */
function decodeOr(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---- search parameters and values ----

const REGISTRY = createR4SearchParameters();
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'EQ', 'xx', ''];
const ALL_MODIFIERS = [...new Set(Object.values(MODIFIERS_BY_TYPE).flat()), 'Patient', 'Observation', 'Foo', '', 'exact:contains', 'missing:not', 'text-advanced', 'code-text', 'iterate', 'identifier:below'];
const SEARCH_TYPES = ['Patient', 'Observation', 'Encounter', 'Condition', 'Basic', 'MedicationRequest', 'Organization', 'Composition', 'List', 'SearchParameter', 'ValueSet'];

const textValue = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('chaos', 'Kay', 'a', 'é', 'ß', 'x,y', 'a\\,b', 'a\\|b', 'a\\$b', 'a\\\\', '\\', '|', '$', ',', ',,', 'a|b|c') }, { weight: 2, arbitrary: fc.constantFrom(...INJECTION_TEXT) }, { weight: 1, arbitrary: fc.constantFrom(...UNICODE_TEXT) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) });
const numberText = fc.oneof(fc.constantFrom('1', '-0', '0.0001', '1e400', '-1e400', '1e-400', 'NaN', 'Infinity', '-Infinity', '0x10', '1_000', '١٢', '12345678901234567890123456789', '1.', '.5', '+5', '5e', '', ' 1'), fc.integer().map(String), fc.double().map(String));
const dateText = fc.oneof(fc.constantFrom(...ODD_DATES, '2020', '2020-01', '2020-01-01', '2020-01-01T10:00:00Z', '2020-01-01T10:00:00.123456789+14:00', 'today', 'now', '2020-01-01T10:00:00-00:00'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
const tokenText = fc.oneof(
  fc.tuple(fc.constantFrom('', 'http://loinc.org', 'urn:chaos', 'https://fhir.nhs.uk/Id/nhs-number', '|', 'http://x|y'), textValue).map(([s, c]) => `${s}|${c}`),
  textValue,
  fc.tuple(textValue, textValue, textValue).map(([a, b, c]) => `${a}|${b}|${c}`),
);
const quantityText = fc.tuple(fc.constantFrom(...PREFIXES), numberText, fc.constantFrom('', '|', '|http://unitsofmeasure.org|mg', '||mg', '|x|y|z', '|||'), textValue).map(([p, n, u, t]) => `${p}${n}${u}${u === '' ? '' : t.slice(0, 3)}`);
const referenceText = fc.oneof(
  fc.constantFrom('Patient/1', '1', 'Patient/', '/Patient/1', 'Patient/1/_history/2', 'Patient/1/_history/', 'http://localhost:8080/fhir/Patient/1', 'http://other/fhir/Patient/1', 'urn:uuid:00000000-0000-0000-0000-000000000000', '#contained', 'Patient?identifier=x', 'Foo/1', 'Patient/../Patient/1', 'Patient/%00'),
  textValue,
);
const uriText = fc.oneof(fc.constantFrom('http://x', 'http://x/', 'http://', 'urn:oid:1.2.3', 'x', '*', 'http://chaos.example/ValueSet/vs0', 'http://hl7.org/fhir/StructureDefinition/Basic'), textValue);

function valueFor(type: SearchParamType): fc.Arbitrary<string> {
  switch (type) {
    case 'number':
      return fc.tuple(fc.constantFrom(...PREFIXES), numberText).map(([p, n]) => p + n);
    case 'date':
      return fc.tuple(fc.constantFrom(...PREFIXES), dateText).map(([p, d]) => p + d);
    case 'token':
      return tokenText;
    case 'quantity':
      return quantityText;
    case 'reference':
      return referenceText;
    case 'uri':
      return uriText;
    case 'composite':
      return fc.tuple(tokenText, fc.oneof(quantityText, dateText, textValue)).map(([a, b]) => `${a}$${b}`);
    default:
      return textValue;
  }
}

/** A value of a parameter of `type`: one, or several OR-ed with commas, or hostile text. */
const orValues = (type: SearchParamType): fc.Arbitrary<string> =>
  fc.oneof({ weight: 5, arbitrary: valueFor(type) }, { weight: 2, arbitrary: fc.array(valueFor(type), { minLength: 2, maxLength: 12 }).map((vs) => vs.join(',')) }, { weight: 1, arbitrary: hostileLeaf.map((v) => (typeof v === 'string' ? v : jsonText(v, 2000))) });

/** A `name[:modifier]` of a registry parameter of `type`, and its value; sometimes chained or `_has`. */
const paramOf = (type: string): fc.Arbitrary<[string, string]> => {
  const defs = REGISTRY.forType(type);
  if (defs.length === 0) return fc.constant(['_id', 'x']);
  const refs = defs.filter((d) => d.type === 'reference');
  const plain = fc
    .tuple(fc.constantFrom(...defs), fc.option(fc.oneof(fc.constantFrom(...ALL_MODIFIERS), fc.constantFrom(...READ_TYPES)), { freq: 3 }))
    .chain(([d, mod]) => (mod === 'missing' ? fc.constantFrom('true', 'false', 'maybe', '') : orValues(d.type)).map((v): [string, string] => [mod === null ? d.code : `${d.code}:${mod}`, v]));
  const chained =
    refs.length === 0
      ? plain
      : fc
          .tuple(fc.array(fc.constantFrom(...refs.map((r) => r.code), 'subject', 'patient', 'organization', 'general-practitioner', 'x'), { minLength: 1, maxLength: 10 }), fc.option(fc.constantFrom(...READ_TYPES), { freq: 2 }), fc.constantFrom('name', 'identifier', 'birthdate', 'code', '_id', '_lastUpdated', 'foo', ''), textValue)
          .map(([path, t, leaf, v]): [string, string] => [`${path.map((p, i) => (i === 0 && t ? `${p}:${t}` : p)).join('.')}.${leaf}`, v]);
  const has = fc
    .tuple(fc.array(fc.tuple(fc.constantFrom(...SEARCH_TYPES, 'Foo', ''), fc.constantFrom('patient', 'subject', 'organization', 'foo', '')), { minLength: 1, maxLength: 6 }), fc.constantFrom('code', 'name', '_id', 'status', 'foo', ''), textValue)
    .map(([hops, leaf, v]): [string, string] => [`${hops.map(([t, p]) => `_has:${t}:${p}`).join(':')}:${leaf}`, v]);
  return fc.oneof({ weight: 6, arbitrary: plain }, { weight: 2, arbitrary: chained }, { weight: 1, arbitrary: has });
};

/** The result and special parameters (§3.1.1.7 and the specials), with garbage values. */
const resultParam = (world: World): fc.Arbitrary<[string, string]> =>
  fc.oneof(
    fc.tuple(fc.constant('_count'), fc.oneof(numberText, fc.constantFrom('0', '1', '1000', '1001', '999999999999', '-1', 'all'))),
    fc.tuple(fc.constant('_offset'), numberText),
    fc.tuple(
      fc.constant('_sort'),
      fc.array(fc.tuple(fc.constantFrom('', '-', '--', '+'), fc.constantFrom('name', 'birthdate', '_id', '_lastUpdated', 'date', 'code', 'subject.name', 'patient.birthdate', 'subject:Patient.name', 'foo', '', '_score', 'value-quantity', 'identifier')), { minLength: 1, maxLength: 6 }).map((ks) => ks.map(([d, k]) => d + k).join(',')),
    ),
    fc.tuple(fc.constant('_cursor'), fc.oneof(fc.constant(world.cursor), fc.tuple(fc.nat(), fc.constantFrom('A', '_', '-', '=', '%', '.', '')).map(([i, c]) => { const at = i % Math.max(1, world.cursor.length); return world.cursor.slice(0, at) + c + world.cursor.slice(at + 1); }), textValue, fc.base64String({ maxLength: 200 }))),
    fc.tuple(fc.constant('_total'), fc.constantFrom('none', 'estimate', 'accurate', 'all', '')),
    fc.tuple(fc.constant('_summary'), fc.constantFrom('true', 'false', 'text', 'data', 'count', 'maybe', '')),
    fc.tuple(fc.constant('_elements'), fc.array(fc.constantFrom('id', 'name', 'meta', 'name.family', 'extension', '*', '', 'foo', '__proto__', 'constructor', 'resourceType'), { maxLength: 6 }).map((e) => e.join(','))),
    fc.tuple(fc.constantFrom('_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_include:recurse', '_include:foo'), fc.constantFrom('*', 'Observation:subject', 'Observation:subject:Patient', 'Observation:*', 'Patient:general-practitioner', 'Patient:link', 'Encounter:subject', 'Foo:bar', ':', '::', 'Observation:subject:Foo', 'Observation:code', 'List:item', 'Composition:entry', '')),
    fc.tuple(fc.constantFrom('_contained', '_containedType'), fc.constantFrom('true', 'false', 'both', 'container', 'contained', 'x')),
    fc.tuple(fc.constant('_format'), fc.constantFrom('json', 'xml', 'application/fhir+json', 'application/fhir+xml', 'text/html', 'ttl', '', 'json;q=0')),
    fc.tuple(fc.constant('_pretty'), fc.constantFrom('true', 'false', 'yes')),
    fc.tuple(fc.constantFrom('_type', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content', '_list', '_filter', '_query', '_has', '_since', '_at', '_score', 'near', '_language'), fc.oneof(textValue, dateText, fc.array(fc.constantFrom(...READ_TYPES, 'Foo', ''), { maxLength: 4 }).map((t) => t.join(',')))),
  );

type Encoding = 'encoded' | 'raw' | 'double' | 'plus' | 'garbage';
const PERCENT_GARBAGE = ['%', '%Z', '%ZZ', '%0', '%00', '%FF', '%FE%FF', '%C0%AF', '%E0%A4', '%ED%A0%80', '%F4%90%80%80', '%2', '%%', '%u0041', '%25', '%26', '%3D', '%23', '%2C', '%5C'];

/** encodeURIComponent, except that a lone surrogate becomes its WTF-8 bytes (`%ED%A0%80`: invalid UTF-8). */
function encodeURIComponent(s: string): string {
  return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[^\ud800-\udfff]+/g, (part) => {
    if (part.length === 1 && /[\ud800-\udfff]/.test(part)) {
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    }
    return globalThis.encodeURIComponent(part);
  });
}

function encodePart(s: string, how: Encoding, garbage: string): string {
  switch (how) {
    case 'encoded':
      return encodeURIComponent(s);
    case 'raw':
      // The request line takes bytes 0x21-0xff except what would end the target; keep those encoded.
      return encodeURIComponent(s).replace(/%(2C|7C|24|3A|2F|40|27|28|29|2A|21|5B|5D|7B|7D|22|3C|3E|5E|60)/gi, (m) => decodeURIComponent(m));
    case 'double':
      return encodeURIComponent(encodeURIComponent(s));
    case 'plus':
      return encodeURIComponent(s).replace(/%20/g, '+');
    case 'garbage':
      return `${encodeURIComponent(s.slice(0, Math.ceil(s.length / 2)))}${garbage}${encodeURIComponent(s.slice(Math.ceil(s.length / 2)))}`;
  }
}

const encoding = fc.constantFrom<Encoding>('encoded', 'encoded', 'encoded', 'raw', 'plus', 'double', 'garbage');

/** A query string for a search over `type` (undefined: system level). */
export const queryArb = (world: World, type: string | undefined, maxParams = 6): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(fc.oneof({ weight: 3, arbitrary: paramOf(type ?? 'Resource') }, { weight: 2, arbitrary: resultParam(world) }, { weight: 1, arbitrary: fc.tuple(hostileKey, textValue) }), encoding, fc.constantFrom(...PERCENT_GARBAGE), fc.constantFrom('&', '&', '&', '&&', ';', '&=&')), { maxLength: maxParams })
    .map((ps) => ps.map(([[k, v], how, g, sep], i) => `${i === 0 ? '' : sep}${encodePart(k, how === 'double' ? 'encoded' : how, g)}=${encodePart(v, how, g)}`).join(''));

// ---- headers ----

/** Header values may hold bytes 0x20-0x7e, 0x80-0xff and tab (node:http refuses the rest on the client side). */
function headerSafe(s: string): string {
  return Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

const CONTENT_TYPES = [
  'application/fhir+json',
  'application/json',
  'application/json+fhir',
  'application/fhir+json; charset=utf-8',
  'application/fhir+json;charset="UTF-8"',
  'application/fhir+json; charset=utf-16',
  'application/fhir+json; charset=latin1',
  'application/fhir+json; fhirVersion=3.0',
  'application/json-patch+json',
  'application/x-www-form-urlencoded',
  'application/fhir+xml',
  'application/xml',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  ';',
  ';;;charset=',
  'application/',
  '*/*',
  'APPLICATION/FHIR+JSON',
  'application/fhir+json; charset',
];
const ACCEPTS = ['*/*', 'application/fhir+json', 'application/json', 'application/fhir+xml', 'application/xml', 'text/html', 'application/json;q=0', 'application/json;q=abc', 'application/json;q=-1', 'text/html, */*;q=0.1', ',,,', ';q=1', 'application/*', 'application/fhir+json;fhirVersion=4.0', ''];
const PREFERS = ['return=minimal', 'return=representation', 'return=OperationOutcome', 'return=', 'return=garbage', 'handling=strict', 'handling=lenient', 'handling=strict, return=minimal', 'respond-async', 'wait=10', 'return="minimal"', ';;;', 'handling=strict;handling=lenient'];
const ETAGS = ['W/"1"', '"1"', 'W/"2"', 'W/"0"', 'W/"-1"', 'W/"999999999999999"', 'W/"9999999999999999"', 'W/"1.5"', 'W/""', '*', 'W/1', 'W/"1", W/"2"', 'W/"abc"', '', ' ', 'W/"1e3"'];
const DATES = ['Tue, 01 Jan 2030 00:00:00 GMT', 'Thu, 01 Jan 1970 00:00:00 GMT', 'yesterday', '', '0', '99999999999999', 'Sat, 31 Feb 2021 25:61:61 GMT', '2020-01-01'];
const REQUEST_IDS = ['', 'a', 'chaos-1', 'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(8000), 'a b', '../x', '%00', 'é', '<script>', 'a,b', '00000000-0000-0000-0000-000000000000'];
const AUTH_GARBAGE = [
  'Bearer',
  'Bearer ',
  'Bearer  ',
  'bearer x',
  'Bearer x.y.z',
  'Bearer eyJhbGciOiJub25lIn0.eyJzY29wZSI6InN5c3RlbS8qLioifQ.',
  'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzY29wZSI6InN5c3RlbS8qLioiLCJwYXRpZW50IjoieCJ9.',
  'Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2V0Yy9wYXNzd2QifQ.e30.x',
  'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Ik5vbmUifQ.eyJleHAiOjF9.AAAA',
  'Bearer ' + 'A'.repeat(9000),
  'Bearer ' + 'eyJ'.repeat(2000) + '.x.y',
  'Basic dXNlcjpwYXNz',
  'Digest username="x"',
  'Bearer a b c',
  'Bearer %00',
  'Negotiate YII=',
  'Bearer null',
];

const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constant('Content-Type'), fc.constantFrom(...CONTENT_TYPES)) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('Accept'), fc.oneof({ weight: 2, arbitrary: fc.constantFrom('*/*', 'application/fhir+json', 'application/json') }, { weight: 1, arbitrary: fc.constantFrom(...ACCEPTS) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('Prefer'), fc.constantFrom(...PREFERS)) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('If-Match', 'If-None-Match'), fc.constantFrom(...ETAGS)) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('If-Modified-Since'), fc.constantFrom(...DATES)) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('If-None-Exist'), fc.oneof(fc.constantFrom('identifier=urn:chaos|1', 'name=chaos', '', '?', '&&&', '_id=x', 'foo=bar', '_count=1', '%ZZ=1', 'identifier=urn:chaos|1&identifier=urn:chaos|2', 'name=' + 'x'.repeat(5000)), textValue)) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('X-Request-ID', 'X-Correlation-ID'), fc.oneof(fc.constantFrom(...REQUEST_IDS), fc.uuid())) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('X-Forwarded-For', 'X-Forwarded-Host', 'Host', 'Origin', 'Cookie', 'X-HTTP-Method-Override', 'Content-Encoding', 'Accept-Encoding', 'Accept-Charset', 'NHSD-Session-URID', 'X-Chaos'), fc.oneof(textValue, fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'DELETE', 'evil.example', 'null'))) },
  // Oversized: below and above Node's 16 KiB limit on the header section (above: 431 before any handler).
  { weight: 1, arbitrary: fc.tuple(fc.constant('X-Chaos-Big'), fc.constantFrom(4000, 12_000, 15_000, 17_000, 70_000).map((n) => 'h'.repeat(n))) },
);

const authArb: fc.Arbitrary<AuthChoice> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: 'system' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'patient' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.constantFrom(...AUTH_GARBAGE).map((value) => ({ kind: 'garbage' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom('x', '.', '.x', ' x', 'AAAA', '\t').map((suffix) => ({ kind: 'token-plus' as const, suffix })) },
);

// ---- bodies of patch, Bundle and operations ----

const JSON_PATCH_PATHS = ['/name/0/family', '/name/-', '/name/0', '/name', '/birthDate', '/__proto__/polluted', '/constructor/prototype/polluted', '/__proto__', '/meta/versionId', '/id', '/resourceType', '', '/', '/name/999999999', '/name/-1', '/name/01', '/name/1e3', '/~1', '/~2', '/a~', '/identifier/0/value', '/extension/0/url', '/text/div', '/contained/-', '/' + 'a/'.repeat(150) + 'b', 'name', '/name/0/given/-'];
const jsonPatchOp = fc
  .record({
    op: fc.constantFrom('add', 'replace', 'remove', 'move', 'copy', 'test', 'ADD', 'merge', '', '__proto__'),
    path: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...JSON_PATCH_PATHS) }, { weight: 1, arbitrary: textValue }),
    value: hostileValue,
    from: fc.option(fc.constantFrom(...JSON_PATCH_PATHS), { freq: 3 }),
    extra: fc.option(fc.tuple(hostileKey, hostileValue), { freq: 4 }),
  })
  .map((o) => new JObj([['op', o.op], ['path', o.path], ['value', o.value], ...(o.from !== null ? ([['from', o.from]] as const) : []), ...(o.extra !== null ? [o.extra] : [])]));
const jsonPatchBody: fc.Arbitrary<JValue> = fc.oneof({ weight: 5, arbitrary: fc.array(jsonPatchOp, { maxLength: 5 }) }, { weight: 1, arbitrary: hostileValue });

const FHIRPATHS = [
  'Patient',
  'Patient.name',
  'Patient.name[0]',
  'Patient.name[999999999]',
  'Patient.name.where(family = \'Chaos\')',
  'Patient.name.given',
  'Basic.code',
  'Basic.identifier',
  'Observation.component',
  'Patient.descendants()',
  'Patient.repeat(name)',
  'Patient.repeat($this)',
  'Patient.name.where(family.matches(\'^(a+)+$\'))',
  'Patient.name.select(given.select(given.select(given)))',
  'Patient.name | Patient.name | Patient.name',
  'Patient.extension(\'x\')',
  '%resource',
  '%context.name',
  '(((((((((((',
  'Patient.name.aggregate($total + $this, 0)',
  '1/0',
  'today() + 1000000 years',
  'iif(',
  "trace('x')",
  'Patient.name.first().family.replaceMatches(\'(.*)*\', \'x\')',
  'Patient.__proto__',
  'Patient.constructor',
  '',
  'Patient.contained',
  'Patient.id',
  'Patient.meta',
];
const fhirPathPatchBody: fc.Arbitrary<JValue> = fc
  .array(
    fc.record({
      type: fc.constantFrom('add', 'insert', 'delete', 'replace', 'move', 'ADD', 'x', ''),
      path: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FHIRPATHS) }, { weight: 1, arbitrary: textValue }),
      name: fc.option(fc.constantFrom('name', 'family', 'given', 'extension', '__proto__', 'constructor', 'id', 'resourceType', 'value[x]', ''), { freq: 2 }),
      valueKey: fc.constantFrom('valueString', 'valueHumanName', 'valueInteger', 'valueCode', 'valueDate', 'valueBoolean', 'valueFoo', 'resource', 'value', 'valueReference'),
      value: hostileValue,
      index: fc.option(fc.oneof(fc.constantFrom<JValue>(0, -1, 1, 2 ** 31, new JRaw('1e400'), '1'), hostileLeaf), { freq: 2 }),
      source: fc.option(fc.oneof(fc.constantFrom<JValue>(0, 5, -1), hostileLeaf), { freq: 4 }),
      destination: fc.option(fc.oneof(fc.constantFrom<JValue>(0, 5, -1), hostileLeaf), { freq: 4 }),
      parts: fc.option(fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 3 }), { freq: 5 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((ops) =>
    obj({
      resourceType: 'Parameters',
      parameter: ops.map((o) =>
        obj({
          name: 'operation',
          part: [
            obj({ name: 'type', valueCode: o.type }),
            obj({ name: 'path', valueString: o.path }),
            ...(o.name !== null ? [obj({ name: 'name', valueString: o.name })] : []),
            new JObj([['name', 'value'], [o.valueKey, o.value], ...(o.parts !== null ? ([['part', o.parts.map(([k, v]) => new JObj([['name', k], ['valueString', v]]))]] as const) : [])]),
            ...(o.index !== null ? [obj({ name: 'index', valueInteger: o.index })] : []),
            ...(o.source !== null ? [obj({ name: 'source', valueInteger: o.source })] : []),
            ...(o.destination !== null ? [obj({ name: 'destination', valueInteger: o.destination })] : []),
          ],
        }),
      ),
    }),
  );

const UUIDS = ['urn:uuid:11111111-1111-4111-8111-111111111111', 'urn:uuid:22222222-2222-4222-8222-222222222222', 'urn:uuid:33333333-3333-4333-8333-333333333333'];

const bundleEntry = (world: World): fc.Arbitrary<JValue> =>
  writeType.chain((type) =>
    fc
      .record({
        method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'HEAD', 'get', 'TRACE', ''),
        url: fc.oneof(
          { weight: 4, arbitrary: fc.tuple(existingId(world, type), fc.constantFrom('', '', '/_history/1', '?_count=1')).map(([id, s]) => `${type}/${id}${s}`) },
          { weight: 2, arbitrary: fc.constant(type) },
          { weight: 2, arbitrary: queryArb(world, type, 3).map((q) => `${type}?${q}`) },
          { weight: 1, arbitrary: fc.constantFrom('', '/', 'metadata', '$validate', 'Patient/$merge', 'http://other/fhir/Patient/1', '_history', 'Bundle', '../../x', 'Patient/x/_history/y/z') },
        ),
        fullUrl: fc.option(fc.oneof(fc.constantFrom(...UUIDS), fc.constantFrom('urn:uuid:', 'urn:uuid:x', 'http://localhost:8080/fhir/Basic/chaos-b1', 'Patient/1', '', '#')), { freq: 2 }),
        resource: fc.option(fc.oneof({ weight: 4, arbitrary: resourceBody(world, type) }, { weight: 1, arbitrary: fhirPathPatchBody }, { weight: 1, arbitrary: fc.constant<JValue>(obj({ resourceType: 'Bundle', type: 'transaction', entry: [] })) }), { freq: 6 }),
        ref: fc.option(fc.constantFrom(...UUIDS, 'Patient?identifier=x', 'Patient?name=chaos', 'urn:uuid:nope'), { freq: 2 }),
        ifMatch: fc.option(fc.constantFrom(...ETAGS), { freq: 5 }),
        ifNoneExist: fc.option(fc.constantFrom('identifier=urn:chaos|1', '', '&', 'foo=bar', '_id=chaos-b1'), { freq: 5 }),
        extra: fc.option(fc.tuple(hostileKey, hostileValue), { freq: 5 }),
      })
      .map((e) => {
        let resource = e.resource;
        if (resource instanceof JObj && e.ref !== null) resource = new JObj([...resource.members.filter(([k]) => k !== 'subject'), ['subject', obj({ reference: e.ref })]]);
        const request = new JObj([
          ['method', e.method],
          ['url', e.url],
          ...(e.ifMatch !== null ? ([['ifMatch', e.ifMatch]] as const) : []),
          ...(e.ifNoneExist !== null ? ([['ifNoneExist', e.ifNoneExist]] as const) : []),
        ]);
        return new JObj([...(e.fullUrl !== null ? ([['fullUrl', e.fullUrl]] as const) : []), ...(resource !== null ? ([['resource', resource]] as const) : []), ['request', request], ...(e.extra !== null ? [e.extra] : [])]);
      }),
  );

const bundleBody = (world: World): fc.Arbitrary<JValue> =>
  fc
    .record({ type: fc.constantFrom('transaction', 'transaction', 'batch', 'batch', 'document', 'collection', 'searchset', 'Transaction', ''), entries: fc.array(bundleEntry(world), { maxLength: 8 }), mutations: fc.array(mutationArb, { maxLength: 2 }) })
    .map((b) => mutate(obj({ resourceType: 'Bundle', type: b.type, entry: b.entries }), b.mutations));

// ---- whole requests ----

const fhir = '/fhir';

/** Every hostile request kind the suites send, over the stored `world`. */
export function requestArb(world: World): fc.Arbitrary<RequestSpec> {
  const headers = fc.array(headerArb, { maxLength: 4 });
  const withType = <T>(f: (type: string) => fc.Arbitrary<T>): fc.Arbitrary<T> => writeType.chain(f);
  const spec = (kind: string, method: string, path: string, query: string, h: Array<[string, string]>, auth: AuthChoice, body?: JValue | RawBody, contentType?: string): RequestSpec => ({
    kind,
    method,
    path,
    query,
    headers: h,
    auth,
    ...(body !== undefined ? { body } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
  });
  const matchCurrent = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
  // Types with stored resources (patches need one to apply to).
  const storedType = fc.constantFrom('Patient', ...new Set(world.others.map((o) => o.split('/')[0]!)));
  const searchType = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...SEARCH_TYPES) }, { weight: 1, arbitrary: fc.constantFrom(...GARBAGE_TYPES) });

  return fc.oneof(
    // create / conditional create
    { weight: 6, arbitrary: withType((t) => fc.tuple(resourceBody(world, t), headers, authArb).map(([b, h, a]) => spec('create', 'POST', `${fhir}/${t}`, '', h, a, b, 'application/fhir+json'))) },
    // update (update-as-create with new or garbage ids)
    { weight: 5, arbitrary: withType((t) => idArb(world, t).chain((id) => fc.tuple(resourceBody(world, t, decodeOr(id)), headers, authArb).map(([b, h, a]) => spec('update', 'PUT', `${fhir}/${t}/${id}`, '', h, a, b, 'application/fhir+json')))) },
    // conditional update / delete / patch
    {
      weight: 2,
      arbitrary: withType((t) =>
        fc
          .tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH'), queryArb(world, t, 3), resourceBody(world, t), jsonPatchBody, headers, authArb)
          .map(([m, q, b, p, h, a]) => (m === 'PATCH' ? spec('conditional-patch', m, `${fhir}/${t}`, q, h, a, p, 'application/json-patch+json') : spec(m === 'PUT' ? 'conditional-update' : 'conditional-delete', m, `${fhir}/${t}`, q, h, a, m === 'PUT' ? b : undefined, m === 'PUT' ? 'application/fhir+json' : undefined))),
      ),
    },
    // JSON Patch / FHIRPath Patch
    { weight: 4, arbitrary: storedType.chain((t) => fc.tuple(existingId(world, t), jsonPatchBody, headers, authArb, matchCurrent).map(([id, b, h, a, m]) => ({ ...spec('patch-json', 'PATCH', `${fhir}/${t}/${id}`, '', h, a, b, 'application/json-patch+json'), matchCurrent: m }))) },
    { weight: 4, arbitrary: storedType.chain((t) => fc.tuple(existingId(world, t), fhirPathPatchBody, headers, authArb, matchCurrent).map(([id, b, h, a, m]) => ({ ...spec('patch-fhirpath', 'PATCH', `${fhir}/${t}/${id}`, '', h, a, b, 'application/fhir+json'), matchCurrent: m }))) },
    // batch / transaction
    { weight: 5, arbitrary: fc.tuple(bundleBody(world), headers, authArb).map(([b, h, a]) => spec('bundle', 'POST', fhir, '', h, a, b, 'application/fhir+json')) },
    // search: type level GET, POST _search (form body), system level, compartment
    { weight: 8, arbitrary: searchType.chain((t) => fc.tuple(queryArb(world, t), headers, authArb, fc.constantFrom('GET', 'HEAD')).map(([q, h, a, m]) => spec('search', m, `${fhir}/${t}`, q, h, a))) },
    { weight: 2, arbitrary: searchType.chain((t) => fc.tuple(queryArb(world, t), queryArb(world, t, 2), headers, authArb).map(([q, qs, h, a]) => spec('search-post', 'POST', `${fhir}/${t}/_search`, qs, h, a, new RawBody(q), 'application/x-www-form-urlencoded'))) },
    { weight: 2, arbitrary: fc.tuple(queryArb(world, undefined), headers, authArb).map(([q, h, a]) => spec('search-system', 'GET', fhir, q, h, a)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...world.patientIds), fc.constantFrom(...IDS_GARBAGE)), fc.constantFrom('Observation', 'Encounter', '*', 'Basic', 'Foo', 'Patient'), queryArb(world, 'Observation', 3), headers, authArb)
        .map(([id, t, q, h, a]) => spec('search-compartment', 'GET', `${fhir}/Patient/${id}/${t}`, q, h, a)),
    },
    // read / vread / history
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...READ_TYPES, ...GARBAGE_TYPES), fc.oneof(fc.constantFrom(...world.patientIds, ...world.others.map((o) => o.split('/')[1]!)), fc.constantFrom(...IDS_GARBAGE)), fc.constantFrom('', '/_history', '/_history/1', '/_history/0', '/_history/-1', '/_history/99999999999999999999', '/_history/x', '/_history/1/x', '/$everything', '/$meta', '/$validate', '/x/y/z'), queryArb(world, undefined, 3), headers, authArb)
        .map(([t, id, s, q, h, a]) => spec('read', 'GET', `${fhir}/${t}/${id}${s}`, q, h, a)),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(`${fhir}/_history`, `${fhir}/Patient/_history`, `${fhir}/Basic/_history`), queryArb(world, undefined, 4), headers, authArb).map(([p, q, h, a]) => spec('history', 'GET', p, q, h, a)) },
    // operations
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom(`${fhir}/$validate`, `${fhir}/Patient/$validate`, `${fhir}/Basic/$validate`, `${fhir}/Patient/$merge`, `${fhir}/Patient/$trace`, `${fhir}/Patient/$match`, `${fhir}/$reindex`, `${fhir}/Patient/$everything`, `${fhir}/$meta`, `${fhir}/$foo`, `${fhir}/Patient/${world.patientIds[0] ?? 'x'}/$validate`, `${fhir}/$export`),
          fc.constantFrom('GET', 'POST'),
          fc.oneof(
            writeType.chain((t) => resourceBody(world, t)),
            fc.array(fc.tuple(fc.constantFrom('resource', 'mode', 'profile', 'source-patient', 'target-patient', 'result-patient', 'onlyCertainMatches', 'count', 'family', 'birthdate', 'x'), hostileValue), { maxLength: 4 }).map((ps) => obj({ resourceType: 'Parameters', parameter: ps.map(([name, v]) => new JObj([['name', name], [name === 'resource' ? 'resource' : 'valueString', v]])) })),
          ),
          queryArb(world, 'Patient', 3),
          headers,
          authArb,
        )
        .map(([p, m, b, q, h, a]) => spec('operation', m, p, q, h, a, m === 'POST' ? b : undefined, m === 'POST' ? 'application/fhir+json' : undefined)),
    },
    // anything to anywhere: random method, path, body
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'FOO', 'PROPFIND', 'HEAD'),
          fc.oneof(fc.constantFrom('/', '/fhir', '/fhir/', '//fhir//Patient', '/fhir/metadata', '/fhir/.well-known/smart-configuration', '/auth/token', '/auth/authorize', '/fhir/Patient/%2e%2e/%2e%2e/etc', '/FHIR/Patient', '/fhir/Patient/a/b/c/d/e', '/%ZZ', '/fhir/%C0%AF', '/fhir/Patient;x=1', '/fhir/Patient/../metadata'), fc.constantFrom(...GARBAGE_TYPES).map((t) => `${fhir}/${t}`)),
          queryArb(world, undefined, 2),
          fc.option(hostileValue, { freq: 2 }),
          headers,
          authArb,
        )
        .map(([m, p, q, b, h, a]) => spec('random', m, p, q, h, a, b ?? undefined, b === null ? undefined : 'application/fhir+json')),
    },
    // not JSON at all, or truncated JSON
    {
      weight: 2,
      arbitrary: fc
        .tuple(withType((t) => resourceBody(world, t).map((b) => [t, b] as const)), fc.nat(), fc.constantFrom('truncate', 'bom', 'trailing', 'nul', 'binary', 'xml', 'empty', 'ws'), fc.uint8Array({ maxLength: 64 }), headers, authArb)
        .map(([[t, b], n, how, bytes, h, a]) => {
          const text = jsonText(b);
          const raw =
            how === 'truncate' ? text.slice(0, n % Math.max(1, text.length)) : how === 'bom' ? `\ufeff${text}` : how === 'trailing' ? `${text}}{` : how === 'nul' ? `${text}\u0000` : how === 'binary' ? Buffer.from(bytes).toString('latin1') : how === 'xml' ? '<Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>' : how === 'ws' ? ' \n\t ' : '';
          return spec('not-json', n % 2 === 0 ? 'POST' : 'PUT', n % 2 === 0 ? `${fhir}/${t}` : `${fhir}/${t}/chaos-x`, '', h, a, new RawBody(raw, how === 'binary'), 'application/fhir+json');
        }),
    },
    // FHIR XML bodies (xml.html): the generated resources written as XML, then mutated (DTDs, entities, markup, cuts)
    {
      weight: 2,
      arbitrary: fc
        .tuple(withType((t) => resourceBody(world, t).map((b) => [t, b] as const)), fc.nat(), fc.option(XML_FRAGMENT, { freq: 2 }), fc.constantFrom('none', 'none', 'truncate', 'insert'), headers, authArb)
        .map(([[t, b], n, fragment, how, h, a]) => {
          const xml = xmlText(jsonText(b));
          const at = n % Math.max(1, xml.length);
          const raw = how === 'truncate' ? xml.slice(0, at) : how === 'insert' || fragment !== null ? xml.slice(0, at) + (fragment ?? '<x/>') + xml.slice(at) : xml;
          return spec('xml', n % 2 === 0 ? 'POST' : 'PUT', n % 2 === 0 ? `${fhir}/${t}` : `${fhir}/${t}/chaos-x`, '', [...h, ['Accept', n % 3 === 0 ? 'application/fhir+json' : 'application/fhir+xml']], a, new RawBody(raw), 'application/fhir+xml');
        }),
    },
  );
}

const XML_FRAGMENT = fc.constantFrom(
  '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
  '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
  '&e;',
  '&#0;',
  '<![CDATA[]]>',
  '<?xml-stylesheet href="x"?>',
  '</extension>',
  '<contained><Patient/></contained>',
  ' value=""',
  '<foo:bar xmlns:foo="urn:x"/>',
  '\u0000',
  '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>',
);

/** The resource's FHIR XML by the server's own writer, or (not R4 JSON, not JSON at all) a small Patient. */
function xmlText(json: string): string {
  try {
    return writeFhirXml(JSON.parse(json));
  } catch {
    return '<Patient xmlns="http://hl7.org/fhir"><name><family value="chaos"/></name></Patient>';
  }
}

/** The spec with `If-Match` set to the current version of its resource (when `matchCurrent` asks for it). */
export async function withCurrentVersion(s: RequestSpec, origin: string, tokens: { system?: string }): Promise<RequestSpec> {
  if (!s.matchCurrent || s.headers.some(([k]) => k.toLowerCase() === 'if-match')) return s;
  const res = await send(origin, { method: 'GET', target: s.path, headers: tokens.system ? { Authorization: `Bearer ${tokens.system}` } : {} });
  const etag = res.headers['etag'];
  return typeof etag === 'string' ? { ...s, headers: [...s.headers, ['If-Match', etag]] } : s;
}

/** Bytes of a spec, with tokens for `system` / `patient` credentials. */
export function toRawRequest(s: RequestSpec, tokens: { system?: string; patient?: string }): RawRequest {
  const headers: Record<string, string | string[]> = {};
  const add = (k: string, v: string): void => {
    const prev = headers[k];
    // node:http sends one Host only: a repeated Host replaces the previous one.
    if (k.toLowerCase() === 'host') {
      headers[k] = headerSafe(v);
      return;
    }
    headers[k] = prev === undefined ? headerSafe(v) : [...(Array.isArray(prev) ? prev : [prev]), headerSafe(v)];
  };
  const auth = s.auth;
  if (auth.kind === 'system' && tokens.system) add('Authorization', `Bearer ${tokens.system}`);
  if (auth.kind === 'patient' && tokens.patient) add('Authorization', `Bearer ${tokens.patient}`);
  if (auth.kind === 'garbage') add('Authorization', auth.value);
  if (auth.kind === 'token-plus' && tokens.system) add('Authorization', `Bearer ${tokens.system}${auth.suffix}`);
  if (s.contentType !== undefined && !s.headers.some(([k]) => k.toLowerCase() === 'content-type')) add('Content-Type', s.contentType);
  for (const [k, v] of s.headers) add(k, v);
  const body = s.body === undefined ? undefined : s.body instanceof RawBody ? Buffer.from(s.body.text, s.body.latin1 ? 'latin1' : 'utf8') : jsonText(s.body);
  return { method: s.method, target: s.query === '' ? s.path : `${s.path}?${s.query}`, headers, ...(body !== undefined ? { body } : {}) };
}
