/**
 * `POST /Claim` of the EPS FHIR API (electronic-prescription-service-api.yaml "Claim for a
 * dispensed prescription"): the short-form prescription ID from `Claim.prescription`'s
 * Extension-DM-GroupIdentifier `shortForm`, the claiming dispenser the ODS code of the contained
 * Organization (the payee), each claimed line item from `item.detail`'s
 * Extension-ClaimMedicationRequestReference. A Dispensed prescription becomes Claimed (0008), a Not
 * Dispensed one No-Claimed (0009); an unknown line item is ITEM_NOT_FOUND, any other state
 * PRESCRIPTION_INVALID_STATE_TRANSITION. The Claim is stored with the new state.
 *
 * A repeat-dispensing claim names its issue with Extension-EPS-RepeatInformation
 * (`numberOfRepeatsIssued`, on `item` or `item.detail`; without it the latest finished issue is
 * claimed); a `numberOfRepeatsAllowed` other than the prescription's, or an issue outside it, is
 * MISMATCH_AUTHORISED_REPEAT_COUNTS (fhir-dispensing.yaml "Dispensing Errors").
 *
 * A claim amendment (Extension-replacementOf naming the `identifier` of the claim it replaces) must
 * name the latest claim on record for its issue, else 400 DISPENSE_AMEND_IDENTIFIER_MISMATCH
 * ("Replacement target does not match existing claim reference on record.").
 */
import type { Claim, Organization } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { epsError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { ORDER_ITEM_NUMBER_SYSTEM } from '../../spine/eps/prescription-order';
import { epsRepeatInformation } from '../../spine/eps/repeat-dispensing';
import { applyEvent } from '../../spine/eps/state-machine';
import { ODS_SYSTEM } from '../../spine/eps/task-codec';
import { REPLACEMENT_OF_EXTENSION } from './process-message';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { commit, findRecord, taskUpdateEntry } from './records';

const GROUP_IDENTIFIER_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-GroupIdentifier';
const ITEM_REFERENCE_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-ClaimMedicationRequestReference';

function prescriptionIdOf(c: Claim): string | undefined {
  const g = c.prescription?.extension?.find((e) => e.url === GROUP_IDENTIFIER_EXTENSION);
  const short = g?.extension?.find((e) => e.url === 'shortForm')?.valueIdentifier;
  return short?.system === PRESCRIPTION_ORDER_NUMBER_SYSTEM ? short.value : undefined;
}

function claimantOf(c: Claim): string | undefined {
  const ref = c.payee?.party?.reference;
  const orgs = (c.contained ?? []).filter((r): r is Organization => r.resourceType === 'Organization');
  const org = (ref?.startsWith('#') ? orgs.find((o) => o.id === ref.slice(1)) : undefined) ?? orgs[0];
  return org?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
}

function claimedItems(c: Claim): string[] {
  const out: string[] = [];
  for (const item of c.item ?? []) {
    for (const d of item.detail ?? []) {
      const id = d.extension?.find((e) => e.url === ITEM_REFERENCE_EXTENSION)?.valueReference?.identifier;
      if (id?.system === ORDER_ITEM_NUMBER_SYSTEM && typeof id.value === 'string') out.push(id.value);
    }
  }
  return out;
}

/**
 * The Extension-EPS-RepeatInformation of a repeat-dispensing claim (on `item.detail`, or `item`):
 * the issue claimed (`numberOfRepeatsIssued`) and the repeats allowed, one value each on every
 * detail, else 400 INVALID_VALUE.
 */
function claimedRepeat(c: Claim): { issue?: number; repeatsAllowed?: number } {
  const infos = (c.item ?? []).flatMap((item) => [epsRepeatInformation(item.extension), ...(item.detail ?? []).map((d) => epsRepeatInformation(d.extension))]).filter((x) => x !== undefined);
  const issued = [...new Set(infos.map((i) => i.issued).filter((v) => v !== undefined))];
  const allowed = [...new Set(infos.map((i) => i.allowed).filter((v) => v !== undefined))];
  if (issued.length > 1 || allowed.length > 1) throw epsError(400, 'value', 'INVALID_VALUE', 'Every claimed item must name the same issue and repeats allowed.', 'Claim.item.detail.extension');
  return { ...(issued.length ? { issue: issued[0]! } : {}), ...(allowed.length ? { repeatsAllowed: allowed[0]! } : {}) };
}

export async function postClaim(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const c = parseJsonBody(services, req.rawBody) as Claim | undefined;
  if (c?.resourceType !== 'Claim') throw epsError(400, 'invalid', 'INVALID_MESSAGE', 'Request body must be a Claim.', 'Claim');
  const rx = prescriptionIdOf(c);
  if (!rx) throw epsError(400, 'value', 'MISSING_VALUE', 'Claim.prescription must carry the short-form prescription ID.', 'Claim.prescription.extension');
  const claimant = claimantOf(c);
  if (!claimant) throw epsError(400, 'value', 'MISSING_VALUE', 'Claim must contain the claiming Organization with its ODS code.', 'Claim.payee.party');
  const record = await findRecord(services, req, rx);
  if (!record) throw epsError(404, 'not-found', 'PRESCRIPTION_NOT_FOUND', `Prescription ${rx} not found.`, 'Claim.prescription');
  const nhs = c.patient?.identifier?.system === NHS_NUMBER_SYSTEM ? c.patient.identifier.value : undefined;
  if (nhs !== undefined && nhs !== record.nhsNumber) throw epsError(400, 'value', 'INVALID_VALUE', 'Claim.patient does not match the patient of the prescription.', 'Claim.patient');
  for (const item of claimedItems(c)) {
    if (record.state.items[item] === undefined) throw epsError(404, 'not-found', 'ITEM_NOT_FOUND', `Line item ${item} is not on prescription ${rx}.`, 'Claim.item.detail.extension');
  }
  const message = c.identifier?.[0]?.value;
  const replacementOf = c.extension?.find((e) => e.url === REPLACEMENT_OF_EXTENSION);
  const replaces = replacementOf?.valueIdentifier?.value;
  const replacementPath = `Claim.extension("${REPLACEMENT_OF_EXTENSION}")`;
  if (replacementOf && typeof replaces !== 'string') throw epsError(400, 'value', 'MISSING_VALUE', 'Extension-replacementOf must give the identifier of the claim it replaces.', replacementPath);
  const at = new Date().toISOString();
  const repeat = record.state.repeat && !replacementOf ? claimedRepeat(c) : {};
  const r = replacementOf
    ? applyEvent(record.state, { kind: 'claim-amend', dispenser: claimant, at, replaces: replaces!, ...(message ? { message } : {}) })
    : applyEvent(record.state, { kind: 'claim', dispenser: claimant, at, ...repeat, ...(message ? { message } : {}) });
  if (!r.ok) {
    const expression = r.code === 'MISMATCH_AUTHORISED_REPEAT_COUNTS' ? 'Claim.item.detail.extension' : r.code === 'DISPENSE_AMEND_IDENTIFIER_MISMATCH' ? replacementPath : undefined;
    throw epsError(400, 'business-rule', r.code, r.diagnostics, expression);
  }
  await commit(services, req, [taskUpdateEntry(record, r.state)]);
  return {
    status: 200,
    body: { resourceType: 'OperationOutcome', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, issue: [{ severity: 'information', code: 'informational' }] },
    headers: epsResponseHeaders(req.headers),
  };
}
