/**
 * The server's CapabilityStatement (FHIR R4 §2.1.0 capabilitystatement.html, served at
 * `[base]/metadata` per http.html#capabilities), generated from what is really registered: the R4
 * resource types the engine serves, its interactions, formats, patch formats, search parameters and
 * operations. `capability-statement/CapabilityStatement.json` is the published copy; a test fails when
 * the two drift apart.
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestResourceSearchParam,
} from 'fhir/r4';
import { resourceTypes } from '../definitions/resource-types';
import type { FhirServices } from './context';

export const SOFTWARE = { name: 'spine-fhir-server', version: '0.1.0' };

/** Interactions every resource type supports (each is implemented in src/fhir/interactions/). */
const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

export function capabilityStatement(services: Pick<FhirServices, 'config' | 'search' | 'operations'>, date: string): CapabilityStatement {
  const ops = services.operations.all();
  const resource: CapabilityStatementRestResource[] = [...resourceTypes()].sort().map((type) => {
    const searchParam: CapabilityStatementRestResourceSearchParam[] = services.search.parametersFor(type).map((p) => ({
      name: p.name,
      ...(p.definition ? { definition: p.definition } : {}),
      type: p.type as CapabilityStatementRestResourceSearchParam['type'],
      ...(p.documentation ? { documentation: p.documentation } : {}),
    }));
    const operation: CapabilityStatementRestResourceOperation[] = ops
      .filter((o) => (o.type || o.instance) && (!o.resource || o.resource.includes(type) || o.resource.includes('Resource')))
      .map((o) => ({ name: o.code, definition: o.url ?? `${services.config.baseUrl}/OperationDefinition/${o.id ?? o.code}` }));
    return {
      type,
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'multiple',
      referencePolicy: ['literal', 'local'],
      ...(searchParam.length ? { searchParam } : {}),
      ...(operation.length ? { operation } : {}),
    };
  });
  const systemOps = ops.filter((o) => o.system).map((o) => ({ name: o.code, definition: o.url ?? `${services.config.baseUrl}/OperationDefinition/${o.id ?? o.code}` }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'spine-fhir-server contributors',
    kind: 'instance',
    software: { name: SOFTWARE.name, version: SOFTWARE.version },
    implementation: { description: 'FHIR R4 server modelling the NHS Spine 2 core', url: services.config.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        ...(systemOps.length ? { operation: systemOps } : {}),
      },
    ],
  };
}
