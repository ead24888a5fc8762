/**
 * PDS's search view of a record (patient-search.yaml "Patient data returned"; compare
 * searchResponses/PatientSearch.json with Patient.json): a search returns less than a retrieval.
 *
 * | kept                                                    | left out                                   |
 * | ------------------------------------------------------- | ------------------------------------------ |
 * | NHS number, gender, birth and death information, `telecom`, `contact`, `generalPractitioner`, `meta.security` | `patient-birthPlace` |
 * | names of use usual (the current one), nickname, temp    | other names (official, old, maiden ...)    |
 * | the current home address                                | other addresses (temp, work, billing, old) |
 * | the death notification status extension                 | pharmacies (NominatedPharmacy, PreferredDispenserOrganization, MedicalApplianceSupplier), NHSCommunication, ContactPreference, RemovalFromRegistration, `communication`, `managingOrganization` |
 *
 * A restricted record (`meta.security` R) also loses `address`, `telecom`, `contact` and
 * `generalPractitioner` ("Restricted patients"; the engine's redaction removes most of them already).
 *
 * "Current" is the trace's rule (src/spine/trace/features.ts `historicFlags`): a usual name or home
 * address whose period has ended stays current until a newer one replaces it. Restricted records come
 * here already redacted by the engine (src/spine/redaction.ts). The result is in PDS's shapes (view.ts).
 */
import type { Extension, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { isRestricted } from '../../spine/restricted';
import { addressKind, historicFlags, nameKind } from '../../spine/trace/features';
import { pdsView } from './view';

const UK_CORE = 'https://fhir.hl7.org.uk/StructureDefinition/';

/** Extensions a search leaves out. */
export const SEARCH_EXCLUDED_EXTENSIONS: ReadonlySet<string> = new Set([
  `${UK_CORE}Extension-UKCore-NominatedPharmacy`,
  `${UK_CORE}Extension-UKCore-PreferredDispenserOrganization`,
  `${UK_CORE}Extension-UKCore-MedicalApplianceSupplier`,
  `${UK_CORE}Extension-UKCore-NHSCommunication`,
  `${UK_CORE}Extension-UKCore-ContactPreference`,
  'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
  'https://fhir.nhs.uk/StructureDefinition/Extension-PDS-RemovalFromRegistration',
]);

const SEARCH_NAME_USES = new Set(['usual', 'nickname', 'temp']);

const RESTRICTED_REMOVED = ['address', 'telecom', 'contact', 'generalPractitioner'] as const;

/** A record as a PDS search returns it (see the module header). */
export function pdsSearchView(patient: Patient, services: FhirServices, now: Date = services.now?.() ?? new Date()): Patient {
  const { communication: _c, managingOrganization: _m, ...rest } = patient;
  const out: Patient = { ...rest };
  if (isRestricted(patient)) for (const k of RESTRICTED_REMOVED) delete out[k];
  if (Array.isArray(patient.name)) {
    const flags = historicFlags(patient.name, nameKind, now);
    const names = patient.name.filter((n, i) => !flags[i] && SEARCH_NAME_USES.has(nameKind(n)));
    if (names.length > 0) out.name = names;
    else delete out.name;
  }
  if (Array.isArray(out.address) && Array.isArray(patient.address)) {
    const flags = historicFlags(patient.address, addressKind, now);
    const home = patient.address.filter((a, i) => !flags[i] && addressKind(a) === 'home');
    if (home.length > 0) out.address = home;
    else delete out.address;
  }
  if (Array.isArray(patient.extension)) {
    const kept = patient.extension.filter((e: Extension) => !SEARCH_EXCLUDED_EXTENSIONS.has(e.url));
    if (kept.length > 0) out.extension = kept;
    else delete out.extension;
  }
  return pdsView(out, services);
}
