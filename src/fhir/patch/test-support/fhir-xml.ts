/**
 * Test support only: reads the FHIR XML used by the official FHIRPath Patch test cases
 * (fhir-test-cases r4/patch/fhir-patch-tests.xml) and turns resources into FHIR JSON following the
 * FHIR R4 XML and JSON representation rules (xml.html, json.html): lists from the element's
 * cardinality, primitives' `value` attribute with their id/extensions in `_name`, numbers and
 * booleans typed, XHTML kept as its source text. Enough XML for that file, not a general parser.
 */
import { childElement, isPrimitiveType, jsonKindOf, ownerPathOf } from '../fhir-model';
import { insertInList, listLength, writeSlot, type JsonObject } from '../json-slots';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's source text, start tag to end tag (used for XHTML). */
  source: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? all;
  });
}

/** Parses an XML document into its root element (comments, declarations and text are dropped). */
export function parseXml(xml: string): XmlElement {
  const stack: Array<{ el: XmlElement; start: number }> = [];
  let root: XmlElement | undefined;
  const tag = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<\/([^\s>]+)\s*>|<([^\s/>!?]+)((?:\s+[^\s=]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(xml)) !== null) {
    if (m[1] !== undefined) {
      const open = stack.pop();
      if (!open || open.el.name !== localName(m[1])) throw new Error(`XML: unexpected </${m[1]}> at ${m.index}`);
      open.el.source = xml.slice(open.start, m.index + m[0].length);
      if (stack.length === 0) root = open.el;
    } else if (m[2] !== undefined) {
      const attrs: Record<string, string> = {};
      const attr = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
      let a: RegExpExecArray | null;
      while ((a = attr.exec(m[3] ?? '')) !== null) attrs[localName(a[1] as string)] = decodeEntities(a[2] ?? a[3] ?? '');
      const el: XmlElement = { name: localName(m[2]), attrs, children: [], source: m[0] };
      stack[stack.length - 1]?.el.children.push(el);
      if (m[4] === '/') {
        if (stack.length === 0) root = el;
      } else {
        stack.push({ el, start: m.index });
      }
    }
  }
  if (!root || stack.length > 0) throw new Error('XML: unbalanced document');
  return root;
}

function localName(n: string): string {
  const i = n.indexOf(':');
  return i < 0 ? n : n.slice(i + 1);
}

/** Converts a FHIR resource element to FHIR JSON. */
export function resourceToJson(el: XmlElement): JsonObject {
  const out: JsonObject = { resourceType: el.name };
  childrenToJson(el, out, el.name);
  return out;
}

function childrenToJson(el: XmlElement, out: JsonObject, ownerPath: string): void {
  for (const c of el.children) {
    if (c.name === 'div' && c.attrs.xmlns === 'http://www.w3.org/1999/xhtml') {
      out.div = c.source;
      continue;
    }
    const info = childElement(ownerPath, c.name);
    if (!info) throw new Error(`FHIR XML: ${ownerPath} has no element '${c.name}'`);
    const type = info.type ?? 'unknown';
    let json: unknown;
    let ext: JsonObject | undefined;
    if (type === 'Resource') {
      const inner = c.children[0];
      if (!inner) throw new Error(`FHIR XML: ${info.path} has no resource`);
      json = resourceToJson(inner);
    } else if (isPrimitiveType(type)) {
      const raw = c.attrs.value;
      const kind = jsonKindOf(type);
      json = raw === undefined ? null : kind === 'number' ? Number(raw) : kind === 'boolean' ? raw === 'true' : raw;
      if (c.attrs.id !== undefined || c.children.length > 0) {
        ext = {};
        if (c.attrs.id !== undefined) ext.id = c.attrs.id;
        childrenToJson(c, ext, type.startsWith('System.') ? 'Element' : type);
      }
    } else {
      const o: JsonObject = {};
      if (c.attrs.id !== undefined) o.id = c.attrs.id;
      if (c.attrs.url !== undefined) o.url = c.attrs.url;
      childrenToJson(c, o, ownerPathOf(info));
      json = o;
    }
    if (info.repeating) {
      insertInList(out, c.name, listLength(out, c.name), json, ext);
    } else {
      writeSlot({ holder: out, key: c.name, index: undefined }, json, ext);
      if (json === null) delete out[c.name];
    }
  }
}
