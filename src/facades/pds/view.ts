/**
 * What PDS clients receive (personal-demographics.yaml: `Patient` responses, searchset Bundles): the
 * stored record in PDS's shapes (shapes.ts `toPds`) and every absolute URL of the engine's base
 * (Bundle `link.url`, `entry.fullUrl`) rewritten to the façade's base, so a client configured with
 * `https://int.api.service.nhs.uk/personal-demographics/FHIR/R4` follows links back to the façade.
 */
import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { publicOrigin } from '../kit';
import { toPds } from './shapes';

export const PDS_BASE_PATH = '/personal-demographics/FHIR/R4';

/** The façade's public base URL, e.g. `https://host/personal-demographics/FHIR/R4`. */
export function pdsBaseUrl(services: FhirServices): string {
  return `${publicOrigin(services)}${PDS_BASE_PATH}`;
}

function rebase(url: string | undefined, services: FhirServices): string | undefined {
  if (url === undefined) return undefined;
  const engine = services.config.baseUrl.replace(/\/+$/, '');
  return url.startsWith(`${engine}/`) ? `${pdsBaseUrl(services)}/${url.slice(engine.length + 1)}` : url;
}

/** A resource of an engine answer as PDS clients receive it. */
export function pdsView<T extends Resource>(resource: T, services: FhirServices): T {
  if (resource.resourceType === 'Patient') return toPds(resource as Patient) as unknown as T;
  if (resource.resourceType === 'Bundle') {
    const b = resource as unknown as Bundle;
    return {
      ...b,
      ...(b.link ? { link: b.link.map((l) => ({ ...l, url: rebase(l.url, services) ?? l.url })) } : {}),
      ...(b.entry
        ? {
            entry: b.entry.map((e) => {
              const fullUrl = rebase(e.fullUrl, services);
              return { ...e, ...(fullUrl !== undefined ? { fullUrl } : {}), ...(e.resource ? { resource: pdsView(e.resource, services) } : {}) };
            }),
          }
        : {}),
    } as unknown as T;
  }
  return resource;
}
