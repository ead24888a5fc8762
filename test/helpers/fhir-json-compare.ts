/**
 * Semantic equality of FHIR JSON documents across formats (FHIR R4 json.html, xml.html,
 * formats.html §2.6.4 "Conversion between formats"): property order is not significant, array order
 * is; decimals are compared as written (their text, `20.00` is not `20.0`) or, between documents
 * written by different tools, by exact decimal value; the narrative `div` as XHTML (its XML infoset:
 * elements, attributes and text, comments and namespace declarations aside) or as text with XML
 * line-end normalisation (XML 1.0 §2.11: CR LF is LF inside XML).
 */
import { DOMParser } from '@xmldom/xmldom';
import { numberText, type NumberLexemes } from '../../src/formats/json-numbers';

export interface CompareOptions {
  /** `text`: decimals must be written the same; `value`: the same exact decimal value. */
  numbers: 'text' | 'value';
  /** `text`: the same string after line-end normalisation; `xhtml`: the same XHTML infoset. */
  div: 'text' | 'xhtml';
  /** Counted: narratives equal only after line-end normalisation. */
  tally?: { divLineEnds: number };
}

export interface Side {
  value: unknown;
  lexemes?: NumberLexemes;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'absent' : s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

/** An exact decimal value as `sign digits e exponent`, without leading or trailing zeros. */
export function decimalValue(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  let digits = `${m[2]}${m[3] ?? ''}`;
  let exp = Number(m[4] ?? 0) - (m[3]?.length ?? 0);
  digits = digits.replace(/^0+/, '');
  if (digits === '') return '0';
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exp += trailing;
  return `${m[1]}${digits}e${exp}`;
}

interface XNode {
  nodeType: number;
  namespaceURI?: string | null;
  localName?: string | null;
  nodeValue?: string | null;
  childNodes: ArrayLike<XNode>;
  attributes?: ArrayLike<{ name: string; namespaceURI: string | null; localName: string | null; value: string }>;
}

/** The XHTML infoset of a div as a comparable string. */
export function xhtmlInfoset(div: string): string {
  const doc = new DOMParser({
    onError: (level: string, message: string) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(div, 'application/xml') as unknown as { documentElement: XNode };
  const out: string[] = [];
  const walk = (n: XNode): void => {
    const attrs = Array.from(n.attributes ?? [])
      .filter((a) => a.name !== 'xmlns' && !a.name.startsWith('xmlns:'))
      .map((a) => `${a.namespaceURI ?? ''}|${a.localName ?? a.name}=${JSON.stringify(a.value)}`)
      .sort();
    out.push(`<{${n.namespaceURI ?? ''}}${n.localName ?? ''} ${attrs.join(' ')}>`);
    let text = '';
    for (const c of Array.from(n.childNodes)) {
      if (c.nodeType === 3 || c.nodeType === 4) {
        text += c.nodeValue ?? '';
        continue;
      }
      if (c.nodeType !== 1) continue;
      if (text) out.push(JSON.stringify(text));
      text = '';
      walk(c);
    }
    if (text) out.push(JSON.stringify(text));
    out.push('</>');
  };
  walk(doc.documentElement);
  return out.join('');
}

/** The first difference (`path: expected X, got Y`), or undefined when the documents are the same. */
export function firstFhirDifference(expected: Side, actual: Side, options: CompareOptions): string | undefined {
  const diff = (e: unknown, eh: object | undefined, a: unknown, ah: object | undefined, key: string | number, at: string): string | undefined => {
    if (typeof e === 'number' && typeof a === 'number') {
      const et = eh ? numberText(expected.lexemes, eh, key, e) : String(e);
      const atx = ah ? numberText(actual.lexemes, ah, key, a) : String(a);
      const same = options.numbers === 'text' ? et === atx : decimalValue(et) === decimalValue(atx);
      return same ? undefined : `${at}: expected ${et}, got ${atx}`;
    }
    if (key === 'div' && typeof e === 'string' && typeof a === 'string') {
      if (options.div === 'text') {
        if (e === a) return undefined;
        if (e.replace(/\r\n?/g, '\n') !== a.replace(/\r\n?/g, '\n')) return `${at}: the narrative differs`;
        if (options.tally) options.tally.divLineEnds++;
        return undefined;
      }
      try {
        return xhtmlInfoset(e) === xhtmlInfoset(a) ? undefined : `${at}: the narrative differs as XHTML`;
      } catch (err) {
        return `${at}: the narrative cannot be compared: ${(err as Error).message}`;
      }
    }
    if (Array.isArray(e) || Array.isArray(a)) {
      if (!Array.isArray(e) || !Array.isArray(a)) return `${at}: expected ${show(e)}, got ${show(a)}`;
      if (e.length !== a.length) return `${at}: expected ${e.length} items, got ${a.length}`;
      for (let i = 0; i < e.length; i++) {
        const d = diff(e[i], e, a[i], a, i, `${at}[${i}]`);
        if (d) return d;
      }
      return undefined;
    }
    if (e !== null && a !== null && typeof e === 'object' && typeof a === 'object') {
      const eo = e as Record<string, unknown>;
      const ao = a as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(eo), ...Object.keys(ao)])].sort()) {
        const d = diff(eo[k], eo, ao[k], ao, k, `${at}.${k}`);
        if (d) return d;
      }
      return undefined;
    }
    return e === a ? undefined : `${at}: expected ${show(e)}, got ${show(a)}`;
  };
  return diff(expected.value, undefined, actual.value, undefined, '', '$');
}
