/**
 * The store as a restricted SMART caller may see it (SMART App Launch 2.0.0
 * scopes-and-launch-context.html, patient-level scopes; FHIR R4 compartmentdefinition-patient.html;
 * R4 http.html read, vread, history, update, delete; security.html "not revealing existence").
 *
 * A patient-context (or query-restricted) caller's world is what its grants cover. The access
 * interceptor (interceptor.ts) wraps every store session of such a request in this view
 * (`InteractionContext.view`), so that every handler, operation and layer above the engine (the NHS
 * record rules included) sees only that world, and answers for a resource outside it exactly what it
 * answers for one that does not exist — the same status, the same Spine or FHIR error:
 *
 * - read: the current version, when it is inside the restriction of the interaction's permission (a
 *   store search `_id AND restriction`); a deletion tombstone when the last version before it was
 *   inside; otherwise nothing.
 * - vread: a version when its own content is inside (its index entries evaluated by the in-memory
 *   matcher); a deletion when the version before it was inside.
 * - history of an instance: only the versions that are themselves inside (a resource moved from
 *   another patient to this one shows only the versions since), read whole by keyset and paged by
 *   the view's own position (the versionId of the last entry served); type and system history cannot
 *   be restricted version by version in the store and are refused (403).
 * - writes: a create or update must be allowed for the resource as written (`SmartGrantSet.writeProblem`,
 *   403 naming why; this covers patches too, whose result is only known here); an update needs the
 *   current version live and inside (an update-as-create, or re-creating a deleted id, is refused as
 *   "not known" whether or not the id exists); a delete of anything outside is the delete of an absent
 *   resource (nothing happens). The check and the write are one step: the write is pinned to the
 *   version checked, and retried when a concurrent write moved it.
 * - search passes through: the engine restricts every search itself (src/fhir/access.ts), with the
 *   restriction inside the compiled query.
 */
import type { Resource } from 'fhir/r4';
import type { AccessRestriction, FhirServices } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { and, type SearchPosition, type SearchQuery } from '../search/ir';
import { matchesExpr } from '../search/match';
import type { HistoryPage, HistoryQuery, StoreSession, StoredVersion, WriteOp, WriteResult } from '../store/store';
import type { SmartGrantSet } from './access';
import type { Permission } from './scopes';

/** Versions of one instance a restricted history reads at most. */
export const MAX_RESTRICTED_HISTORY = 10_000;
/** Attempts of a checked write whose target moved concurrently. */
const WRITE_ATTEMPTS = 3;
const HISTORY_CHUNK = 500;

const inners = new WeakMap<StoreSession, StoreSession>();

/** The session a view wraps (the session itself when it is not a view). */
export function unwrapView(session: StoreSession): StoreSession {
  return inners.get(session) ?? session;
}

/** The error of an update whose target the caller cannot see: the same whether or not it exists. */
function notKnown(resourceType: string, id: string): FhirError {
  return new FhirError('not-found', {
    code: 'not-found',
    diagnostics: `Resource ${resourceType}/${id} is not known (with a patient-context or query-restricted token an update needs an existing resource the token may see; create new resources with POST)`,
  });
}

export interface ViewOptions {
  grants: SmartGrantSet;
  /** The permission of the interaction the view serves: decides what its reads may see. */
  permission: Permission;
  services: Pick<FhirServices, 'indexer' | 'search'>;
}

/** `session` as the caller may see it for one interaction (see the module comment). */
export function callerView(session: StoreSession, opts: ViewOptions): StoreSession {
  const inner = unwrapView(session);
  const { grants, permission, services } = opts;
  const visible = (type: string, p: Permission = permission): AccessRestriction => grants.restriction(type, p) ?? 'none';

  const versionInside = (v: StoredVersion & { json: string }, restriction: AccessRestriction): boolean => {
    if (restriction === 'all') return true;
    if (restriction === 'none') return false;
    try {
      const resource = JSON.parse(v.json) as Resource;
      const index = services.indexer.extract(resource);
      return matchesExpr(restriction, { resourceType: v.resourceType, id: v.id, lastUpdated: v.lastUpdated, index });
    } catch {
      return false; // fail closed
    }
  };

  const currentInside = async (v: StoredVersion, restriction: AccessRestriction): Promise<boolean> => {
    if (restriction === 'all') return true;
    if (restriction === 'none') return false;
    let query: SearchQuery = { resourceTypes: [v.resourceType], where: and({ op: 'id', ids: [v.id] }, restriction), sort: [], count: 1, offset: 0, total: 'none' };
    if (services.search.rewrite) query = await services.search.rewrite(query, inner);
    return (await inner.search(query)).entries.length > 0;
  };

  /** The last live version before `v` (a deletion), or undefined. */
  const liveBefore = async (v: StoredVersion): Promise<(StoredVersion & { json: string }) | undefined> => {
    for (let n = v.versionId - 1; n >= 1; n--) {
      const p = await inner.vread(v.resourceType, v.id, n);
      if (p?.json !== undefined) return p as StoredVersion & { json: string };
    }
    return undefined;
  };

  /** Whether a stored version (a current one when `current`) is inside `restriction`. */
  const inside = async (v: StoredVersion, restriction: AccessRestriction, current: boolean): Promise<boolean> => {
    if (restriction === 'all') return true;
    if (restriction === 'none') return false;
    if (v.deleted || v.json === undefined) {
      const before = await liveBefore(v);
      return before !== undefined && versionInside(before, restriction);
    }
    return current ? currentInside(v, restriction) : versionInside(v as StoredVersion & { json: string }, restriction);
  };

  const history = async (q: HistoryQuery): Promise<HistoryPage> => {
    const type = q.resourceType ?? '*';
    const restriction = visible(type);
    if (restriction === 'all') return inner.history(q);
    if (q.resourceType === undefined || q.id === undefined) {
      throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `${q.resourceType ? 'type' : 'system'} history cannot be restricted to what the token's scopes grant; use search, or an unrestricted user/ or system/ scope` });
    }
    // The whole instance history, read by keyset (versions written meanwhile are newer: not repeated).
    const all: StoredVersion[] = [];
    const { after: viewAfter, ...whole } = q;
    let after: SearchPosition | undefined;
    for (;;) {
      const page = await inner.history({ ...whole, count: HISTORY_CHUNK, offset: 0, ...(after !== undefined ? { after } : {}) });
      all.push(...page.entries);
      if (page.next === undefined) break;
      after = page.next;
      if (all.length >= MAX_RESTRICTED_HISTORY) {
        throw new FhirError('too-costly', { code: 'too-costly', diagnostics: `${q.resourceType}/${q.id} has more than ${MAX_RESTRICTED_HISTORY} versions: its history cannot be restricted to what the token's scopes grant` });
      }
    }
    const kept: StoredVersion[] = [];
    for (const v of all) if (await inside(v, restriction, false)) kept.push(v);
    // The view's own keyset position: the versionId of the last entry served (newest first).
    let start = q.offset;
    if (viewAfter !== undefined) {
      const vid = viewAfter[0];
      if (viewAfter.length !== 1 || typeof vid !== 'number' || !Number.isSafeInteger(vid)) throw new FhirError('invalid', 'The paging position does not belong to this history');
      start = kept.findIndex((v) => v.versionId < vid);
      if (start < 0) start = kept.length;
    }
    const entries = kept.slice(start, start + q.count);
    const last = entries[entries.length - 1];
    const out: HistoryPage = { entries, total: kept.length };
    if (last && start + entries.length < kept.length) out.next = [last.versionId];
    return out;
  };

  /** The current version of a write's target, and it again as `target` if the caller may see it with the write's permission. */
  const writeTarget = async (op: WriteOp, p: Permission): Promise<{ current?: StoredVersion; target?: StoredVersion }> => {
    const current = await inner.read(op.resourceType, op.id);
    if (!current) return {};
    return (await inside(current, visible(op.resourceType, p), true)) ? { current, target: current } : { current };
  };

  const write = async (op: WriteOp): Promise<WriteResult | undefined> => {
    if (op.kind === 'create') {
      assertWritable(op, 'c');
      return inner.write(op);
    }
    const p: Permission = op.kind === 'delete' ? 'd' : 'u';
    if (op.kind === 'update') assertWritable(op, 'u');
    for (let attempt = 1; ; attempt++) {
      const { current, target } = await writeTarget(op, p);
      if (!target || target.deleted) {
        // One the caller may read but not change (e.g. a patient's own EPS records, ADR 39): saying
        // so reveals nothing it cannot read, and a 204 would claim a delete that did not happen.
        if (!target && current && !current.deleted && (await inside(current, visible(op.resourceType, 'r'), true))) {
          throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `${op.resourceType}/${op.id} can be read but not ${op.kind === 'delete' ? 'deleted' : 'changed'} with this token`, expression: [op.resourceType] });
        }
        if (op.kind === 'delete') return undefined; // as for an absent resource
        throw notKnown(op.resourceType, op.id);
      }
      if (op.expectedVersion !== undefined && op.expectedVersion !== target.versionId) return inner.write(op); // the store answers the mismatch
      try {
        return await inner.write({ ...op, expectedVersion: target.versionId });
      } catch (e) {
        // A concurrent write moved the target after the check: check again (unless the client pinned a version).
        if (!(e instanceof FhirError && e.category === 'precondition') || op.expectedVersion !== undefined || attempt >= WRITE_ATTEMPTS) throw e;
      }
    }
  };

  const assertWritable = (op: WriteOp, p: Permission): void => {
    if (!op.resource) return;
    const problem = grants.writeProblem(op.resource, op.kind === 'create' ? undefined : op.id, op.index ?? services.indexer.extract(op.resource), p);
    if (problem !== undefined) {
      throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `Writing ${op.resourceType}${op.kind === 'create' ? '' : `/${op.id}`} is refused: ${problem}`, expression: [op.resourceType] });
    }
  };

  const view: StoreSession = {
    read: async (type, id) => {
      const v = await inner.read(type, id);
      return v && (await inside(v, visible(type), true)) ? v : undefined;
    },
    vread: async (type, id, versionId) => {
      const v = await inner.vread(type, id, versionId);
      return v && (await inside(v, visible(type), false)) ? v : undefined;
    },
    write,
    history,
    search: (q) => inner.search(q),
    ...(inner.claim ? { claim: (key: string) => inner.claim!(key) } : {}),
  };
  inners.set(view, inner);
  return view;
}
