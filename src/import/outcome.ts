/**
 * Reading a server's answer to an import Bundle (FHIR R4 http.html#transaction-response): a
 * transaction is all or nothing (a 2xx loads every entry; an error rejects the whole Bundle with the
 * OperationOutcome naming the failing entry); a batch answers 200 with one `entry.response` per entry,
 * each loaded (2xx) or rejected with its own `response.outcome`.
 */
import type { Bundle, OperationOutcome } from 'fhir/r4';
import type { TargetAnswer } from './target';
import type { ImportUnit } from './units';

export interface Rejection {
  file: string;
  /** The entry index (Bundle) or line number (NDJSON); absent when the whole Bundle was rejected. */
  entry?: number;
  status: number;
  /** Resources the rejection covers (all entries of a rejected transaction, else 1). */
  resources: number;
  diagnostics: string[];
}

export interface UnitResult {
  loaded: number;
  rejections: Rejection[];
  /** Resources rejected (a rejected transaction rejects all of its entries). */
  rejected: number;
  /** Indexes (in the unit's Bundle) of the entries rejected. */
  rejectedEntries: number[];
}

export function diagnosticsOf(outcome: unknown): string[] {
  const oo = outcome as Partial<OperationOutcome> | undefined;
  if (oo?.resourceType !== 'OperationOutcome' || !Array.isArray(oo.issue)) return [];
  return oo.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal' || i.severity === 'information').map((i) => i.diagnostics ?? i.code);
}

function statusOf(s: string | undefined): number {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

export function interpret(unit: ImportUnit, answer: TargetAnswer): UnitResult {
  const count = unit.bundle.entry?.length ?? 0;
  const ok = answer.status >= 200 && answer.status < 300;
  if (!ok || answer.body?.resourceType !== 'Bundle') {
    const diagnostics = diagnosticsOf(answer.body);
    return { loaded: 0, rejected: count, rejectedEntries: Array.from({ length: count }, (_, i) => i), rejections: [{ file: unit.source, status: answer.status, resources: count, diagnostics: diagnostics.length > 0 ? diagnostics : [`the server answered ${answer.status}`] }] };
  }
  if (unit.bundle.type === 'transaction') return { loaded: count, rejected: 0, rejectedEntries: [], rejections: [] };
  const entries = (answer.body as Bundle).entry ?? [];
  const rejections: Rejection[] = [];
  const rejectedEntries: number[] = [];
  let loaded = 0;
  for (let i = 0; i < count; i++) {
    const response = entries[i]?.response;
    const status = statusOf(response?.status);
    if (status >= 200 && status < 300) loaded++;
    else {
      rejectedEntries.push(i);
      rejections.push({ file: unit.source, entry: unit.positions[i] ?? i, status, resources: 1, diagnostics: diagnosticsOf(response?.outcome) });
    }
  }
  return { loaded, rejected: rejections.length, rejectedEntries, rejections };
}

/**
 * True when a rejection comes from a profile the server requires: its diagnostics name
 * REQUIRED_PROFILES or one of the required profiles' URLs (validation messages end `(from <url>)`).
 */
export function isRequiredProfileRejection(r: Rejection, requiredProfileUrls: readonly string[]): boolean {
  return r.diagnostics.some((d) => d.includes('REQUIRED_PROFILES') || requiredProfileUrls.some((u) => d.includes(u)));
}
