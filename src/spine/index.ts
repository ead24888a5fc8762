/**
 * The NHS layer (PDS FHIR API behaviour over the generic FHIR R4 engine), wired through the engine's
 * extension points only: the generic engine never imports src/spine. `registerSpine` is called once
 * per FhirServices by src/main.ts `buildServices`:
 *
 * - the validator gains the NHS Number write rules (patient-validator.ts);
 * - the trace layer registers its search parameters, index entries, `$trace` and `$match` (trace/);
 * - `Patient/$merge` is registered (merge.ts);
 * - interceptors, outermost first: X-Request-ID idempotency (idempotency.ts), Spine error coding of
 *   Patient errors (spine-errors.ts), redaction of restricted patients (redaction.ts), the NHS Number
 *   record rules of Patient create and update: allocation, 409 `duplicate`, ids that are NHS Numbers
 *   (records.ts, patient-id-guard.ts). Reads and patches are the engine's (plain R4 on `/fhir`; the PDS
 *   wire behaviour is the PDS façade's). They are appended after
 *   any interceptor already registered (access control must run first so `ctx.access` is set).
 */
import type { Config } from '../config/config';
import type { FhirServices } from '../fhir/context';
import { NhsNumberAllocator } from './allocation';
import { idempotencyInterceptor } from './idempotency';
import { MERGE_DEFINITION, mergeOperation } from './merge';
import { withNhsNumberRules } from './patient-validator';
import { patientRecordsInterceptor, transactionPatientIds } from './records';
import { redactionInterceptor } from './redaction';
import { spineErrorsInterceptor } from './spine-errors';
import { registerTrace } from './trace';

export { NHS_NUMBER_SYSTEM, normaliseNhsNumber, isValidNhsNumber, checkDigit, isTestRangeNhsNumber, nhsNumberOf } from './nhs-number';
export { isRestricted, maySeeRestricted, redactPatient } from './restricted';
export { spineError, SPINE_ERROR_SYSTEM, type SpineCode } from './errors';


const registered = new WeakSet<FhirServices>();

export function registerSpine(services: FhirServices, config: Readonly<Config>): void {
  if (registered.has(services)) return;
  registered.add(services);
  services.validator = withNhsNumberRules(services.validator, config.patientIdPolicy);
  registerTrace(services, config);
  services.operations.register(MERGE_DEFINITION, mergeOperation);
  const allocator = new NhsNumberAllocator(config.nhsNumberRange.low, config.nhsNumberRange.high);
  services.interceptors = [...(services.interceptors ?? []), idempotencyInterceptor, spineErrorsInterceptor, redactionInterceptor, patientRecordsInterceptor(allocator)];
  // A Patient POSTed in a transaction Bundle follows the rules of POST /Patient: created under its NHS
  // Number, or traced and allocated one (references to its fullUrl are rewritten to Patient/<number>).
  if (config.patientIdPolicy === 'nhs-number') services.assignId = transactionPatientIds(allocator, services.assignId);
}
