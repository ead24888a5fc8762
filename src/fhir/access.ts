/**
 * The caller's access restriction inside search queries (FHIR R4 search.html §3.1.1.4.13 chained
 * parameters, §3.1.1.4.14 reverse chaining `_has`, §3.1.1.4.x `_sort`; security.html; ADR 12, ADR 15).
 *
 * `AccessControl.restrict(type)` (src/fhir/context.ts) says which resources of a type the caller may
 * see. A search is restricted by ANDing that into its criteria, but a chained parameter
 * (`performer:Patient.family=...`) or a `_has` parameter evaluates criteria on *other* resources: a
 * resource of the caller's own compartment that references another patient would let the caller read
 * out that patient's data one probe at a time. So every resource a chain or `_has` traverses must be
 * visible too: `restrictTraversals` puts the restriction of each traversed type inside the compiled
 * sub-query (a chain over several target types becomes one chain per type, each with its own
 * restriction; a type the caller may not see is dropped). Resources the caller may not see then do
 * not exist for it — also under `not`, totals and `_summary=count`.
 *
 * A chained `_sort` orders by values read from other resources; it is refused (403) when a hop's
 * target type is restricted, since the order would reveal them.
 */
import { and, or, type SearchExpr, type SearchQuery, type SortKey } from '../search/ir';
import { FhirError } from './outcome';
import { restrictionOf, type AccessRestriction, type InteractionContext } from './context';

/** Matches no resource (an empty `_id` list). */
export const NOTHING: SearchExpr = { op: 'id', ids: [] };

export type RestrictionOf = (resourceType: string) => AccessRestriction;

/** The caller's restriction per type, or undefined when the caller is unrestricted everywhere. */
export function restrictionsOf(ctx: InteractionContext): RestrictionOf | undefined {
  return ctx.access?.restrict ? (t) => restrictionOf(ctx, t) : undefined;
}

/** `expr` with the restriction of every type a chain or `_has` inside it traverses (see the module comment). */
export function restrictTraversals(expr: SearchExpr, restrictOf: RestrictionOf): SearchExpr {
  switch (expr.op) {
    case 'and':
    case 'or': {
      const args = expr.args.map((a) => restrictTraversals(a, restrictOf));
      return args.every((a, i) => a === expr.args[i]) ? expr : { op: expr.op, args };
    }
    case 'not': {
      const arg = restrictTraversals(expr.arg, restrictOf);
      return arg === expr.arg ? expr : { op: 'not', arg };
    }
    case 'chain': {
      const where = restrictTraversals(expr.where, restrictOf);
      const open: string[] = [];
      const parts: SearchExpr[] = [];
      for (const t of expr.targetTypes) {
        const r = restrictOf(t);
        if (r === 'none') continue;
        if (r === 'all') open.push(t);
        else parts.push({ op: 'chain', param: expr.param, targetTypes: [t], where: and(r, where) });
      }
      if (open.length === expr.targetTypes.length) return where === expr.where ? expr : { ...expr, where };
      if (open.length > 0) parts.unshift({ op: 'chain', param: expr.param, targetTypes: open, where });
      return parts.length === 0 ? NOTHING : or(...parts);
    }
    case 'has': {
      const where = restrictTraversals(expr.where, restrictOf);
      const r = restrictOf(expr.targetType);
      if (r === 'none') return NOTHING;
      if (r === 'all') return where === expr.where ? expr : { ...expr, where };
      return { ...expr, where: and(r, where) };
    }
    default:
      return expr;
  }
}

/**
 * A query over one resource type restricted for the caller: its restriction of the type ANDed in (a
 * type it may not see matches nothing) and every traversal restricted. Unchanged for an unrestricted caller.
 */
export function restrictQuery(query: SearchQuery, restriction: AccessRestriction, restrictOf: RestrictionOf | undefined): SearchQuery {
  let where = query.where;
  if (where && restrictOf) where = restrictTraversals(where, restrictOf);
  if (restriction !== 'all') {
    const r = restriction === 'none' ? NOTHING : restriction;
    where = where ? and(r, where) : r;
  }
  if (restrictOf) assertSortVisible(query.sort, restrictOf);
  return where === query.where ? query : { ...query, ...(where ? { where } : {}) };
}

/** Refuses a chained `_sort` through a type the caller's access to is restricted (see the module comment). */
export function assertSortVisible(sort: readonly SortKey[], restrictOf: RestrictionOf): void {
  for (const key of sort) {
    for (const hop of key.chain ?? []) {
      const hidden = hop.targetTypes.filter((t) => restrictOf(t) !== 'all');
      if (hidden.length > 0) {
        throw new FhirError('forbidden', {
          code: 'forbidden',
          diagnostics: `_sort=${key.param}: sorting through the reference ${hop.param} to ${hidden.join(', ')} is not available with restricted access (patient-context or query-restricted scopes), because the order would reveal resources outside what the token grants`,
          expression: ['_sort'],
        });
      }
    }
  }
}
