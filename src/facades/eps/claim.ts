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
 *
 * The content rules (src/spine/eps/claim-rules.ts: reimbursement authority, payee, charge exemption,
 * endorsements, line item statuses) are checked before the prescription is looked up; then the
 * claimed items against the prescription held, and the claimed status against the issue claimed.
 * The claim must come from the dispenser holding the prescription (PRESCRIPTION_WITH_ANOTHER_DISPENSER,
 * `Claim.payee.party`). Every refusal is a 400 EPS OperationOutcome with the offending field.
 */
import type { Claim } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { checkClaimAgainstRecord, checkClaimContent } from '../../spine/eps/claim-rules';
import { epsError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { epsRepeatInformation } from '../../spine/eps/repeat-dispensing';
import { applyEvent } from '../../spine/eps/state-machine';
import { REPLACEMENT_OF_EXTENSION } from './process-message';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { commit, findRecord, taskUpdateEntry } from './records';

const GROUP_IDENTIFIER_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-GroupIdentifier';

function prescriptionIdOf(c: Claim): string | undefined {
  const ext = c.prescription?.extension;
  const g = Array.isArray(ext) ? ext.find((e) => e?.url === GROUP_IDENTIFIER_EXTENSION) : undefined;
  const short = Array.isArray(g?.extension) ? g.extension.find((e) => e?.url === 'shortForm')?.valueIdentifier : undefined;
  return short?.system === PRESCRIPTION_ORDER_NUMBER_SYSTEM && typeof short.value === 'string' ? short.value : undefined;
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
  const content = checkClaimContent(c);
  const claimant = content.claimant;
  const record = await findRecord(services, req, rx);
  if (!record) throw epsError(404, 'not-found', 'PRESCRIPTION_NOT_FOUND', `Prescription ${rx} not found.`, 'Claim.prescription');
  const nhs = c.patient?.identifier?.system === NHS_NUMBER_SYSTEM ? c.patient.identifier.value : undefined;
  if (nhs !== undefined && nhs !== record.nhsNumber) throw epsError(400, 'value', 'INVALID_VALUE', 'Claim.patient does not match the patient of the prescription.', 'Claim.patient');
  checkClaimAgainstRecord(content, rx, { itemIds: Object.keys(record.state.items) });
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
    const expression =
      r.code === 'MISMATCH_AUTHORISED_REPEAT_COUNTS' ? 'Claim.item.detail.extension' : r.code === 'DISPENSE_AMEND_IDENTIFIER_MISMATCH' ? replacementPath : r.code === 'PRESCRIPTION_WITH_ANOTHER_DISPENSER' ? 'Claim.payee.party' : undefined;
    throw epsError(400, 'business-rule', r.code, r.diagnostics, expression);
  }
  // The issue claimed (the new history entry): its status as held, and its line statuses when it is the current issue.
  const entry = r.state.history[r.state.history.length - 1]!;
  const claimedStatus = entry.event === 'claim' ? entry.from : (record.state.history.find((h) => h.event === 'claim' && h.issue === entry.issue)?.from ?? entry.from);
  if (claimedStatus !== content.status) {
    throw epsError(400, 'value', 'INVALID_VALUE', `The claim gives prescription status ${content.status}; the prescription${entry.issue !== undefined ? ` (issue ${entry.issue})` : ''} is ${claimedStatus} on record.`, 'Claim.item[0].extension');
  }
  const current = !record.state.repeat || entry.issue === undefined || entry.issue === record.state.repeat.issue;
  if (current) checkClaimAgainstRecord(content, rx, { itemIds: Object.keys(record.state.items), items: record.state.items });
  await commit(services, req, [taskUpdateEntry(record, r.state)]);
  return {
    status: 200,
    body: { resourceType: 'OperationOutcome', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, issue: [{ severity: 'information', code: 'informational' }] },
    headers: epsResponseHeaders(req.headers),
  };
}
