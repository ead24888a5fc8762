/**
 * Parsing FHIR JSON text (FHIR R4 §2.6.2 json.html, "JSON Representation of Resources": "objects
 * never have duplicate properties"; RFC 8259 §4 says names SHOULD be unique and leaves duplicates
 * to the parser, and `JSON.parse` silently keeps the last one).
 *
 * `parseJsonText` is `JSON.parse` followed by one linear scan of the (then known to be valid) text
 * for a property name repeated inside one object, compared after unescaping (`"a"` and `"\u0061"`
 * are the same name). Invalid JSON and a repeated property are both a 400 (`structure`) naming the
 * element (e.g. `Patient.name[0].family`), so a body is never read as something its sender did not
 * write. The scan keeps one set of names per open object; it never recurses (deep nesting is
 * refused afterwards by the caller's depth check) and skips string contents with `indexOf`.
 */
import { FhirError } from './outcome';

/** A property name repeated inside one object, and where. */
export interface DuplicateProperty {
  /** The repeated name, unescaped. */
  name: string;
  /** Path from the root to the repeated property: object keys and array indexes. */
  path: Array<string | number>;
}

interface Frame {
  /** Names seen so far (objects); undefined for arrays. */
  names: Set<string> | undefined;
  /** Objects: the next string is a name (after `{` or `,`). */
  expectName: boolean;
  /** Objects: the current member's name. */
  name: string;
  /** Arrays: the current item's index. */
  index: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The end (index of the closing quote) of the string starting at `start` (its opening quote). */
function stringEnd(text: string, start: number): number {
  let j = text.indexOf('"', start + 1);
  for (;;) {
    if (j < 0) return text.length; // cannot happen for valid JSON
    let k = j - 1;
    let backslashes = 0;
    while (text.charCodeAt(k) === BACKSLASH) {
      backslashes++;
      k--;
    }
    if (backslashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}

function pathOf(stack: readonly Frame[], name: string): Array<string | number> {
  const path: Array<string | number> = [];
  for (let i = 0; i < stack.length - 1; i++) {
    const f = stack[i]!;
    path.push(f.names ? f.name : f.index);
  }
  path.push(name);
  return path;
}

/**
 * The first property name repeated inside one object, in document order, or undefined. `text` must be
 * valid JSON (call after `JSON.parse` succeeded); for other text the answer means nothing.
 */
export function findDuplicateProperty(text: string): DuplicateProperty | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.names && top.expectName) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.names.has(name)) return { name, path: pathOf(stack, name) };
        top.names.add(name);
        top.name = name;
        top.expectName = false;
      }
      i = end + 1;
      continue;
    }
    switch (c) {
      case 0x7b: // {
        stack.push({ names: new Set(), expectName: true, name: '', index: 0 });
        break;
      case 0x5b: // [
        stack.push({ names: undefined, expectName: false, name: '', index: 0 });
        break;
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        break;
      case 0x2c: {
        // ,
        const top = stack[stack.length - 1];
        if (top?.names) top.expectName = true;
        else if (top) top.index++;
        break;
      }
    }
    i++;
  }
  return undefined;
}

/** `Patient.name[0].family` from a path (the root's resourceType, when it has one, leads). */
export function expressionOf(path: ReadonlyArray<string | number>, resourceType: string | undefined): string {
  let out = resourceType ?? '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '$this' : out;
}

/**
 * Parses JSON text as FHIR JSON: invalid JSON and a property repeated inside one object are a 400
 * (`structure`). `what` names the text in the answer ("The request body", "Bundle.entry[2].resource.data").
 */
export function parseJsonText(text: string, what = 'The request body'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FhirError('invalid', { code: 'structure', diagnostics: `${what} is not valid JSON: ${(e as Error).message}` });
  }
  const dup = findDuplicateProperty(text);
  if (dup) {
    const rt = typeof value === 'object' && value !== null && typeof (value as { resourceType?: unknown }).resourceType === 'string' ? (value as { resourceType: string }).resourceType : undefined;
    const at = expressionOf(dup.path, rt);
    throw new FhirError('invalid', {
      code: 'structure',
      diagnostics: `${what} has the property ${JSON.stringify(dup.name)} more than once in one object (at ${at}); FHIR JSON objects never repeat a property (json.html), so it is refused rather than read as the last one`,
      expression: [at],
    });
  }
  return value;
}
