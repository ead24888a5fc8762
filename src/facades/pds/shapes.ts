/**
 * PDS record shapes and the stored (current UK Core) shapes (personal-demographics.yaml: "built
 * against UK.core.r4 1.0.0"; UK Core STU2+ Extension-UKCore-AddressKey and
 * Extension-UKCore-OtherContactSystem). PDS clients send and expect two UK Core 1.0.0-era shapes that
 * the current UK Core profiles refuse:
 *
 * | element                                   | PDS (UK Core 1.0.0)                         | stored (UK Core 2.x)                              |
 * | ----------------------------------------- | ------------------------------------------- | ------------------------------------------------- |
 * | Address `Extension-UKCore-AddressKey.type` | `valueCoding`                               | `valueCodeableConcept` `{ coding: [ … ] }`         |
 * | ContactPoint `Extension-UKCore-OtherContactSystem` | on the ContactPoint (`telecom[n].extension`), `valueCoding` | on `telecom[n]._system.extension`, `valueCodeableConcept` |
 *
 * `toStored` converts what a PDS client sends into the stored shape (so records written through the
 * façade validate against the server's required profiles, and read the same on `/fhir`); `toPds`
 * converts a stored record back for PDS clients. `toPds(toStored(x))` is `x` for PDS-shaped input; a
 * stored CodeableConcept with several codings or a text answers its first coding.
 */
import type { Address, CodeableConcept, Coding, ContactPoint, Extension, Patient } from 'fhir/r4';

export const ADDRESS_KEY_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AddressKey';
export const OTHER_CONTACT_SYSTEM_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-OtherContactSystem';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function codingToConcept(e: Extension): Extension {
  if (!isObject(e.valueCoding) || e.valueCodeableConcept !== undefined) return e;
  const { valueCoding, ...rest } = e;
  return { ...rest, valueCodeableConcept: { coding: [valueCoding] } };
}

function conceptToCoding(e: Extension): Extension {
  const cc: CodeableConcept | undefined = e.valueCodeableConcept;
  const first: Coding | undefined = cc?.coding?.[0];
  if (!isObject(cc) || first === undefined || e.valueCoding !== undefined) return e;
  const { valueCodeableConcept: _cc, ...rest } = e;
  return { ...rest, valueCoding: first };
}

function mapAddressKeys(address: Address, f: (e: Extension) => Extension): Address {
  if (!Array.isArray(address.extension)) return address;
  return {
    ...address,
    extension: address.extension.map((e) =>
      isObject(e) && e.url === ADDRESS_KEY_URL && Array.isArray(e.extension) ? { ...e, extension: e.extension.map((x) => (isObject(x) && x.url === 'type' ? f(x) : x)) } : e,
    ),
  };
}

type StoredContactPoint = ContactPoint & { _system?: { extension?: Extension[]; id?: string } };

function telecomToStored(t: ContactPoint): StoredContactPoint {
  if (!Array.isArray(t.extension)) return t;
  const moved = t.extension.filter((e) => isObject(e) && e.url === OTHER_CONTACT_SYSTEM_URL);
  if (moved.length === 0) return t;
  const kept = t.extension.filter((e) => !moved.includes(e));
  const { extension: _e, ...rest } = t;
  const prior = (t as StoredContactPoint)._system;
  const system = { ...(isObject(prior) ? prior : {}), extension: [...(isObject(prior) && Array.isArray(prior.extension) ? prior.extension : []), ...moved.map(codingToConcept)] };
  return { ...rest, ...(kept.length > 0 ? { extension: kept } : {}), _system: system };
}

function telecomToPds(t: StoredContactPoint): ContactPoint {
  const sys = t._system;
  if (!isObject(sys) || !Array.isArray(sys.extension)) return t;
  const moved = sys.extension.filter((e) => isObject(e) && e.url === OTHER_CONTACT_SYSTEM_URL);
  if (moved.length === 0) return t;
  const restExt = sys.extension.filter((e) => !moved.includes(e));
  const { _system: _s, ...rest } = t;
  const { extension: _x, ...sysRest } = sys;
  const system = restExt.length > 0 ? { ...sysRest, extension: restExt } : Object.keys(sysRest).length > 0 ? sysRest : undefined;
  return { ...rest, ...(system ? { _system: system } : {}), extension: [...(Array.isArray(t.extension) ? t.extension : []), ...moved.map(conceptToCoding)] } as ContactPoint;
}

function mapPatient(p: Patient, address: (a: Address) => Address, telecom: (t: ContactPoint) => ContactPoint): Patient {
  const out: Patient = { ...p };
  if (Array.isArray(p.address)) out.address = p.address.map((a) => (isObject(a) ? address(a) : a));
  if (Array.isArray(p.telecom)) out.telecom = p.telecom.map((t) => (isObject(t) ? telecom(t) : t));
  if (Array.isArray(p.contact)) {
    out.contact = p.contact.map((c) => (isObject(c) && Array.isArray(c.telecom) ? { ...c, telecom: c.telecom.map((t) => (isObject(t) ? telecom(t) : t)) } : c));
  }
  return out;
}

/** A PDS-shaped Patient in the stored (current UK Core) shape. */
export function toStored(p: Patient): Patient {
  return mapPatient(p, (a) => mapAddressKeys(a, codingToConcept), telecomToStored);
}

/** A stored Patient in the shape PDS clients expect. */
export function toPds(p: Patient): Patient {
  return mapPatient(p, (a) => mapAddressKeys(a, conceptToCoding), telecomToPds);
}
