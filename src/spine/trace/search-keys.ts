/**
 * The trace's search parameters and their index entries (FHIR R4 SearchParameter,
 * https://hl7.org/fhir/R4/searchparameter.html, and §3.1.1 search.html "token"; PDS FHIR API
 * "Search for a patient" for what a trace compares).
 *
 * The phonetic and normalised keys cannot be written as FHIRPath, so these SearchParameters carry no
 * expression: they are registered in the server's registry (so their token entries have a parameter
 * to be stored under) and their entries are added by the Patient indexer wrapper
 * (`spineIndexEntries`). They are the trace engine's internal keys, queried with IR it builds itself:
 * the search API does not accept them (no expression) and the CapabilityStatement does not list them. Every entry's `system` says whether it comes from current data
 * (`TRACE_CURRENT`) or from a previous name/address (`TRACE_HISTORY`): a search without history asks
 * for the current system only.
 *
 * - `spine-family-phonetic`: Soundex of the family name (whole and each word).
 * - `spine-given-phonetic`: Soundex of each given name (whole and each word).
 * - `spine-name`: folded family name and given names, whole and each word (`smithjones`, `smith`, `jones`).
 * - `spine-postcode`: normalised postcode (`LS16AE`) and its outward code (`LS1`).
 * - `spine-block`: blocking keys joining two features, so one index range returns a few candidates:
 *   `ND:<family>:<birthDate>` (exact family, whole or one word of it, and birth date), `FD:<family soundex>:<birthDate>`,
 *   `GD:<first given soundex>:<birthDate>`, `FG:<family soundex>:<first given soundex>`,
 *   `PD:<postcode>:<birthDate>`.
 */
import type { Patient, SearchParameter } from 'fhir/r4';
import type { TokenEntry } from '../../search/index-entry';
import { familyKeys, firstGivenKeys, patientFeatures, patientFeatureSteps, unique, type PatientFeatures } from './features';
import { runCooperatively, runSync } from '../../cooperative';
import { soundex } from './phonetic';
import { outwardCode } from './normalise';

export const TRACE_CURRENT = 'urn:spine-trace:current';
export const TRACE_HISTORY = 'urn:spine-trace:history';
export const SEARCH_PARAMETER_BASE = 'http://spine-fhir-server.local/SearchParameter';

export const P_FAMILY_PHONETIC = 'spine-family-phonetic';
export const P_GIVEN_PHONETIC = 'spine-given-phonetic';
export const P_NAME = 'spine-name';
export const P_POSTCODE = 'spine-postcode';
export const P_BLOCK = 'spine-block';

function param(code: string, description: string): SearchParameter {
  return {
    resourceType: 'SearchParameter',
    id: code,
    url: `${SEARCH_PARAMETER_BASE}/${code}`,
    name: code.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()),
    status: 'active',
    description: `${description} Token system ${TRACE_CURRENT} (current data) or ${TRACE_HISTORY} (previous names and addresses). Computed by the NHS trace layer (no FHIRPath expression); existing Patients get it with $reindex.`,
    code,
    base: ['Patient'],
    type: 'token',
  };
}

export const TRACE_SEARCH_PARAMETERS: readonly SearchParameter[] = [
  param(P_FAMILY_PHONETIC, 'Soundex key of the family name (of the whole name and of each word).'),
  param(P_GIVEN_PHONETIC, 'Soundex key of each given name (of the whole name and of each word).'),
  param(P_NAME, 'Family and given names folded (lower case, no accents or punctuation), whole and each word.'),
  param(P_POSTCODE, 'Postcode upper case without spaces, and its outward code.'),
  param(P_BLOCK, 'Trace blocking keys: ND:<family>:<birthDate>, FD:<family soundex>:<birthDate>, GD:<given soundex>:<birthDate>, FG:<family soundex>:<given soundex>, PD:<postcode>:<birthDate>.'),
];

export const ndKey = (family: string, dob: string): string => `ND:${family}:${dob}`;
export const fdKey = (fk: string, dob: string): string => `FD:${fk}:${dob}`;
export const gdKey = (gk: string, dob: string): string => `GD:${gk}:${dob}`;
export const fgKey = (fk: string, gk: string): string => `FG:${fk}:${gk}`;
export const pdKey = (pc: string, dob: string): string => `PD:${pc}:${dob}`;

/** A full date (YYYY-MM-DD), or undefined for a partial one. */
export function fullDate(d: string | undefined): string | undefined {
  return d !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(d) ? d : undefined;
}

/** The token entries of the trace parameters for a Patient's features. */
export function traceEntriesOf(f: PatientFeatures): TokenEntry[] {
  return runSync(traceEntrySteps(f));
}

/** Names keyed between two steps of `traceEntrySteps`. */
const NAMES_PER_STEP = 200;

/** `traceEntriesOf` as steps (`yield` every NAMES_PER_STEP names), to be run cooperatively (src/cooperative.ts). */
function* traceEntrySteps(f: PatientFeatures): Generator<void, TokenEntry[], void> {
  const out = new Map<string, TokenEntry>();
  const add = (param: string, historic: boolean, code: string): void => {
    if (code === '') return;
    const system = historic ? TRACE_HISTORY : TRACE_CURRENT;
    const key = `${param}\u0000${system}\u0000${code}`;
    if (!out.has(key)) out.set(key, { kind: 'token', param, system, code });
  };
  const dob = fullDate(f.birthDate);
  let done = 0;
  for (const n of f.names) {
    if (++done % NAMES_PER_STEP === 0) yield;
    const fks = familyKeys(n);
    const gks = firstGivenKeys(n);
    for (const k of fks) add(P_FAMILY_PHONETIC, n.historic, k);
    for (const k of unique([...n.given.map(soundex), ...n.givenParts.map(soundex)])) add(P_GIVEN_PHONETIC, n.historic, k);
    for (const k of unique([n.family, ...n.familyParts, ...n.given, ...n.givenParts])) add(P_NAME, n.historic, k);
    if (dob !== undefined) {
      for (const k of unique([n.family, ...n.familyParts])) add(P_BLOCK, n.historic, ndKey(k, dob));
      for (const k of fks) add(P_BLOCK, n.historic, fdKey(k, dob));
      for (const k of gks) add(P_BLOCK, n.historic, gdKey(k, dob));
    }
    for (const fk of fks) for (const gk of gks) add(P_BLOCK, n.historic, fgKey(fk, gk));
  }
  for (const pc of f.postcodes) {
    add(P_POSTCODE, pc.historic, pc.value);
    add(P_POSTCODE, pc.historic, outwardCode(pc.value));
    if (dob !== undefined) add(P_BLOCK, pc.historic, pdKey(pc.value, dob));
  }
  return [...out.values()];
}

export function spineIndexEntries(p: Patient, now?: Date): TokenEntry[] {
  return traceEntriesOf(patientFeatures(p, now));
}

/** `spineIndexEntries`, giving the event loop a turn between steps when a slice is used up (a Patient with very many names). */
export async function spineIndexEntriesCooperatively(p: Patient, now?: Date): Promise<TokenEntry[]> {
  return runCooperatively(traceEntrySteps(await runCooperatively(patientFeatureSteps(p, now))));
}
