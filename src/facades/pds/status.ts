/**
 * The API platform's health endpoints (NHS API Management, served by every NHS England API proxy):
 * `GET _ping` answers that the façade is up (no authentication, no store access); `GET _status`
 * answers the health of what it depends on (the store, checked with one read), 200 `pass` or 503
 * `fail`, in the platform's JSON shape (`status`, `version`, `service`, `time`, `checks`).
 */
import { SOFTWARE } from '../../fhir/capabilities';
import type { FhirServices } from '../../fhir/context';
import type { FacadeResponse } from '../kit';

const SERVICE = 'personal-demographics';

export function ping(): FacadeResponse {
  return { status: 200, body: { status: 'pass', ping: 'pong', service: SERVICE, version: SOFTWARE.version } };
}

export async function status(services: FhirServices): Promise<FacadeResponse> {
  const started = Date.now();
  let store: { status: 'pass' | 'fail'; responseCode: number; outcome: string; timeout: boolean; time: string };
  try {
    await services.store.read('Patient', '0000000000');
    store = { status: 'pass', responseCode: 200, outcome: `${services.store.name} store answered in ${Date.now() - started} ms`, timeout: false, time: new Date().toISOString() };
  } catch (e) {
    store = { status: 'fail', responseCode: 503, outcome: `${services.store.name} store: ${e instanceof Error ? e.message : String(e)}`, timeout: false, time: new Date().toISOString() };
  }
  const body = { status: store.status, version: SOFTWARE.version, service: SERVICE, time: new Date().toISOString(), checks: { store } };
  return { status: store.status === 'pass' ? 200 : 503, body };
}
