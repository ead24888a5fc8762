/**
 * `POST /$verify-signature` of the EPS FHIR API. The published specifications
 * (electronic-prescription-service-api.yaml, fhir-prescribing.yaml, fhir-dispensing.yaml) do not
 * list this operation; its request and answer are those of the EPS examples: the request a Bundle
 * (`searchset`, e.g. a release's `passedPrescriptions`) of prescription-order message Bundles
 * (examples/primary-care/repeat-dispensing/.../1-VerifySignature-Request-200_OK.json), the answer a
 * Parameters with one parameter per message, named by its index, whose parts are
 * `messageIdentifier` (the message Bundle's identifier) and `result`, an OperationOutcome
 * (examples/sandbox/VerifySignature-Response-200_OK.json): `information`/`informational` when the
 * signature verifies, else the issues `INVALID_VALUE` "Signature is invalid." and/or `INVALID`
 * "Signature doesn't match prescription.", both at `Provenance.signature.data`.
 *
 * This operation always verifies (EPS_SIGNATURE_VERIFICATION does not apply to it) and verifies
 * against this server's digest (src/spine/eps/signature.ts, ADR 34: canonical FHIR XML, not
 * Spine's HL7 v3 fragments), so a real NHS smartcard signature never verifies here. With
 * EPS_SIGNATURE_TRUSTED_CA set, the signing certificate must also chain to one of those CAs
 * (src/spine/eps/certificate-trust.ts), else INVALID_VALUE "Signature is invalid.".
 */
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Parameters, ParametersParameter, Provenance } from 'fhir/r4';
import type { X509Certificate } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { trustedCasFromFile } from '../../spine/eps/certificate-trust';
import { epsError, type EpsCode } from '../../spine/eps/errors';
import { medicationRequestEntries } from '../../spine/eps/prescription-order';
import { normaliseSigningTimestamp, signatureProblems, type SignatureProblem } from '../../spine/eps/signature';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';

const SIGNATURE_PATH = 'Provenance.signature.data';
/** The system of the result codes in the sandbox answer (without the `/R4/` of the other EPS errors). */
export const VERIFY_RESULT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/Spine-ErrorOrWarningCode';

function issue(code: EpsCode, display: string, diagnostics?: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'invalid',
    details: { coding: [{ system: VERIFY_RESULT_SYSTEM, code, display }] },
    ...(diagnostics ? { diagnostics } : {}),
    expression: [SIGNATURE_PATH],
  };
}

function problemIssue(p: SignatureProblem): OperationOutcomeIssue {
  return p.kind === 'mismatch' ? issue('INVALID', "Signature doesn't match prescription.", p.diagnostics) : issue('INVALID_VALUE', 'Signature is invalid.', p.diagnostics);
}

/** The verification issues of one prescription-order message Bundle (empty: verified). */
export function verifyMessageSignature(message: Bundle, now: Date, trustedCas?: readonly X509Certificate[]): OperationOutcomeIssue[] {
  const prov = (message.entry ?? []).map((e) => e.resource).find((r): r is Provenance => r?.resourceType === 'Provenance');
  const signature = prov?.signature?.[0];
  const data = typeof signature?.data === 'string' ? signature.data.replace(/\s+/g, '') : '';
  if (data === '') return [issue('MISSING_DIGITAL_SIGNATURE', 'Digital signature not found.', 'The message has no Provenance.signature.data.')];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return [issue('INVALID_VALUE', 'Signature is invalid.', 'Provenance.signature.data is not base64.')];
  const items = medicationRequestEntries(message);
  if (items.length === 0) return [issue('INVALID', "Signature doesn't match prescription.", 'The message has no MedicationRequest.')];
  const when = typeof signature?.when === 'string' ? normaliseSigningTimestamp(signature.when) : undefined;
  return signatureProblems(Buffer.from(data, 'base64').toString('utf8'), items, when, now, trustedCas).map(problemIssue);
}

/** The message Bundles of the request: the entries of a searchset/collection, or the message itself. */
function messagesOf(body: Bundle): Bundle[] {
  if (body.type === 'message') return [body];
  return (body.entry ?? []).map((e, i) => {
    const r = e.resource;
    if (r?.resourceType !== 'Bundle' || r.type !== 'message') {
      throw epsError(400, 'value', 'INVALID_VALUE', 'Each entry must be a prescription-order message Bundle.', `Bundle.entry[${i}].resource`);
    }
    return r;
  });
}

export async function verifySignature(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody) as Bundle | undefined;
  if (body?.resourceType !== 'Bundle') throw epsError(400, 'value', 'INVALID_VALUE', 'Incorrect FHIR resource type. Expected Bundle.', 'resourceType');
  const messages = messagesOf(body);
  if (messages.length === 0) throw epsError(400, 'invalid', 'TOO_FEW_VALUES_SUBMITTED', 'The Bundle must contain at least one prescription-order message Bundle.', 'Bundle.entry');
  const now = services.now?.() ?? new Date();
  const lastUpdated = now.toISOString();
  const trustedFile = services.config.epsSignatureTrustedCa;
  const trusted = trustedFile ? trustedCasFromFile(trustedFile) : undefined;
  const parameter: ParametersParameter[] = messages.map((m, i) => {
    const issues = verifyMessageSignature(m, now, trusted);
    const result: OperationOutcome = {
      resourceType: 'OperationOutcome',
      meta: { lastUpdated },
      issue: issues.length > 0 ? issues : [{ severity: 'information', code: 'informational' }],
    };
    return {
      name: String(i),
      part: [
        { name: 'messageIdentifier', valueReference: { identifier: { system: m.identifier?.system ?? 'https://tools.ietf.org/html/rfc4122', value: m.identifier?.value ?? m.id ?? '' } } },
        { name: 'result', resource: result },
      ],
    };
  });
  const answer: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, body: answer, headers: epsResponseHeaders(req.headers) };
}
