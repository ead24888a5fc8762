/**
 * An independent check that a document follows the FHIR R4 XML rules (xml.html "XML Representation
 * of Resources"), used to prove what the server's XML writer produces. The R4 XSDs are not in
 * ../shared/external, so the shape is checked against the R4 StructureDefinitions directly: it reads
 * the document with @xmldom/xmldom (another parser than the server's saxes) and walks the snapshots
 * itself, sharing no code with src/formats/xml:
 * - the root is an R4 resource in the `http://hl7.org/fhir` namespace; every FHIR element is in it;
 * - each child is an element of its parent's definition (a choice element under `name` + type code),
 *   in snapshot order, repeated only where max is above 1, never empty;
 * - primitives carry their value in a non-empty `value` attribute (or have an id or extensions) and
 *   have only `extension` children; `id` (elements, not resources) and `url` (extensions) are
 *   attributes; no other attributes (namespace declarations aside), no text content;
 * - a resource container holds exactly one resource; the narrative is a `div` in the XHTML
 *   namespace whose descendants are all XHTML.
 * Returns the problems found (empty: the document is valid FHIR XML by these rules).
 */
import { DOMParser } from '@xmldom/xmldom';
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { structureDefinition } from '../../src/definitions/structure-definitions';

const FHIR = 'http://hl7.org/fhir';
const XHTML = 'http://www.w3.org/1999/xhtml';
const XMLNS = 'http://www.w3.org/2000/xmlns/';

interface Node_ {
  nodeType: number;
  localName?: string | null;
  namespaceURI?: string | null;
  nodeName: string;
  nodeValue?: string | null;
  childNodes: ArrayLike<Node_>;
  attributes?: ArrayLike<{ localName: string | null; name: string; namespaceURI: string | null; value: string }>;
}

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;

interface Context {
  sd: StructureDefinition;
  /** Path of the element whose children are checked, e.g. `Patient`, `Patient.contact`, `HumanName`. */
  path: string;
}

function upper(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface ChildDef {
  el: ElementDefinition;
  index: number;
  type: string;
}

const childCache = new Map<string, Map<string, ChildDef>>();

/** The child definitions of a context by XML name (a choice element once per type), with their snapshot index. */
function childrenOf(ctx: Context): Map<string, ChildDef> {
  const key = `${ctx.sd.url ?? ctx.sd.type}#${ctx.path}`;
  let found = childCache.get(key);
  if (!found) {
    found = new Map();
    const depth = ctx.path.split('.').length;
    (ctx.sd.snapshot?.element ?? []).forEach((el, index) => {
      if (el.sliceName || !el.path.startsWith(`${ctx.path}.`) || el.path.split('.').length !== depth + 1) return;
      const leaf = el.path.slice(ctx.path.length + 1);
      if (leaf.endsWith('[x]')) for (const t of el.type ?? []) found!.set(`${leaf.slice(0, -3)}${upper(t.code)}`, { el, index, type: t.code });
      else found!.set(leaf, { el, index, type: el.type?.[0]?.code ?? '' });
    });
    childCache.set(key, found);
  }
  return found;
}

function elementsOf(n: Node_): Node_[] {
  return Array.from(n.childNodes).filter((c) => c.nodeType === ELEMENT);
}

export function checkFhirXml(xml: string): string[] {
  const problems: string[] = [];
  let doc: { documentElement: Node_ | null };
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        // U+FFFD is an XML Char (XML 1.0 §2.2, #xE000-#xFFFD): xmldom only warns that it may betray an
        // encoding problem upstream, which a document made from a JavaScript string cannot have.
        if (level === 'warning' && /Unicode replacement character/.test(message)) return;
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'application/xml') as unknown as { documentElement: Node_ | null };
  } catch (e) {
    return [`not well-formed: ${(e as Error).message}`];
  }
  const root = doc.documentElement;
  if (!root) return ['no root element'];
  checkResource(root, root.localName ?? '', problems);
  return problems;
}

function checkResource(node: Node_, at: string, problems: string[]): void {
  const type = node.localName ?? '';
  const sd = structureDefinition(type);
  if (node.namespaceURI !== FHIR) problems.push(`${at}: <${node.nodeName}> is not in the FHIR namespace`);
  if (!sd || sd.kind !== 'resource' || sd.abstract || sd.type !== type) {
    problems.push(`${at}: <${node.nodeName}> is not an R4 resource`);
    return;
  }
  checkAttributes(node, [], at, problems);
  checkChildren(node, { sd, path: type }, at, problems);
}

function checkAttributes(node: Node_, allowed: string[], at: string, problems: string[]): void {
  for (const a of Array.from(node.attributes ?? [])) {
    if (a.namespaceURI === XMLNS || a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
    if (a.namespaceURI || !allowed.includes(a.localName ?? a.name)) problems.push(`${at}: attribute ${a.name} is not allowed`);
    else if (a.value === '') problems.push(`${at}: attribute ${a.name} is empty`);
  }
}

function checkText(node: Node_, at: string, problems: string[]): void {
  for (const c of Array.from(node.childNodes)) {
    if ((c.nodeType === TEXT || c.nodeType === CDATA) && /[^ \t\r\n]/.test(c.nodeValue ?? '')) problems.push(`${at}: text content ${JSON.stringify((c.nodeValue ?? '').slice(0, 30))}`);
  }
}

function checkChildren(node: Node_, ctx: Context, at: string, problems: string[]): void {
  checkText(node, at, problems);
  const defs = childrenOf(ctx);
  let lastIndex = -1;
  let lastName = '';
  for (const child of elementsOf(node)) {
    const name = child.localName ?? '';
    const here = `${at}.${name}`;
    // The definition: `path.name`, or a choice `path.base[x]` whose types give name.
    const found = defs.get(name);
    if (!found) {
      problems.push(`${here}: not an element of ${ctx.path}`);
      continue;
    }
    if ((found.el.representation ?? []).includes('xmlAttr')) problems.push(`${here}: must be an attribute`);
    if (found.index < lastIndex) problems.push(`${here}: out of order (after ${lastName})`);
    if (found.index === lastIndex && found.el.max === '1') problems.push(`${here}: repeated, max is 1`);
    lastIndex = found.index;
    lastName = name;
    checkElement(child, found.el, found.type, ctx, here, problems);
  }
}

function checkElement(node: Node_, el: ElementDefinition, type: string, ctx: Context, at: string, problems: string[]): void {
  const typeSd = type.startsWith('http://hl7.org/fhirpath/System.') ? undefined : structureDefinition(type);
  const expectedNs = typeSd?.kind === 'primitive-type' && type === 'xhtml' ? XHTML : FHIR;
  if (node.namespaceURI !== expectedNs) problems.push(`${at}: in namespace ${String(node.namespaceURI)}, expected ${expectedNs}`);
  if (type === 'xhtml') {
    if (node.localName !== 'div') problems.push(`${at}: the narrative is <${node.nodeName}>, not <div>`);
    const walk = (n: Node_): void => {
      for (const c of elementsOf(n)) {
        if (c.namespaceURI !== XHTML) problems.push(`${at}: <${c.nodeName}> in the narrative is not XHTML`);
        walk(c);
      }
    };
    walk(node);
    return;
  }
  if (type.startsWith('http://hl7.org/fhirpath/System.') || typeSd?.kind === 'primitive-type') {
    // A primitive (Resource.id is a System.String element with a value attribute).
    checkAttributes(node, ['value', 'id'], at, problems);
    checkText(node, at, problems);
    const value = Array.from(node.attributes ?? []).find((a) => a.name === 'value');
    const kids = elementsOf(node);
    for (const k of kids) if (k.localName !== 'extension' || k.namespaceURI !== FHIR) problems.push(`${at}: a primitive has the child <${k.nodeName}>`);
    if (!value && kids.length === 0 && !Array.from(node.attributes ?? []).some((a) => a.name === 'id')) problems.push(`${at}: a primitive without value, id or extensions`);
    const extSd = structureDefinition('Extension')!;
    for (const k of kids) if (k.localName === 'extension') checkComplex(k, { sd: extSd, path: 'Extension' }, true, `${at}.extension`, problems);
    return;
  }
  if (typeSd?.kind === 'resource') {
    checkAttributes(node, [], at, problems);
    checkText(node, at, problems);
    const kids = elementsOf(node);
    if (kids.length !== 1) problems.push(`${at}: a resource container holds ${kids.length} elements`);
    for (const k of kids) checkResource(k, `${at}.${k.localName ?? ''}`, problems);
    return;
  }
  // Complex: children below this element's path in the same definition, or a content reference, or the type's own definition.
  const inline = childrenOf({ sd: ctx.sd, path: el.path }).size > 0;
  const ref = el.contentReference?.replace(/^[^#]*#/, '');
  const childCtx: Context | undefined = inline ? { sd: ctx.sd, path: el.path } : ref ? { sd: ctx.sd, path: ref } : typeSd ? { sd: structureDefinition(typeSd.type) ?? typeSd, path: typeSd.type } : undefined;
  if (!childCtx) {
    problems.push(`${at}: no definition for the type ${type}`);
    return;
  }
  checkComplex(node, childCtx, type === 'Extension', at, problems);
}

function checkComplex(node: Node_, ctx: Context, extension: boolean, at: string, problems: string[]): void {
  checkAttributes(node, extension ? ['id', 'url'] : ['id'], at, problems);
  if (elementsOf(node).length === 0 && !Array.from(node.attributes ?? []).some((a) => a.name === 'id' || a.name === 'url')) problems.push(`${at}: an empty element`);
  checkChildren(node, ctx, at, problems);
}
