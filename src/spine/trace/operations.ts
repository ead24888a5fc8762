/**
 * `Patient/$trace` (the PDS FHIR API demographic search, "Search for a patient", as an operation)
 * and `Patient/$match` (FHIR R4 https://hl7.org/fhir/R4/patient-operation-match.html: `resource`,
 * `onlyCertainMatches`, `count`; results carry `search.score` and the match-grade extension
 * http://hl7.org/fhir/StructureDefinition/match-grade). Both run the trace engine (engine.ts).
 *
 * `$trace` answers a `searchset` Bundle sorted by `entry.search.score`; more matches than
 * `_max-results`: HTTP 200 with the TOO_MANY_MATCHES OperationOutcome (PDS behaviour).
 * `$match` scores in fuzzy mode with history; a field the given resource has but a record lacks does
 * not count against the record. `onlyCertainMatches=true` returns the certain match only when there is
 * exactly one.
 */
import type { Bundle, BundleEntry, OperationDefinition, Parameters, Patient } from 'fhir/r4';
import type { InteractionContext } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import type { FhirRequest, FhirResult } from '../../fhir/types';
import type { OperationInvocation } from '../../operations/registry';
import { runTrace, nhsNumberOfPatient, type ScoredMatch } from './engine';
import { MAX_RESULTS_LIMIT, parseTraceQuery, type DateBound, type TraceQuery } from './query';
import { invalidSearchData, invalidValue, tooManyMatches } from './trace-errors';
import { addressKind, gpCodes, historicFlags, nameKind, telecomKind } from './features';
import { validateResource } from '../../validation/base-validator';

export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';
export const DEFAULT_MATCH_COUNT = 10;

const p = (name: string, type: string, documentation: string, max = '1'): NonNullable<OperationDefinition['parameter']>[number] => ({ name, use: 'in', min: 0, max, type, documentation });

export const TRACE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-trace',
  url: 'http://spine-fhir-server.local/OperationDefinition/Patient-trace',
  name: 'Trace',
  title: 'PDS demographic trace',
  status: 'active',
  kind: 'operation',
  description:
    'Demographic search of the NHS Personal Demographics Service (PDS FHIR API "Search for a patient"): scored matches in a searchset Bundle (entry.search.score, 1.0 exact), TOO_MANY_MATCHES (HTTP 200 OperationOutcome) when more than _max-results match, INVALID_SEARCH_DATA for unsupported combinations.',
  affectsState: false,
  code: 'trace',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
  parameter: [
    p('family', 'string', 'Family name; not case sensitive; max 35 characters; `*` wildcard from the third character (not fuzzy).'),
    p('given', 'string', 'Given name (repeat for middle names; a compound first name is one value); `*` wildcard from the third character on the first given name.', '*'),
    p('gender', 'code', 'male | female | other | unknown.'),
    p('birthdate', 'string', '`<eq|ge|le>yyyy-mm-dd`; repeat (ge and le) for a range.', '2'),
    p('death-date', 'string', '`<eq|ge|le>yyyy-mm-dd`; in a fuzzy search it only affects the score.', '2'),
    p('address-postalcode', 'string', 'Postcode of any known address; case and space insensitive; `*` wildcard from the third character.'),
    p('address-postcode', 'string', 'Deprecated synonym of address-postalcode (both: INVALID_SEARCH_DATA).'),
    p('general-practitioner', 'string', 'ODS code of the registered GP practice; in a fuzzy search it only affects the score.'),
    p('email', 'string', 'Email address (exact, case insensitive).'),
    p('phone', 'string', 'Phone number (exact, digits; +44 is 0).'),
    p('_fuzzy-match', 'boolean', 'Soundex homophones, transposed names and near-miss dates of birth; always searches history; no wildcards.'),
    p('_exact-match', 'boolean', 'Only results scoring 1.0.'),
    p('_history', 'boolean', 'Also match previous names and addresses.'),
    p('_max-results', 'integer', `1..${MAX_RESULTS_LIMIT} (default ${MAX_RESULTS_LIMIT}); more matches answer TOO_MANY_MATCHES.`),
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'searchset Bundle sorted by entry.search.score, or an OperationOutcome TOO_MANY_MATCHES.' },
  ],
};

export const MATCH_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-match',
  url: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
  version: '4.0.1',
  name: 'Match',
  title: 'Find patient matches using MPI based logic',
  status: 'active',
  kind: 'operation',
  description: 'Scores the stored Patients against the given Patient with the trace engine (fuzzy, with history) and returns the candidates with search.score and the match-grade extension (certain >= 0.95, probable >= 0.8, possible >= 0.6).',
  affectsState: false,
  code: 'match',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
  parameter: [
    { name: 'resource', use: 'in', min: 1, max: '1', type: 'Resource', documentation: 'The Patient to find matches for.' },
    { name: 'onlyCertainMatches', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Only the single certain match (none when there are several).' },
    { name: 'count', use: 'in', min: 0, max: '1', type: 'integer', documentation: `Most matches returned (1..${MAX_RESULTS_LIMIT}, default ${DEFAULT_MATCH_COUNT}).` },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'searchset Bundle of matches with search.score and the match-grade extension.' },
  ],
};

function entryOf(ctx: InteractionContext, m: ScoredMatch, grade: boolean): BundleEntry {
  return {
    fullUrl: `${ctx.services.config.baseUrl}/Patient/${m.version.id}`,
    resource: m.resource,
    search: {
      mode: 'match',
      score: m.score,
      ...(grade ? { extension: [{ url: MATCH_GRADE_URL, valueCode: m.grade }] } : {}),
    },
  };
}

function searchset(ctx: InteractionContext, matches: readonly ScoredMatch[], grade: boolean): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: (ctx.services.now?.() ?? new Date()).toISOString(),
    total: matches.length,
    entry: matches.map((m) => entryOf(ctx, m, grade)),
  };
}

export async function traceOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const q = parseTraceQuery(inv.parameters);
  const { matches } = await runTrace(ctx, q);
  if (matches.length > q.maxResults) return { status: 200, resource: tooManyMatches(matches.length, q.maxResults) };
  return { status: 200, resource: searchset(ctx, matches, false) };
}

function birthBounds(d: string): DateBound[] {
  if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return [{ prefix: 'eq', date: d }];
  if (/^\d{4}$/.test(d)) return [{ prefix: 'ge', date: `${d}-01-01` }, { prefix: 'le', date: `${d}-12-31` }];
  if (/^\d{4}-\d{2}$/.test(d)) {
    const last = new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)), 0)).toISOString().slice(0, 10);
    return [{ prefix: 'ge', date: `${d}-01` }, { prefix: 'le', date: last }];
  }
  return [];
}

/** The fuzzy trace query of a Patient's own demographics (current name, address and contacts). */
export function queryOfPatient(patient: Patient, count: number): TraceQuery {
  // Current data (features.ts historicFlags): an ended usual name or home address stays current until a newer one replaces it.
  const now = new Date();
  const currentOf = <T extends { use?: string; period?: { end?: string } }>(list: readonly T[] | undefined, kind: (el: T) => string): T[] => {
    const flags = historicFlags(list ?? [], kind, now);
    return (list ?? []).filter((_el, i) => !flags[i]);
  };
  const current = currentOf(patient.name, nameKind);
  const name = current.find((n) => n.use === 'official') ?? current.find((n) => n.use === 'usual') ?? current[0];
  const address = currentOf(patient.address, addressKind).find((a) => a.postalCode);
  const telecoms = currentOf(patient.telecom, telecomKind);
  const telecom = (system: string): string | undefined => telecoms.find((t) => t.system === system && t.value)?.value;
  const q: TraceQuery = {
    given: (name?.given ?? []).filter((g) => g.trim() !== ''),
    birthdate: patient.birthDate ? birthBounds(patient.birthDate) : [],
    deathDate: patient.deceasedDateTime ? [{ prefix: 'eq', date: patient.deceasedDateTime.slice(0, 10) }] : [],
    fuzzy: true,
    exact: false,
    history: true,
    maxResults: count,
  };
  if (name?.family) q.family = name.family;
  if (patient.gender) q.gender = patient.gender;
  if (address?.postalCode) q.postcode = address.postalCode;
  const gp = gpCodes(patient)[0];
  if (gp !== undefined) q.gp = gp;
  const email = telecom('email');
  if (email !== undefined) q.email = email;
  const phone = telecom('phone');
  if (phone !== undefined) q.phone = phone;
  const nhs = nhsNumberOfPatient(patient);
  if (nhs !== undefined) q.nhsNumber = nhs;
  return q;
}

/**
 * The scored matches of a Patient's demographics among the stored Patients (fuzzy, with history),
 * best first, at most `count` (default 10). `onlyCertain` keeps the `certain` grade only. A patient
 * without a usable name/birth date key and without NHS Number has no matches.
 */
export async function traceFromResource(ctx: InteractionContext, patient: Patient, opts: { onlyCertain?: boolean; count?: number } = {}): Promise<ScoredMatch[]> {
  const count = opts.count ?? DEFAULT_MATCH_COUNT;
  const q = queryOfPatient(patient, count);
  if (q.family === undefined && q.given.length === 0 && q.nhsNumber === undefined) return [];
  let matches: ScoredMatch[];
  try {
    matches = (await runTrace(ctx, q, { skipMissing: true, ...(opts.onlyCertain ? { onlyCertain: true } : {}) })).matches;
  } catch (e) {
    if (e instanceof FhirError && e.category === 'invalid') return [];
    throw e;
  }
  if (opts.onlyCertain) matches = matches.filter((m) => m.grade === 'certain');
  return matches.slice(0, count);
}

function matchInput(inv: OperationInvocation): { patient: Patient; onlyCertain: boolean; count: number } {
  const params: Parameters = inv.parameters;
  const list = (name: string) => (params.parameter ?? []).filter((x) => x.name === name);
  const res = list('resource');
  if (res.length > 1) throw invalidValue('$match: parameter resource may be given once', 'resource');
  const resource = res[0]?.resource ?? (inv.bodyResource as Patient | undefined);
  if (!resource || resource.resourceType !== 'Patient') throw new FhirError('invalid', { code: 'required', diagnostics: '$match needs a Patient in the parameter resource', expression: ['resource'] });
  // The match reads the Patient's elements: one that is not a well-formed R4 Patient (a name that is a
  // string, given names that are not strings...) is refused with what is wrong, never read.
  const problems = validateResource(resource, { expectedType: 'Patient' }).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (problems.length > 0) {
    throw new FhirError(
      'invalid',
      problems.map((i) => ({ severity: 'error' as const, code: i.code, diagnostics: `$match: the Patient to match is not a valid R4 Patient: ${i.diagnostics}`, expression: i.expression })),
    );
  }
  const flag = list('onlyCertainMatches')[0];
  const flagValue = flag?.valueBoolean ?? (flag?.valueString !== undefined ? flag.valueString === 'true' : false);
  const countParam = list('count')[0];
  const raw = countParam?.valueInteger ?? countParam?.valuePositiveInt ?? (countParam?.valueString !== undefined ? Number(countParam.valueString) : undefined);
  if (raw !== undefined && (!Number.isInteger(raw) || raw < 1 || raw > MAX_RESULTS_LIMIT)) throw invalidValue(`$match: count must be an integer from 1 to ${MAX_RESULTS_LIMIT}`, 'count');
  return { patient: resource as Patient, onlyCertain: flagValue, count: raw ?? DEFAULT_MATCH_COUNT };
}

export async function matchOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const { patient, onlyCertain, count } = matchInput(inv);
  const q = queryOfPatient(patient, count);
  if (q.nhsNumber === undefined && (q.birthdate.length === 0 || (q.family === undefined && q.given.length === 0)) && (q.family === undefined || q.given.length === 0)) {
    throw invalidSearchData('$match needs an NHS Number, or a name (family or given) and a birth date, or family and given names');
  }
  let matches = (await runTrace(ctx, q, { skipMissing: true, ...(onlyCertain ? { onlyCertain: true } : {}) })).matches;
  if (onlyCertain) {
    const certain = matches.filter((m) => m.grade === 'certain');
    matches = certain.length === 1 ? certain : [];
  }
  return { status: 200, resource: searchset(ctx, matches.slice(0, count), true) };
}
