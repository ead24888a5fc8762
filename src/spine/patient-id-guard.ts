/**
 * Patient ids are NHS Numbers (PDS FHIR API "Patient.id is the NHS Number"; FHIR R4 http.html#update
 * "update as create"), PATIENT_ID_POLICY=nhs-number: an update that would *create* a Patient — a PUT
 * to an id with no live record (none, or a deleted one), a conditional update matching nothing, the
 * same inside a Bundle — under an id that is not a valid NHS Number is refused with 422 INVALID_VALUE
 * at `Patient.id`: ids are allocated by `POST /Patient` (or are the NHS Number the Patient carries).
 *
 * Updates of a record that is already stored under another id are left alone: such records exist
 * only in a store that ran with PATIENT_ID_POLICY=server (or with an earlier version of this server,
 * which let a PUT create them); refusing their updates would strand them. They cannot be recreated
 * under that id once deleted.
 *
 * The check runs in the store session the write uses (the interceptor's context is wrapped, as the
 * access-control store view wraps it), so it sees exactly what the write sees: the transaction of a
 * conditional update or of a Bundle included. It runs after validation, so a body whose NHS Number
 * differs from the id gets the validator's answer first (patient-validator.ts).
 */
import type { InteractionContext } from '../fhir/context';
import type { StoreSession, WriteOp } from '../store/store';
import { spineError } from './errors';
import { isValidNhsNumber } from './nhs-number';

function idNotNhsNumber(id: string): ReturnType<typeof spineError> {
  return spineError(
    'unprocessable',
    'INVALID_VALUE',
    `Patient/${id} cannot be created: with PATIENT_ID_POLICY=nhs-number Patient ids are NHS Numbers, and ${JSON.stringify(id)} is not one (10 digits with a Modulus 11 check digit). POST the Patient to [base]/Patient to have an NHS Number allocated, or PUT it under its own NHS Number`,
    'Patient.id',
  );
}

/** Whether a write is an update of a Patient under an id that is not an NHS Number (it may create one). */
function mayCreateUnderOtherId(op: WriteOp): boolean {
  return op.kind === 'update' && op.resourceType === 'Patient' && !isValidNhsNumber(op.id);
}

/** The session with the rule applied to its writes (everything else passes through). */
export function guardedSession(inner: StoreSession): StoreSession {
  return {
    read: (type, id) => inner.read(type, id),
    vread: (type, id, versionId) => inner.vread(type, id, versionId),
    write: async (op) => {
      if (mayCreateUnderOtherId(op)) {
        const current = await inner.read('Patient', op.id);
        if (!current || current.deleted) throw idNotNhsNumber(op.id);
      }
      return inner.write(op);
    },
    history: (q) => inner.history(q),
    search: (q) => inner.search(q),
    ...(inner.claim ? { claim: (key: string) => inner.claim!(key) } : {}),
  };
}

/** The context of a Patient update with every session it uses (its own and any transaction's) guarded. */
export function withPatientIdGuard(ctx: InteractionContext): InteractionContext {
  const previous = ctx.view;
  return { ...ctx, session: guardedSession(ctx.session), view: (s) => guardedSession(previous ? previous(s) : s) };
}
