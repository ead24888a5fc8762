/**
 * The narrative `div` between its JSON and XML forms (FHIR R4 narrative.html "Narrative", xml.html,
 * json.html#xhtml): in JSON the XHTML is a string holding one `div` element in the
 * `http://www.w3.org/1999/xhtml` namespace; in XML that element is part of the document.
 *
 * To XML, the string is checked with the XML parser before it is embedded, so a stored narrative can
 * never make the document ill-formed: one `div` element in the XHTML namespace, no DTD, no XML
 * declaration or processing instruction around it. A `div` without a namespace declaration (seen in
 * JSON in the wild) gets `xmlns="http://www.w3.org/1999/xhtml"`, the namespace json.html requires.
 * The text is embedded as written (entity and character references, attribute quoting, empty-element
 * forms are kept), so JSON -> XML -> JSON gives the same string back.
 */
import { SaxesParser } from 'saxes';
import { XHTML_NS } from './model';

export type DivForXml = { ok: true; xml: string } | { ok: false; reason: string };

/** Narratives recently checked (a search page repeats what reads wrote): small, and for small divs only. */
const cache = new Map<string, DivForXml>();
const CACHE_MAX = 512;
const CACHE_DIV_MAX = 16_384;

function check(div: string): DivForXml {
  const text = div.trim();
  const parser = new SaxesParser({ xmlns: true, position: false });
  let depth = 0;
  let roots = 0;
  let rootTag: { name: string; local: string; uri: string; declaresDefault: boolean } | undefined;
  let problem: string | undefined;
  const fail = (reason: string): void => {
    problem ??= reason;
  };
  parser.on('doctype', () => fail('it has a DOCTYPE'));
  parser.on('xmldecl', () => fail('it starts with an XML declaration'));
  parser.on('processinginstruction', () => {
    if (depth === 0) fail('it has a processing instruction outside the div');
  });
  parser.on('opentag', (tag) => {
    if (depth === 0) {
      roots++;
      rootTag = { name: tag.name, local: tag.local, uri: tag.uri, declaresDefault: Object.prototype.hasOwnProperty.call(tag.ns, '') };
    }
    if (!tag.isSelfClosing) depth++;
  });
  parser.on('closetag', (tag) => {
    if (!tag.isSelfClosing) depth--;
  });
  parser.on('error', (e) => {
    throw e;
  });
  try {
    parser.write(text).close();
  } catch (e) {
    return { ok: false, reason: `it is not well-formed XML (${(e as Error).message})` };
  }
  if (problem) return { ok: false, reason: problem };
  if (roots !== 1 || !rootTag) return { ok: false, reason: 'it is not a single element' };
  if (rootTag.local !== 'div') return { ok: false, reason: `its element is <${rootTag.name}>, not <div>` };
  if (rootTag.uri === XHTML_NS) return { ok: true, xml: text };
  if (rootTag.uri === '' && !rootTag.declaresDefault && rootTag.name === 'div') {
    if (!/^<div[\s/>]/.test(text)) return { ok: false, reason: 'it has no XHTML namespace declaration and something precedes its div' };
    return { ok: true, xml: `<div xmlns="${XHTML_NS}"${text.slice(4)}` };
  }
  return { ok: false, reason: `its div is in the namespace ${JSON.stringify(rootTag.uri)}, not ${XHTML_NS}` };
}

/** The XML to embed for a JSON narrative `div` string, or why it cannot be. Results are cached. */
export function divForXml(div: string): DivForXml {
  const hit = cache.get(div);
  if (hit) return hit;
  const r = check(div);
  if (div.length > CACHE_DIV_MAX) return r;
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(div, r);
  return r;
}

/** XML end-of-line handling (XML 1.0 §2.11): CR LF and lone CR read as LF. */
export function normaliseLineEnds(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}
