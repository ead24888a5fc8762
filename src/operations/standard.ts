/**
 * The standard operations of FHIR R4 this server implements (operationslist.html), registered with
 * their OperationDefinitions (src/operations/registry.ts), and the serving of every registered
 * definition as a read-only OperationDefinition resource (definitions.ts):
 *
 * - `$meta` (system, type, instance, version), `$meta-add`, `$meta-delete` (instance): meta.ts,
 *   meta-add.ts, meta-delete.ts;
 * - `Patient/$everything` (type, instance): everything.ts;
 * - terminology over the local terminology (terminology-support.ts): `ValueSet/$expand`,
 *   `ValueSet/$validate-code`, `CodeSystem/$lookup`, `CodeSystem/$validate-code`,
 *   `CodeSystem/$subsumes`, `ConceptMap/$translate`.
 * (`$validate` and `$reindex` are registered by the composition root; the NHS layer adds its own.)
 */
import type { FhirServices } from '../fhir/context';
import { registerBulkExport } from '../bulk-data/operations';
import { registerCodeSystemValidateCode } from './codesystem-validate-code';
import { registerLookup } from './codesystem-lookup';
import { registerSubsumes } from './codesystem-subsumes';
import { registerTranslate } from './conceptmap-translate';
import { RegisteredDefinitions, registeredDefinitionsInterceptor } from './definitions';
import { registerCompositionDocument } from './composition-document';
import { registerEverything } from './everything';
import { registerMeta } from './meta';
import { registerMetaAdd } from './meta-add';
import { registerMetaDelete } from './meta-delete';
import type { TerminologyDeps } from './terminology-support';
import { registerValueSetValidateCode } from './valueset-validate-code';
import { registerExpand } from './valueset-expand';

export function registerStandardOperations(services: FhirServices, terminology: TerminologyDeps): void {
  const registry = services.operations;
  registerMeta(registry);
  registerMetaAdd(registry);
  registerMetaDelete(registry);
  registerEverything(registry);
  registerCompositionDocument(registry);
  registerExpand(registry, terminology);
  registerValueSetValidateCode(registry, terminology);
  registerLookup(registry, terminology);
  registerCodeSystemValidateCode(registry, terminology);
  registerSubsumes(registry, terminology);
  registerTranslate(registry, terminology);
  registerBulkExport(registry);
  const defs = new RegisteredDefinitions(registry, services);
  services.interceptors = [...(services.interceptors ?? []), registeredDefinitionsInterceptor(defs)];
}
