/**
 * Benchmark workload: realistic Patient resources (FHIR R4 patient.html), about 2-3 KB of JSON each,
 * built from one template with varied names, identifiers, addresses and contacts. Generation is
 * deterministic (seeded PRNG) so every run sends the same bytes to every target.
 */
import type { Patient } from 'fhir/r4';
import { prng } from '../src/seed/uk-data';

const FAMILIES = ['Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson', 'Thomas', 'Johnson', 'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker', 'White', 'Edwards', 'Hughes', 'Green', 'Hall', 'Lewis', 'Harris', 'Clarke', 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill', 'Ward', 'Morris', 'Moore', 'Clark', 'Lee', 'King', 'Baker', 'Harrison', 'Morgan', 'Allen', "O'Brien", 'Müller', 'Nowak', 'Okafor', 'Nguyen', 'Khan', 'Ali', 'Singh'];
const GIVEN_F = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Grace', 'Sophia', 'Lily', 'Freya', 'Emily', 'Ivy', 'Ella', 'Rosie', 'Evie', 'Florence', 'Poppy', 'Charlotte', 'Willow', 'Zoë', 'Aisha'];
const GIVEN_M = ['Oliver', 'George', 'Arthur', 'Noah', 'Muhammad', 'Leo', 'Oscar', 'Harry', 'Archie', 'Jack', 'Henry', 'Charlie', 'Freddie', 'Theo', 'Thomas', 'Finley', 'Alfie', 'Teddy', 'Jacob', 'Seán'];
const STREETS = ['High Street', 'Station Road', 'Main Street', 'Park Road', 'Church Road', 'Church Street', 'London Road', 'Victoria Road', 'Green Lane', 'Manor Road', 'Church Lane', 'Park Avenue', 'The Avenue', 'The Crescent', 'Queens Road', 'New Road'];
const TOWNS: ReadonlyArray<readonly [string, string, string]> = [
  ['Leeds', 'West Yorkshire', 'LS1'],
  ['Manchester', 'Greater Manchester', 'M1'],
  ['Bristol', 'City of Bristol', 'BS1'],
  ['Exeter', 'Devon', 'EX1'],
  ['Norwich', 'Norfolk', 'NR1'],
  ['York', 'North Yorkshire', 'YO1'],
  ['Carlisle', 'Cumbria', 'CA1'],
  ['Reading', 'Berkshire', 'RG1'],
];

const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';

/** The seeded PRNG (mulberry32) of the synthetic data generator: the same seed gives the same sequence on every run. */
export { prng };

function pick<T>(rnd: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function digits(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(rnd() * 10));
  return s;
}

/** A syntactically valid NHS Number (modulus 11 check digit) derived from the PRNG. */
export function nhsNumber(rnd: () => number): string {
  for (;;) {
    const body = digits(rnd, 9);
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(body[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return body + String(check === 11 ? 0 : check);
  }
}

/** The n-th Patient of the workload (no `id`, no `meta`): about 2.5 KB of JSON. */
export function makePatient(n: number, variant = 0): Patient {
  const rnd = prng(n * 7919 + variant * 104729 + 1);
  const female = rnd() < 0.5;
  const family = pick(rnd, FAMILIES);
  const given = [pick(rnd, female ? GIVEN_F : GIVEN_M), pick(rnd, female ? GIVEN_F : GIVEN_M)];
  const [town, district, outward] = pick(rnd, TOWNS);
  const postalCode = `${outward} ${1 + Math.floor(rnd() * 9)}${String.fromCharCode(65 + Math.floor(rnd() * 26))}${String.fromCharCode(65 + Math.floor(rnd() * 26))}`;
  const year = 1930 + Math.floor(rnd() * 90);
  const month = String(1 + Math.floor(rnd() * 12)).padStart(2, '0');
  const day = String(1 + Math.floor(rnd() * 28)).padStart(2, '0');
  const house = 1 + Math.floor(rnd() * 200);
  const street = pick(rnd, STREETS);
  const phone = `0${digits(rnd, 4)} ${digits(rnd, 6)}`;
  const mobile = `07${digits(rnd, 3)} ${digits(rnd, 6)}`;
  const ods = `${String.fromCharCode(65 + Math.floor(rnd() * 26))}${digits(rnd, 5)}`;
  const contactGiven = pick(rnd, rnd() < 0.5 ? GIVEN_F : GIVEN_M);
  const nhs = nhsNumber(rnd);
  return {
    resourceType: 'Patient',
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${given.join(' ')} ${family.toUpperCase()}, born ${year}-${month}-${day}, NHS Number ${nhs}</p></div>`,
    },
    identifier: [
      { use: 'official', system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs },
      {
        use: 'secondary',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] },
        system: `https://fhir.example.org/Id/local-mrn/${ods}`,
        value: `MRN${digits(rnd, 8)}`,
      },
    ],
    active: true,
    name: [
      { use: 'official', family, given, prefix: [female ? 'Ms' : 'Mr'], period: { start: `${year}-${month}-${day}` } },
      { use: 'usual', given: [given[0] ?? 'Sam'] },
    ],
    telecom: [
      { system: 'phone', value: phone, use: 'home', rank: 2 },
      { system: 'phone', value: mobile, use: 'mobile', rank: 1 },
      { system: 'email', value: `${(given[0] ?? 'x').toLowerCase()}.${family.toLowerCase().replace(/[^a-z]/g, '')}${digits(rnd, 3)}@example.org`, use: 'home' },
    ],
    gender: female ? 'female' : 'male',
    birthDate: `${year}-${month}-${day}`,
    deceasedBoolean: false,
    address: [
      {
        use: 'home',
        type: 'both',
        text: `${house} ${street}, ${town}, ${postalCode}`,
        line: [`${house} ${street}`],
        city: town,
        district,
        postalCode,
        country: 'GB',
        period: { start: `${2000 + Math.floor(rnd() * 20)}-01-01` },
      },
      {
        use: 'old',
        line: [`Flat ${1 + Math.floor(rnd() * 30)}`, `${1 + Math.floor(rnd() * 200)} ${pick(rnd, STREETS)}`],
        city: town,
        postalCode,
        country: 'GB',
        period: { start: '1995-06-01', end: '1999-12-31' },
      },
    ],
    maritalStatus: { coding: [rnd() < 0.5 ? { system: MARITAL, code: 'M', display: 'Married' } : { system: MARITAL, code: 'S', display: 'Never Married' }] },
    multipleBirthBoolean: false,
    contact: [
      {
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N', display: 'Next-of-Kin' }] }],
        name: { use: 'usual', family, given: [contactGiven] },
        telecom: [{ system: 'phone', value: `07${digits(rnd, 3)} ${digits(rnd, 6)}`, use: 'mobile' }],
        address: { use: 'home', line: [`${house} ${street}`], city: town, postalCode, country: 'GB' },
        gender: rnd() < 0.5 ? 'female' : 'male',
      },
    ],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-GB', display: 'English (United Kingdom)' }] }, preferred: true }],
    generalPractitioner: [{ identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods }, display: `${town} Medical Practice` }],
    managingOrganization: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods }, display: `${town} Medical Practice` },
  };
}
