/**
 * FHIR documents at the document end-point `/Bundle` (FHIR R4 documents.html §3.3 "Documents",
 * bundle.html invariants bdl-9, bdl-10, bdl-11; http.html status codes). A Bundle of type `document`
 * written by create, update or a transaction entry is stored as a document:
 *
 * - it must have an `identifier` with `system` and `value` (bdl-9), a `timestamp` (bdl-10) and a
 *   Composition as its first entry (bdl-11): 422 `processing` naming the element otherwise;
 * - its identifier is the document's identity: a second document Bundle with the same
 *   `identifier` (system and value) is refused with **422** `duplicate` (a business rule of the
 *   server, http.html "422 Unprocessable Entity ... violated ... server business rules"; 409 is kept
 *   for version conflicts, http.html "409 Conflict");
 * - a stored document is immutable (documents.html: a document is a fixed, attested set of
 *   resources): update, patch and delete of it, also conditional ones, answer **405** `not-supported`
 *   with `Allow: GET, HEAD`, as other read-only resources of this server do.
 *
 * The identifier check and the write run in one store transaction (atomic), so two concurrent
 * writes of the same document identifier store one. The check sees the store as the caller may see
 * it (a restricted caller is never told about a document outside its view).
 */
import type { Bundle } from 'fhir/r4';
import { atomic, type InteractionContext } from './context';
import { findMatches } from './conditional';
import type { Interceptor } from './interaction';
import { FhirError } from './outcome';
import type { FhirRequest } from './types';
import type { StoreSession, StoredVersion } from '../store/store';

const READ_ONLY = { Allow: 'GET, HEAD' };

function isDocument(value: unknown): value is Bundle {
  return typeof value === 'object' && value !== null && (value as Bundle).resourceType === 'Bundle' && (value as Bundle).type === 'document';
}

function storedIsDocument(v: StoredVersion | undefined): boolean {
  if (!v || v.deleted || v.json === undefined) return false;
  return isDocument(JSON.parse(v.json));
}

/** Where an error about the request's body points: the Bundle entry's resource inside a transaction. */
function at(req: FhirRequest, element: string): string {
  return req.bundleEntry ? `Bundle.entry[${req.bundleEntry.index}].resource.${element.replace(/^Bundle\./, '')}` : element;
}

/** The document rules of a Bundle of type document about to be written (bdl-9, bdl-10, bdl-11). */
export function checkDocumentBundle(bundle: Bundle): { element: string; problem: string } | undefined {
  if (typeof bundle.identifier?.system !== 'string' || bundle.identifier.system === '' || typeof bundle.identifier.value !== 'string' || bundle.identifier.value === '') {
    return { element: 'Bundle.identifier', problem: 'A document Bundle must have an identifier with a system and a value (documents.html, bdl-9)' };
  }
  if (typeof bundle.timestamp !== 'string' || bundle.timestamp === '') return { element: 'Bundle.timestamp', problem: 'A document Bundle must have a timestamp (bdl-10)' };
  if (bundle.entry?.[0]?.resource?.resourceType !== 'Composition') return { element: 'Bundle.entry[0].resource', problem: 'The first entry of a document Bundle must be a Composition (documents.html, bdl-11)' };
  return undefined;
}

function refuseStoredDocument(id: string, method: string): never {
  throw new FhirError('not-allowed', { code: 'not-supported', diagnostics: `Bundle/${id} is a stored document: documents are immutable, ${method} is not allowed (documents.html)` }, { headers: READ_ONLY });
}

async function checkIdentifierUnique(ctx: InteractionContext, session: StoreSession, req: FhirRequest, bundle: Bundle, targetId: string | undefined): Promise<void> {
  const { system, value } = bundle.identifier!;
  const token = `${system!.replace(/[|,$\\]/g, '\\$&')}|${value!.replace(/[|,$\\]/g, '\\$&')}`;
  if (session.claim) await session.claim(`Bundle?identifier=${token}`);
  const found = await findMatches(ctx, session, 'Bundle', [['identifier', token]], 10, { label: 'The document identifier', expression: at(req, 'Bundle.identifier') });
  const other = found.find((v) => v.id !== targetId && storedIsDocument(v));
  if (other) {
    throw new FhirError('unprocessable', { code: 'duplicate', diagnostics: `A document with identifier ${system}|${value} is already stored (Bundle/${other.id}); a document identifier is unique (documents.html)`, expression: [at(req, 'Bundle.identifier')] });
  }
}

/** The interceptor applying the document rules to every write of a Bundle on `/fhir` (and in transactions). */
export const documentBundlesInterceptor: Interceptor = async (req, i, ctx, next) => {
  if (i.resourceType !== 'Bundle') return next();
  if (i.kind !== 'create' && i.kind !== 'update' && i.kind !== 'patch' && i.kind !== 'delete') return next();

  if (i.kind !== 'create') {
    if (i.id === undefined) {
      const found = req.query.length === 0 ? [] : await findMatches(ctx, ctx.session, 'Bundle', req.query, 100, { label: 'The conditional criteria', expression: 'url' });
      const doc = found.find((v) => storedIsDocument(v));
      if (doc) refuseStoredDocument(doc.id, req.method);
    } else if (storedIsDocument(await ctx.session.read('Bundle', i.id))) {
      refuseStoredDocument(i.id, req.method);
    }
  }
  const body = i.kind === 'create' || i.kind === 'update' ? req.body : undefined;
  if (!isDocument(body)) return next();
  const problem = checkDocumentBundle(body);
  if (problem) throw new FhirError('unprocessable', { code: problem.element === 'Bundle.entry[0].resource' ? 'structure' : 'required', diagnostics: problem.problem, expression: [at(req, problem.element)] });
  const targetId = i.kind === 'update' ? i.id : undefined;
  return atomic(ctx, async (session) => {
    const inner: InteractionContext = { ...ctx, session, inTransaction: true };
    // Updated in the same transaction: no other write can slip between the checks and the write.
    if (targetId !== undefined && storedIsDocument(await session.read('Bundle', targetId))) refuseStoredDocument(targetId, req.method);
    await checkIdentifierUnique(inner, session, req, body, targetId);
    return next(req, inner);
  });
};
