/**
 * Normalisation of demographic values for tracing (PDS FHIR API, "Search for a patient": family and
 * given names and postcodes are "not case sensitive", postcode "spaces are ignored"; FHIR R4
 * HumanName and Address datatypes, https://hl7.org/fhir/R4/datatypes.html#HumanName).
 *
 * - `foldText`: Unicode compatibility decomposition, accents removed, lower case, apostrophes
 *   dropped (O'Brien -> obrien), every other punctuation character a space, spaces collapsed.
 * - `nameParts`: the words of a (possibly hyphenated or compound) name: `Smith-Jones` -> smith, jones.
 * - `compactName`: the folded name without separators (`Smith-Jones` and `Smith Jones` -> smithjones).
 * - `normalisePostcode`: upper case without spaces or punctuation; `outwardCode` its outward part
 *   (a UK postcode's inward code is always the last three characters: digit letter letter).
 * - `normalisePhone`: digits only, an international +44 / 0044 prefix turned into the national 0.
 * - `normaliseEmail`: trimmed and lower case.
 */

const APOSTROPHES = /['\u2018\u2019\u02bc`]/g;
const COMBINING = /[\u0300-\u036f]/g;

/** Case, accent and punctuation folding (see the module header). */
export function foldText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(COMBINING, '')
    .replace(/ß/g, 'ss')
    .replace(/æ/gi, 'ae')
    .replace(/ø/gi, 'o')
    .replace(/ł/gi, 'l')
    .toLowerCase()
    .replace(APOSTROPHES, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** The words of a name after folding: hyphenated and compound names are split. */
export function nameParts(s: string): string[] {
  const f = foldText(s);
  return f === '' ? [] : f.split(' ');
}

/** The folded name with no separators. */
export function compactName(s: string): string {
  return foldText(s).replace(/ /g, '');
}

/** Upper case, no spaces or punctuation. */
export function normalisePostcode(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** The outward code of a normalised postcode (all but the 3-character inward code); the whole value when too short. */
export function outwardCode(normalised: string): string {
  return normalised.length >= 5 ? normalised.slice(0, -3) : normalised;
}

/** Digits only; +44 / 0044 become the national trunk prefix 0. */
export function normalisePhone(s: string): string {
  let d = s.replace(/[^0-9+]/g, '');
  if (d.startsWith('+44')) d = `0${d.slice(3)}`;
  else if (d.startsWith('0044')) d = `0${d.slice(4)}`;
  return d.replace(/\+/g, '');
}

export function normaliseEmail(s: string): string {
  return s.trim().toLowerCase();
}

/** Levenshtein edit distance (insert, delete, substitute; each 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Jaro-Winkler similarity in 0..1 (1 for equal strings, prefix scale 0.1 over up to 4 characters). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const aMatch = new Array<boolean>(a.length).fill(false);
  const bMatch = new Array<boolean>(b.length).fill(false);
  let matches = 0;
  for (let i = 0; i < a.length; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(b.length - 1, i + window);
    for (let j = lo; j <= hi; j++) {
      if (bMatch[j] || a[i] !== b[j]) continue;
      aMatch[i] = true;
      bMatch[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let t = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!aMatch[i]) continue;
    while (!bMatch[k]) k++;
    if (a[i] !== b[k]) t++;
    k++;
  }
  const jaro = (matches / a.length + matches / b.length + (matches - t / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}
