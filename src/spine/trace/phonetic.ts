/**
 * Soundex phonetic keys (PDS FHIR API, "Fuzzy search": "matches common homophones, such as Smith and
 * Smythe, using the Soundex algorithm"; the algorithm as standardised for the US census, R. C. Russell
 * and M. K. Odell, 1918).
 *
 * The name is folded first (normalise.ts: accents removed, lower case); only the letters a-z count.
 * The first letter is kept; the others become digits (b f p v = 1; c g j k q s x z = 2; d t = 3; l = 4;
 * m n = 5; r = 6); vowels and y separate equal digits, h and w do not; adjacent equal digits (also
 * with the first letter's own digit) count once; the result is padded with zeros or cut to 4 characters.
 * A name without any letter has no key (the empty string).
 */
import { foldText } from './normalise';

const CODES: Readonly<Record<string, string>> = {
  b: '1', f: '1', p: '1', v: '1',
  c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2',
  d: '3', t: '3',
  l: '4',
  m: '5', n: '5',
  r: '6',
};

export function soundex(name: string): string {
  const letters = foldText(name).replace(/[^a-z]/g, '');
  const first = letters[0];
  if (first === undefined) return '';
  let out = first.toUpperCase();
  let last = CODES[first] ?? '';
  for (let i = 1; i < letters.length && out.length < 4; i++) {
    const c = letters[i]!;
    const code = CODES[c];
    if (code !== undefined) {
      if (code !== last) out += code;
      last = code;
    } else if (c !== 'h' && c !== 'w') last = ''; // a vowel (or y) separates equal codes
  }
  return out.padEnd(4, '0');
}
