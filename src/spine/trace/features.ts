/**
 * The demographic features of a Patient that tracing compares (FHIR R4 Patient,
 * https://hl7.org/fhir/R4/patient.html: name, birthDate, gender, address, telecom,
 * generalPractitioner, deceased[x]; PDS FHIR API "History": previous names and addresses).
 *
 * A name, address or contact point is historic when its `use` is `old`, or when its `period.end`
 * lies before `now` AND a newer element of the same kind replaces it (a name of the same `use`, an
 * address of the same `use`, a contact point of the same `system` and `use` that is open-ended or
 * ends later): PDS keeps a usual name or home address whose period has ended as the current one
 * until a newer one is recorded (the sandbox record 9000000009 has periods ending 2021).
 * PDS searches historic data only with `_history` (always in fuzzy mode).
 * The general practitioner is the ODS code: `generalPractitioner.identifier.value`, else the id of
 * an `Organization/<id>` reference.
 */
import type { Address, ContactPoint, HumanName, Patient } from 'fhir/r4';
import { compactName, nameParts, normaliseEmail, normalisePhone, normalisePostcode } from './normalise';
import { soundex } from './phonetic';
import { runSync } from '../../cooperative';

export interface NameFeature {
  /** Folded family name without separators (empty when absent). */
  family: string;
  /** Words of the family name (hyphenated/compound names split). */
  familyParts: string[];
  /** Each given name (as recorded, a compound first name stays one entry), folded without separators. */
  given: string[];
  /** Words of every given name. */
  givenParts: string[];
  historic: boolean;
}

export interface ValueFeature {
  value: string;
  historic: boolean;
}

/**
 * Every feature but the names: cheap to compute (no name folding), enough for the score's upper
 * bound (score.ts `mayMatch`) that lets a trace drop most candidates before their names are folded.
 */
export interface RecordFeatures {
  /** YYYY-MM-DD, YYYY-MM or YYYY as recorded. */
  birthDate?: string;
  gender?: string;
  /** Normalised postcodes of every address. */
  postcodes: ValueFeature[];
  /** Upper-case ODS codes. */
  gp: string[];
  phones: ValueFeature[];
  emails: ValueFeature[];
  /** YYYY-MM-DD of deceasedDateTime. */
  deathDate?: string;
}

export interface PatientFeatures extends RecordFeatures {
  names: NameFeature[];
}

interface Dated {
  use?: string;
  period?: { end?: string };
}

function endTime(el: Dated): number | undefined {
  const end = el.period?.end;
  if (end === undefined) return undefined;
  const t = Date.parse(end.length === 4 ? `${end}-12-31` : end.length === 7 ? `${end}-28` : end);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Which elements of a list are historic (see the module header): `use` old, or ended before `now`
 * and replaced by a newer element of the same kind (`kindOf`). One pass per list (records may hold
 * very many names).
 */
export function historicFlags<T extends Dated>(list: readonly T[], kindOf: (el: T) => string, now: Date): boolean[] {
  const latest = new Map<string, number>();
  for (const el of list) {
    if (el === null || typeof el !== 'object' || el.use === 'old') continue;
    const k = kindOf(el);
    const end = endTime(el) ?? Number.POSITIVE_INFINITY;
    if (end > (latest.get(k) ?? Number.NEGATIVE_INFINITY)) latest.set(k, end);
  }
  return list.map((el) => {
    if (el === null || typeof el !== 'object') return false;
    if (el.use === 'old') return true;
    const end = endTime(el);
    if (end === undefined || end >= now.getTime()) return false;
    return (latest.get(kindOf(el)) ?? end) > end;
  });
}

/** The kinds of element a newer one replaces: names and addresses by `use`, contact points by `system` and `use`. */
export const nameKind = (n: HumanName): string => n.use ?? 'usual';
export const addressKind = (a: Address): string => a.use ?? 'home';
export const telecomKind = (c: ContactPoint): string => `${c.system ?? ''}|${c.use ?? ''}`;

function nameFeature(n: HumanName, historic: boolean): NameFeature | undefined {
  const family = n.family ?? '';
  const given = (n.given ?? []).map(compactName).filter((g) => g !== '');
  const f: NameFeature = {
    family: compactName(family),
    familyParts: nameParts(family),
    given,
    givenParts: (n.given ?? []).flatMap(nameParts),
    historic,
  };
  return f.family === '' && f.given.length === 0 ? undefined : f;
}

function telecom(list: ContactPoint[] | undefined, system: 'phone' | 'email', now: Date): ValueFeature[] {
  const out: ValueFeature[] = [];
  const all = list ?? [];
  const flags = historicFlags(all, telecomKind, now);
  all.forEach((c, i) => {
    if (c.system !== system || !c.value) return;
    const value = system === 'phone' ? normalisePhone(c.value) : normaliseEmail(c.value);
    if (value !== '') out.push({ value, historic: flags[i]! });
  });
  return out;
}

function postcodesOf(list: Address[] | undefined, now: Date): ValueFeature[] {
  const postcodes: ValueFeature[] = [];
  const all = list ?? [];
  const flags = historicFlags(all, addressKind, now);
  for (const [i, a] of all.entries()) {
    const pc = a.postalCode ? normalisePostcode(a.postalCode) : '';
    if (pc !== '') postcodes.push({ value: pc, historic: flags[i]! });
  }
  return postcodes;
}

/** The ODS code of each general practitioner reference. */
export function gpCodes(p: Patient): string[] {
  const out: string[] = [];
  for (const r of p.generalPractitioner ?? []) {
    const code = r.identifier?.value ?? /^(?:.*\/)?Organization\/([^/]+)$/.exec(r.reference ?? '')?.[1];
    if (code) out.push(code.toUpperCase());
  }
  return out;
}

export function patientFeatures(p: Patient, now: Date = new Date()): PatientFeatures {
  return runSync(patientFeatureSteps(p, now));
}

/** Names folded between two steps of `patientFeatureSteps`. */
const NAMES_PER_STEP = 500;

/** `patientFeatures` as steps (`yield` every NAMES_PER_STEP names), to be run cooperatively for a Patient with very many names (src/cooperative.ts). */
export function* patientFeatureSteps(p: Patient, now: Date = new Date()): Generator<void, PatientFeatures, void> {
  const record = recordFeatures(p, now);
  return { ...record, names: yield* nameFeatureSteps(p, now) };
}

/** The features of a Patient but its names (see `RecordFeatures`). */
export function recordFeatures(p: Patient, now: Date = new Date()): RecordFeatures {
  const f: RecordFeatures = {
    postcodes: postcodesOf(p.address, now),
    gp: gpCodes(p),
    phones: telecom(p.telecom, 'phone', now),
    emails: telecom(p.telecom, 'email', now),
  };
  if (p.birthDate) f.birthDate = p.birthDate;
  if (p.gender) f.gender = p.gender;
  if (p.deceasedDateTime) f.deathDate = p.deceasedDateTime.slice(0, 10);
  return f;
}

/** The folded names of a Patient. */
export function nameFeatures(p: Patient, now: Date = new Date()): NameFeature[] {
  return runSync(nameFeatureSteps(p, now));
}

/** The folded names of a Patient, as steps (`yield` every NAMES_PER_STEP names). */
export function* nameFeatureSteps(p: Patient, now: Date = new Date()): Generator<void, NameFeature[], void> {
  const names: NameFeature[] = [];
  const all = p.name ?? [];
  const flags = historicFlags(all, nameKind, now);
  let done = 0;
  for (const [i, n] of all.entries()) {
    if (++done % NAMES_PER_STEP === 0) yield;
    const feature = nameFeature(n, flags[i]!);
    if (feature !== undefined) names.push(feature);
  }
  return names;
}

/** Soundex keys of a name's family: of each word and of the whole (compact) name. */
export function familyKeys(n: NameFeature): string[] {
  return unique([soundex(n.family), ...n.familyParts.map(soundex)]);
}

/** Soundex key of the first given name (a compound first name: of the whole and of its first word). */
export function firstGivenKeys(n: NameFeature): string[] {
  const first = n.given[0];
  if (first === undefined) return [];
  return unique([soundex(first), ...(n.givenParts[0] !== undefined ? [soundex(n.givenParts[0])] : [])]);
}

export function unique(list: readonly string[]): string[] {
  return [...new Set(list.filter((x) => x !== ''))];
}
