/**
 * Criteria of conditional interactions (FHIR R4 §3.1.0.8 conditional create, §3.1.0.4.3 conditional
 * update, §3.1.0.7.1 conditional delete, conditional patch and conditional references in
 * transactions): a search query string, evaluated with the normal search machinery (parse, then the
 * rewrite that resolves terminology and list parameters, then the store), restricted to what the
 * caller may see (src/fhir/access.ts).
 *
 * Criteria have a limit of their own (MAX_CONDITIONAL_PARAMETERS, docs/limits.md): a conditional
 * write runs its search inside the write's transaction, holding the database, so it must stay cheap.
 * More parameters are a 400 `too-costly` naming where the criteria came from; the search limits
 * (MAX_OR_VALUES, ...) apply as to any search.
 */
import { FhirError } from './outcome';
import { restrictionOf, type InteractionContext } from './context';
import { restrictionsOf, restrictQuery } from './access';
import type { StoreSession, StoredVersion } from '../store/store';

/**
 * Parses `identifier=a|b&name=x` into ordered pairs. A leading `?` or `[type]?` (as some clients and
 * the R4 examples write If-None-Exist) is accepted when the type is the one being searched.
 */
export function parseCriteria(criteria: string, resourceType?: string): Array<[string, string]> {
  let q = criteria.trim();
  if (resourceType && q.startsWith(`${resourceType}?`)) q = q.slice(resourceType.length + 1);
  else if (q.startsWith('?')) q = q.slice(1);
  return [...new URLSearchParams(q)];
}

/** Where criteria came from, for the answer to criteria over the limit: a label for the text and the `expression`. */
export interface CriteriaSource {
  label: string;
  expression: string;
}

/** The source of a request's URL criteria (conditional update, patch, delete), inside a Bundle or not. */
export function urlCriteria(bundleEntry: { index: number } | undefined): CriteriaSource {
  return bundleEntry ? { label: `The conditional criteria of Bundle.entry[${bundleEntry.index}].request.url`, expression: `Bundle.entry[${bundleEntry.index}].request.url` } : { label: 'The conditional criteria (the query of the URL)', expression: 'url' };
}

/** Throws 400 `too-costly` when criteria have more parameters than MAX_CONDITIONAL_PARAMETERS. */
export function checkCriteria(ctx: InteractionContext, params: ReadonlyArray<readonly [string, string]>, source: CriteriaSource): void {
  const max = ctx.services.config.limits.maxConditionalParameters;
  if (params.length <= max) return;
  throw new FhirError('too-costly', {
    diagnostics: `${source.label} have ${params.length} search parameters, more than the limit of ${max} for conditional criteria (MAX_CONDITIONAL_PARAMETERS); nothing was done`,
    expression: [source.expression],
  });
}

/** Parameters that shape a search's answer but select nothing (§3.1.1.7, plus the HTTP `_format` / `_pretty`). */
const RESULT_PARAMETERS: ReadonlySet<string> = new Set(['_count', '_offset', '_cursor', '_sort', '_total', '_include', '_revinclude', '_summary', '_elements', '_contained', '_containedType', '_format', '_pretty']);

/**
 * Finds the resources of `resourceType` matching the criteria, at most `limit` (callers pass the
 * smallest number that still distinguishes their cases, e.g. 2 for "one or many").
 * Criteria must restrict the search: empty criteria are a 400, never "match everything". `source`
 * names the criteria in the answer when they are over MAX_CONDITIONAL_PARAMETERS.
 */
export async function findMatches(
  ctx: InteractionContext,
  session: StoreSession,
  resourceType: string,
  params: Array<[string, string]>,
  limit: number,
  source: CriteriaSource = { label: 'The conditional criteria', expression: 'url' },
): Promise<StoredVersion[]> {
  checkCriteria(ctx, params, source);
  // Result and format parameters do not select resources; every other parameter does and is kept
  // (`_list`, `_text`, `_content`, `_has`, ...): dropping one would widen the match (strict parsing
  // refuses the unknown and unsupported ones).
  const predicates = params.filter(([k]) => !RESULT_PARAMETERS.has(k.split(':')[0]!));
  if (predicates.length === 0) {
    throw new FhirError('invalid', { diagnostics: `Conditional criteria for ${resourceType} must contain at least one search parameter` });
  }
  // Criteria are always strict: an ignored parameter would widen the match and touch the wrong resources.
  const { query } = ctx.services.search.parse([resourceType], predicates, { strict: true });
  // Only what the caller may see can match (a conditional reference must not find another patient's
  // resource). Terminology and list parameters (`:in`, `:not-in`, `:above`, `:below`, `_list`) parse to
  // unresolved IR that only the rewrite resolves, as for a search: without it the store refuses the query.
  const bounded = restrictQuery({ ...query, count: limit, offset: 0, sort: [], total: 'none' }, restrictionOf(ctx, resourceType), restrictionsOf(ctx));
  const page = await session.search(ctx.services.search.rewrite ? await ctx.services.search.rewrite(bounded, session) : bounded);
  return page.entries;
}
