/**
 * `$meta-add` (FHIR R4 resource-operation-meta-add.html, OperationDefinition `Resource-meta-add`):
 * "takes a meta, and adds the profiles, tags, and security labels found in it to the nominated
 * resource". Instance level only, POST only (it changes state). Input `meta` (Meta, 1..1); output
 * `return` (the resulting Meta).
 *
 * Profiles, tags and security labels are sets: a profile is matched by its full url, a tag or label
 * by system and code ("version and display are ignored"), and nothing already present is added again.
 * Other elements of the given meta (versionId, lastUpdated, source) are not profiles, tags or labels
 * and are ignored.
 *
 * Versions: R4 dropped the sentence of DSTU2/STU3 that executing this operation "does not cause a new
 * version of the resource to be created"; R4 Meta says only that changes to it "might not always be
 * associated with version changes". This server keeps every version immutable (its ETags, history
 * and the access checks of restricted callers rely on that), so a change of meta is written as a new
 * version through the ordinary write path (validation, including of a newly claimed profile;
 * indexing; write hooks), pinned to the version read. When nothing changes no version is written.
 * On a version (`[type]/[id]/_history/[vid]/$meta-add`) only the current version can be changed.
 */
import type { Coding, Meta, OperationDefinition, Resource } from 'fhir/r4';
import { atomic, type InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { parseStored } from '../fhir/respond';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { writeResource } from '../fhir/write';
import { codingKey, metaResult, targetVersion } from './meta';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';

export const META_ADD_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-meta-add',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-meta-add',
  version: '4.0.1',
  name: 'MetaAdd',
  title: 'Add profiles, tags, and security labels to a resource',
  status: 'active',
  kind: 'operation',
  description:
    'Adds the profiles, tags and security labels of the given meta to the current version of the resource (sets: profiles by url, tags and labels by system and code). The change is written as a new version (validated, as every write); nothing is written when everything is already present.',
  affectsState: true,
  code: 'meta-add',
  resource: ['Resource'],
  system: false,
  type: false,
  instance: true,
  parameter: [
    { name: 'meta', use: 'in', min: 1, max: '1', type: 'Meta', documentation: 'Profiles, tags, and security labels to add (duplicates are not created).' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Meta', documentation: 'The resulting meta of the resource.' },
  ],
};

export type MetaChange = 'add' | 'delete';

/** The meta after adding or deleting the profiles, tags and labels of `given` (the input is not changed). */
export function changedMeta(current: Meta | undefined, given: Meta, change: MetaChange): Meta {
  const next: Meta = { ...(current ?? {}) };
  const profiles = [...(current?.profile ?? [])];
  const givenProfiles = (given.profile ?? []).filter((p): p is string => typeof p === 'string');
  const codings = (have: Coding[] | undefined, add: Coding[] | undefined): Coding[] => {
    const list = [...(have ?? [])];
    const keys = new Set((add ?? []).map(codingKey));
    if (change === 'delete') return list.filter((c) => !keys.has(codingKey(c)));
    const present = new Set(list.map(codingKey));
    for (const c of add ?? []) {
      if (present.has(codingKey(c))) continue;
      present.add(codingKey(c));
      list.push(c);
    }
    return list;
  };
  const profile = change === 'delete' ? profiles.filter((p) => !givenProfiles.includes(p)) : [...profiles, ...givenProfiles.filter((p, i) => !profiles.includes(p) && givenProfiles.indexOf(p) === i)];
  const tag = codings(current?.tag, given.tag);
  const security = codings(current?.security, given.security);
  const set = <K extends 'profile' | 'tag' | 'security'>(k: K, v: NonNullable<Meta[K]>): void => {
    if (v.length > 0) next[k] = v;
    else delete next[k];
  };
  set('profile', profile);
  set('tag', tag);
  set('security', security);
  return next;
}

const sameLabels = (a: Meta, b: Meta): boolean => JSON.stringify([a.profile, a.tag, a.security]) === JSON.stringify([b.profile, b.tag, b.security]);

function metaInput(inv: OperationInvocation, code: string): Meta {
  const input = new OperationInput(inv, code);
  const p = input.one('meta');
  if (!p) throw new FhirError('invalid', { code: 'required', diagnostics: `$${code} needs the parameter meta (a Meta with the profiles, tags and security labels)`, expression: ['meta'] });
  const meta = p.valueMeta;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new FhirError('invalid', { code: 'value', diagnostics: `$${code}: parameter meta must be a Meta (valueMeta)`, expression: ['meta'] });
  const lists = ['profile', 'tag', 'security'] as const;
  for (const k of lists) {
    const v = meta[k];
    if (v !== undefined && !Array.isArray(v)) throw new FhirError('invalid', { code: 'structure', diagnostics: `$${code}: meta.${k} must be an array`, expression: [`meta.${k}`] });
  }
  for (const c of [...(meta.tag ?? []), ...(meta.security ?? [])]) {
    if (!c || typeof c !== 'object' || typeof c.code !== 'string' || c.code === '') throw new FhirError('invalid', { code: 'value', diagnostics: `$${code}: every tag and security label needs a code (its identity is system and code)`, expression: ['meta'] });
  }
  for (const pr of meta.profile ?? []) if (typeof pr !== 'string' || pr === '') throw new FhirError('invalid', { code: 'value', diagnostics: `$${code}: meta.profile values must be canonical urls`, expression: ['meta.profile'] });
  return meta;
}

/** The handler of `$meta-add` and `$meta-delete`. */
export function metaChangeOperation(change: MetaChange, definition: OperationDefinition) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const code = definition.code;
    new OperationInput(inv, code).assertDeclared(definition);
    const given = metaInput(inv, code);
    const type = inv.resourceType!;
    const id = inv.id!;
    return atomic(ctx, async (session) => {
      const scoped = { ...ctx, session };
      const current = await targetVersion(scoped, { ...inv, versionId: undefined } as OperationInvocation);
      if (inv.versionId !== undefined && inv.versionId !== String(current.versionId)) {
        throw new FhirError('unprocessable', {
          code: 'not-supported',
          diagnostics: `$${code} on version ${inv.versionId} of ${type}/${id}: this server keeps earlier versions unchangeable; only the current version (${current.versionId}) can be changed`,
        });
      }
      const resource = parseStored(current);
      const before = resource.meta ?? {};
      const after = changedMeta(before, given, change);
      if (sameLabels(before, after)) return metaResult(before);
      const next = { ...resource, meta: after } as Resource;
      const written = await writeResource(scoped, session, { kind: 'update', resourceType: type, id, resource: next, expectedVersion: current.versionId, method: 'PUT' });
      return metaResult(parseStored(written.version).meta ?? {});
    });
  };
}

export function registerMetaAdd(registry: OperationRegistry): void {
  registry.register(META_ADD_DEFINITION, metaChangeOperation('add', META_ADD_DEFINITION), { onVersions: true });
}
