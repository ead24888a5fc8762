/**
 * The PDS search scenarios replayed against the façade: every row of the sandbox table of
 * components/paths/patient-search.yaml, and the searches the PDS sandbox/karate mock answers with the
 * searchResponses/*_searchset.json stubs (the query each stub answers, as the PDS repository's
 * karate mock `get-patient-search.js` pairs them). `expect` is the stub (ids, order, scores, element
 * names compared), an empty searchset, TOO_MANY_MATCHES or an error; `differs` says why the façade
 * cannot give the stub's answer (the sandbox is a mock answering fixed stubs, not a trace).
 */
import type { Patient } from 'fhir/r4';
import { checkDigit } from '../../../src/spine/nhs-number';

export type Expect = { stub: string } | { empty: true } | { tooMany: true } | { error: [number, string, string?] } | { ids: string[] };

export interface Scenario {
  name: string;
  query: string;
  expect: Expect;
  /** Why the façade's answer differs from the stub (the test then checks `instead`). */
  differs?: string;
  instead?: Expect;
}

const CONTACT_PHONE = "PDS also returns 5069635395, whose phone 01234123123 is only its emergency contact's (contact.telecom); the trace compares the patient's own telecom";
const ELEVEN_BUT_ONE = ['5502481484', '5667541432', '5689174815', '5900021459', '5900026086', '5900026191', '5900030741', '5900031160', '5900034372', '5900036863'];
const jane = 'family=Smith&gender=female&birthdate=eq2010-10-22';
const sam = 'family=Smith&gender=male&birthdate=eq2000-05-05';

export const SCENARIOS: Scenario[] = [
  // patient-search.yaml "Sandbox testing" table
  { name: 'table: basic search with phone & email positive', query: `${jane}&email=jane.smith@example.com&phone=01632960587`, expect: { ids: ['9000000009'] } },
  { name: 'table: basic search with phone & email negative', query: `${jane}&email=deb.trotter@example.com&phone=0121111111`, expect: { empty: true } },
  { name: 'table: wildcard search without phone/email (two results)', query: 'family=Sm*&gender=female&birthdate=eq2010-10-22', expect: { ids: ['9000000009', '9000000017'] } },
  { name: 'table: wildcard search with email and phone', query: 'family=Sm*&gender=female&birthdate=eq2010-10-22&email=jane.smith@example.com&phone=01632960587', expect: { ids: ['9000000009'] } },
  { name: 'table: search with limited results', query: 'family=Sm*&gender=female&birthdate=eq2010-10-22&email=jane.smith@example.com&phone=01632960587&_max-results=1', expect: { ids: ['9000000009'] } },
  { name: 'table: search with date range', query: 'family=Smith&gender=female&birthdate=ge2010-10-21&birthdate=le2010-10-23&email=jane.smith@example.com&phone=01632960587', expect: { ids: ['9000000009'] } },
  { name: 'table: fuzzy search with phone and email', query: `${jane}&given=Jane&email=jane.smith@example.com&phone=01632960587&_fuzzy-match=true`, expect: { ids: ['9000000009'] } },
  {
    name: 'table: fuzzy search without phone or email',
    query: `${jane}&given=Jane&_fuzzy-match=true`,
    expect: { ids: ['9000000017'] },
    differs: 'the sandbox answers a fixed stub (Jayne Smyth only); a trace finds Jane Smith exactly (1.0) and Jayne Smyth as a homophone',
    instead: { ids: ['9000000009', '9000000017'] },
  },
  { name: 'table: restricted patient search (restricted data omitted)', query: 'family=Smythe&given=Janet&gender=female&birthdate=eq2005-06-16&email=janet.smythe@example.com&phone=01632960587', expect: { stub: 'Sensitive_PatientSearch.json' } },
  { name: 'a restricted record is not returned to a search by postcode', query: 'family=Smythe&given=Janet&birthdate=eq2005-06-16&address-postalcode=LS1 6AE', expect: { empty: true } },
  {
    name: 'table: compound name search',
    query: 'family=Smith&given=John Paul&given=James&gender=male&birthdate=eq2010-10-22&email=johnp.smith@example.com&phone=01632960587',
    expect: { stub: 'john_paul_smith_searchset.json' },
    differs: "the stub's record 9000000015 is not a valid NHS Number (check digit), so the server (PATIENT_ID_POLICY=nhs-number) refuses to store it; it also has no middle name James",
    instead: { empty: true },
  },
  { name: 'table: unsuccessful search', query: 'family=Nobody&birthdate=eq1901-01-01', expect: { empty: true } },
  { name: 'table: valid/invalid search criteria', query: 'family=Sm*&gender=female&invalidParam=123&birthdate=eq2010-10-22&email=j.smith@example.com&phone=0163', expect: { error: [400, 'ADDITIONAL_PROPERTIES', "Invalid request with error - Additional properties are not allowed ('invalidParam' was unexpected)"] } },
  { name: 'table: unsuccessful search on email/phone only', query: 'email=j.smith@example.com&phone=0163', expect: { error: [400, 'MISSING_VALUE', "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'"] } },
  { name: 'table: invalid date format (birthdate)', query: 'family=Smith&birthdate=22-10-2010', expect: { error: [400, 'INVALID_VALUE', "Invalid value - '22-10-2010' in field 'birthdate'"] } },
  { name: 'table: invalid date format (death-date)', query: 'family=Smith&birthdate=eq2010-10-22&death-date=2010/10/22', expect: { error: [400, 'INVALID_VALUE', "Invalid value - '2010/10/22' in field 'death-date'"] } },
  { name: 'table: too few search parameters', query: 'birthdate=eq2010-10-22&gender=female', expect: { error: [400, 'INVALID_SEARCH_DATA', "Invalid search data provided - 'No searches were performed as the search criteria did not meet the minimum requirements'"] } },
  // patient-search.yaml 4XX table and the karate mock's checks
  { name: 'no search parameters: UNSUPPORTED_SERVICE', query: '', expect: { error: [400, 'UNSUPPORTED_SERVICE'] } },
  { name: "invalid gender: INVALID_VALUE \"Invalid value - 'mal' in field 'gender'\"", query: 'family=Smith&birthdate=eq2010-10-22&gender=mal', expect: { error: [400, 'INVALID_VALUE', "Invalid value - 'mal' in field 'gender'"] } },
  { name: 'three unknown parameters: ADDITIONAL_PROPERTIES naming them', query: 'family=Smith&birthdate=eq2010-10-22&model=x&manufacturer=y&year=z', expect: { error: [400, 'ADDITIONAL_PROPERTIES', "Invalid request with error - Additional properties are not allowed ('model', 'manufacturer', 'year' were unexpected)"] } },
  { name: 'a fuzzy search with a wildcard: INVALID_SEARCH_DATA', query: 'family=Smi*&given=Jane&birthdate=eq2010-10-22&_fuzzy-match=true', expect: { error: [400, 'INVALID_SEARCH_DATA'] } },
  { name: 'Sm* with _max-results=1: TOO_MANY_MATCHES', query: 'family=Sm*&gender=female&birthdate=eq2010-10-22&_max-results=1', expect: { tooMany: true } },
  // karate mock stubs (searchResponses/*_searchset.json)
  { name: 'fuzzy: a previous name (Joe Blogs) finds Bill Garton', query: 'family=Blogs&given=Joe&birthdate=1955-11-05&_fuzzy-match=true', expect: { stub: 'bill_garton_searchset.json' } },
  { name: 'fuzzy: accents (ATTSÖN PÀULINÉ) find both Pauline Attisons, best first', query: 'family=ATTSÖN&given=PÀULINÉ&birthdate=1960-07-14&_fuzzy-match=true', expect: { stub: 'pauline_attison_searchset.json' } },
  { name: 'fuzzy: phone and email filter exactly', query: `${sam}&given=Sam&phone=01222111111&email=test@test.com&_fuzzy-match=true`, expect: { stub: 'fuzzy_single_searchset.json' } },
  { name: 'fuzzy: Smythe Mat, male, DN17 4AA, born from 2000-05-03: the Smiths', query: 'family=Smythe&given=Mat&birthdate=ge2000-05-03&gender=male&address-postalcode=DN17 4AA&_fuzzy-match=true', expect: { stub: 'fuzzy_multimatch_searchset.json' } },
  { name: 'fuzzy: MED Casey 1999-09-09 (historic data)', query: 'family=MED&given=Casey&birthdate=1999-09-09&_fuzzy-match=true', expect: { stub: 'med_rowenad_searchset.json' } },
  { name: 'fuzzy: HUME Casey 1999-09-09 (a previous name)', query: 'family=HUME&given=Casey&birthdate=1999-09-09&_fuzzy-match=true', expect: { stub: 'med_rowenad_searchset.json' } },
  { name: 'fuzzy: MED Casey 2024-01-12: none', query: 'family=MED&given=Casey&birthdate=2024-01-12&_fuzzy-match=true', expect: { empty: true } },
  { name: 'fuzzy: LEEKE Horace DN16: none', query: 'family=LEEKE&given=Horace&birthdate=1956-05-02&address-postalcode=DN16&_fuzzy-match=true', expect: { empty: true } },
  { name: '_history: a previous email', query: `${sam}&email=Historic@historic.com&_history=true`, expect: { stub: 'historic_email_searchset.json' } },
  { name: 'a previous email is not searched without _history', query: `${sam}&email=Historic@historic.com`, expect: { empty: true } },
  { name: '_history: HUME 1999-09-09 (a previous name)', query: 'family=HUME&birthdate=1999-09-09&_history=true', expect: { stub: 'med_rowenad_searchset.json' } },
  { name: '_history: MED 2024-01-12: none', query: 'family=MED&birthdate=2024-01-12&_history=true', expect: { empty: true } },
  { name: 'given names Sam Bob', query: `${sam}&given=Sam&given=Bob`, expect: { stub: 'other_givenName.json' } },
  { name: 'phone and email: eleven Smiths', query: `${sam}&phone=01234123123&email=test@test.com`, expect: { stub: 'multimatch_phoneAndEmail_searchset.json' }, differs: CONTACT_PHONE, instead: { ids: ELEVEN_BUT_ONE } },
  { name: 'Sm* with phone and email: eleven Smiths', query: 'family=Sm*&gender=male&birthdate=eq2000-05-05&phone=01234123123&email=test@test.com', expect: { stub: 'multimatch_phoneAndEmail_searchset.json' }, differs: CONTACT_PHONE, instead: { ids: ELEVEN_BUT_ONE } },
  { name: 'phone with a country code', query: 'family=Muir&gender=male&birthdate=eq2017-09-06&phone=00917855986859', expect: { stub: 'countrycode_mobile_searchset.json' } },
  { name: 'postcode wildcard DN17*', query: `${sam}&address-postalcode=DN17*`, expect: { stub: 'postalcode_wildcard_searchset.json' } },
  { name: 'general practitioner A20047 and Me*', query: 'family=Me*&birthdate=eq2015-10-22&general-practitioner=A20047', expect: { stub: 'general_practitioner_searchset.json' } },
  { name: 'death date range', query: 'family=TUNNEY&birthdate=ge1980-01-01&death-date=le2019-02-28', expect: { stub: 'dateOfDeath_searchset.json' } },
  { name: 'superseded record: its survivor is returned', query: 'family=CUFF&gender=female&birthdate=eq1926-01-07', expect: { stub: 'cuff_superseded_searchset.json' } },
  { name: 'McMatch-Single', query: 'family=McMatch-Single&address-postalcode=BAP 4WG&birthdate=1954-10-26&gender=male', expect: { stub: 'mock_single_searchset.json' } },
  { name: 'McMatch-Multiple', query: 'family=McMatch-Multiple&address-postalcode=DN19 7UD&birthdate=1997-08-20', expect: { stub: 'mock_multiple_searchset.json' } },
  { name: 'Jones, male, born from 1992', query: 'family=Jones&gender=male&birthdate=ge1992-01-01', expect: { stub: 'jackie_jones_searchset.json' } },
  { name: 'Godsoe (a restricted record)', query: 'family=Godsoe&gender=male&birthdate=eq1936-02-24', expect: { stub: 'rodney_godsoe_searchset.json' } },
  { name: 'Massam eq1920-08-11', query: 'family=Massam&birthdate=eq1920-08-11', expect: { stub: 'martha_massam_searchset.json' } },
  { name: 'Massam le1920-08-11', query: 'family=Massam&birthdate=le1920-08-11', expect: { stub: 'martha_massam_searchset.json' } },
  { name: 'YOUDS: four records', query: 'family=YOUDS&birthdate=eq1970-01-24', expect: { stub: 'youds_searchset.json' } },
  { name: 'YOUDS with _max-results=1: TOO_MANY_MATCHES', query: 'family=YOUDS&birthdate=eq1970-01-24&_max-results=1', expect: { tooMany: true } },
  { name: 'KNAPP Kathy, exact match', query: 'family=KNAPP&given=Kathy&gender=female&birthdate=eq1943-07-03&_exact-match=true', expect: { stub: 'knap_kathy_exact_match.json' } },
];

function nhs(first9: string): string {
  return `${first9}${checkDigit(first9)}`;
}

/** The superseded record of the CUFF scenario (its survivor is the stub's 9732019395). */
export const CUFF_SUPERSEDED = nhs('973201938');

/** What the scenarios imply about the stub records beyond their search view (previous names, emails), and the superseded CUFF record. */
export function enrich(p: Patient): Patient {
  const old = (family: string, given: string) => ({ use: 'old' as const, family, given: [given] });
  switch (p.id) {
    case '9693632109':
      return { ...p, name: [...(p.name ?? []), old('Blogs', 'Joe')] };
    case '9733162450':
      return { ...p, name: [...(p.name ?? []), old('HUME', 'Casey')] };
    case '5900020584':
      return { ...p, telecom: [...(p.telecom ?? []), { system: 'email', value: 'Historic@historic.com', use: 'old' }] };
    default:
      return p;
  }
}

export function supersededCuff(): Patient {
  return {
    resourceType: 'Patient',
    id: CUFF_SUPERSEDED,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: CUFF_SUPERSEDED }],
    name: [{ use: 'usual', family: 'CUFF', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1926-01-07',
    link: [{ other: { reference: 'Patient/9732019395' }, type: 'replaced-by' }],
  };
}
