/**
 * The registered OperationDefinitions as read-only resources (FHIR R4 operationdefinition.html;
 * capabilitystatement.html `rest.resource.operation.definition` and `rest.operation.definition`, a
 * canonical a client resolves; http.html read, vread, history, search).
 *
 * Every operation the server registers (src/operations/registry.ts) is served at
 * `[base]/OperationDefinition/[id]` as a resource of version 1, with the url it is named by in the
 * CapabilityStatement (its own canonical, or `[base]/OperationDefinition/[id]` when it has none, so a
 * canonical on this server resolves at itself) and a generated narrative. They take part in
 * `OperationDefinition` reads, vreads, instance history and searches (any parameter, e.g.
 * `OperationDefinition?url=...`, `?code=meta`) beside the OperationDefinitions stored through the API:
 * an interceptor gives those interactions a store session in which the registered ones exist
 * (matched by the in-memory matcher over their index entries; in a search they come before the stored
 * ones, ordered by the search's `_sort`; pages continue by keyset across both, ADR 17). They are read-only:
 * an update, patch or delete of one is 405. A caller whose access to OperationDefinition is restricted
 * sees those inside its restriction only.
 *
 * Not covered: chained and `_has` criteria, `_text`/`_content`, and searches over several types at
 * once (`[base]?_type=A,B`) see only the stored OperationDefinitions; conditional creates and updates
 * do not see the registered ones.
 */
import type { OperationDefinition, Resource } from 'fhir/r4';
import type { AccessRestriction, FhirServices, InteractionContext } from '../fhir/context';
import { restrictionOf } from '../fhir/context';
import type { Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import type { IndexEntry } from '../search/index-entry';
import type { SearchExpr } from '../search/ir';
import { compareSortValues, matchesExpr, sortValues, type MatchTarget } from '../search/match';
import type { HistoryPage, SearchPage, StoreSession, StoredVersion } from '../store/store';
import type { OperationRegistry } from './registry';

const TYPE = 'OperationDefinition';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The canonical url the CapabilityStatement names a definition by. */
export function definitionUrl(d: OperationDefinition, baseUrl: string): string {
  return d.url ?? `${baseUrl}/${TYPE}/${d.id ?? d.code}`;
}

/** A registered definition as served: its url, a narrative (dom-6), meta version 1. */
export function servedDefinition(d: OperationDefinition, baseUrl: string, lastUpdated: string): OperationDefinition {
  const levels = [d.system ? '[base]' : undefined, d.type ? `[base]/${(d.resource ?? ['[type]']).join('|')}` : undefined, d.instance ? `[base]/${(d.resource ?? ['[type]']).join('|')}/[id]` : undefined]
    .filter((x): x is string => x !== undefined)
    .map((p) => `<code>${escape(`${p}/$${d.code}`)}</code>`);
  const rows = (d.parameter ?? [])
    .map((p) => `<tr><td>${p.use}</td><td>${escape(p.name)}</td><td>${p.min}..${escape(p.max)}</td><td>${escape(p.type ?? '')}</td><td>${escape(p.documentation ?? '')}</td></tr>`)
    .join('');
  const div =
    `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>${escape(d.title ?? d.name ?? d.code)}</b> (<code>$${escape(d.code)}</code>): ${levels.join(', ')}</p>` +
    `<p>${escape(d.description ?? '')}</p>` +
    (rows ? `<table><tr><th>Use</th><th>Name</th><th>Cardinality</th><th>Type</th><th>Documentation</th></tr>${rows}</table>` : '') +
    '</div>';
  const { meta: _meta, text: _text, ...rest } = d;
  return { ...rest, resourceType: TYPE, meta: { versionId: '1', lastUpdated }, text: { status: 'generated', div }, url: definitionUrl(d, baseUrl) };
}

interface Virtual {
  version: StoredVersion & { json: string };
  target: MatchTarget;
}

/** The registered definitions as stored versions with their index entries (built once, on first use). */
export class RegisteredDefinitions {
  private built: Map<string, Virtual> | undefined;
  readonly lastUpdated: string;

  constructor(
    private readonly registry: OperationRegistry,
    private readonly services: Pick<FhirServices, 'config' | 'indexer'>,
    now: Date = new Date(),
  ) {
    this.lastUpdated = now.toISOString();
  }

  private all(): Map<string, Virtual> {
    // Registrations happen while the server is assembled; the set is built at the first request.
    if (!this.built || this.built.size !== this.registry.all().length) {
      this.built = new Map();
      for (const d of this.registry.all()) {
        if (!d.id) continue;
        const served = servedDefinition(d, this.services.config.baseUrl, this.lastUpdated);
        const json = JSON.stringify(served);
        const index: IndexEntry[] = this.services.indexer.extract(served as Resource);
        const version: StoredVersion & { json: string } = { resourceType: TYPE, id: d.id, versionId: 1, lastUpdated: this.lastUpdated, deleted: false, json, method: 'POST' };
        this.built.set(d.id, { version, target: { resourceType: TYPE, id: d.id, lastUpdated: this.lastUpdated, index } });
      }
    }
    return this.built;
  }

  has(id: string): boolean {
    return this.all().has(id);
  }

  get(id: string): Virtual | undefined {
    return this.all().get(id);
  }

  list(): Virtual[] {
    return [...this.all().values()];
  }
}

/** Whether the caller may see a registered definition (its restriction of OperationDefinition). */
function visible(v: Virtual, restriction: AccessRestriction): boolean {
  if (restriction === 'all') return true;
  if (restriction === 'none') return false;
  try {
    return matchesExpr(restriction, v.target);
  } catch {
    return false; // fail closed
  }
}

/** The registered definitions matching a search's criteria (which hold the caller's restriction already). */
function matching(defs: RegisteredDefinitions, where: SearchExpr | undefined): Virtual[] {
  return defs.list().filter((v) => {
    if (!where) return true;
    try {
      return matchesExpr(where, v.target);
    } catch {
      return false; // chains, _has, _text: only stored resources can be matched (see the module comment)
    }
  });
}

/** `inner` with the registered definitions in it, for reads and searches (see the module comment). */
export function withRegisteredDefinitions(inner: StoreSession, defs: RegisteredDefinitions, restriction: AccessRestriction): StoreSession {
  const own = (type: string, id: string): Virtual | undefined => {
    if (type !== TYPE) return undefined;
    const v = defs.get(id);
    return v && visible(v, restriction) ? v : undefined;
  };
  const search = async (q: Parameters<StoreSession['search']>[0]): Promise<SearchPage> => {
    if (q.resourceTypes.length !== 1 || q.resourceTypes[0] !== TYPE) return inner.search(q);
    const virtual = matching(defs, q.where);
    if (virtual.length === 0) return inner.search(q);
    if (q.sort.length > 0) {
      const keyed = virtual.map((v) => ({ v, key: sortValues(v.target, q.sort) }));
      keyed.sort((a, b) => compareSortValues(a.key, b.key, q.sort) || (a.v.target.id < b.v.target.id ? -1 : 1));
      virtual.splice(0, virtual.length, ...keyed.map((k) => k.v));
    }
    // Pages over [registered..., stored...] by keyset (ADR 17): a position is ['registered', id of the
    // last registered one served] or ['stored', ...the store's own position].
    const [part, ...rest] = q.after ?? [];
    if (q.after !== undefined && part === 'stored') {
      // ['stored'] alone: the previous page ended with the last registered one; the stored ones start here.
      const { after: _a, ...fromTop } = q;
      const page = await inner.search(rest.length === 0 ? { ...fromTop, offset: 0 } : { ...q, after: rest });
      return { ...page, ...(page.next !== undefined ? { next: ['stored', ...page.next] } : {}), ...(page.total !== undefined ? { total: page.total + virtual.length } : {}) };
    }
    const first = q.after === undefined ? Math.min(q.offset, virtual.length) : virtual.findIndex((v) => v.target.id === rest[0]) + 1;
    if (q.after !== undefined && (part !== 'registered' || first === 0)) {
      throw new FhirError('invalid', { diagnostics: '_cursor: the paging position does not belong to this search; restart the search from its first page', expression: ['_cursor'] });
    }
    const fromVirtual = virtual.slice(first, first + q.count);
    const room = q.count - fromVirtual.length;
    const { after: _after, ...fromStart } = q;
    const storedOffset = q.after === undefined ? Math.max(0, q.offset - virtual.length) : 0;
    const stored = room > 0 || q.total !== 'none' ? await inner.search({ ...fromStart, offset: storedOffset, count: Math.max(0, room) }) : { entries: [] };
    const page: SearchPage = { entries: [...fromVirtual.map((v) => v.version), ...(room > 0 ? stored.entries : [])] };
    if (stored.total !== undefined) page.total = stored.total + virtual.length;
    if (stored.watermark !== undefined) page.watermark = stored.watermark;
    if (q.count === 0) return page; // the total only
    if (room > 0) {
      if (stored.next !== undefined) page.next = ['stored', ...stored.next];
    } else if (first + q.count < virtual.length) {
      page.next = ['registered', fromVirtual[fromVirtual.length - 1]!.target.id];
    } else {
      // The page ended with the last registered one: the stored ones follow from their start.
      const more = await inner.search({ ...fromStart, offset: 0, count: 1, total: 'none' });
      if (more.entries.length > 0) page.next = ['stored'];
    }
    return page;
  };
  const history = async (q: Parameters<StoreSession['history']>[0]): Promise<HistoryPage> => {
    const v = q.resourceType !== undefined && q.id !== undefined ? own(q.resourceType, q.id) : undefined;
    if (!v) return inner.history(q);
    const t = Date.parse(v.version.lastUpdated);
    // `_at` is an instant or a period (a partial date): the one version exists from its lastUpdated on.
    const atHigh = q.at === undefined ? undefined : typeof q.at === 'string' ? q.at : q.at.high;
    const shown = (q.since === undefined || t >= Date.parse(q.since)) && (atHigh === undefined || t <= Date.parse(atHigh));
    return { entries: shown && q.offset === 0 && q.count > 0 ? [v.version] : [], total: shown ? 1 : 0 };
  };
  return {
    read: async (type, id) => own(type, id)?.version ?? inner.read(type, id),
    vread: async (type, id, n) => {
      const v = own(type, id);
      if (v) return n === 1 ? v.version : undefined;
      return inner.vread(type, id, n);
    },
    write: (op) => inner.write(op),
    history,
    search,
    ...(inner.claim ? { claim: (key: string) => inner.claim!(key) } : {}),
  };
}

const WRITES = new Set(['update', 'patch', 'delete']);

/**
 * Serves the registered definitions (see the module comment): reads, vreads, instance history and
 * searches of OperationDefinition (and system searches, for `_type=OperationDefinition`) run with the
 * registered ones in their store session; writes of one are 405.
 */
export function registeredDefinitionsInterceptor(defs: RegisteredDefinitions): Interceptor {
  return async (req, i, ctx, next) => {
    const about = i.resourceType === TYPE;
    if (about && WRITES.has(i.kind) && i.id !== undefined && defs.has(i.id)) {
      throw new FhirError('not-allowed', { code: 'not-supported', diagnostics: `${TYPE}/${i.id} is the definition of an operation this server implements: it is read-only` }, { headers: { Allow: 'GET, HEAD' } });
    }
    const reads = i.kind === 'read' || i.kind === 'vread' || (i.kind === 'history' && i.level === 'instance') || (i.kind === 'search' && i.compartment === undefined);
    if (!reads || (!about && !(i.kind === 'search' && i.level === 'system'))) return next();
    const c: InteractionContext = { ...ctx, session: withRegisteredDefinitions(ctx.session, defs, restrictionOf(ctx, TYPE)) };
    return next(req, c);
  };
}
