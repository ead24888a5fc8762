/**
 * Where an import sends its Bundles (FHIR R4 http.html#transaction: `POST [base]` with a batch or
 * transaction Bundle): in process, through the engine's `route()` with the services of the server
 * (validation, REQUIRED_PROFILES and the NHS layer apply as on `/fhir`), or over HTTP to a running
 * server's base URL (with an optional bearer token).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { topLevelContext, type FhirServices } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { route } from '../fhir/router';

export interface TargetAnswer {
  status: number;
  /** The response Bundle (2xx) or OperationOutcome (error), when the answer had one. */
  body?: Bundle | OperationOutcome;
}

export interface ImportTarget {
  /** Where the data goes, for messages. */
  describe: string;
  send(bundle: Bundle): Promise<TargetAnswer>;
}

function fault(message: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: message }] };
}

/** The engine of `services`, in this process. */
export function engineTarget(services: FhirServices, describe: string): ImportTarget {
  return {
    describe,
    async send(bundle) {
      try {
        const result = await route(
          { method: 'POST', path: '', query: [], headers: { prefer: 'return=minimal' }, body: bundle, contentType: 'application/fhir+json', requestId: randomUUID() },
          topLevelContext(services),
        );
        const body = result.resource ?? (result.json !== undefined ? (JSON.parse(result.json) as Bundle) : undefined);
        return body ? { status: result.status, body: body as Bundle | OperationOutcome } : { status: result.status };
      } catch (e) {
        if (e instanceof FhirError) return { status: e.status, body: e.toOperationOutcome() };
        return { status: 500, body: fault(e instanceof Error ? e.message : String(e)) };
      }
    },
  };
}

/** A server's FHIR base over HTTP (`--url`, `--token`). */
export function httpTarget(baseUrl: string, token?: string): ImportTarget {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    describe: base,
    async send(bundle) {
      const headers: Record<string, string> = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', prefer: 'return=minimal', 'x-request-id': randomUUID() };
      if (token) headers['authorization'] = `Bearer ${token}`;
      let res: Response;
      try {
        res = await fetch(base, { method: 'POST', headers, body: JSON.stringify(bundle) });
      } catch (e) {
        return { status: 0, body: fault(`POST ${base} failed: ${(e as Error).message}`) };
      }
      const text = await res.text();
      try {
        const body = JSON.parse(text) as Bundle | OperationOutcome;
        return { status: res.status, body };
      } catch {
        return { status: res.status, body: fault(`POST ${base} answered ${res.status} without JSON: ${text.slice(0, 200)}`) };
      }
    },
  };
}
