/**
 * Validation of an EPS prescription-order message (electronic-prescription-service-api.yaml
 * `$process-message` "prescription-order"; the error table of "Error responses"): a message Bundle
 * whose MessageHeader has event `prescription-order`, with 1 to 4 MedicationRequests that agree on
 * groupIdentifier, subject, requester, authoredOn, category, course of therapy and
 * dispenseRequest.performer, intent `order` (or original-order, instance-order), a valid short-form
 * prescription ID (MOD 37-2 check character), a patient with a valid NHS Number and a Provenance whose
 * signature is present and decodes to an XML-DSig `<Signature>`.
 *
 * Signature verification is off by default (`verifySignature` option): real NHS smartcard
 * signatures cannot be checked here without the NHS PKI, so presence and form are all that is
 * checked unless a verifier is supplied.
 */
import type { Bundle, BundleEntry, MedicationRequest, MessageHeader, Patient, Provenance } from 'fhir/r4';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../nhs-number';
import { epsError } from './errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM, prescriptionIdProblem } from './prescription-id';
import type { SignatureProblem } from './signature';

export const MESSAGE_EVENT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/message-event';
export const ORDER_ITEM_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-item-number';
export const MAX_LINE_ITEMS = 4;

const INTENTS = new Set(['order', 'original-order', 'instance-order']);

export interface OrderLineItem {
  /** prescription-order-item-number. */
  id: string;
  fullUrl: string | undefined;
  resource: MedicationRequest;
}

export interface PrescriptionOrder {
  bundle: Bundle;
  messageHeader: MessageHeader;
  prescriptionId: string;
  nhsNumber: string;
  /** ODS code of the prescribing organisation (MessageHeader.sender). */
  prescriber: string | undefined;
  /** ODS code of the nominated dispenser, if any (MedicationRequest.dispenseRequest.performer). */
  nominated: string | undefined;
  items: OrderLineItem[];
}

/** What a signature verifier is given besides the decoded XML-DSig `<Signature>`. */
export interface SignatureContext {
  /** `Provenance.signature.when` (the `$prepare` timestamp the prescriber signed at). */
  when: string | undefined;
  items: readonly OrderLineItem[];
}

export interface OrderValidationOptions {
  /**
   * Verifies the decoded XML-DSig signature; absent: not verified (the default). `true` or
   * undefined: verified; `false`: invalid; a SignatureProblem: refused with its EPS code.
   */
  verifySignature?: (xml: string, ctx: SignatureContext) => boolean | SignatureProblem | undefined;
  /** The unsigned message of `$prepare`: no Provenance signature is looked for. */
  unsigned?: boolean;
}

const MR = 'Bundle.entry.resource.ofType(MedicationRequest)';

function bad(diagnostics: string, expression: string, code: 'INVALID_VALUE' | 'MISSING_VALUE' | 'FAILURE_TO_PROCESS_MESSAGE' = 'INVALID_VALUE', issue: 'value' | 'invalid' | 'processing' | 'required' | 'structure' = 'value'): never {
  throw epsError(400, issue, code, diagnostics, expression);
}

function entriesOf(bundle: Bundle): BundleEntry[] {
  return Array.isArray(bundle.entry) ? bundle.entry.filter((e): e is BundleEntry => typeof e === 'object' && e !== null) : [];
}

/** The MessageHeader of a message Bundle and its event code, refusing anything else. */
export function messageHeaderOf(body: unknown): { bundle: Bundle; header: MessageHeader; event: string } {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Bundle') bad('Request body must be a Bundle.', 'Bundle', 'INVALID_VALUE', 'structure');
  const bundle = body as Bundle;
  if (bundle.type !== 'message') bad("Bundle.type must be 'message'.", 'Bundle.type');
  const first = entriesOf(bundle)[0]?.resource;
  if (first?.resourceType !== 'MessageHeader') bad('The first entry of a message Bundle must be a MessageHeader.', 'Bundle.entry[0].resource', 'MISSING_VALUE', 'required');
  const header = first;
  const code = header.eventCoding?.code;
  if (typeof code !== 'string' || header.eventCoding?.system !== MESSAGE_EVENT_SYSTEM) bad('MessageHeader.eventCoding must be a message-event code.', 'MessageHeader.eventCoding');
  return { bundle, header, event: code };
}

/** Resolves a reference within the Bundle by fullUrl (urn:uuid:...) or Type/id. */
export function resolveInBundle(bundle: Bundle, reference: string | undefined): BundleEntry | undefined {
  if (!reference) return undefined;
  return entriesOf(bundle).find((e) => e.fullUrl === reference || (e.resource?.id !== undefined && `${e.resource.resourceType}/${e.resource.id}` === reference));
}

function same(values: unknown[]): boolean {
  const s = values.map((v) => JSON.stringify(v ?? null));
  return s.every((x) => x === s[0]);
}

function consistent(mrs: MedicationRequest[], field: string, pick: (m: MedicationRequest) => unknown): void {
  const values = mrs.map(pick);
  if (!same(values)) {
    const unique = [...new Set(values.map((v) => JSON.stringify(v ?? null)))];
    bad(`Expected all MedicationRequests to have the same value for ${field}. Received [${unique.join(', ')}].`, `${MR}.${field}`);
  }
}

function courseCode(m: MedicationRequest): string | undefined {
  return m.courseOfTherapyType?.coding?.[0]?.code;
}

/** The MedicationRequests of a Bundle with their fullUrls. */
export function medicationRequestEntries(bundle: Bundle): Array<{ fullUrl: string | undefined; resource: MedicationRequest }> {
  return entriesOf(bundle)
    .filter((e) => e.resource?.resourceType === 'MedicationRequest')
    .map((e) => ({ fullUrl: e.fullUrl, resource: e.resource as MedicationRequest }));
}

/** The patient's NHS Number (Patient.identifier with the NHS Number system), refusing an invalid one. */
export function nhsNumberOfSubject(bundle: Bundle, m: MedicationRequest): string {
  const patient = resolveInBundle(bundle, m.subject?.reference)?.resource;
  if (patient?.resourceType !== 'Patient') bad('MedicationRequest.subject must reference a Patient in the Bundle.', `${MR}.subject`, 'MISSING_VALUE', 'required');
  const nhs = (patient as Patient).identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
  if (typeof nhs !== 'string' || !isValidNhsNumber(nhs)) bad('Patient.identifier NHS Number is missing or invalid.', 'Bundle.entry.resource.ofType(Patient).identifier');
  return nhs;
}

/** The short-form prescription ID of a MedicationRequest, refusing a missing or invalid one. */
export function prescriptionIdOf(m: MedicationRequest): string {
  const g = m.groupIdentifier;
  if (!g || g.system !== PRESCRIPTION_ORDER_NUMBER_SYSTEM || typeof g.value !== 'string') bad('MedicationRequest.groupIdentifier must be a prescription-order-number.', `${MR}.groupIdentifier`, 'MISSING_VALUE', 'required');
  const problem = prescriptionIdProblem(g.value);
  if (problem === 'checksum') bad('Unable to process message. Information missing or invalid - prescriptionID has invalid checksum', `${MR}.groupIdentifier.value`, 'FAILURE_TO_PROCESS_MESSAGE', 'processing');
  if (problem === 'format') bad('Unable to process message. Information missing or invalid - prescriptionID has invalid format', `${MR}.groupIdentifier.value`, 'FAILURE_TO_PROCESS_MESSAGE', 'processing');
  return g.value;
}

/** The line item number (prescription-order-item-number) of a MedicationRequest. */
export function lineItemIdOf(m: MedicationRequest): string {
  const id = m.identifier?.find((i) => i.system === ORDER_ITEM_NUMBER_SYSTEM)?.value;
  if (typeof id !== 'string' || id === '') bad('MedicationRequest.identifier must include a prescription-order-item-number.', `${MR}.identifier`, 'MISSING_VALUE', 'required');
  return id;
}

function checkSignature(bundle: Bundle, items: readonly OrderLineItem[], opts: OrderValidationOptions): void {
  const prov = entriesOf(bundle).find((e) => e.resource?.resourceType === 'Provenance')?.resource as Provenance | undefined;
  const signature = prov?.signature?.[0];
  const data = signature?.data;
  if (typeof data !== 'string' || data === '') {
    throw epsError(400, 'required', 'MISSING_DIGITAL_SIGNATURE', 'The prescription must be signed: Provenance.signature.data is missing.', 'Bundle.entry.resource.ofType(Provenance).signature');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data.replace(/\s+/g, ''))) bad('Provenance.signature.data is not base64.', 'Bundle.entry.resource.ofType(Provenance).signature.data');
  const xml = Buffer.from(data, 'base64').toString('utf8');
  if (!/<(?:[A-Za-z0-9_]+:)?Signature[\s>][\s\S]*<\/(?:[A-Za-z0-9_]+:)?Signature>\s*$/.test(xml.trim()) || !xml.includes('SignedInfo')) {
    bad('Provenance.signature.data is not an XML-DSig Signature.', 'Bundle.entry.resource.ofType(Provenance).signature.data');
  }
  if (!opts.verifySignature) return;
  const verdict = opts.verifySignature(xml, { when: typeof signature?.when === 'string' ? signature.when : undefined, items });
  if (verdict === true || verdict === undefined) return;
  // The EPS signature answers (examples/sandbox/VerifySignature-Response-200_OK.json).
  if (verdict !== false && verdict.kind === 'mismatch') throw epsError(400, 'invalid', 'INVALID', `Signature doesn't match prescription. ${verdict.diagnostics}`, 'Provenance.signature.data');
  throw epsError(400, 'invalid', 'INVALID_VALUE', verdict === false ? 'Signature is invalid.' : `Signature is invalid. ${verdict.diagnostics}`, 'Provenance.signature.data', 'Signature is invalid.');
}

/** Validates a prescription-order message; throws the EPS 400 OperationOutcome of the first problem. */
export function validatePrescriptionOrder(body: unknown, opts: OrderValidationOptions = {}): PrescriptionOrder {
  const { bundle, header, event } = messageHeaderOf(body);
  if (event !== 'prescription-order') bad(`MessageHeader.eventCoding.code must be 'prescription-order'.`, 'MessageHeader.eventCoding.code');
  const entries = medicationRequestEntries(bundle);
  if (entries.length === 0) throw epsError(400, 'invalid', 'TOO_FEW_VALUES_SUBMITTED', 'The Bundle must contain at least one MedicationRequest.', MR);
  // The text and path of the EPS answer (examples/.../bulk-translation/1-Prepare-Response-400_Bad_Request.json).
  if (entries.length > MAX_LINE_ITEMS) throw epsError(400, 'processing', 'TOO_MANY_VALUES_SUBMITTED', `Bundle contains too many resources of type MedicationRequest. Expected at most ${MAX_LINE_ITEMS}.`, 'Bundle.entry');
  const mrs = entries.map((e) => e.resource);
  for (const m of mrs) {
    if (!INTENTS.has(m.intent)) bad('MedicationRequest.intent must be order, original-order or instance-order.', `${MR}.intent`);
    if (m.medicationCodeableConcept && m.medicationReference) {
      bad('MedicationRequest cannot contain both medicationReference and medicationCodeableConcept fields.', MR, 'INVALID_VALUE', 'structure');
    }
  }
  consistent(mrs, 'groupIdentifier', (m) => m.groupIdentifier);
  consistent(mrs, 'subject', (m) => m.subject);
  consistent(mrs, 'requester', (m) => m.requester);
  consistent(mrs, 'authoredOn', (m) => m.authoredOn);
  consistent(mrs, 'category', (m) => m.category);
  consistent(mrs, 'dispenseRequest.performer', (m) => m.dispenseRequest?.performer);
  const courses = [...new Set(mrs.map(courseCode))];
  if (courses.length > 1 && !(courses.length === 2 && courses.includes('acute') && courses.includes('continuous'))) {
    throw epsError(400, 'invalid', 'INVALID_VALUE', "Course of therapy type must either match for all MedicationRequests or be a mixture of 'acute' and 'continuous'.", 'MedicationRequest.courseOfTherapyType.coding');
  }
  const prescriptionId = prescriptionIdOf(mrs[0]!);
  const nhsNumber = nhsNumberOfSubject(bundle, mrs[0]!);
  const items = entries.map((e) => ({ id: lineItemIdOf(e.resource), fullUrl: e.fullUrl, resource: e.resource }));
  if (new Set(items.map((i) => i.id)).size !== items.length) bad('Expected all MedicationRequests to have a different value for identifier.', `${MR}.identifier`);
  if (!opts.unsigned) checkSignature(bundle, items, opts);
  const performer = mrs[0]!.dispenseRequest?.performer?.identifier?.value;
  return {
    bundle,
    messageHeader: header,
    prescriptionId,
    nhsNumber,
    prescriber: header.sender?.identifier?.value,
    nominated: typeof performer === 'string' ? performer : undefined,
    items,
  };
}

/** The refusal of an order whose prescription ID is already known. */
export function duplicatePrescriptionId(prescriptionId: string): never {
  throw epsError(400, 'duplicate', 'DUPLICATE_PRESCRIPTION_ID', `A prescription with ID ${prescriptionId} already exists.`, `${MR}.groupIdentifier.value`);
}
