/**
 * The content rules of an EPS dispense Claim (fhir-dispensing.yaml `POST /FHIR/R4/Claim`, request
 * schema schemas/requests/dispensing/DispenseClaim.yaml; "Verification errors" "The claim is missing
 * the required endorsement code."; "Dispensing Errors" ITEM_NOT_FOUND,
 * PRESCRIPTION_INVALID_LINE_STATE_TRANSITION):
 *
 * - `insurance`: one focal entry whose `coverage.identifier` is the reimbursement authority's ODS code
 *   (identifiers.yaml ReimbursementAuthorityCode: T1450 NHS BSA for England, RQFZ1 NWSSP for Wales);
 *   a contained Organization's `Extension-ODS-OrganisationRelationships` `reimbursementAuthority`, when
 *   given, must name the same authority.
 * - `payee.party`: a reference to the contained Organization with its ODS code (the dispensing
 *   organisation claiming); `provider`'s contained PractitionerRole, when it names an organisation,
 *   names that one.
 * - one `item` (sequence 1) with Extension-EPS-TaskBusinessStatus 0006 Dispensed or 0007 Not Dispensed;
 *   its `programCode` one charge exemption (`prescription-charge-exemption`, four digits) and at most
 *   one exemption evidence (`DM-exemption-evidence`: evidence-seen, no-evidence-seen).
 * - each `item.detail`: the line item (Extension-ClaimMedicationRequestReference,
 *   `prescription-order-item-number`), once; one `modifier` line item status (medicationdispense-type);
 *   `programCode` codings only from DM-prescription-charge (not-paid, paid-once, paid-twice) and
 *   medicationdispense-endorsement, at least one endorsement (NDEC when none applies) from that code
 *   system. The item status must be what the detail statuses make (all not dispensed or cancelled:
 *   0007, else 0006).
 *
 * `checkClaimContent` needs only the Claim; `checkClaimAgainstRecord` compares it with the
 * prescription as held (the items exist, their statuses, the prescription status).
 */
import type { Claim, ClaimItem, Coding, Extension, Organization, PractitionerRole } from 'fhir/r4';
import type { FhirError } from '../../fhir/outcome';
import { epsError } from './errors';
import { ORDER_ITEM_NUMBER_SYSTEM } from './prescription-order';
import { ODS_SYSTEM } from './task-codec';
import { LINE_ITEM_STATUS, LINE_ITEM_STATUS_SYSTEM, TASK_BUSINESS_STATUS_SYSTEM, type LineItemStatus, type PrescriptionStatus } from './state-machine';

export const ENDORSEMENT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationdispense-endorsement';
export const CHARGE_EXEMPTION_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/prescription-charge-exemption';
export const EXEMPTION_EVIDENCE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/DM-exemption-evidence';
export const PRESCRIPTION_CHARGE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/DM-prescription-charge';
export const TASK_BUSINESS_STATUS_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-TaskBusinessStatus';
export const ITEM_REFERENCE_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-ClaimMedicationRequestReference';
const ORGANISATION_RELATIONSHIPS_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-ODS-OrganisationRelationships';

/** Reimbursement authorities (identifiers.yaml ReimbursementAuthorityCode). */
export const REIMBURSEMENT_AUTHORITIES = Object.freeze({ T1450: 'NHS BUSINESS SERVICES AUTHORITY', RQFZ1: 'NHS WALES SHARED SERVICES PARTNERSHIP' });

/**
 * Dispenser endorsement codes of https://fhir.nhs.uk/CodeSystem/medicationdispense-endorsement (the
 * NHSBSA endorsement guidance the specification links to; NDEC when no endorsement applies).
 */
export const DISPENSER_ENDORSEMENTS = Object.freeze({
  BB: 'Broken Bulk',
  ED: 'Extemporaneously dispensed',
  IP: 'Invoice Price for less common products or special items',
  MF: 'Measured and Fitted',
  NCSO: 'No Cheaper Stock Obtainable',
  NDEC: 'No Dispenser Endorsement Code',
  PC: 'Prescriber Contacted',
  PNC: 'Prescriber Not Contacted',
  RC: 'Rebate Claimed',
  SP: 'Special License',
  SSP: 'Serious Shortage Protocol',
  XP: 'Out of Pocket Expenses',
  ZD: 'Zero Discount (List B only)',
});

/** DM-prescription-charge codes (DispenseClaim.yaml `detail.programCode`). */
export const PRESCRIPTION_CHARGES = Object.freeze({ 'not-paid': 'Not Paid', 'paid-once': 'Paid Once', 'paid-twice': 'Paid Twice' });

/** DM-exemption-evidence codes (the schema lists evidence-seen; the examples also send no-evidence-seen). */
export const EXEMPTION_EVIDENCE = Object.freeze({ 'evidence-seen': 'Evidence Seen', 'no-evidence-seen': 'No Evidence Seen' });

/** A charge exemption code: four digits (0001 "Patient has paid appropriate charges", ...). The specification gives no closed list (it links the NHSBSA guidance, and a homecare example sends 9182). */
const EXEMPTION_CODE = /^[0-9]{4}$/;

const missing = (diagnostics: string, expression: string): FhirError => epsError(400, 'value', 'MISSING_VALUE', diagnostics, expression);
const invalid = (diagnostics: string, expression: string): FhirError => epsError(400, 'value', 'INVALID_VALUE', diagnostics, expression);

/** An optional array of objects (JSON from the client), else 400 INVALID_VALUE at the offending element. */
function list<T>(v: readonly T[] | undefined, path: string): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${path} must be an array.`, path);
  v.forEach((x: unknown, i) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw invalid(`${path}[${i}] must be an object.`, `${path}[${i}]`);
  });
  return v as T[];
}

function has(table: Readonly<Record<string, string>>, code: unknown): boolean {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(table, code);
}

function containedById<T extends Organization | PractitionerRole>(c: Claim, type: T['resourceType'], ref: string | undefined): { resource: T; index: number } | undefined {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
  const index = list(c.contained, 'Claim.contained').findIndex((r) => r.resourceType === type && r.id === ref.slice(1));
  return index < 0 ? undefined : { resource: c.contained![index] as T, index };
}

function codingsOf(concepts: ReadonlyArray<{ coding?: Coding[] }> | undefined, path: string): Array<{ coding: Coding; path: string }> {
  return list(concepts, path).flatMap((cc, i) => list(cc.coding, `${path}[${i}].coding`).map((coding, j) => ({ coding, path: `${path}[${i}].coding[${j}]` })));
}

/** The reimbursement authority of `insurance` (its ODS code), else 400. */
function checkInsurance(c: Claim): string {
  const insurance = list(c.insurance, 'Claim.insurance');
  if (insurance.length === 0) throw missing('Claim.insurance must name the reimbursement authority.', 'Claim.insurance');
  if (insurance.length > 1) throw invalid('Claim.insurance must have exactly one entry: the reimbursement authority.', 'Claim.insurance');
  const ins = insurance[0]!;
  if (ins.focal !== true) throw invalid('Claim.insurance.focal must be true.', 'Claim.insurance[0].focal');
  const id = ins.coverage?.identifier;
  if (!id?.value) throw missing('Claim.insurance.coverage must carry the ODS code of the reimbursement authority.', 'Claim.insurance[0].coverage.identifier');
  if (id.system !== ODS_SYSTEM) throw invalid(`Claim.insurance.coverage.identifier.system must be ${ODS_SYSTEM}.`, 'Claim.insurance[0].coverage.identifier.system');
  if (!has(REIMBURSEMENT_AUTHORITIES, id.value)) {
    throw invalid(`Claim.insurance.coverage.identifier.value must be a reimbursement authority (${Object.keys(REIMBURSEMENT_AUTHORITIES).join(', ')}); received ${JSON.stringify(id.value)}.`, 'Claim.insurance[0].coverage.identifier.value');
  }
  return id.value;
}

/** The claiming organisation's ODS code (payee.party), else 400; checks its reimbursement authority and the provider's organisation. */
function checkPayee(c: Claim, authority: string): string {
  const ref = c.payee?.party?.reference;
  if (typeof ref !== 'string' || !ref) throw missing('Claim must reference the claiming Organization in payee.party.', 'Claim.payee.party');
  const org = containedById<Organization>(c, 'Organization', ref);
  if (!org) throw invalid(`Claim.payee.party ${JSON.stringify(ref)} does not reference a contained Organization.`, 'Claim.payee.party.reference');
  const odsAt = list(org.resource.identifier, `Claim.contained[${org.index}].identifier`).findIndex((i) => i.system === ODS_SYSTEM);
  const ods = odsAt < 0 ? undefined : org.resource.identifier![odsAt]!.value;
  if (typeof ods !== 'string' || !ods) throw missing('The claiming Organization must carry its ODS code.', `Claim.contained[${org.index}].identifier`);
  list(org.resource.extension, `Claim.contained[${org.index}].extension`).forEach((e: Extension, i) => {
    if (e.url !== ORGANISATION_RELATIONSHIPS_EXTENSION) return;
    list(e.extension, `Claim.contained[${org.index}].extension[${i}].extension`).forEach((x, j) => {
      if (x.url === 'reimbursementAuthority' && x.valueIdentifier?.value !== authority) {
        throw invalid(`The Organization's reimbursement authority ${JSON.stringify(x.valueIdentifier?.value)} is not the Claim's insurance ${authority}.`, `Claim.contained[${org.index}].extension[${i}].extension[${j}].valueIdentifier`);
      }
    });
  });
  const role = containedById<PractitionerRole>(c, 'PractitionerRole', c.provider?.reference);
  const roleOrg = role?.resource.organization?.reference;
  if (role && roleOrg !== undefined && roleOrg !== ref) {
    throw invalid(`The provider's organisation ${JSON.stringify(roleOrg)} is not the payee ${JSON.stringify(ref)}.`, `Claim.contained[${role.index}].organization`);
  }
  return ods;
}

function checkExemption(item: ClaimItem): void {
  const codings = codingsOf(item.programCode, 'Claim.item[0].programCode');
  const exemptions = codings.filter((x) => x.coding.system === CHARGE_EXEMPTION_SYSTEM);
  if (exemptions.length === 0) throw missing(`Claim.item.programCode must carry the charge exemption (${CHARGE_EXEMPTION_SYSTEM}).`, 'Claim.item[0].programCode');
  if (exemptions.length > 1) throw invalid('Claim.item.programCode must carry one charge exemption.', exemptions[1]!.path);
  const evidence = codings.filter((x) => x.coding.system === EXEMPTION_EVIDENCE_SYSTEM);
  if (evidence.length > 1) throw invalid('Claim.item.programCode must carry at most one exemption evidence.', evidence[1]!.path);
  for (const x of codings) {
    if (x.coding.system === CHARGE_EXEMPTION_SYSTEM && !(typeof x.coding.code === 'string' && EXEMPTION_CODE.test(x.coding.code))) throw invalid(`Charge exemption code ${JSON.stringify(x.coding.code)} is not a four-digit exemption code.`, `${x.path}.code`);
    else if (x.coding.system === EXEMPTION_EVIDENCE_SYSTEM && !has(EXEMPTION_EVIDENCE, x.coding.code)) throw invalid(`Exemption evidence must be one of ${Object.keys(EXEMPTION_EVIDENCE).join(', ')}; received ${JSON.stringify(x.coding.code)}.`, `${x.path}.code`);
    else if (x.coding.system !== CHARGE_EXEMPTION_SYSTEM && x.coding.system !== EXEMPTION_EVIDENCE_SYSTEM) throw invalid(`Claim.item.programCode codings must be from ${CHARGE_EXEMPTION_SYSTEM} or ${EXEMPTION_EVIDENCE_SYSTEM}.`, `${x.path}.system`);
  }
}

/** The item's intended prescription status (Extension-EPS-TaskBusinessStatus), else 400. */
function itemStatusOf(item: ClaimItem): PrescriptionStatus {
  const at = list(item.extension, 'Claim.item[0].extension').findIndex((e) => e.url === TASK_BUSINESS_STATUS_EXTENSION);
  if (at < 0) throw missing('Claim.item must carry the prescription status (Extension-EPS-TaskBusinessStatus).', 'Claim.item[0].extension');
  const coding = item.extension![at]!.valueCoding;
  const path = `Claim.item[0].extension[${at}].valueCoding`;
  if (coding?.system !== TASK_BUSINESS_STATUS_SYSTEM) throw invalid(`The prescription status must be from ${TASK_BUSINESS_STATUS_SYSTEM}.`, `${path}.system`);
  if (coding.code !== '0006' && coding.code !== '0007') throw invalid(`A claim is for a Dispensed (0006) or Not Dispensed (0007) prescription; received ${JSON.stringify(coding.code)}.`, `${path}.code`);
  return coding.code;
}

/** One claimed line item. */
export interface ClaimedLine {
  /** The prescription line item (prescription-order-item-number). */
  id: string;
  status: LineItemStatus;
  /** `Claim.item[0].detail[n]`. */
  path: string;
}

/** A Claim's content checked (throws the 400 EPS FhirError of the first rule broken). */
export interface ClaimContent {
  authority: string;
  claimant: string;
  status: PrescriptionStatus;
  lines: ClaimedLine[];
}

function checkDetail(d: NonNullable<ClaimItem['detail']>[number], path: string, seen: Set<string>): ClaimedLine {
  const refAt = list(d.extension, `${path}.extension`).findIndex((e) => e.url === ITEM_REFERENCE_EXTENSION);
  const id = refAt < 0 ? undefined : d.extension![refAt]!.valueReference?.identifier;
  if (typeof id?.value !== 'string' || !id.value) throw missing('Each claimed item must name its prescription line item (Extension-ClaimMedicationRequestReference).', `${path}.extension`);
  if (id.system !== ORDER_ITEM_NUMBER_SYSTEM) throw invalid(`The line item identifier system must be ${ORDER_ITEM_NUMBER_SYSTEM}.`, `${path}.extension[${refAt}].valueReference.identifier.system`);
  if (seen.has(id.value)) throw invalid(`Line item ${id.value} is claimed more than once.`, `${path}.extension[${refAt}].valueReference.identifier.value`);
  seen.add(id.value);
  const modifiers = codingsOf(d.modifier, `${path}.modifier`).filter((x) => x.coding.system === LINE_ITEM_STATUS_SYSTEM);
  if (modifiers.length === 0) throw missing(`Each claimed item must carry its line item status (${LINE_ITEM_STATUS_SYSTEM}) in modifier.`, `${path}.modifier`);
  if (modifiers.length > 1) throw invalid('Each claimed item must carry one line item status.', modifiers[1]!.path);
  const status = modifiers[0]!.coding.code;
  if (!has(LINE_ITEM_STATUS, status)) throw invalid(`Line item status ${JSON.stringify(status)} is not a medicationdispense-type code.`, `${modifiers[0]!.path}.code`);
  const programCodes = codingsOf(d.programCode, `${path}.programCode`);
  let endorsed = false;
  for (const x of programCodes) {
    if (x.coding.system === ENDORSEMENT_SYSTEM) {
      if (!has(DISPENSER_ENDORSEMENTS, x.coding.code)) throw invalid(`Endorsement code ${JSON.stringify(x.coding.code)} is not in ${ENDORSEMENT_SYSTEM}.`, `${x.path}.code`);
      endorsed = true;
    } else if (x.coding.system === PRESCRIPTION_CHARGE_SYSTEM) {
      if (!has(PRESCRIPTION_CHARGES, x.coding.code)) throw invalid(`Prescription charge must be one of ${Object.keys(PRESCRIPTION_CHARGES).join(', ')}; received ${JSON.stringify(x.coding.code)}.`, `${x.path}.code`);
    } else {
      throw invalid(`Claim.item.detail.programCode codings must be from ${PRESCRIPTION_CHARGE_SYSTEM} or ${ENDORSEMENT_SYSTEM}; received ${JSON.stringify(x.coding.system)}.`, `${x.path}.system`);
    }
  }
  if (!endorsed) throw epsError(400, 'invalid', 'MISSING_VALUE', 'The claim is missing the required endorsement code.', `${path}.programCode`);
  return { id: id.value, status: status as LineItemStatus, path };
}

/** The prescription status a claim's line item statuses make: none dispensed (all 0002 not dispensed / 0005 cancelled) 0007, else 0006. */
export function statusOfLines(lines: readonly Pick<ClaimedLine, 'status'>[]): PrescriptionStatus {
  return lines.every((l) => l.status === '0002' || l.status === '0005') ? '0007' : '0006';
}

/** The rules that need only the Claim (see the header); throws the 400 EPS error of the first broken. */
export function checkClaimContent(c: Claim): ClaimContent {
  const authority = checkInsurance(c);
  const claimant = checkPayee(c, authority);
  const items = list(c.item, 'Claim.item');
  if (items.length !== 1) throw (items.length === 0 ? missing : invalid)('A Claim has exactly one item: the prescription.', 'Claim.item');
  const item = items[0]!;
  const status = itemStatusOf(item);
  checkExemption(item);
  const details = list(item.detail, 'Claim.item[0].detail');
  if (details.length === 0) throw missing('Claim.item.detail must list the claimed line items.', 'Claim.item[0].detail');
  const seen = new Set<string>();
  const lines = details.map((d, i) => checkDetail(d, `Claim.item[0].detail[${i}]`, seen));
  for (const l of lines) {
    if (l.status !== '0001' && l.status !== '0002' && l.status !== '0005') {
      throw epsError(400, 'business-rule', 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', `Line item ${l.id} is ${l.status} (${LINE_ITEM_STATUS[l.status]}): only finished items (0001, 0002, 0005) are claimed.`, `${l.path}.modifier`);
    }
  }
  if (statusOfLines(lines) !== status) {
    throw invalid(`The claim's prescription status ${status} does not match its line items (${lines.map((l) => l.status).join(', ')}).`, 'Claim.item[0].extension');
  }
  return { authority, claimant, status, lines };
}

/**
 * The Claim compared with the prescription as held: every claimed line item on it (ITEM_NOT_FOUND),
 * every line item of it claimed (MISSING_VALUE), and, when the line statuses of the claimed issue
 * are known (`items`), each claimed status the one held (PRESCRIPTION_INVALID_LINE_STATE_TRANSITION).
 */
export function checkClaimAgainstRecord(content: ClaimContent, prescriptionId: string, held: { itemIds: readonly string[]; items?: Readonly<Record<string, LineItemStatus>> }): void {
  const ids = new Set(held.itemIds);
  for (const l of content.lines) {
    if (!ids.has(l.id)) throw epsError(400, 'not-found', 'ITEM_NOT_FOUND', `Line item ${l.id} is not on prescription ${prescriptionId}.`, `${l.path}.extension`);
  }
  const claimed = new Set(content.lines.map((l) => l.id));
  const unclaimed = held.itemIds.find((id) => !claimed.has(id));
  if (unclaimed !== undefined) throw missing(`Line item ${unclaimed} of prescription ${prescriptionId} is not in the claim.`, 'Claim.item[0].detail');
  if (!held.items) return;
  for (const l of content.lines) {
    const st = held.items[l.id];
    if (st !== undefined && st !== l.status) {
      throw epsError(400, 'business-rule', 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', `Line item ${l.id} is ${st} (${LINE_ITEM_STATUS[st]}) on record; the claim gives ${l.status}.`, `${l.path}.modifier`);
    }
  }
}
