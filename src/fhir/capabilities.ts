/**
 * The server's CapabilityStatement (FHIR R4 §2.1.0 capabilitystatement.html, served at
 * `[base]/metadata` per http.html#capabilities), generated from what is really registered: the R4
 * resource types the engine serves, its interactions, formats, patch formats, search parameters,
 * `_include` / `_revinclude` values, the R4 compartments (compartment search), operations and the
 * profiles known per type (`supportedProfile`: the required profile and every resource profile from
 * FHIR_PACKAGES, profiles/ and the API). `capability-statement/CapabilityStatement.json` is the
 * published copy; a test fails when the two drift apart.
 *
 * With AUTH_MODE=smart, `rest.security` declares SMART on FHIR (SMART App Launch 2.0.0
 * conformance.html "Declaring support in CapabilityStatement"): `cors`, the `SMART-on-FHIR` service
 * coding and the `oauth-uris` extension with the authorize, token, introspect and revoke endpoints.
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestResourceSearchParam,
  CapabilityStatementRestSecurity,
} from 'fhir/r4';
import { resourceTypes } from '../definitions/resource-types';
import { compartmentDefinitions } from '../search/compartments';
import type { FhirServices } from './context';
import { oauthEndpoints } from '../auth/well-known';
import type { Config } from '../config/config';

export const SOFTWARE = { name: 'spine-fhir-server', version: '0.1.0' };

/** Interactions every resource type supports (each is implemented in src/fhir/interactions/). */
const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

/** `searchInclude` / `searchRevInclude` values per type (search.html#include): every reference parameter. */
function includeLists(services: Pick<FhirServices, 'search'>, types: readonly string[]): { include: Map<string, string[]>; revinclude: Map<string, string[]> } {
  const include = new Map<string, string[]>();
  const revinclude = new Map<string, string[]>(types.map((t) => [t, []]));
  for (const source of types) {
    const refs = services.search.parametersFor(source).filter((p) => p.type === 'reference');
    include.set(source, refs.length > 0 ? ['*', ...refs.map((p) => `${source}:${p.name}`)] : []);
    for (const p of refs) {
      const targets = p.target && p.target.length > 0 ? p.target : types;
      for (const t of targets) revinclude.get(t)?.push(`${source}:${p.name}`);
    }
  }
  return { include, revinclude };
}

/** `rest.security` for SMART on FHIR (absent with AUTH_MODE=off: the server then has no security). */
export function smartSecurity(config: Pick<Config, 'authMode' | 'authIssuer' | 'authJwksUrl'>): CapabilityStatementRestSecurity | undefined {
  if (config.authMode !== 'smart') return undefined;
  const e = oauthEndpoints(config);
  return {
    cors: true,
    service: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }],
        text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'authorize', valueUri: e.authorize },
          { url: 'token', valueUri: e.token },
          { url: 'introspect', valueUri: e.introspect },
          { url: 'revoke', valueUri: e.revoke },
        ],
      },
    ],
    description: 'SMART App Launch 2.0 (v1 and v2 scopes). Discovery at [base]/.well-known/smart-configuration. Every interaction except capabilities needs a bearer access token.',
  };
}

export function capabilityStatement(services: Pick<FhirServices, 'config' | 'search' | 'operations'> & Partial<Pick<FhirServices, 'validator'>>, date: string): CapabilityStatement {
  const ops = services.operations.all();
  const types = [...resourceTypes()].sort();
  const includes = includeLists(services, types);
  const resource: CapabilityStatementRestResource[] = types.map((type) => {
    const searchInclude = includes.include.get(type) ?? [];
    const searchRevInclude = includes.revinclude.get(type) ?? [];
    const searchParam: CapabilityStatementRestResourceSearchParam[] = services.search.parametersFor(type).map((p) => ({
      name: p.name,
      ...(p.definition ? { definition: p.definition } : {}),
      type: p.type as CapabilityStatementRestResourceSearchParam['type'],
      ...(p.documentation ? { documentation: p.documentation } : {}),
    }));
    const operation: CapabilityStatementRestResourceOperation[] = ops
      .filter((o) => (o.type || o.instance) && (!o.resource || o.resource.includes(type) || o.resource.includes('Resource')))
      .map((o) => ({ name: o.code, definition: o.url ?? `${services.config.baseUrl}/OperationDefinition/${o.id ?? o.code}` }));
    const supportedProfile = services.validator?.supportedProfiles?.(type) ?? [];
    return {
      type,
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      ...(supportedProfile.length ? { supportedProfile } : {}),
      interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'multiple',
      referencePolicy: ['literal', 'local'],
      ...(searchInclude.length ? { searchInclude } : {}),
      ...(searchRevInclude.length ? { searchRevInclude } : {}),
      ...(searchParam.length ? { searchParam } : {}),
      ...(operation.length ? { operation } : {}),
    };
  });
  const security = smartSecurity(services.config);
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
    format: ['application/fhir+json', 'application/json', 'application/fhir+xml', 'application/xml'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json', 'application/fhir+xml'],
    rest: [
      {
        mode: 'server',
        ...(security ? { security } : {}),
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        compartment: [...compartmentDefinitions().values()].map((c) => c.url).sort(),
        ...(systemOps.length ? { operation: systemOps } : {}),
      },
    ],
  };
}
