/**
 * `POST /$prepare` of the EPS FHIR API (electronic-prescription-service-api.yaml and
 * fhir-prescribing.yaml "Encode prescription data so it's ready to sign - Prescribing"): the
 * unsigned prescription-order message Bundle is validated as `$process-message` validates it (less
 * the signature, src/spine/eps/prescription-order.ts; a known prescription ID is
 * DUPLICATE_PRESCRIPTION_ID) and answered with Parameters `digest` (base64 of the XML-DSig
 * SignedInfo to sign), `timestamp` and `algorithm` (schemas/components/ParametersResponse.yaml).
 *
 * The specification does not say how a client asks for RS1 rather than RS256; here the query
 * parameter `algorithm=RS1|RS256` chooses (default RS256). The digest is over this server's
 * canonical FHIR XML of the MedicationRequests, not the HL7 v3 fragments Spine signs (ADR 34).
 */
import type { Parameters } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { epsError } from '../../spine/eps/errors';
import { duplicatePrescriptionId, messageHeaderOf, validatePrescriptionOrder } from '../../spine/eps/prescription-order';
import { DEFAULT_SIGNING_ALGORITHM, isSigningAlgorithm, prepareSignature, signingTimestamp, type SigningAlgorithm } from '../../spine/eps/signature';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { findRecord } from './records';

const MESSAGE_EVENTS = new Set(['prescription-order', 'prescription-order-update', 'dispense-notification']);

function algorithmOf(req: FacadeRequest): SigningAlgorithm {
  const asked = req.query.filter(([k]) => k === 'algorithm').map(([, v]) => v);
  if (asked.length === 0) return DEFAULT_SIGNING_ALGORITHM;
  const a = asked[0]!;
  if (asked.length > 1 || !isSigningAlgorithm(a)) throw epsError(400, 'value', 'INVALID_VALUE', 'algorithm must be RS256 or RS1.', 'algorithm');
  return a;
}

export async function prepare(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const algorithm = algorithmOf(req);
  const body = parseJsonBody(services, req.rawBody);
  const { event } = messageHeaderOf(body);
  if (!MESSAGE_EVENTS.has(event)) {
    throw epsError(400, 'value', 'INVALID_VALUE', 'MessageHeader.eventCoding.code must be one of: prescription-order, prescription-order-update, dispense-notification.', 'MessageHeader.eventCoding.code');
  }
  const o = validatePrescriptionOrder(body, { unsigned: true });
  if (await findRecord(services, req, o.prescriptionId)) duplicatePrescriptionId(o.prescriptionId);
  const timestamp = signingTimestamp(services.now?.() ?? new Date());
  const { digest } = prepareSignature(o.items, timestamp, algorithm);
  const answer: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'digest', valueString: digest },
      { name: 'timestamp', valueString: timestamp },
      { name: 'algorithm', valueString: algorithm },
    ],
  };
  return { status: 200, body: answer, headers: epsResponseHeaders(req.headers) };
}
