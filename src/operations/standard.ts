/**
 * The standard operations of FHIR R4 this server implements (operationslist.html), registered with
 * their OperationDefinitions (src/operations/registry.ts):
 *
 * - `$meta` (system, type, instance, version), `$meta-add`, `$meta-delete` (instance): meta.ts,
 *   meta-add.ts, meta-delete.ts;
 * - `Patient/$everything` (type, instance): everything.ts.
 * (`$validate` and `$reindex` are registered by the composition root; the NHS layer adds its own.)
 */
import type { FhirServices } from '../fhir/context';
import { registerEverything } from './everything';
import { registerMeta } from './meta';
import { registerMetaAdd } from './meta-add';
import { registerMetaDelete } from './meta-delete';

export function registerStandardOperations(services: FhirServices): void {
  const registry = services.operations;
  registerMeta(registry);
  registerMetaAdd(registry);
  registerMetaDelete(registry);
  registerEverything(registry);
}
