/**
 * SearchParameter resources written at run time (FHIR R4 searchparameter.html, §3.1.1 search.html
 * "custom search parameters"). A SearchParameter created or updated through the API (and not
 * `retired`) is registered in the server's registry, so every later write indexes it and searches can
 * use it; deleting it (or retiring it) unregisters it. Existing resources are indexed for it by
 * `$reindex` (src/operations/reindex.ts). The R4 built-in definitions cannot be replaced or removed:
 * a stored copy of one (same canonical URL) is kept as a resource and otherwise ignored.
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

  /** Rejects (400) a SearchParameter whose expression cannot be compiled for one of its base types. */
  check(resource: unknown): void {
    const sp = resource as SearchParameter;
    if (sp?.resourceType !== 'SearchParameter' || !RuntimeSearchParameters.applies(sp)) return;
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

  private add(id: string, resource: Resource): void {
    const sp = resource as SearchParameter;
    if (!RuntimeSearchParameters.applies(sp) || !sp.url) return;
    this.registry.register(sp);
    this.byId.set(id, sp.url);
  }

  /** Registers every stored SearchParameter (at start-up). Returns how many were registered. */
  async loadStored(session: StoreSession): Promise<number> {
    let n = 0;
    for (let offset = 0; ; offset += 500) {
      const page = await session.search({ resourceTypes: ['SearchParameter'], sort: [{ param: '_id', kind: 'special', descending: false }], count: 500, offset, total: 'none' });
      for (const v of page.entries) {
        const sp = JSON.parse(v.json ?? 'null') as SearchParameter | null;
        if (!sp || !RuntimeSearchParameters.applies(sp) || !sp.url) continue;
        this.add(v.id, sp);
        n++;
      }
      if (page.entries.length < 500) return n;
    }
  }
}
