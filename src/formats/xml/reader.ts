/**
 * FHIR XML -> FHIR JSON (FHIR R4 xml.html "XML Representation of Resources", json.html, formats.html
 * §2.6.4 "Conversion between formats"), driven by the R4 element model (./model.ts).
 *
 * The document is read by saxes, a streaming, namespace-aware XML 1.0 parser that checks
 * well-formedness and expands only the five predefined entities and character references. One pass,
 * no recursion: JSON is built on an explicit stack of open elements, so neither nesting nor size can
 * exhaust the call stack, and the content limits (src/fhir/limits.ts) stop the conversion as soon as
 * a resource or an array is over them. Refused with a 400 OperationOutcome naming the problem, its
 * line and column and, where it has one, the FHIRPath of the element:
 * - a DOCTYPE (DTDs and external entities: XXE, entity expansion), an XML version other than 1.0, an
 *   encoding other than UTF-8 (415), anything that is not well-formed;
 * - a root that is not an R4 resource in the `http://hl7.org/fhir` namespace; elements that are not
 *   elements of their parent's type, in another namespace, out of the documented order, repeated where
 *   the maximum is 1, or empty (xml.html: "FHIR elements are never empty"); attributes other than
 *   `value` (primitives), `id` (elements) and `url` (extensions), or empty ones; text content outside
 *   the narrative; a boolean or number `value` that is not one; a container without exactly one resource;
 * - a narrative `div` not in the XHTML namespace, or holding elements of another namespace.
 * Comments, processing instructions and `xsi:` attributes (schemaLocation) are ignored.
 *
 * Mapping: primitives give their `value` (typed by the element's JSON kind) and, when they have an
 * `id` or extensions, an `_name` object; lists of primitives align `name` and `_name` with nulls,
 * and a list is omitted when all its items are null (json.html#primitive). The narrative `div` is kept
 * as its source text (line ends normalised, namespace declarations it relies on added), so what was
 * written is what JSON holds. Decimals keep their text in the returned `NumberLexemes`.
 */
import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import { runCooperatively, runSync } from '../../cooperative';
import { FhirError } from '../../fhir/outcome';
import { tooManyItemsError, tooManyValuesError, type ContentLimits } from '../../fhir/limits';
import { newNumberLexemes, recordLexeme, type NumberLexemes } from '../json-numbers';
import { FHIR_NS, ownerOf, resourceOwner, XHTML_NS, type Owner, type Variant } from './model';
import { normaliseLineEnds } from './xhtml';

type JsonObject = Record<string, unknown>;

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
/** Characters parsed between two safe points (about 10 ms of work). */
const CHUNK = 64 * 1024;

export interface ReadOptions {
  /** Content limits checked while reading (MAX_ARRAY_LENGTH, MAX_RESOURCE_ELEMENTS, MAX_BUNDLE_ENTRIES). */
  limits?: ContentLimits;
  /** Deepest nesting of FHIR elements (default 100). */
  maxDepth?: number;
}

export interface ReadResult {
  value: JsonObject;
  /** The text of every decimal whose value `String(n)` would not write back. */
  lexemes: NumberLexemes;
}

/** Values counted against MAX_RESOURCE_ELEMENTS while reading: the root resource, or one entry's resource of a root Bundle. */
interface Scope {
  root: string;
  count: number;
}

interface Slot {
  holder: JsonObject;
  key: string;
  /** The item index in a list, or undefined for a single element. */
  index: number | undefined;
  /** A number's text as written (set while reading its value attribute). */
  lexeme?: string;
}

interface ElementFrame {
  t: 'element';
  /** complex: an element of a complex type; primitive: its `_name` object collects id and extensions; resource: a resource. */
  kind: 'complex' | 'primitive' | 'resource';
  owner: Owner;
  obj: JsonObject;
  path: string;
  /** Order of the last child seen, and its key (choice elements and repeats). */
  last: number;
  lastKey: string | undefined;
  /** Items seen per key of a list (primitive lists are aligned when the element closes). */
  counts: Map<string, number>;
  primitiveLists: Set<string> | undefined;
  /** primitive only: where the value goes, the value, whether an id was given. */
  slot: Slot | undefined;
  value: unknown;
  scope: Scope | undefined;
}

interface ContainerFrame {
  t: 'container';
  slot: Slot;
  path: string;
  resources: number;
  scope: Scope | undefined;
  /** True for `Bundle.entry.resource` of the root Bundle: its resource is a scope of its own. */
  entryOfRoot: boolean;
}

interface XhtmlFrame {
  t: 'xhtml';
  slot: Slot;
  path: string;
  start: number;
  tagName: string;
  depth: number;
  /** Prefixes declared inside the div, per open element. */
  declared: Array<Set<string>>;
  /** Prefixes used inside the div but declared outside it, with their namespace. */
  missing: Map<string, string>;
  needsDefault: boolean;
}

type Frame = ElementFrame | ContainerFrame | XhtmlFrame;

class Reader {
  private readonly frames: Frame[] = [];
  private result: JsonObject | undefined;
  readonly lexemes = newNumberLexemes();
  private readonly parser: SaxesParser<{ xmlns: true; position: true }>;
  private readonly maxDepth: number;

  constructor(
    private readonly text: string,
    private readonly limits: ContentLimits | undefined,
    maxDepth: number,
  ) {
    this.maxDepth = maxDepth;
    this.parser = new SaxesParser({ xmlns: true, position: true });
    const p = this.parser;
    // saxes reports every well-formedness error here (its messages carry line:column); anything
    // else thrown while reading is a fault, not the client's.
    p.on('error', (e) => {
      throw new FhirError('invalid', { code: 'structure', diagnostics: `The request body is not well-formed XML: ${e.message}` });
    });
    p.on('doctype', () => {
      throw new FhirError('invalid', { code: 'security', diagnostics: `The XML body has a DOCTYPE at ${this.where()}: DTDs (and so external entities) are not allowed in FHIR XML and are never processed` });
    });
    p.on('xmldecl', (decl) => {
      if (decl.version !== undefined && decl.version !== '1.0') {
        throw new FhirError('invalid', { code: 'structure', diagnostics: `The XML body declares version ${decl.version}; FHIR XML is XML 1.0` });
      }
      if (decl.encoding !== undefined && !/^utf-?8$/i.test(decl.encoding)) {
        throw new FhirError('unsupported-media', { diagnostics: `The XML body declares encoding ${decl.encoding}; FHIR XML is UTF-8 (send it as UTF-8 and declare encoding="UTF-8" or nothing)` });
      }
    });
    p.on('opentagstart', (tag) => this.openStart(tag.name));
    p.on('opentag', (tag) => this.open(tag));
    p.on('closetag', (tag) => this.close(tag));
    p.on('text', (t) => this.characters(t));
    p.on('cdata', (t) => this.characters(t));
  }

  /** Reads the document a chunk at a time, a step (a safe point to give the event loop a turn, ADR 14) after each. */
  *steps(): Generator<void, ReadResult, void> {
    const p = this.parser;
    for (let at = 0; at < this.text.length; at += CHUNK) {
      p.write(this.text.slice(at, at + CHUNK));
      yield;
    }
    p.close();
    if (!this.result) throw new FhirError('invalid', { code: 'structure', diagnostics: 'The XML body holds no resource' });
    return { value: this.result, lexemes: this.lexemes };
  }

  // -- errors -----------------------------------------------------------------------------------

  private where(): string {
    return `line ${this.parser.line}, column ${this.parser.column + 1}`;
  }

  private error(path: string | undefined, message: string): FhirError {
    return new FhirError('invalid', { code: 'structure', diagnostics: `FHIR XML, ${this.where()}${path ? ` (${path})` : ''}: ${message}`, ...(path ? { expression: [path] } : {}) });
  }

  // -- limits -----------------------------------------------------------------------------------

  private countValue(scope: Scope | undefined): void {
    if (!scope || !this.limits) return;
    if (++scope.count > this.limits.maxResourceElements) throw tooManyValuesError(scope.root, this.limits.maxResourceElements);
  }

  private countItem(frame: ElementFrame, key: string, path: string, bundleEntries: boolean): number {
    const n = (frame.counts.get(key) ?? 0) + 1;
    frame.counts.set(key, n);
    if (this.limits) {
      // Never stricter than checkRequestContent: Bundle.entry of a root Bundle may reach MAX_BUNDLE_ENTRIES.
      const max = bundleEntries ? Math.max(this.limits.maxArrayLength, this.limits.maxBundleEntries) : this.limits.maxArrayLength;
      if (n > max) throw tooManyItemsError(path, n, max, true);
    }
    return n - 1;
  }

  // -- events -----------------------------------------------------------------------------------

  private openStart(name: string): void {
    const top = this.frames[this.frames.length - 1];
    // The source text of a narrative starts at its '<'.
    if (top?.t === 'element' && top.kind !== 'resource') {
      const local = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
      if (local === 'div' && top.owner.byKey.get('div')?.kind === 'xhtml') this.divStart = this.text.lastIndexOf('<', this.parser.position - 1);
    }
  }

  private divStart = -1;

  private open(tag: SaxesTagNS): void {
    const top = this.frames[this.frames.length - 1];
    if (top?.t === 'xhtml') return this.openInXhtml(top, tag);
    if (this.frames.length >= this.maxDepth) throw this.error(undefined, `elements are nested more than ${this.maxDepth} levels deep`);
    if (!top) return this.openRoot(tag);
    if (top.t === 'container') return this.openContained(top, tag);
    this.openChild(top, tag);
  }

  private openRoot(tag: SaxesTagNS): void {
    const owner = this.resourceElement(tag, undefined);
    const obj: JsonObject = { resourceType: tag.local };
    this.result = obj;
    const scope: Scope | undefined = owner.key === 'Bundle' ? undefined : { root: tag.local, count: 0 };
    this.countValue(scope);
    this.pushElement('resource', owner, obj, tag.local, undefined, scope);
  }

  /** A resource element (root or in a container): in the FHIR namespace, an R4 resource type, no attributes. */
  private resourceElement(tag: SaxesTagNS, path: string | undefined): Owner {
    if (tag.uri !== FHIR_NS) throw this.error(path, `<${tag.name}> is not in the FHIR namespace ${FHIR_NS}${tag.uri ? ` (its namespace is ${tag.uri})` : ' (it has no namespace)'}`);
    const owner = resourceOwner(tag.local);
    if (!owner) throw this.error(path, `<${tag.name}> is not an R4 resource type`);
    this.checkAttributes(tag, new Set(), path ?? tag.local);
    return owner;
  }

  private openContained(top: ContainerFrame, tag: SaxesTagNS): void {
    if (top.resources > 0) throw this.error(top.path, `holds more than one resource (<${tag.name}>)`);
    const owner = this.resourceElement(tag, top.path);
    top.resources++;
    const obj: JsonObject = { resourceType: tag.local };
    const scope = top.entryOfRoot ? { root: top.path, count: 0 } : top.scope;
    this.countValue(scope);
    this.place(top.slot, obj);
    this.pushElement('resource', owner, obj, top.path, undefined, scope);
  }

  private openChild(top: ElementFrame, tag: SaxesTagNS): void {
    const variant = top.owner.byKey.get(tag.local);
    if (!variant) {
      throw this.error(top.path, `<${tag.name}> is not an element of ${top.kind === 'primitive' ? `a primitive (only extension is)` : top.owner.key}`);
    }
    const expectedNs = variant.kind === 'xhtml' ? XHTML_NS : FHIR_NS;
    if (tag.uri !== expectedNs) throw this.error(`${top.path}.${tag.local}`, `<${tag.name}> must be in the namespace ${expectedNs}${tag.uri ? `, not ${tag.uri}` : ' (it has none)'}`);
    const spec = variant.element;
    if (spec.order < top.last) {
      const after = top.owner.elements[top.last]!;
      throw this.error(`${top.path}.${tag.local}`, `element out of order: ${spec.name} must come before ${after.name} (R4 xml.html: elements appear in the documented order)`);
    }
    if (spec.order === top.last) {
      if (!spec.repeating) throw this.error(`${top.path}.${tag.local}`, `${tag.local} occurs more than once; its maximum is 1`);
      if (top.lastKey !== variant.key) throw this.error(`${top.path}.${tag.local}`, `${spec.name}[x] is given as both ${top.lastKey} and ${variant.key}`);
    }
    top.last = spec.order;
    top.lastKey = variant.key;
    const bundleEntries = top.kind === 'resource' && top.owner.key === 'Bundle' && top.path === 'Bundle' && variant.key === 'entry';
    const index = spec.repeating ? this.countItem(top, variant.key, `${top.path}.${variant.key}`, bundleEntries) : undefined;
    const path = index === undefined ? `${top.path}.${variant.key}` : `${top.path}.${variant.key}[${index}]`;
    const slot: Slot = { holder: top.obj, key: variant.key, index };
    switch (variant.kind) {
      case 'primitive':
        return this.openPrimitive(top, variant, tag, slot, path);
      case 'xhtml':
        return this.openXhtml(tag, slot, path);
      case 'resource': {
        this.checkAttributes(tag, new Set(), path);
        const entryOfRoot = this.frames.length === 2 && top.path.startsWith('Bundle.entry[') && this.frames[0]?.t === 'element' && (this.frames[0] as ElementFrame).owner.key === 'Bundle';
        this.frames.push({ t: 'container', slot, path, resources: 0, scope: top.scope, entryOfRoot });
        return;
      }
      case 'complex': {
        const owner = ownerOf(variant.owner!);
        if (!owner) throw this.error(path, `no R4 definition for the type ${variant.type}`);
        const obj: JsonObject = {};
        const attrs = this.checkAttributes(tag, new Set(owner.attributes.keys()), path);
        for (const [name, value] of attrs) obj[name] = value;
        this.countValue(top.scope);
        this.place(slot, obj);
        this.pushElement('complex', owner, obj, path, undefined, top.scope);
        return;
      }
    }
  }

  private openPrimitive(top: ElementFrame, variant: Variant, tag: SaxesTagNS, slot: Slot, path: string): void {
    const owner = variant.owner ? ownerOf(variant.owner) : undefined;
    const allowed = new Set(owner ? owner.attributes.keys() : ['value']);
    const attrs = this.checkAttributes(tag, allowed, path);
    const ext: JsonObject = {};
    let value: unknown;
    for (const [name, raw] of attrs) {
      if (name === 'value') value = this.typedValue(raw, variant, path, slot);
      else ext[name] = raw;
    }
    if (value !== undefined) this.countValue(top.scope);
    if (slot.index !== undefined) (top.primitiveLists ??= new Set()).add(slot.key);
    const frame = this.pushElement('primitive', owner ?? emptyOwner(variant.type), ext, path, slot, top.scope);
    frame.value = value;
  }

  private typedValue(raw: string, variant: Variant, path: string, slot: Slot): unknown {
    switch (variant.valueKind) {
      case 'boolean': {
        const v = raw.trim();
        if (v === 'true') return true;
        if (v === 'false') return false;
        throw this.error(path, `the value ${JSON.stringify(raw)} is not a boolean (true or false)`);
      }
      case 'number': {
        const v = raw.trim();
        if (!NUMBER.test(v)) throw this.error(path, `the value ${JSON.stringify(raw)} is not a ${variant.type} (a JSON number)`);
        const n = Number(v);
        if (!Number.isFinite(n)) throw this.error(path, `the value ${v} is out of range`);
        // The text as written, recorded against the slot the number lands in (see close()).
        slot.lexeme = v;
        return n;
      }
      default:
        return raw;
    }
  }

  private openXhtml(tag: SaxesTagNS, slot: Slot, path: string): void {
    if (tag.local !== 'div') throw this.error(path, `the narrative must be a <div>, not <${tag.name}>`);
    if (this.divStart < 0) throw this.error(path, 'the narrative div could not be located');
    const declared = new Set(Object.keys(tag.ns));
    const frame: XhtmlFrame = {
      t: 'xhtml',
      slot,
      path,
      start: this.divStart,
      tagName: tag.name,
      depth: 0,
      declared: [declared],
      missing: new Map(),
      needsDefault: tag.prefix === '' && !declared.has(''),
    };
    this.divStart = -1;
    this.frames.push(frame);
    this.noteXhtmlPrefixes(frame, tag);
  }

  private openInXhtml(frame: XhtmlFrame, tag: SaxesTagNS): void {
    if (tag.uri !== XHTML_NS) throw this.error(frame.path, `the narrative holds <${tag.name}>, which is not in the XHTML namespace ${XHTML_NS}`);
    frame.depth++;
    frame.declared.push(new Set(Object.keys(tag.ns)));
    this.noteXhtmlPrefixes(frame, tag);
  }

  /** Prefixes the div's elements and attributes use but do not declare themselves (declared outside the div). */
  private noteXhtmlPrefixes(frame: XhtmlFrame, tag: SaxesTagNS): void {
    const declaredInside = (prefix: string): boolean => frame.declared.some((s) => s.has(prefix));
    if (tag.prefix !== '' && !declaredInside(tag.prefix)) frame.missing.set(tag.prefix, tag.uri);
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === '' || a.prefix === 'xml' || a.prefix === 'xmlns' || a.uri === XMLNS_NS) continue;
      if (!declaredInside(a.prefix)) frame.missing.set(a.prefix, a.uri);
    }
  }

  /** Opens an element frame (saxes reports the close of a self-closing tag as its own event). */
  private pushElement(kind: ElementFrame['kind'], owner: Owner, obj: JsonObject, path: string, slot: Slot | undefined, scope: Scope | undefined): ElementFrame {
    const frame: ElementFrame = { t: 'element', kind, owner, obj, path, last: -1, lastKey: undefined, counts: new Map(), primitiveLists: undefined, slot, value: undefined, scope };
    this.frames.push(frame);
    return frame;
  }

  /** The FHIR attributes of a tag (namespace declarations and xsi: attributes skipped); others are refused. */
  private checkAttributes(tag: SaxesTagNS, allowed: ReadonlySet<string>, path: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const a of Object.values(tag.attributes) as SaxesAttributeNS[]) {
      if (a.uri === XMLNS_NS || a.uri === XSI_NS) continue;
      if (a.prefix !== '' || !allowed.has(a.local)) {
        const what = allowed.size === 0 ? 'no attributes are allowed here' : `only ${[...allowed].join(', ')} ${allowed.size === 1 ? 'is' : 'are'} allowed`;
        throw this.error(path, `the attribute ${a.name} is not allowed on <${tag.name}> (${what})`);
      }
      if (a.value === '') throw this.error(path, `the attribute ${a.name} is empty (R4 xml.html: attributes are never empty)`);
      out.push([a.local, a.value]);
    }
    return out;
  }

  private characters(t: string): void {
    const top = this.frames[this.frames.length - 1];
    if (!top || top.t === 'xhtml') return;
    if (/[^ \t\r\n]/.test(t)) {
      const path = top.path;
      throw this.error(path, `text content ${JSON.stringify(t.trim().slice(0, 40))} is not allowed here (FHIR XML puts values in value attributes)`);
    }
  }

  private close(tag: SaxesTagNS): void {
    const top = this.frames[this.frames.length - 1];
    if (!top) return;
    if (top.t === 'xhtml') {
      if (top.depth > 0) {
        top.depth--;
        top.declared.pop();
        return;
      }
      this.frames.pop();
      this.place(top.slot, this.divSource(top));
      return;
    }
    this.frames.pop();
    if (top.t === 'container') {
      if (top.resources === 0) throw this.error(top.path, `<${tag.name}> holds no resource`);
      return;
    }
    this.finishLists(top);
    if (top.kind === 'primitive') return this.closePrimitive(top, tag);
    if (top.kind === 'complex' && Object.keys(top.obj).length === 0) {
      throw this.error(top.path, `<${tag.name}> is empty (R4 xml.html: FHIR elements are never empty)`);
    }
  }

  private closePrimitive(frame: ElementFrame, tag: SaxesTagNS): void {
    const slot = frame.slot!;
    const ext = Object.keys(frame.obj).length > 0 ? frame.obj : undefined;
    if (frame.value === undefined && !ext) throw this.error(frame.path, `<${tag.name}> has neither a value nor an id or extensions (R4 xml.html: FHIR elements are never empty)`);
    const { holder, key, index } = slot;
    const parent = this.frames[this.frames.length - 1] as ElementFrame;
    if (ext) this.countValue(parent.scope);
    if (index === undefined) {
      if (frame.value !== undefined) {
        holder[key] = frame.value;
        if (slot.lexeme !== undefined) recordLexeme(this.lexemes, holder, key, frame.value as number, slot.lexeme);
      }
      if (ext) holder[`_${key}`] = ext;
      return;
    }
    const values = (holder[key] ??= []) as unknown[];
    while (values.length < index) values.push(null);
    values[index] = frame.value ?? null;
    if (slot.lexeme !== undefined) recordLexeme(this.lexemes, values, index, frame.value as number, slot.lexeme);
    if (ext) {
      const exts = (holder[`_${key}`] ??= []) as unknown[];
      while (exts.length < index) exts.push(null);
      exts[index] = ext;
    }
  }

  /** Aligns the value and `_name` lists of repeating primitives; drops a list that is all null. */
  private finishLists(frame: ElementFrame): void {
    if (!frame.primitiveLists) return;
    for (const key of frame.primitiveLists) {
      const n = frame.counts.get(key) ?? 0;
      for (const k of [key, `_${key}`]) {
        const list = frame.obj[k] as unknown[] | undefined;
        if (!list) continue;
        while (list.length < n) list.push(null);
        if (list.every((v) => v === null)) delete frame.obj[k];
      }
    }
  }

  private place(slot: Slot, value: unknown): void {
    if (slot.index === undefined) {
      slot.holder[slot.key] = value;
      return;
    }
    const list = (slot.holder[slot.key] ??= []) as unknown[];
    list[slot.index] = value;
  }

  /** The div's source text, standing alone: line ends normalised, outside namespace declarations it relies on added. */
  private divSource(frame: XhtmlFrame): string {
    let src = this.text.slice(frame.start, this.parser.position);
    const decls: string[] = [];
    if (frame.needsDefault) decls.push(` xmlns="${XHTML_NS}"`);
    for (const [prefix, uri] of frame.missing) decls.push(` xmlns:${prefix}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`);
    if (decls.length > 0) {
      const at = 1 + frame.tagName.length;
      src = `${src.slice(0, at)}${decls.join('')}${src.slice(at)}`;
    }
    return normaliseLineEnds(src);
  }
}

/** The owner of a primitive type without definitions (never in R4; keeps the reader total). */
function emptyOwner(type: string): Owner {
  return { key: type, elements: [], byKey: new Map(), attributes: new Map(), jsonKeys: new Set(), valueKind: 'string', resource: false };
}

function reader(text: string, options: ReadOptions): Reader {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return new Reader(body, options.limits, options.maxDepth ?? 100);
}

/** Reads a FHIR XML document (one resource) into FHIR JSON. Throws a 400 (or 413 over a limit, 415 for an encoding) FhirError. */
export function readFhirXml(text: string, options: ReadOptions = {}): ReadResult {
  return runSync(reader(text, options).steps());
}

/** `readFhirXml`, giving the event loop a turn whenever a slice of work is used up (src/cooperative.ts): a large body never stalls other requests. */
export function readFhirXmlCooperatively(text: string, options: ReadOptions = {}): Promise<ReadResult> {
  return runCooperatively(reader(text, options).steps());
}
