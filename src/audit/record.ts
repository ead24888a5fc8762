/**
 * What the audit keeps of one HTTP request while it runs (IHE BALP 1.1 "Basic AuditEvent" content:
 * who, what, when, outcome), filled at the HTTP edge (the request) and by the audit interceptor (the
 * interaction, the verified caller, the result). Records are found by request id.
 */
import type { Interaction } from '../fhir/interaction';
import type { FhirResult } from '../fhir/types';

export interface AuditRecord {
  requestId: string;
  method: string;
  /** The path below the API's mount point, without query. */
  path: string;
  /** The query string as received (without `?`), '' when none. */
  query: string;
  /** The API (mount point) the request was for. */
  api: string;
  /** Interaction as classified from the path (observability.ts), used when no interceptor ran. */
  pathInteraction: string;
  pathType: string;
  clientAddress?: string;
  /** Set by the interceptor: the first (top-level) interaction of the request. */
  interaction?: Interaction;
  principal?: Readonly<Record<string, unknown>>;
  result?: FhirResult;
  status?: number;
  recorded?: Date;
}

/** Records of the requests in flight, by request id (a reused id keeps its records in arrival order). */
export class InFlight {
  private readonly byId = new Map<string, AuditRecord[]>();

  add(rec: AuditRecord): void {
    const list = this.byId.get(rec.requestId);
    if (list) list.push(rec);
    else this.byId.set(rec.requestId, [rec]);
  }

  /** The oldest record of the id whose interaction is not known yet. */
  pending(requestId: string): AuditRecord | undefined {
    return this.byId.get(requestId)?.find((r) => r.interaction === undefined);
  }

  remove(rec: AuditRecord): void {
    const list = this.byId.get(rec.requestId);
    if (!list) return;
    const rest = list.filter((r) => r !== rec);
    if (rest.length === 0) this.byId.delete(rec.requestId);
    else this.byId.set(rec.requestId, rest);
  }
}
