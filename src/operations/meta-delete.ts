/**
 * `$meta-delete` (FHIR R4 resource-operation-meta-delete.html, OperationDefinition
 * `Resource-meta-delete`): "takes a meta, and deletes the profiles, tags, and security labels found in
 * it from the nominated resource". Instance level only, POST only. Input `meta` (Meta, 1..1); output
 * `return` (the resulting Meta). "It is not an error if these tags, profiles, and labels do not
 * exist"; a tag or label is matched by system and code ("version and display are ignored"), a profile
 * by its full url. Written as a new version, as `$meta-add` explains (meta-add.ts); nothing is written
 * when nothing is removed.
 */
import type { OperationDefinition } from 'fhir/r4';
import { metaChangeOperation } from './meta-add';
import type { OperationRegistry } from './registry';

export const META_DELETE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-meta-delete',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-meta-delete',
  version: '4.0.1',
  name: 'MetaDelete',
  title: 'Delete profiles, tags, and security labels for a resource',
  status: 'active',
  kind: 'operation',
  description:
    'Removes the profiles, tags and security labels of the given meta from the current version of the resource (tags and labels matched by system and code, profiles by url; absent ones are not an error). The change is written as a new version; nothing is written when nothing is removed.',
  affectsState: true,
  code: 'meta-delete',
  resource: ['Resource'],
  system: false,
  type: false,
  instance: true,
  parameter: [
    { name: 'meta', use: 'in', min: 1, max: '1', type: 'Meta', documentation: 'Profiles, tags, and security labels to delete.' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Meta', documentation: 'The resulting meta of the resource.' },
  ],
};

export function registerMetaDelete(registry: OperationRegistry): void {
  registry.register(META_DELETE_DEFINITION, metaChangeOperation('delete', META_DELETE_DEFINITION), { onVersions: true });
}
