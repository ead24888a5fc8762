/**
 * `$everything` on Patient (FHIR R4 patient-operation-everything.html, OperationDefinition
 * `Patient-everything`): `[base]/Patient/[id]/$everything` and `[base]/Patient/$everything`, GET or
 * POST. "At a minimum, the patient resource(s) itself is returned, along with any other resources that
 * the server has that are related to the patient(s), and that are available for the given user ...
 * The server SHOULD return at least all resources that it has that are in the patient compartment for
 * the identified patient(s), and any resource referenced from those."
 *
 * What is returned, as a `searchset` Bundle:
 * - matches (`search.mode` match): the Patient(s), then every resource of the R4 Patient compartment
 *   of those patients (CompartmentDefinition Patient: a member type's compartment parameters reference
 *   the patient; the Patient itself and Patients that `link` to it), type by type (Patient first, then
 *   alphabetically; by id within a type). `Bundle.total` counts them.
 * - includes (`search.mode` include): on each page, the resources the page's matches reference (every
 *   reference parameter, one level, as `_include=*`), at most MAX_INCLUDED per page.
 * Parameters:
 * - `start` / `end` (date): "care dates, not record currency dates". A member type with a `date`
 *   search parameter (its clinical date in R4: Observation.effective, Encounter.period,
 *   Procedure.performed, ...) is kept when that date overlaps [start, end] (`date=ge{start}`,
 *   `date=le{end}`; no care date: not kept); types without a care date (the Patient among them) are not
 *   filtered by them.
 * - `_since` (instant): only resources whose last update is at or after it (`_lastUpdated=ge`),
 *   matches and includes alike (the Patient too: a periodic query gets what changed).
 * - `_type` (code, repeatable, comma-separated): only resources of these types, matches and includes
 *   (the Patient only when `Patient` is one of them).
 * - `_count`: the page size. "Unless the client requests otherwise, the server returns the entire
 *   result set in a single bundle": without `_count` the page size is MAX_PAGE_SIZE; beyond it the
 *   Bundle has the usual paging links (signed keyset `_cursor`, src/fhir/paging.ts and
 *   src/fhir/type-by-type.ts), which repeat the parameters of a POST as query parameters.
 * Access (ADR 20): the operation applies the caller's restriction itself, so it runs at the type level
 * for restricted callers too. The Patient of an instance invocation is read through the caller's view
 * (one outside it answers 404 as an absent one); every search is restricted with `restrictQuery` and
 * includes with the caller's restriction, so a patient-context token gets only its own record. At the
 * type level the patients are those the caller may see ("all patients that the user associated with
 * the request has access to"); more than MAX_EVERYTHING_PATIENTS of them is a 400 `too-costly` (R4: "the
 * server may choose to return an error rather than all the records"; use the instance level).
 */
import type { OperationDefinition } from 'fhir/r4';
import { bundleJson, type RawEntry } from '../fhir/bundle-writer';
import { restrictionsOf, restrictQuery } from '../fhir/access';
import { restrictionOf, type InteractionContext } from '../fhir/context';
import { FhirError, outcome } from '../fhir/outcome';
import { assertLive } from '../fhir/interactions/read';
import { pageLinks, pageRequest } from '../fhir/paging';
import { typeByTypePage, type TypeByTypePage, type TypeQuery } from '../fhir/type-by-type';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { isResourceType } from '../definitions/resource-types';
import { compartmentMemberTypes, compartmentRestriction } from '../search/compartments';
import { MAX_INCLUDED, resolveIncludes } from '../search/include';
import { and, or, type SearchExpr, type SearchQuery } from '../search/ir';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';

export const MAX_EVERYTHING_PATIENTS = 100;

export const EVERYTHING_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-everything',
  url: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  version: '4.0.1',
  name: 'Everything',
  title: 'Fetch Patient Record',
  status: 'active',
  kind: 'operation',
  description: `The Patient (or, at the type level, every Patient the caller may see, at most ${MAX_EVERYTHING_PATIENTS}) and every resource of their R4 Patient compartment the caller may see, with the resources those reference (search.mode include, per page), as a searchset Bundle. Without _count the whole record comes in one Bundle up to MAX_PAGE_SIZE resources, then paging links.`,
  affectsState: false,
  code: 'everything',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'start', use: 'in', min: 0, max: '1', type: 'date', documentation: 'Care dates from: member types with a care date (their `date` search parameter) are kept when it overlaps [start, end]; other types are not filtered.' },
    { name: 'end', use: 'in', min: 0, max: '1', type: 'date', documentation: 'Care dates up to (see start).' },
    { name: '_since', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Only resources last updated at or after this instant (matches and included resources).' },
    { name: '_type', use: 'in', min: 0, max: '*', type: 'code', documentation: 'Comma-separated resource types: only resources of these types are returned (the Patient only if Patient is named).' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Page size (default MAX_PAGE_SIZE: the whole record in one Bundle when it fits); further pages through the Bundle links.' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'searchset Bundle: matches (the Patient and its compartment) and includes (resources they reference).' },
  ],
};

const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

interface Filters {
  types: Set<string> | undefined;
  start?: string;
  end?: string;
  since?: string;
}

function filtersOf(input: OperationInput): Filters {
  const f: Filters = { types: undefined };
  const start = input.string('start');
  const end = input.string('end');
  for (const [name, v] of [['start', start], ['end', end]] as const) {
    if (v !== undefined && !DATE.test(v)) throw new FhirError('invalid', { code: 'value', diagnostics: `$everything: ${name} must be a date (YYYY, YYYY-MM or YYYY-MM-DD), not ${JSON.stringify(v)}`, expression: [name] });
  }
  if (start !== undefined) f.start = start;
  if (end !== undefined) f.end = end;
  const since = input.string('_since');
  if (since !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(since)) {
      throw new FhirError('invalid', { code: 'value', diagnostics: `$everything: _since must be an instant (e.g. 2024-01-31T12:00:00Z), not ${JSON.stringify(since)}`, expression: ['_since'] });
    }
    f.since = since;
  }
  const types = input.strings('_type', true);
  if (input.has('_type')) {
    for (const t of types) if (!isResourceType(t)) throw new FhirError('invalid', { code: 'value', diagnostics: `$everything: _type ${JSON.stringify(t)} is not a resource type`, expression: ['_type'] });
    f.types = new Set(types);
  }
  return f;
}

/** The criteria of `params` for one type, parsed strictly (undefined when the type lacks a parameter). */
function parsed(ctx: InteractionContext, type: string, params: Array<[string, string]>): SearchExpr | undefined {
  return ctx.services.search.parse([type], params, { strict: true }).query.where;
}

/** The member types, Patient first then alphabetically, within `_type` when given. */
function memberTypes(f: Filters): string[] {
  const all = compartmentMemberTypes('Patient').filter((t) => f.types === undefined || f.types.has(t));
  return [...all.filter((t) => t === 'Patient'), ...all.filter((t) => t !== 'Patient')];
}

/** The query of one member type for the patients (unrestricted; the caller's restriction is added by the caller). */
function typeQuery(ctx: InteractionContext, type: string, patients: readonly string[], f: Filters): SearchQuery | undefined {
  const inCompartment = patients.map((id) => compartmentRestriction('Patient', id, type)).filter((x): x is SearchExpr => x !== undefined);
  if (inCompartment.length === 0) return undefined;
  const parts: SearchExpr[] = [or(...inCompartment)];
  const careDate = ctx.services.search.parametersFor(type).some((p) => p.name === 'date' && p.type === 'date');
  if (careDate && (f.start !== undefined || f.end !== undefined)) {
    const dates: Array<[string, string]> = [];
    if (f.start !== undefined) dates.push(['date', `ge${f.start}`]);
    if (f.end !== undefined) dates.push(['date', `le${f.end}`]);
    const d = parsed(ctx, type, dates);
    if (d) parts.push(d);
  }
  if (f.since !== undefined) {
    const s = parsed(ctx, type, [['_lastUpdated', `ge${f.since}`]]);
    if (s) parts.push(s);
  }
  return { resourceTypes: [type], where: and(...parts), sort: [{ param: '_id', kind: 'special', descending: false }], count: 0, offset: 0, total: 'accurate' };
}

/** The Patients a type-level invocation is about: those the caller may see. */
async function visiblePatients(ctx: InteractionContext): Promise<string[]> {
  const restriction = restrictionOf(ctx, 'Patient');
  if (restriction === 'none') return [];
  const base: SearchQuery = { resourceTypes: ['Patient'], sort: [{ param: '_id', kind: 'special', descending: false }], count: MAX_EVERYTHING_PATIENTS + 1, offset: 0, total: 'none' };
  const page = await ctx.session.search(restrictQuery(base, restriction, restrictionsOf(ctx)));
  if (page.entries.length > MAX_EVERYTHING_PATIENTS) {
    throw new FhirError('too-costly', {
      diagnostics: `Patient/$everything: the caller may see more than ${MAX_EVERYTHING_PATIENTS} patients; ask for one record at a time with Patient/[id]/$everything (or use a patient-context token)`,
    });
  }
  return page.entries.map((v) => v.id);
}

/** The request the paging links repeat: GET with the operation's parameters as query parameters. */
function linkRequest(req: FhirRequest, input: OperationInput): FhirRequest {
  const query: Array<[string, string]> = [];
  for (const p of input.inv.parameters.parameter ?? []) {
    const v: unknown = p.valueString ?? p.valueCode ?? p.valueDate ?? p.valueDateTime ?? p.valueInstant ?? p.valueUri ?? (typeof p.valueInteger === 'number' ? String(p.valueInteger) : undefined);
    if (typeof v === 'string') query.push([p.name, v]);
  }
  return { ...req, method: 'GET', path: req.path.replace(/\/_search$/, ''), query };
}

export async function everythingOperation(req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const { config } = ctx.services;
  const input = new OperationInput(inv, 'everything');
  input.assertDeclared(EVERYTHING_DEFINITION);
  const f = filtersOf(input);
  const links = linkRequest(req, input);
  const hasCount = links.query.some(([k]) => k === '_count');
  const pageReq = hasCount ? links : { ...links, query: [...links.query, ['_count', String(config.maxPageSize)] as [string, string]] };
  const page = pageRequest(pageReq, config, pageReq.query, ctx.access?.key);

  let patients: string[];
  if (inv.level === 'instance') {
    const v = await ctx.session.read('Patient', inv.id!);
    assertLive(v, 'Patient', inv.id!);
    patients = [v.id];
  } else patients = await visiblePatients(ctx);

  // The member types one after another (Patient first), each restricted for the caller, paged by
  // keyset across them (src/fhir/type-by-type.ts, ADR 17); the total is counted on the first page.
  const restrictOf = restrictionsOf(ctx);
  const types: TypeQuery[] = [];
  for (const type of patients.length > 0 ? memberTypes(f) : []) {
    const restriction = restrictionOf(ctx, type);
    if (restriction === 'none') continue;
    const q = typeQuery(ctx, type, patients, f);
    if (q) types.push({ type, query: restrictQuery(q, restriction, restrictOf) });
  }
  const wanted: TypeByTypePage = { count: page.count, offset: page.offset, total: page.total !== undefined ? 'none' : 'accurate' };
  if (page.after !== undefined) wanted.after = page.after;
  const result = await typeByTypePage((q) => ctx.session.search(q), types, wanted);
  const entries = result.entries;
  const total = result.total ?? page.total ?? 0;

  const out: RawEntry[] = entries.map((v) => ({ fullUrl: `${config.baseUrl}/${v.resourceType}/${v.id}`, json: v.json!, search: { mode: 'match' } }));
  if (entries.length > 0) {
    const sinceMs = f.since !== undefined ? Date.parse(f.since) : undefined;
    const inc = await resolveIncludes(
      entries,
      { include: [{ sourceType: '*', param: '*', iterate: false }], revinclude: [] },
      {
        session: ctx.session,
        references: (v) => (v.json ? ctx.services.indexer.references(JSON.parse(v.json) as never) : []),
        referenceParams: (t) => ctx.services.search.parametersFor(t).filter((p) => p.type === 'reference').map((p) => p.name),
        restrict: (t) => (f.types !== undefined && !f.types.has(t) ? 'none' : restrictionOf(ctx, t)),
      },
    );
    for (const v of inc.included) {
      if (sinceMs !== undefined && Date.parse(v.lastUpdated) < sinceMs) continue;
      out.push({ fullUrl: `${config.baseUrl}/${v.resourceType}/${v.id}`, json: v.json!, search: { mode: 'include' } });
    }
    if (inc.truncated) {
      out.push({
        resource: outcome('warning', 'too-costly', `Only the first ${MAX_INCLUDED} resources referenced from this page are included; use a smaller _count to get all of them`),
        search: { mode: 'outcome' },
      });
    }
  }
  const json = bundleJson({
    type: 'searchset',
    total,
    link: pageLinks(config.baseUrl, links, config, pageReq.query, page, { returned: entries.length, total, next: result.next }, ctx.access?.key),
    entries: out,
  });
  return { status: 200, json };
}

export function registerEverything(registry: OperationRegistry): void {
  registry.register(EVERYTHING_DEFINITION, everythingOperation, { appliesRestriction: true });
}
