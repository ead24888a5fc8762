/**
 * Criteria of conditional interactions (FHIR R4 §3.1.0.8 conditional create, §3.1.0.4.3 conditional
 * update, §3.1.0.7.1 conditional delete, conditional patch and conditional references in
 * transactions): a search query string, evaluated with the normal search machinery (parse, then the
 * rewrite that resolves terminology and list parameters, then the store).
 */
import { FhirError } from './outcome';
import type { InteractionContext } from './context';
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

/** Parameters that shape a search's answer but select nothing (§3.1.1.7, plus the HTTP `_format` / `_pretty`). */
const RESULT_PARAMETERS: ReadonlySet<string> = new Set(['_count', '_offset', '_cursor', '_sort', '_total', '_include', '_revinclude', '_summary', '_elements', '_contained', '_containedType', '_format', '_pretty']);

/**
 * Finds the resources of `resourceType` matching the criteria, at most `limit` (callers pass the
 * smallest number that still distinguishes their cases, e.g. 2 for "one or many").
 * Criteria must restrict the search: empty criteria are a 400, never "match everything".
 */
export async function findMatches(
  ctx: InteractionContext,
  session: StoreSession,
  resourceType: string,
  params: Array<[string, string]>,
  limit: number,
): Promise<StoredVersion[]> {
  // Result and format parameters do not select resources; every other parameter does and is kept
  // (`_list`, `_text`, `_content`, `_has`, ...): dropping one would widen the match (strict parsing
  // refuses the unknown and unsupported ones).
  const predicates = params.filter(([k]) => !RESULT_PARAMETERS.has(k.split(':')[0]!));
  if (predicates.length === 0) {
    throw new FhirError('invalid', { diagnostics: `Conditional criteria for ${resourceType} must contain at least one search parameter` });
  }
  // Criteria are always strict: an ignored parameter would widen the match and touch the wrong resources.
  const { query } = ctx.services.search.parse([resourceType], predicates, { strict: true });
  // Terminology and list parameters (`:in`, `:not-in`, `:above`, `:below`, `_list`) parse to unresolved
  // IR that only the rewrite resolves, as for a search: without it the store refuses the query (500).
  const bounded = { ...query, count: limit, offset: 0, sort: [], total: 'none' as const };
  const page = await session.search(ctx.services.search.rewrite ? await ctx.services.search.rewrite(bounded, session) : bounded);
  return page.entries;
}
