/**
 * Ids the server assigns (FHIR R4 datatypes.html#id: `[A-Za-z0-9\-\.]{1,64}`; http.html "create",
 * where the server assigns the id): logical ids of created resources and of the audit trail's
 * AuditEvents, and the X-Request-Id of a request that came without one. They are UUID version 7
 * (RFC 9562 §5.7, the `uuid` package): a millisecond timestamp, then a counter and random bits, so
 * ids generated one after another sort in that order. ADR 0046: every index keyed by id (the
 * resource and version tables' `(type, id)` keys; an AuditEvent's entity identifier, the request id)
 * then grows at its end, in pages a batch shares, instead of writing a random leaf page per id.
 * 74 random bits remain, so an id still cannot be guessed; what it discloses is its creation time.
 */
import { v7 } from 'uuid';

/** A new id: a UUID version 7 in its lower-case text form (36 characters). */
export function newId(): string {
  return v7();
}
