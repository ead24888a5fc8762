/**
 * References inside a transaction Bundle (FHIR R4 bundle.html#references, http.html#trules): every
 * `reference` naming the fullUrl of an entry the transaction creates or updates is rewritten to that
 * resource's `Type/id` here, relative references resolve against the entry's own absolute fullUrl,
 * conditional references (`Patient?identifier=...`) are resolved by a search (exactly one match), and
 * a `urn:uuid:` / `urn:oid:` reference that names no entry fails the transaction.
 */
import type { Resource } from 'fhir/r4';
import type { InteractionContext } from '../context';
import { FhirError } from '../outcome';
import { conditionalReference, matchesOf, PLACEHOLDER_RE, shown } from '../references';

/** The base of an absolute `[base]/[type]/[id]` fullUrl, against which relative references resolve. */
export function fullUrlBase(fullUrl: string | undefined): string | undefined {
  const m = fullUrl ? /^([a-z][a-z0-9+.-]*:\/\/.+)\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/i.exec(fullUrl) : null;
  return m ? m[1] : undefined;
}

export interface ReferenceScope {
  /** fullUrl of every resource the Bundle creates or updates -> its `Type/id` here. */
  idMap: Map<string, string>;
  /** The base of the entry's own absolute fullUrl (bundle.html#references: relative references resolve against it). */
  base: string | undefined;
  /** The index of the entry whose resource is rewritten. */
  entry: number;
}

/**
 * The resource with its references rewritten (rewriteReferences). Most resources hold no conditional
 * reference, and then nothing needs the store: the synchronous walk gives the same copy without a
 * promise per element. Only where it meets a conditional reference does the asynchronous walk run
 * (from the start: the walks have no effects, and the first failure in element order is the same).
 */
export async function rewriteAllReferences(resource: Resource, scope: ReferenceScope, ctx: InteractionContext): Promise<unknown> {
  return rewriteReferencesWithoutStore(resource, scope) ?? rewriteReferences(resource, scope, ctx, resource.resourceType ?? 'Resource', false);
}

/** The resource with its references rewritten, as rewriteAllReferences, or undefined when a conditional reference needs the store. */
export function rewriteReferencesWithoutStore(resource: Resource, scope: ReferenceScope): unknown {
  const fast = rewriteReferencesSync(resource, scope, [resource.resourceType ?? 'Resource'], false);
  return fast === NEEDS_STORE ? undefined : fast;
}

/** What rewriteReferencesSync answers when a conditional reference needs a search. */
const NEEDS_STORE: unique symbol = Symbol('needs the store');
const ENTRY_ITEM_RE = /\.entry\[\d+\]$/;

/**
 * rewriteReferences without the store: the same result (a copy) and the same errors, or NEEDS_STORE.
 * `path` holds the expression's parts (joined only for an error or a `resource` element).
 */
function rewriteReferencesSync(value: unknown, scope: ReferenceScope, path: string[], nested: boolean): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      path.push(`[${i}]`);
      const r = rewriteReferencesSync(value[i], scope, path, nested);
      path.pop();
      if (r === NEEDS_STORE) return r;
      out.push(r);
    }
    return out;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    let r: unknown;
    if (k === 'reference' && typeof v === 'string') {
      r = resolveReferenceSync(v, scope, path, nested);
    } else {
      const inner = nested || (k === 'resource' && ENTRY_ITEM_RE.test(path.join('')));
      path.push(`.${k}`);
      r = rewriteReferencesSync(v, scope, path, inner);
      path.pop();
    }
    if (r === NEEDS_STORE) return r;
    out[k] = r;
  }
  return out;
}

/** resolveReference without the store (`path`: the parts of the expression of the element holding `reference`). */
function resolveReferenceSync(ref: string, scope: ReferenceScope, path: string[], nested: boolean): string | typeof NEEDS_STORE {
  const mapped = mappedReference(ref, scope);
  if (mapped) return mapped;
  if (PLACEHOLDER_RE.test(ref) && !nested) throw unresolvedPlaceholder(ref, `${path.join('')}.reference`);
  return conditionalReference(ref) !== undefined ? NEEDS_STORE : ref;
}

function mappedReference(ref: string, scope: ReferenceScope): string | undefined {
  return scope.idMap.get(ref) ?? (scope.base && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(ref) ? scope.idMap.get(`${scope.base}/${ref}`) : undefined);
}

/** bundle.html#references: a urn:uuid / urn:oid reference names the fullUrl of an entry; one that names none cannot be resolved. */
function unresolvedPlaceholder(ref: string, expression: string): FhirError {
  return new FhirError('invalid', {
    code: 'not-found',
    diagnostics: `The reference ${shown(ref)} at ${expression} names no entry of the transaction (no entry has that fullUrl); a urn:uuid or urn:oid reference must resolve within the Bundle`,
    expression: [expression],
  });
}

/** Rewrites `reference` values that name a fullUrl in the Bundle or are conditional references. */
export async function rewriteReferences(value: unknown, scope: ReferenceScope, ctx: InteractionContext, path: string, nested: boolean): Promise<unknown> {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(await rewriteReferences(value[i], scope, ctx, `${path}[${i}]`, nested));
    return out;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'reference' && typeof v === 'string') {
      out[k] = await resolveReference(v, scope, ctx, `${path}.reference`, nested);
    } else {
      // The entries of a Bundle resource written by this transaction (a document, a collection) have
      // placeholders of their own: those that name no entry of this transaction are that Bundle's.
      const inner = nested || (k === 'resource' && /\.entry\[\d+\]$/.test(path));
      out[k] = await rewriteReferences(v, scope, ctx, `${path}.${k}`, inner);
    }
  }
  return out;
}

async function resolveReference(ref: string, scope: ReferenceScope, ctx: InteractionContext, expression: string, nested: boolean): Promise<string> {
  const mapped = mappedReference(ref, scope);
  if (mapped) return mapped;
  // Storing a placeholder that names no entry would leave a reference to nothing.
  if (PLACEHOLDER_RE.test(ref) && !nested) throw unresolvedPlaceholder(ref, expression);
  const m = await matchesOf(ctx, ctx.session, ref, { label: `The conditional reference ${shown(ref)} in Bundle.entry[${scope.entry}]`, expression: `Bundle.entry[${scope.entry}].resource` });
  if (!m) return ref;
  if (m.found.length !== 1) {
    throw new FhirError('precondition', { code: m.found.length === 0 ? 'not-found' : 'multiple-matches', diagnostics: `Conditional reference ${JSON.stringify(ref)} matches ${m.found.length === 0 ? 'no' : 'more than one'} resource`, expression: [expression] });
  }
  return `${m.type}/${m.found[0]!.id}`;
}
