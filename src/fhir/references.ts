/**
 * Conditional references (FHIR R4 §3.1.0.11.2 http.html#trules "Conditional References": a
 * `reference` of the form `[type]?[search parameters]` is replaced by a reference to the one
 * resource the search finds) and placeholder references (bundle.html#references: `urn:uuid:` and
 * `urn:oid:` references name the fullUrl of another entry of the same Bundle).
 *
 * Inside a transaction the Bundle handler resolves both (src/fhir/interactions/bundle.ts: no match or
 * several is a 412). Every other write (create, update, patch, batch entries) resolves conditional
 * references here, before validation: exactly one match is written as `[type]/[id]`; none or several
 * is a 422, so a conditional reference is never stored verbatim. The search is restricted to what the
 * caller may see (`findMatches` applies `restrictQuery`). References inside the entries of a Bundle
 * resource being stored (a document or collection) are that Bundle's own business and left as they are.
 */
import type { Resource } from 'fhir/r4';
import { isResourceType } from '../definitions/resource-types';
import { findMatches, parseCriteria, type CriteriaSource } from './conditional';
import type { InteractionContext } from './context';
import { FhirError } from './outcome';
import type { StoreSession, StoredVersion } from '../store/store';

/** A placeholder reference naming a Bundle entry's fullUrl (bundle.html#references). */
export const PLACEHOLDER_RE = /^urn:(uuid|oid):/i;

/** The type and criteria of a conditional reference `Type?query`, or undefined. */
export function conditionalReference(ref: string): { type: string; criteria: string } | undefined {
  const q = ref.indexOf('?');
  if (q <= 0) return undefined;
  const type = ref.slice(0, q);
  if (!/^[A-Za-z]+$/.test(type)) return undefined;
  return { type, criteria: ref.slice(q + 1) };
}

/** How a reference was shown in an answer (long ones cut). */
export function shown(ref: string): string {
  return JSON.stringify(ref.length > 200 ? `${ref.slice(0, 200)}…` : ref);
}

/** The matches (at most 2) of a conditional reference; a type that is not a resource type is a 400. */
export async function matchesOf(ctx: InteractionContext, session: StoreSession, ref: string, source: CriteriaSource): Promise<{ type: string; found: StoredVersion[] } | undefined> {
  const c = conditionalReference(ref);
  if (!c) return undefined;
  if (!isResourceType(c.type)) throw new FhirError('invalid', { diagnostics: `Conditional reference ${shown(ref)}: ${c.type} is not a resource type`, expression: [source.expression] });
  return { type: c.type, found: await findMatches(ctx, session, c.type, parseCriteria(c.criteria, c.type), 2, source) };
}

/**
 * The resource with every conditional reference resolved (the same object when it has none); none
 * or several matches: 422 naming the element. Walks the resource once; the entries of a Bundle
 * resource are not entered.
 */
export async function resolveConditionalReferences(ctx: InteractionContext, session: StoreSession, resource: Resource): Promise<Resource> {
  // Without a conditional reference the walk below changes nothing: the same object, found without a promise per element.
  if (!hasConditionalReference(resource, true, false, resource.resourceType === 'Bundle')) return resource;
  const walk = async (value: unknown, path: string, inBundle: boolean): Promise<unknown> => {
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        const r = await walk(v, `${path}[${i}]`, inBundle);
        if (r !== v) (out ??= [...value])[i] = r;
      }
      return out ?? value;
    }
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(obj)) {
      if (inBundle && k === 'resource') continue; // Bundle.entry.resource: the stored Bundle's own content
      let r: unknown;
      if (k === 'reference' && typeof v === 'string') {
        r = await resolveOne(ctx, session, v, `${path}.reference`);
      } else if (v !== null && typeof v === 'object') {
        r = await walk(v, `${path}.${k}`, inBundle || (path === resource.resourceType && resource.resourceType === 'Bundle' && k === 'entry'));
      } else {
        continue;
      }
      if (r !== v) (out ??= { ...obj })[k] = r;
    }
    return out ?? obj;
  };
  return (await walk(resource, resource.resourceType, false)) as Resource;
}

/**
 * Whether resolveConditionalReferences' walk meets a conditional reference: the same elements (a Bundle
 * resource's `entry[].resource` not entered), the same test (conditionalReference, as matchesOf).
 */
function hasConditionalReference(value: unknown, root: boolean, inBundle: boolean, bundle: boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => hasConditionalReference(v, false, inBundle, bundle));
  if (value === null || typeof value !== 'object') return false;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (inBundle && k === 'resource') continue;
    if (k === 'reference' && typeof v === 'string') {
      if (conditionalReference(v) !== undefined) return true;
    } else if (v !== null && typeof v === 'object' && hasConditionalReference(v, false, inBundle || (root && bundle && k === 'entry'), bundle)) {
      return true;
    }
  }
  return false;
}

async function resolveOne(ctx: InteractionContext, session: StoreSession, ref: string, expression: string): Promise<string> {
  const m = await matchesOf(ctx, session, ref, { label: `The conditional reference ${shown(ref)} at ${expression}`, expression });
  if (!m) return ref;
  if (m.found.length === 1) return `${m.type}/${m.found[0]!.id}`;
  throw new FhirError('unprocessable', {
    code: m.found.length === 0 ? 'not-found' : 'multiple-matches',
    diagnostics: `The conditional reference ${shown(ref)} at ${expression} matches ${m.found.length === 0 ? 'no' : 'more than one'} ${m.type}; a conditional reference must match exactly one resource (http.html#trules)`,
    expression: [expression],
  });
}
