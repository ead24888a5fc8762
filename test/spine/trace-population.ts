/**
 * A seeded synthetic UK population for trace quality tests and the spine benchmark (PDS FHIR API
 * "Search for a patient"): realistic UK family and given names (with hyphenated and compound names,
 * previous names), birth dates from 1930 to 2020, UK-shaped postcodes (with previous addresses),
 * GP ODS codes, and known duplicate records (the same person recorded twice with a typing error).
 * No two different persons share family, first given name and birth date. Also the typing variants of
 * a person used as trace queries: misspellings, swapped names, transposed or near-miss birth dates,
 * postcode typos, hyphenated names, missing fields, previous names, case and spacing noise.
 */
import type { Patient } from 'fhir/r4';

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

export const SURNAMES = [
  'Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson', 'Thomas', 'Johnson', 'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker', 'White',
  'Edwards', 'Hughes', 'Green', 'Hall', 'Lewis', 'Harris', 'Clarke', 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill', 'Ward', 'Morris', 'Moore', 'Clark',
  'Lee', 'King', 'Baker', 'Harrison', 'Morgan', 'Allen', 'James', 'Scott', 'Phillips', 'Watson', 'Davis', 'Parker', 'Price', 'Bennett', 'Young', 'Griffiths', 'Mitchell',
  'Kelly', 'Cook', 'Carter', 'Richardson', 'Bailey', 'Collins', 'Bell', 'Shaw', 'Murphy', 'Miller', 'Cox', 'Richards', 'Khan', 'Marshall', 'Anderson', 'Simpson', 'Ellis',
  'Adams', 'Singh', 'Begum', 'Wilkinson', 'Foster', 'Chapman', 'Powell', 'Webb', 'Rogers', 'Gray', 'Mason', 'Ali', 'Hunt', 'Hussain', 'Campbell', 'Matthews', 'Owen',
  'Palmer', 'Holmes', 'Mills', 'Barnes', 'Knight', 'Lloyd', 'Butler', 'Russell', 'Barker', 'Fisher', 'Stevens', 'Jenkins', 'Murray', 'Dixon', 'Harvey', 'Graham', 'Pearson',
  'Ahmed', 'Fletcher', 'Walsh', 'Kaur', 'Gibson', 'Howard', 'Andrews', 'Stewart', 'Elliott', 'Reynolds', 'Saunders', 'Payne', 'Fox', 'Ford', 'Pearce', 'Day', 'Brooks',
  'West', 'Lawrence', 'Cole', 'Atkinson', "O'Brien", "O'Neill", 'MacDonald', 'McCarthy', 'Nowak', 'Kowalski', 'Okafor', 'Nguyen', 'Garton', 'Godsoe', 'Attison', 'Massam',
];
export const FEMALE = [
  'Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Isabella', 'Rosie', 'Sophia', 'Grace', 'Freya', 'Willow', 'Florence', 'Emily', 'Ella', 'Poppy', 'Evie', 'Elsie',
  'Charlotte', 'Evelyn', 'Sienna', 'Sofia', 'Daisy', 'Phoebe', 'Alice', 'Harper', 'Ruby', 'Matilda', 'Sarah', 'Emma', 'Jessica', 'Hannah', 'Laura', 'Rebecca', 'Rachel',
  'Claire', 'Helen', 'Karen', 'Susan', 'Margaret', 'Patricia', 'Elizabeth', 'Mary', 'Jane', 'Anne', 'Catherine', 'Katherine', 'Joanne', 'Nicola', 'Michelle', 'Louise',
  'Amanda', 'Julie', 'Deborah', 'Tracey', 'Dorothy', 'Joan', 'Jean', 'Sheila', 'Pauline', 'Martha', 'Kathy', 'Jackie', 'Jayne', 'Fatima', 'Aisha', 'Priya', 'Zoë', 'Chloé',
];
export const MALE = [
  'Oliver', 'George', 'Noah', 'Arthur', 'Harry', 'Leo', 'Muhammad', 'Jack', 'Charlie', 'Oscar', 'Jacob', 'Henry', 'Thomas', 'Freddie', 'Alfie', 'Theo', 'William', 'Theodore',
  'Archie', 'Joshua', 'Alexander', 'James', 'Isaac', 'Edward', 'Lucas', 'Tommy', 'Finley', 'Max', 'Logan', 'Ethan', 'David', 'John', 'Michael', 'Paul', 'Andrew', 'Mark',
  'Richard', 'Peter', 'Stephen', 'Robert', 'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Kevin', 'Gary', 'Ian', 'Simon', 'Brian', 'Kenneth', 'Ronald', 'Geoffrey',
  'Bill', 'Rodney', 'Carl', 'Adam', 'Ahmed', 'Raj', 'Tomasz', 'Chidi', 'Sean', 'Liam', 'Connor', 'Dylan', 'Rhys', 'Gareth', 'Owain', 'Hamish', 'Callum', 'Ewan',
];
const AREAS = ['LS', 'M', 'B', 'SW', 'E', 'N', 'NW', 'SE', 'BS', 'CF', 'EH', 'G', 'L', 'S', 'NE', 'OX', 'CB', 'YO', 'HU', 'NG', 'LE', 'CV', 'PL', 'EX', 'BN', 'RG', 'SO', 'PO', 'DE', 'ST'];
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

export interface Person {
  /** The person (shared by a duplicate record). */
  person: number;
  patient: Patient;
  family: string;
  given: string[];
  gender: 'male' | 'female';
  birthDate: string;
  postcode: string;
  previousFamily?: string;
}

function postcode(rnd: () => number): string {
  const area = pick(rnd, AREAS);
  const district = 1 + Math.floor(rnd() * 20);
  return `${area}${district} ${Math.floor(rnd() * 10)}${pick(rnd, [...INWARD_LETTERS])}${pick(rnd, [...INWARD_LETTERS])}`;
}

function date(rnd: () => number): string {
  const t = Date.UTC(1930, 0, 1) + Math.floor(rnd() * (Date.UTC(2020, 11, 31) - Date.UTC(1930, 0, 1)));
  return new Date(t).toISOString().slice(0, 10);
}

export function makePerson(rnd: () => number, person: number, id: string): Person {
  const gender = rnd() < 0.5 ? 'female' : 'male';
  let family = pick(rnd, SURNAMES);
  if (rnd() < 0.05) family = `${family}-${pick(rnd, SURNAMES)}`;
  const first = pick(rnd, gender === 'female' ? FEMALE : MALE);
  const given = rnd() < 0.03 ? [`${first} ${pick(rnd, gender === 'female' ? FEMALE : MALE)}`] : [first];
  if (rnd() < 0.4) given.push(pick(rnd, gender === 'female' ? FEMALE : MALE));
  const birthDate = date(rnd);
  const pc = postcode(rnd);
  const p: Person = { person, family, given, gender, birthDate, postcode: pc, patient: { resourceType: 'Patient' } };
  const names: NonNullable<Patient['name']> = [{ use: 'usual', family, given }];
  const address: NonNullable<Patient['address']> = [{ use: 'home', line: [`${1 + Math.floor(rnd() * 200)} ${pick(rnd, SURNAMES)} Road`], postalCode: pc }];
  if (rnd() < 0.1) {
    p.previousFamily = pick(rnd, SURNAMES);
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

/** A population of `size` records of which about 2% are duplicates (typing variants) of earlier persons. */
export function makePopulation(seed: number, size: number, idOf: (i: number) => string = (i) => `t${i}`): Person[] {
  const rnd = prng(seed);
  const out: Person[] = [];
  const seen = new Set<string>();
  let persons = 0;
  for (let i = 0; i < size; i++) {
    if (i > 10 && rnd() < 0.02) {
      const orig = out[Math.floor(rnd() * out.length)]!;
      const dup: Person = { ...orig, family: misspell(rnd, orig.family) };
      dup.patient = { ...structuredClone(orig.patient), id: idOf(i), name: [{ use: 'usual', family: dup.family, given: orig.given }] };
      out.push(dup);
      continue;
    }
    let p = makePerson(rnd, persons, idOf(i));
    while (seen.has(`${p.family}|${p.given[0]}|${p.birthDate}`)) p = makePerson(rnd, persons, idOf(i));
    seen.add(`${p.family}|${p.given[0]}|${p.birthDate}`);
    persons++;
    out.push(p);
  }
  return out;
}

export type VariantKind =
  | 'exact' | 'misspelt-family' | 'misspelt-given' | 'swapped-names' | 'transposed-date' | 'near-miss-date' | 'postcode-typo'
  | 'hyphenated-name' | 'missing-given' | 'missing-family' | 'previous-name' | 'case-and-spacing';

export const VARIANT_KINDS: readonly VariantKind[] = [
  'exact', 'misspelt-family', 'misspelt-given', 'swapped-names', 'transposed-date', 'near-miss-date', 'postcode-typo', 'hyphenated-name', 'missing-given', 'missing-family', 'previous-name', 'case-and-spacing',
];

export interface Variant {
  kind: VariantKind;
  person: number;
  family?: string;
  given: string[];
  birthDate: string;
  gender: string;
  postcode?: string;
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
      if (p.previousFamily) v.family = p.previousFamily;
      else v.family = misspell(rnd, p.family);
      break;
    case 'case-and-spacing':
      v.family = `  ${p.family.toUpperCase()} `;
      v.given = [p.given[0]!.toLowerCase()];
      v.postcode = p.postcode.replace(' ', '').toLowerCase();
      break;
  }
  return v;
}
