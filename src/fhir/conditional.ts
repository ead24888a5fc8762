/**
 * Criteria of conditional interactions (FHIR R4 §3.1.0.8 conditional create, §3.1.0.4.3 conditional
 * update, §3.1.0.7.1 conditional delete, conditional patch and conditional references in
 * transactions): a search query string, evaluated with the normal search machinery.
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
  const predicates = params.filter(([k]) => !k.startsWith('_') || k === '_id' || k === '_lastUpdated' || k.startsWith('_has') || k === '_tag' || k === '_profile' || k === '_security' || k === '_source');
  if (predicates.length === 0) {
    throw new FhirError('invalid', { diagnostics: `Conditional criteria for ${resourceType} must contain at least one search parameter` });
  }
  // Criteria are always strict: an ignored parameter would widen the match and touch the wrong resources.
  const { query } = ctx.services.search.parse([resourceType], predicates, { strict: true });
  // Only what the caller may see can match (a conditional reference must not find another patient's resource).
  const restricted = restrictQuery({ ...query, count: limit, offset: 0, sort: [], total: 'none' }, restrictionOf(ctx, resourceType), restrictionsOf(ctx));
  const page = await session.search(restricted);
  return page.entries;
}
