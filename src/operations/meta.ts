/**
 * `$meta` (FHIR R4 resource-operation-meta.html, OperationDefinition `Resource-meta`): the profiles,
 * tags and security labels of a resource, of a type, or of the whole system.
 *
 * - Instance (`[type]/[id]/$meta`) and version (`[type]/[id]/_history/[vid]/$meta`): "the same meta as
 *   would be returned by accessing the resource directly" (versionId and lastUpdated included); an
 *   absent resource is 404, a deleted one 410, as a read answers.
 * - Type (`[type]/$meta`) and system (`[base]/$meta`): "a summary of all the labels that are in use
 *   across the system" (no versionId or lastUpdated): the union of `meta.profile` (by url), `meta.tag`
 *   and `meta.security` (by system and code; the first display seen is kept) of the current versions.
 *   Only resources that have one of them are read: a store search `_tag:missing=false OR
 *   _profile:missing=false OR _security:missing=false` per type, in keyset pages.
 *
 * Access: the operation applies the caller's restriction itself (ADR 20): every search is restricted
 * with `restrictQuery`, so a patient-context token sees the labels of its own record only, and an
 * instance is read through the caller's store view (outside is absent).
 * Output: Parameters with `return` (Meta). A Meta with nothing in it cannot be written in FHIR JSON:
 * an empty summary is a Meta carrying only the data-absent-reason extension (`not-applicable`).
 */
import type { Coding, Meta, OperationDefinition, Parameters, Resource } from 'fhir/r4';
import { resourceTypes } from '../definitions/resource-types';
import { restrictionsOf, restrictQuery } from '../fhir/access';
import { restrictionOf, type InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { assertLive } from '../fhir/interactions/read';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { or, type SearchExpr, type SearchQuery } from '../search/ir';
import type { StoredVersion } from '../store/store';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';

export const META_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-meta',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-meta',
  version: '4.0.1',
  name: 'Meta',
  title: 'Access a list of profiles, tags, and security labels',
  status: 'active',
  kind: 'operation',
  description:
    'Instance (and version) level: the meta of the resource as a read returns it. Type and system level: the union of the profiles, tags and security labels in use on the current resources the caller may see (without versionId and lastUpdated).',
  affectsState: false,
  code: 'meta',
  resource: ['Resource'],
  system: true,
  type: true,
  instance: true,
  parameter: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Meta', documentation: 'The meta of the resource, or the labels in use.' }],
};

const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';
/** Resources read per store page while collecting labels. */
const PAGE = 500;

/** Parameters with the single `return` Meta. */
export function metaResult(meta: Meta): FhirResult {
  const value: Meta = Object.keys(meta).length > 0 ? meta : { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'not-applicable' }] };
  const out: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'return', valueMeta: value }] };
  return { status: 200, resource: out };
}

/** The identity of a tag or security label: system and code (R4: "version and display are ignored"). */
export const codingKey = (c: Coding): string => `${c.system ?? ''}\u0000${c.code ?? ''}`;

/** The stored version the operation is about (current, or the one in the URL), live; 404/410 as a read. */
export async function targetVersion(ctx: InteractionContext, inv: OperationInvocation): Promise<StoredVersion & { json: string }> {
  const type = inv.resourceType!;
  const id = inv.id!;
  if (inv.versionId === undefined) {
    const v = await ctx.session.read(type, id);
    assertLive(v, type, id);
    return v;
  }
  const vid = inv.versionId;
  const v = /^\d{1,15}$/.test(vid) ? await ctx.session.vread(type, id, Number(vid)) : undefined;
  if (!v) throw new FhirError('not-found', { code: 'not-found', diagnostics: `Version ${JSON.stringify(vid)} of ${type}/${id} is not known` });
  if (v.deleted || v.json === undefined) throw new FhirError('gone', { code: 'deleted', diagnostics: `Version ${vid} of ${type}/${id} is a deletion` });
  return v as StoredVersion & { json: string };
}

/** Collects profiles, tags and security labels, keeping each once (in order of first appearance). */
export class LabelSet {
  private readonly profiles = new Set<string>();
  private readonly tags = new Map<string, Coding>();
  private readonly security = new Map<string, Coding>();

  add(meta: Meta | undefined): void {
    for (const p of meta?.profile ?? []) if (typeof p === 'string') this.profiles.add(p);
    for (const t of meta?.tag ?? []) if (!this.tags.has(codingKey(t))) this.tags.set(codingKey(t), t);
    for (const s of meta?.security ?? []) if (!this.security.has(codingKey(s))) this.security.set(codingKey(s), s);
  }

  /** The union as a Meta, each list sorted (profile by url, labels by system then code). */
  toMeta(): Meta {
    const byKey = (m: Map<string, Coding>): Coding[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
    const meta: Meta = {};
    if (this.profiles.size > 0) meta.profile = [...this.profiles].sort();
    if (this.security.size > 0) meta.security = byKey(this.security);
    if (this.tags.size > 0) meta.tag = byKey(this.tags);
    return meta;
  }
}

/** "Has a profile, a tag or a security label", for one type (parsed like `_tag:missing=false`). */
function labelled(ctx: InteractionContext, type: string): SearchExpr | undefined {
  const parts: SearchExpr[] = [];
  for (const param of ['_profile', '_tag', '_security']) {
    const where = ctx.services.search.parse([type], [[`${param}:missing`, 'false']], { strict: true }).query.where;
    if (where) parts.push(where);
  }
  return parts.length > 0 ? or(...parts) : undefined;
}

/** Adds the labels of every current, visible, labelled resource of a type. */
async function collectType(ctx: InteractionContext, type: string, labels: LabelSet): Promise<void> {
  const restriction = restrictionOf(ctx, type);
  if (restriction === 'none') return;
  const where = labelled(ctx, type);
  if (!where) return;
  const base: SearchQuery = { resourceTypes: [type], where, sort: [{ param: '_id', kind: 'special', descending: false }], count: PAGE, offset: 0, total: 'none' };
  const query = restrictQuery(base, restriction, restrictionsOf(ctx));
  for (;;) {
    const page = await ctx.session.search(query);
    for (const v of page.entries) if (v.json && !v.deleted) labels.add((JSON.parse(v.json) as Resource).meta);
    if (page.next !== undefined) {
      if (query.after !== undefined && JSON.stringify(query.after) === JSON.stringify(page.next)) throw new FhirError('fault', `$meta: the store repeated a keyset position on ${type}`);
      query.after = page.next;
    } else if (query.after !== undefined || page.entries.length < PAGE) return;
    query.offset += page.entries.length;
  }
}

export async function metaOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  new OperationInput(inv, 'meta').assertDeclared(META_DEFINITION);
  if (inv.level === 'instance') {
    const v = await targetVersion(ctx, inv);
    return metaResult((JSON.parse(v.json) as Resource).meta ?? {});
  }
  const labels = new LabelSet();
  const types = inv.level === 'type' ? [inv.resourceType!] : [...resourceTypes()].sort();
  for (const t of types) await collectType(ctx, t, labels);
  return metaResult(labels.toMeta());
}

export function registerMeta(registry: OperationRegistry): void {
  registry.register(META_DEFINITION, metaOperation, { appliesRestriction: true, onVersions: true });
}
