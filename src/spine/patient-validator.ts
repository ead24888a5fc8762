/**
 * NHS Number rules on every Patient write (PDS FHIR API "Patient.identifier" / NHS Number; FHIR R4
 * patient.html `identifier`): every identifier with the NHS Number system must be a valid NHS Number
 * (10 digits, Modulus 11), else 422 INVALID_VALUE at `Patient.identifier[i].value`; with
 * PATIENT_ID_POLICY=nhs-number a Patient carrying an NHS Number must be stored with that number as its
 * id, and a Patient stored under a valid NHS Number must keep that number as an identifier. Wraps
 * `ResourceValidator.assertValid`, which every create, update, patch and Bundle entry
 * write calls (src/fhir/write.ts), so a patch that changes the number is checked too. These rules run
 * before the engine's validation (so both sets of issues come in one answer): a malformed
 * `identifier` is left to the engine's issues, never a TypeError. `validate` (the `$validate`
 * operation) reports the same issues, so `$validate` and a write agree.
 */
import type { OperationOutcomeIssue, Patient } from 'fhir/r4';
import type { ResourceValidator, ValidationReport, ValidationRequest } from '../fhir/context';
import type { ValidationIssue } from '../validation/schema-issues';
import type { PatientIdPolicy } from '../config/config';
import { FhirError, type IssueInput } from '../fhir/outcome';
import { spineError } from './errors';
import { identifierEntries, isValidNhsNumber, NHS_NUMBER_SYSTEM, nhsNumberIndexOf } from './nhs-number';

/** Throws 422 INVALID_VALUE for each invalid NHS Number identifier (all reported together). */
export function assertNhsNumbers(patient: Patient): void {
  const bad: Array<{ i: number; value: unknown }> = [];
  identifierEntries(patient).forEach((id, i) => {
    if (id?.system !== NHS_NUMBER_SYSTEM) return;
    if (typeof id.value !== 'string' || !isValidNhsNumber(id.value)) bad.push({ i, value: id.value });
  });
  if (bad.length === 0) return;
  const what = bad.map((b) => `${JSON.stringify(b.value ?? null)} (Patient.identifier[${b.i}].value)`).join(', ');
  throw spineError(
    'unprocessable',
    'INVALID_VALUE',
    `Invalid NHS Number ${what}: an NHS Number is 10 digits without spaces whose last digit is the Modulus 11 check digit of the first nine`,
    bad.map((b) => `Patient.identifier[${b.i}].value`),
  );
}

/**
 * The nhs-number policy's id rules: a Patient carrying an NHS Number is stored under that number, and
 * one stored under an id that is a valid NHS Number carries that number (none: 422 at Patient.identifier).
 * A Patient without an NHS Number under another id passes here (an update of a record stored before the
 * policy applied); *creating* one is refused where the store is seen, by patient-id-guard.ts.
 */
export function assertIdIsNhsNumber(patient: Patient, id: string | undefined): void {
  const i = nhsNumberIndexOf(patient);
  if (id === undefined) return;
  if (i < 0) {
    // A record stored under an NHS Number carries it: an update (PUT or patch) dropping the identifier,
    // or a PUT creating the record without it, would leave an id claiming a number its data lacks.
    if (isValidNhsNumber(id)) {
      throw spineError(
        'unprocessable',
        'INVALID_VALUE',
        `Patient/${id} is the record of NHS Number ${id}: it must carry that NHS Number as an identifier (system ${NHS_NUMBER_SYSTEM}), which an update cannot remove`,
        'Patient.identifier',
      );
    }
    return;
  }
  const nhs = identifierEntries(patient)[i]?.value;
  if (nhs !== id) {
    throw spineError(
      'unprocessable',
      'INVALID_VALUE',
      `Patient/${id} carries NHS Number ${JSON.stringify(nhs)}: with PATIENT_ID_POLICY=nhs-number a Patient with an NHS Number is stored under that number (write it to Patient/${String(nhs)}, or change the identifier)`,
      `Patient.identifier[${i}].value`,
    );
  }
}

function toInput(i: OperationOutcomeIssue): IssueInput {
  return { severity: i.severity, code: i.code, diagnostics: i.diagnostics ?? '', ...(i.expression ? { expression: i.expression } : {}), ...(i.details ? { details: i.details } : {}) };
}

/** The issues of the NHS Number rules for a Patient (none for anything else); `id`: the id it is written under. */
function nhsNumberIssues(resource: unknown, policy: PatientIdPolicy, id: string | undefined): ValidationIssue[] {
  const r = resource as { resourceType?: unknown } | null;
  if (!r || typeof r !== 'object' || r.resourceType !== 'Patient') return [];
  try {
    assertNhsNumbers(resource as Patient);
    if (policy === 'nhs-number') assertIdIsNhsNumber(resource as Patient, id);
    return [];
  } catch (e) {
    if (!(e instanceof FhirError)) throw e;
    return e.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics ?? '', expression: i.expression ?? [] }));
  }
}

export function withNhsNumberRules(base: ResourceValidator, policy: PatientIdPolicy): ResourceValidator {
  const baseValidate = base.validate?.bind(base);
  return {
    ...base,
    // `$validate` runs the same rules as a write (one pipeline): an invalid NHS Number is an error
    // there too (not with mode=profile, which checks a profile only). The id rule applies when the id
    // is known (mode=update names it); a create's body id is replaced by the server, so it is not judged.
    ...(baseValidate
      ? {
          validate: async (resource: unknown, ctx: ValidationRequest): Promise<ValidationReport> => {
            const report = await baseValidate(resource, ctx);
            // mode=profile checks the base rules and the given profile only: no server write rules.
            if (report.envelope || ctx.requiredProfile === false) return report;
            const own = nhsNumberIssues(resource, policy, ctx.expectedId);
            return own.length === 0 ? report : { envelope: false, issues: [...own, ...report.issues] };
          },
        }
      : {}),
    assertValid: async (resource, ctx) => {
      const r = resource as { resourceType?: unknown } | null;
      if (!r || typeof r !== 'object' || r.resourceType !== 'Patient') return base.assertValid(resource, ctx);
      const p = resource as Patient;
      let own: FhirError | undefined;
      try {
        assertNhsNumbers(p);
        if (policy === 'nhs-number') assertIdIsNhsNumber(p, ctx.expectedId ?? p.id);
      } catch (e) {
        if (!(e instanceof FhirError)) throw e;
        own = e;
      }
      try {
        await base.assertValid(resource, ctx);
      } catch (e) {
        // One answer with every issue (the pipeline's rule); envelope errors (400) stand alone.
        if (own && e instanceof FhirError && e.category === 'unprocessable') throw new FhirError('unprocessable', [...own.issues, ...e.issues].map(toInput));
        throw e;
      }
      if (own) throw own;
    },
  };
}
