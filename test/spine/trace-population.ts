/**
 * A seeded synthetic UK population for trace quality tests and the spine benchmark (PDS FHIR API
 * "Search for a patient"): realistic UK family and given names (with hyphenated and compound names,
 * previous names), birth dates from 1930 to 2020, UK-shaped postcodes (with previous addresses),
 * GP ODS codes, and known duplicate records (the same person recorded twice with a typing error).
 * No two different persons share family, first given name and birth date. Also the typing variants of
 * a person used as trace queries: misspellings, swapped names, transposed or near-miss birth dates,
 * postcode typos, hyphenated names, missing fields, previous names, case and spacing noise, and
 * (PopulationOptions) near-duplicates of other persons: twins (same family, birth date and postcode,
 * another first name), persons sharing family and birth date, namesakes (same family and first name,
 * another birth date), and women's maiden names kept as previous names. Combined variants carry two
 * errors each (COMBINED_KINDS), including nicknames (NICKNAMES: Bill for William, Peggy for Margaret).
 */
import type { Patient } from 'fhir/r4';
import { FEMALE, INWARD_LETTERS, MALE, SURNAMES, birthDate as date, pick, postcode, prng } from '../../src/seed/uk-data';

/** The seeded PRNG (mulberry32, src/seed/uk-data.ts): the same seed gives the same population. */
export { prng, SURNAMES, FEMALE, MALE };


export interface Person {
  /** The person (shared by a duplicate record). */
  person: number;
  /** A twin's sibling (another person with the same family, birth date and postcode). */
  twinOf?: number;
  patient: Patient;
  family: string;
  given: string[];
  gender: 'male' | 'female';
  birthDate: string;
  postcode: string;
  previousFamily?: string;
}

/** Fields a near-duplicate takes from another person (drawn as usual, then replaced). */
export type PersonOverrides = Partial<Pick<Person, 'family' | 'gender' | 'birthDate' | 'postcode' | 'previousFamily'>> & { first?: string };

export function makePerson(rnd: () => number, person: number, id: string, over: PersonOverrides = {}): Person {
  let gender: 'male' | 'female' = rnd() < 0.5 ? 'female' : 'male';
  let family = pick(rnd, SURNAMES);
  if (rnd() < 0.05) family = `${family}-${pick(rnd, SURNAMES)}`;
  let first = pick(rnd, gender === 'female' ? FEMALE : MALE);
  const given = rnd() < 0.03 ? [`${first} ${pick(rnd, gender === 'female' ? FEMALE : MALE)}`] : [first];
  if (rnd() < 0.4) given.push(pick(rnd, gender === 'female' ? FEMALE : MALE));
  let birthDate = date(rnd);
  let pc = postcode(rnd);
  if (over.gender !== undefined && over.gender !== gender) {
    gender = over.gender;
    first = pick(rnd, gender === 'female' ? FEMALE : MALE);
    given.splice(0, given.length, first);
  }
  if (over.first !== undefined) given[0] = over.first;
  if (over.family !== undefined) family = over.family;
  if (over.birthDate !== undefined) birthDate = over.birthDate;
  if (over.postcode !== undefined) pc = over.postcode;
  const p: Person = { person, family, given, gender, birthDate, postcode: pc, patient: { resourceType: 'Patient' } };
  const names: NonNullable<Patient['name']> = [{ use: 'usual', family, given }];
  const address: NonNullable<Patient['address']> = [{ use: 'home', line: [`${1 + Math.floor(rnd() * 200)} ${pick(rnd, SURNAMES)} Road`], postalCode: pc }];
  if (over.previousFamily !== undefined || rnd() < 0.1) {
    p.previousFamily = over.previousFamily ?? pick(rnd, SURNAMES);
    names.push({ use: 'old', family: p.previousFamily, given, period: { end: '2005-01-01' } });
  }
  if (rnd() < 0.2) address.push({ use: 'home', postalCode: postcode(rnd), period: { end: '2010-06-01' } });
  p.patient = {
    resourceType: 'Patient',
    id,
    name: names,
    gender,
    birthDate,
    address,
    generalPractitioner: [{ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: `Y${String(10000 + Math.floor(rnd() * 9000))}` } }],
  };
  return p;
}

/** One typing error in a word (substitution, deletion, insertion or swap of two letters), never in the first two letters when avoidable. */
export function misspell(rnd: () => number, word: string): string {
  if (word.length < 4) return `${word}${word[word.length - 1] ?? 'e'}`;
  const i = 2 + Math.floor(rnd() * (word.length - 2));
  const letters = 'aeioulnrst';
  switch (Math.floor(rnd() * 4)) {
    case 0: {
      const c = pick(rnd, [...letters].filter((x) => x !== word[i]));
      return word.slice(0, i) + c + word.slice(i + 1);
    }
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    case 2:
      return word.slice(0, i) + pick(rnd, [...letters]) + word.slice(i);
    default:
      return i + 1 < word.length ? word.slice(0, i) + word[i + 1]! + word[i]! + word.slice(i + 2) : word.slice(0, i) + word.slice(i + 1);
  }
}

/** Shares of near-duplicate persons (each a different person resembling an earlier one). */
export interface PopulationOptions {
  /** Same family, birth date and postcode; another first name (not a diminutive of the sibling's). */
  twins?: number;
  /** Same family and birth date; everything else drawn. */
  sameFamilyAndBirthDate?: number;
  /** Same family and first name; another birth date within two years. */
  namesakes?: number;
  /** Share of women whose previous (maiden) family name is recorded as an `old` name. */
  maidenNames?: number;
}

const YEAR = 365.25 * 86_400_000;

function nearbyDate(rnd: () => number, d: string): string {
  const t = Date.parse(`${d}T00:00:00Z`) + (rnd() < 0.5 ? -1 : 1) * Math.floor(1 + rnd() * 2 * YEAR);
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * A population of `size` records of which about 2% are duplicates (typing variants) of earlier persons;
 * with `opts`, also near-duplicate persons (see PopulationOptions).
 */
export function makePopulation(seed: number, size: number, idOf: (i: number) => string = (i) => `t${i}`, opts: PopulationOptions = {}): Person[] {
  const rnd = prng(seed);
  const out: Person[] = [];
  const originals: Person[] = [];
  const seen = new Set<string>();
  const key = (p: Person): string => `${p.family}|${p.given[0]}|${p.birthDate}`;
  let persons = 0;
  const near = (opts.twins ?? 0) + (opts.sameFamilyAndBirthDate ?? 0) + (opts.namesakes ?? 0);
  for (let i = 0; i < size; i++) {
    if (i > 10 && rnd() < 0.02) {
      const orig = out[Math.floor(rnd() * out.length)]!;
      const dup: Person = { ...orig, family: misspell(rnd, orig.family) };
      dup.patient = { ...structuredClone(orig.patient), id: idOf(i), name: [{ use: 'usual', family: dup.family, given: orig.given }] };
      out.push(dup);
      continue;
    }
    let p: Person | undefined;
    if (near > 0 && originals.length > 10) {
      const r = rnd();
      const o = originals[Math.floor(rnd() * originals.length)]!;
      if (r < (opts.twins ?? 0)) {
        const gender = rnd() < 0.5 ? o.gender : o.gender === 'male' ? 'female' : 'male';
        for (let tries = 0; tries < 20 && p === undefined; tries++) {
          const c = makePerson(rnd, persons, idOf(i), { family: o.family, birthDate: o.birthDate, postcode: o.postcode, gender });
          if (!seen.has(key(c)) && !sameNickname(c.given[0]!, o.given[0]!)) p = { ...c, twinOf: o.person };
        }
      } else if (r < (opts.twins ?? 0) + (opts.sameFamilyAndBirthDate ?? 0)) {
        p = makePerson(rnd, persons, idOf(i), { family: o.family, birthDate: o.birthDate });
      } else if (r < near) {
        p = makePerson(rnd, persons, idOf(i), { family: o.family, first: o.given[0]!, gender: o.gender, birthDate: nearbyDate(rnd, o.birthDate) });
      }
      if (p !== undefined && seen.has(key(p))) p = undefined;
    }
    if (p === undefined) {
      p = makePerson(rnd, persons, idOf(i));
      while (seen.has(key(p))) p = makePerson(rnd, persons, idOf(i));
    }
    if (opts.maidenNames !== undefined && p.gender === 'female' && p.previousFamily === undefined && p.birthDate < '2000' && rnd() < opts.maidenNames) {
      p = withMaidenName(p, pick(rnd, SURNAMES.filter((f) => f !== p!.family)));
    }
    seen.add(key(p));
    persons++;
    out.push(p);
    originals.push(p);
  }
  return out;
}

function withMaidenName(p: Person, maiden: string): Person {
  const patient = structuredClone(p.patient);
  patient.name = [...(patient.name ?? []), { use: 'old', family: maiden, given: p.given, period: { end: '2005-01-01' } }];
  return { ...p, previousFamily: maiden, patient };
}

/**
 * Common English diminutives of the generated first names (the generator's own list, written
 * independently of the engine's table).
 */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  William: ['Bill', 'Will', 'Billy'], Margaret: ['Peggy', 'Maggie', 'Meg'], Robert: ['Bob', 'Rob', 'Bobby'], Richard: ['Dick', 'Rich', 'Ricky'],
  Thomas: ['Tom'], James: ['Jim', 'Jimmy', 'Jamie'], Elizabeth: ['Liz', 'Beth', 'Betty', 'Lizzie'], Katherine: ['Kate', 'Katie'], Catherine: ['Cathy', 'Kate'],
  Patricia: ['Pat', 'Trish'], Michael: ['Mike', 'Mick'], Christopher: ['Chris'], Alexander: ['Alex', 'Sandy'], Edward: ['Ted', 'Ed', 'Eddie'],
  Daniel: ['Dan', 'Danny'], Matthew: ['Matt'], Anthony: ['Tony'], Andrew: ['Andy', 'Drew'], Kenneth: ['Ken', 'Kenny'], Ronald: ['Ron', 'Ronnie'],
  Stephen: ['Steve'], Peter: ['Pete'], David: ['Dave', 'Davy'], Rebecca: ['Becky'], Deborah: ['Debbie', 'Debs'], Dorothy: ['Dot', 'Dolly'],
  Susan: ['Sue', 'Susie'], Amanda: ['Mandy'], Nicola: ['Nicky'], Joanne: ['Jo'], Jessica: ['Jess'], Charlotte: ['Lottie'], Florence: ['Flo'],
  Isabella: ['Bella'], Matilda: ['Tilly'], Theodore: ['Theo'], Samuel: ['Sam'], Sarah: ['Sally'], Mary: ['Molly', 'Polly'], Helen: ['Nell'],
  Geoffrey: ['Geoff'], Frederick: ['Fred'], Joshua: ['Josh'], Isaac: ['Ike'], Alfred: ['Alf'], Henry: ['Harry', 'Hal'], John: ['Jack', 'Johnny'],
};

/** Whether one name is a listed diminutive of the other, or both are of the same name. */
export function sameNickname(a: string, b: string): boolean {
  if (a === b) return true;
  for (const [formal, short] of Object.entries(NICKNAMES)) {
    const group = [formal, ...short];
    if (group.includes(a) && group.includes(b)) return true;
  }
  return false;
}

export type VariantKind =
  | 'exact' | 'misspelt-family' | 'misspelt-given' | 'swapped-names' | 'transposed-date' | 'near-miss-date' | 'postcode-typo'
  | 'hyphenated-name' | 'missing-given' | 'missing-family' | 'previous-name' | 'case-and-spacing'
  | CombinedKind;

/** Variants with two errors each. */
export type CombinedKind =
  | 'misspelt-family+transposed-date' | 'swapped-names+postcode-typo' | 'nickname+misspelt-family' | 'nickname+near-miss-date'
  | 'one-surname-part+misspelt-given' | 'maiden-name+postcode-typo' | 'misspelt-given+near-miss-date' | 'misspelt-family+misspelt-given';

/** Variants with one error each. */
export const VARIANT_KINDS: readonly VariantKind[] = [
  'exact', 'misspelt-family', 'misspelt-given', 'swapped-names', 'transposed-date', 'near-miss-date', 'postcode-typo', 'hyphenated-name', 'missing-given', 'missing-family', 'previous-name', 'case-and-spacing',
];

export const COMBINED_KINDS: readonly CombinedKind[] = [
  'misspelt-family+transposed-date', 'swapped-names+postcode-typo', 'nickname+misspelt-family', 'nickname+near-miss-date',
  'one-surname-part+misspelt-given', 'maiden-name+postcode-typo', 'misspelt-given+near-miss-date', 'misspelt-family+misspelt-given',
];

/** Whether a variant kind applies to a person as such (makeVariant falls back to a misspelling otherwise). */
export function appliesTo(kind: VariantKind, p: Person): boolean {
  if (kind.startsWith('nickname')) return NICKNAMES[p.given[0]!] !== undefined;
  if (kind.startsWith('one-surname-part')) return p.family.includes('-');
  if (kind.startsWith('maiden-name')) return p.gender === 'female' && p.previousFamily !== undefined;
  return true;
}

export interface Variant {
  kind: VariantKind;
  person: number;
  family?: string;
  given: string[];
  birthDate: string;
  gender: string;
  postcode?: string;
  /** The query asks for previous names (`_history`). */
  history?: boolean;
}

function swapDayMonth(d: string): string {
  const [y, m, day] = d.split('-') as [string, string, string];
  if (Number(day) <= 12 && day !== m) return `${y}-${day}-${m}`;
  // Not swappable: transpose the two digits of the day when that is a valid, different day.
  const t = `${day[1]}${day[0]}`;
  return Number(t) >= 1 && Number(t) <= 28 && t !== day ? `${y}-${m}-${t}` : `${y}-${m}-${String(Number(day) - 1).padStart(2, '0')}`;
}

function nearMiss(rnd: () => number, d: string): string {
  const t = Date.parse(`${d}T00:00:00Z`) + (rnd() < 0.5 ? -1 : 1) * 86_400_000;
  const shifted = new Date(t).toISOString().slice(0, 10);
  if (rnd() < 0.3) {
    const y = Number(d.slice(0, 4)) + (rnd() < 0.5 ? -1 : 1);
    return `${y}${d.slice(4)}`;
  }
  return shifted;
}

function postcodeTypo(rnd: () => number, pc: string): string {
  const compact = pc.replace(' ', '');
  const i = compact.length - 1 - Math.floor(rnd() * 3);
  const c = compact[i]!;
  const repl = /\d/.test(c) ? String((Number(c) + 1) % 10) : INWARD_LETTERS[(INWARD_LETTERS.indexOf(c) + 1) % INWARD_LETTERS.length]!;
  const typo = compact.slice(0, i) + repl + compact.slice(i + 1);
  return `${typo.slice(0, -3)} ${typo.slice(-3)}`;
}

/** The variant of a person of the given kind (falls back to a misspelling when the kind does not apply). */
export function makeVariant(rnd: () => number, p: Person, kind: VariantKind): Variant {
  const v: Variant = { kind, person: p.person, family: p.family, given: [p.given[0]!], birthDate: p.birthDate, gender: p.gender, postcode: p.postcode };
  switch (kind) {
    case 'exact':
      break;
    case 'misspelt-family':
      v.family = misspell(rnd, p.family);
      break;
    case 'misspelt-given':
      v.given = [misspell(rnd, p.given[0]!)];
      break;
    case 'swapped-names':
      v.family = p.given[0]!;
      v.given = [p.family];
      break;
    case 'transposed-date':
      v.birthDate = swapDayMonth(p.birthDate);
      break;
    case 'near-miss-date':
      v.birthDate = nearMiss(rnd, p.birthDate);
      break;
    case 'postcode-typo':
      v.postcode = postcodeTypo(rnd, p.postcode);
      v.given = [];
      break;
    case 'hyphenated-name':
      if (p.family.includes('-')) v.family = p.family.split('-')[rnd() < 0.5 ? 0 : 1]!;
      else v.family = `${p.family}-${pick(rnd, SURNAMES)}`;
      break;
    case 'missing-given':
      v.given = [];
      break;
    case 'missing-family':
      delete v.family;
      break;
    case 'previous-name':
      v.history = true;
      if (p.previousFamily) v.family = p.previousFamily;
      else v.family = misspell(rnd, p.family);
      break;
    case 'misspelt-family+transposed-date':
      v.family = misspell(rnd, p.family);
      v.birthDate = swapDayMonth(p.birthDate);
      break;
    case 'swapped-names+postcode-typo':
      v.family = p.given[0]!;
      v.given = [p.family];
      v.postcode = postcodeTypo(rnd, p.postcode);
      break;
    case 'nickname+misspelt-family':
      v.given = [pick(rnd, NICKNAMES[p.given[0]!] ?? [misspell(rnd, p.given[0]!)])];
      v.family = misspell(rnd, p.family);
      break;
    case 'nickname+near-miss-date':
      v.given = [pick(rnd, NICKNAMES[p.given[0]!] ?? [misspell(rnd, p.given[0]!)])];
      v.birthDate = nearMiss(rnd, p.birthDate);
      break;
    case 'one-surname-part+misspelt-given':
      v.family = p.family.includes('-') ? p.family.split('-')[rnd() < 0.5 ? 0 : 1]! : misspell(rnd, p.family);
      v.given = [misspell(rnd, p.given[0]!)];
      break;
    case 'maiden-name+postcode-typo':
      v.family = p.previousFamily ?? misspell(rnd, p.family);
      v.postcode = postcodeTypo(rnd, p.postcode);
      v.history = true;
      break;
    case 'misspelt-given+near-miss-date':
      v.given = [misspell(rnd, p.given[0]!)];
      v.birthDate = nearMiss(rnd, p.birthDate);
      break;
    case 'misspelt-family+misspelt-given':
      v.family = misspell(rnd, p.family);
      v.given = [misspell(rnd, p.given[0]!)];
      break;
    case 'case-and-spacing':
      v.family = `  ${p.family.toUpperCase()} `;
      v.given = [p.given[0]!.toLowerCase()];
      v.postcode = p.postcode.replace(' ', '').toLowerCase();
      break;
  }
  return v;
}
