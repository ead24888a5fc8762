/**
 * The asynchronous rewrite of a parsed search (FHIR R4 §3.1.1.5 search.html modifiers `:in`,
 * `:not-in`, `:below`, `:above` on tokens, and §3.1.1.5.x `_list`), run after parsing and before a
 * store or the matcher sees the query:
 * - TokenPredicate.valueSet (`:in`; `:not-in` is `not` around it) -> `anyOf` the codes of the
 *   expanded ValueSet. An unknown value set is `FhirError('invalid')` naming it; a known value set
 *   that cannot be expanded locally (e.g. it includes all of SNOMED CT) is `FhirError('unsupported')`.
 * - TokenPredicate.hierarchy (`:below` / `:above` system|code) -> `anyOf` the concept and its
 *   descendants / ancestors in the local CodeSystem. A code system not known locally is
 *   `unsupported`; a code not in a known system matches nothing.
 * - ListPredicate (`_list=id`) -> an `id` predicate with the ids of List.entry.item references to
 *   the searched resource type(s) (relative `Type/id`, or absolute under `baseUrl`); entries flagged
 *   `deleted` are skipped; a missing List matches nothing.
 * Everything else is copied unchanged; the input query is not modified.
 */
import type { List } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import type { TerminologyService } from '../terminology/terminology';
import type { Predicate, SearchExpr, SearchQuery, TokenPredicate } from './ir';

export interface RewriteContext {
  terminology: TerminologyService;
  /** The current List with this id, or undefined when there is none (or it is deleted). */
  readList(id: string): Promise<List | undefined>;
  /**
   * Whether a ValueSet with this canonical url is known at all (to tell "unknown" from "cannot be
   * expanded" when `expand` answers undefined). Without it, every undefined expansion is 'invalid'.
   */
  valueSetExists?(url: string): Promise<boolean>;
  /** This server's base URL, so absolute List item references to it count as local. */
  baseUrl?: string;
}

/** Whether `expr` holds anything `rewriteQuery` must resolve (cheap check to skip the rewrite). */
export function needsRewrite(expr: SearchExpr | undefined): boolean {
  if (!expr) return false;
  switch (expr.op) {
    case 'and':
    case 'or':
      return expr.args.some(needsRewrite);
    case 'not':
      return needsRewrite(expr.arg);
    case 'list':
      return true;
    case 'token':
      return expr.valueSet !== undefined || expr.hierarchy !== undefined;
    case 'chain':
    case 'has':
      return needsRewrite(expr.where);
    case 'composite':
      return expr.components.some(needsRewrite);
    default:
      return false;
  }
}

export async function rewriteQuery(query: SearchQuery, ctx: RewriteContext): Promise<SearchQuery> {
  if (!needsRewrite(query.where)) return query;
  return { ...query, where: await new Rewriter(ctx).expr(query.where!, query.resourceTypes) };
}

class Rewriter {
  private readonly base: string | undefined;
  /** Expansions of one rewrite, shared by repeated uses of the same value set or concept. */
  private readonly cache = new Map<string, Promise<Array<{ system: string | null; code: string }>>>();

  constructor(private readonly ctx: RewriteContext) {
    this.base = ctx.baseUrl ? `${ctx.baseUrl.replace(/\/+$/, '')}/` : undefined;
  }

  async expr(e: SearchExpr, types: readonly string[]): Promise<SearchExpr> {
    switch (e.op) {
      case 'and':
      case 'or':
        return { op: e.op, args: await Promise.all(e.args.map((a) => this.expr(a, types))) };
      case 'not':
        return { op: 'not', arg: await this.expr(e.arg, types) };
      case 'chain':
        return { ...e, where: await this.expr(e.where, e.targetTypes) };
      case 'has':
        return { ...e, where: await this.expr(e.where, [e.targetType]) };
      case 'composite':
        return { ...e, components: await Promise.all(e.components.map(async (c) => (await this.expr(c, types)) as Predicate)) };
      case 'token':
        return this.token(e);
      case 'list':
        return this.list(e.listId, types);
      default:
        return e;
    }
  }

  private async token(p: TokenPredicate): Promise<TokenPredicate> {
    if (p.valueSet === undefined && p.hierarchy === undefined) return p;
    const { valueSet, hierarchy, ...rest } = p;
    const anyOf = valueSet !== undefined ? await this.expand(p.param, valueSet) : await this.hierarchy(p.param, hierarchy!);
    return { ...rest, anyOf };
  }

  private expand(param: string, url: string): Promise<Array<{ system: string | null; code: string }>> {
    return this.cached(`vs\u0000${url}`, async () => {
      const codes = await this.ctx.terminology.expand(url);
      if (codes) return codes.map((c) => ({ system: c.system, code: c.code }));
      const known = this.ctx.valueSetExists ? await this.ctx.valueSetExists(url) : false;
      if (known) throw new FhirError('unsupported', { diagnostics: `Search parameter ${JSON.stringify(`${param}:in`)}: the value set ${JSON.stringify(url)} cannot be expanded locally`, expression: [param] });
      throw new FhirError('invalid', { diagnostics: `Search parameter ${JSON.stringify(`${param}:in`)}: unknown value set ${JSON.stringify(url)}`, expression: [param] });
    });
  }

  private hierarchy(param: string, h: NonNullable<TokenPredicate['hierarchy']>): Promise<Array<{ system: string | null; code: string }>> {
    return this.cached(`h\u0000${h.direction}\u0000${h.system}\u0000${h.code}`, async () => {
      if (!(await this.ctx.terminology.knowsSystem(h.system))) {
        throw new FhirError('unsupported', {
          diagnostics: `Search parameter ${JSON.stringify(`${param}:${h.direction}`)}: the code system ${JSON.stringify(h.system)} is not available locally, so its hierarchy is unknown`,
          expression: [param],
        });
      }
      const codes = await this.ctx.terminology.hierarchy(h.system, h.code, h.direction);
      return (codes ?? []).map((c) => ({ system: c.system, code: c.code }));
    });
  }

  private cached(key: string, f: () => Promise<Array<{ system: string | null; code: string }>>): Promise<Array<{ system: string | null; code: string }>> {
    let p = this.cache.get(key);
    if (!p) {
      p = f();
      this.cache.set(key, p);
    }
    return p;
  }

  private async list(listId: string, types: readonly string[]): Promise<SearchExpr> {
    const list = await this.ctx.readList(listId);
    const ids = new Set<string>();
    for (const entry of list?.entry ?? []) {
      if (entry.deleted === true) continue;
      let ref = entry.item.reference;
      if (ref === undefined) continue;
      if (this.base !== undefined && ref.startsWith(this.base)) ref = ref.slice(this.base.length);
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref);
      if (m && types.includes(m[1]!)) ids.add(m[2]!);
    }
    return { op: 'id', ids: [...ids] };
  }
}
