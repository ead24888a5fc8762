/**
 * SearchParameter resources written at run time (FHIR R4 searchparameter.html, §3.1.1 search.html
 * "custom search parameters"). A SearchParameter created or updated through the API (and not
 * `retired`) is registered in the server's registry, so every later write indexes it and searches can
 * use it; deleting it (or retiring it) unregisters it. Existing resources are indexed for it by
 * `$reindex` (src/operations/reindex.ts). The built-in definitions (R4's, and those the server's own
 * layers register, such as the NHS trace keys) cannot be replaced or removed: a stored copy of an R4
 * one (same canonical URL) is kept as a resource and otherwise ignored, and a SearchParameter whose
 * code is already a built-in parameter of one of its base types is refused (400 naming the code;
 * codes starting with `_` are the specification's). Replacing one would index new writes of the base
 * type by another expression under the built-in code, and those entries would stay wrong even after
 * the replacement is deleted, until `$reindex`. A colliding SearchParameter stored before this rule
 * is not registered at start-up (a warning is logged).
 *
 * Wiring (src/main.ts): `check` runs in the validator before the write (an expression that does not
 * compile is a 400, so a broken parameter can never break later writes); `hook` is a WriteHook run
 * after each successful write; `loadStored` registers the stored ones at start-up. Inside a
 * transaction Bundle the registration happens when the entry is written; a rolled-back transaction
 * may leave its parameters registered until the next start.
 */
import type { Resource, SearchParameter } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import { riskyRegexCalls } from '../fhirpath/safe-regex';
import type { WriteEvent } from '../fhir/context';
import type { StoreSession } from '../store/store';
import type { Logger } from '../logging';
import { defaultSearchParameters, SearchParameterRegistry } from './parameters';
import { resourceTypes } from '../definitions/resource-types';

export class RuntimeSearchParameters {
  /** SearchParameter id -> canonical URL registered for it. */
  private readonly byId = new Map<string, string>();

  constructor(
    private readonly registry: SearchParameterRegistry,
    private readonly log?: Logger,
  ) {}

  private static builtIn(url: string | undefined): boolean {
    return url !== undefined && defaultSearchParameters().byCanonical(url) !== undefined;
  }

  private static applies(sp: SearchParameter): boolean {
    return sp.status !== 'retired' && !RuntimeSearchParameters.builtIn(sp.url);
  }

  /**
   * The built-in definition `sp`'s code would replace on one of its base types (a definition not
   * registered by a SearchParameter resource, and not `sp` itself), or the reason its code is reserved.
   */
  private collision(sp: SearchParameter): { code: string; what: string } | undefined {
    const code = sp.code;
    if (typeof code !== 'string') return undefined;
    if (code.startsWith('_')) return { code, what: 'reserved: codes starting with "_" are the parameters of the FHIR specification (search.html#all)' };
    const runtime = new Set(this.byId.values());
    const all = resourceTypes();
    for (const base of sp.base ?? []) {
      const types = base === 'Resource' || base === 'DomainResource' ? [...all] : all.has(base) ? [base] : [];
      for (const type of types) {
        const def = this.registry.get(type, code);
        if (def && def.url !== sp.url && !runtime.has(def.url)) return { code, what: `already the search parameter ${def.url} of ${type}` };
      }
    }
    return undefined;
  }

  /**
   * Rejects (400) a SearchParameter whose code collides with a built-in parameter of one of its base
   * types, or whose expression cannot be compiled for one of them.
   */
  check(resource: unknown): void {
    const sp = resource as SearchParameter;
    if (sp?.resourceType !== 'SearchParameter' || !RuntimeSearchParameters.applies(sp)) return;
    const clash = this.collision(sp);
    if (clash) {
      throw new FhirError('invalid', {
        code: 'business-rule',
        diagnostics: `SearchParameter.code ${JSON.stringify(clash.code)} is refused: it is ${clash.what}; a SearchParameter cannot replace a built-in one, choose another code`,
        expression: ['SearchParameter.code'],
      });
    }
    // A regular expression that can backtrack exponentially would run on every write of the base types.
    const expressions = [sp.expression, ...(Array.isArray(sp.component) ? sp.component.map((c) => c?.expression) : [])];
    const risky = expressions.flatMap((e) => (typeof e === 'string' ? riskyRegexCalls(e) : []));
    if (risky.length > 0) {
      throw new FhirError('invalid', { code: 'value', diagnostics: `SearchParameter.expression (or a component expression) is refused: ${risky.join('; ')}`, expression: ['SearchParameter.expression'] });
    }
    const scratch = new SearchParameterRegistry();
    scratch.register(sp);
    for (const base of sp.base ?? []) {
      const type = base === 'Resource' || base === 'DomainResource' ? 'Basic' : base;
      const def = scratch.get(type, sp.code);
      try {
        const fn = def?.evaluator();
        fn?.({ resourceType: type });
      } catch (e) {
        throw new FhirError('invalid', {
          code: 'value',
          diagnostics: `SearchParameter.expression cannot be evaluated on ${base}: ${e instanceof Error ? e.message : String(e)}`,
          expression: ['SearchParameter.expression'],
        });
      }
    }
  }

  /** The WriteHook: keeps the registry in step with stored SearchParameter resources. */
  readonly hook = (event: WriteEvent): void => {
    if (event.resourceType !== 'SearchParameter') return;
    const previous = this.byId.get(event.id);
    if (previous !== undefined) {
      this.registry.unregister(previous);
      this.byId.delete(event.id);
    }
    if (event.kind !== 'delete' && event.resource) this.add(event.id, event.resource);
    this.log?.info({ searchParameter: event.id, change: event.kind }, 'search parameter registry updated');
  };

  private add(id: string, resource: Resource): boolean {
    const sp = resource as SearchParameter;
    if (!RuntimeSearchParameters.applies(sp) || !sp.url) return false;
    const clash = this.collision(sp);
    if (clash) {
      this.log?.warn({ searchParameter: id, code: clash.code }, `SearchParameter not registered: its code is ${clash.what}`);
      return false;
    }
    this.registry.register(sp);
    this.byId.set(id, sp.url);
    return true;
  }

  /** Registers every stored SearchParameter (at start-up). Returns how many were registered. */
  async loadStored(session: StoreSession): Promise<number> {
    let n = 0;
    for (let offset = 0; ; offset += 500) {
      const page = await session.search({ resourceTypes: ['SearchParameter'], sort: [{ param: '_id', kind: 'special', descending: false }], count: 500, offset, total: 'none' });
      for (const v of page.entries) {
        const sp = JSON.parse(v.json ?? 'null') as SearchParameter | null;
        if (!sp || !this.add(v.id, sp)) continue;
        n++;
      }
      if (page.entries.length < 500) return n;
    }
  }
}
