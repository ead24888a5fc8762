/**
 * FHIR JSON -> FHIR XML (FHIR R4 xml.html "XML Representation of Resources", json.html, formats.html
 * §2.6.4 "Conversion between formats"), driven by the R4 element model (./model.ts).
 *
 * Elements are written in the documented order of their type (whatever the order of the JSON keys),
 * primitives as `<name value="..."/>` with the `id` and extensions of `_name`, element ids and
 * extension urls as attributes, choice elements under their typed names, contained and entry resources
 * inside their container element, the narrative `div` as XHTML (checked by the XML parser first,
 * ./xhtml.ts). The root element declares the FHIR namespace; an XML declaration (UTF-8) precedes it.
 * Attribute values are escaped so that any JSON string reads back unchanged (./escape.ts); numbers
 * are written as their recorded text when the caller kept it (NumberLexemes), else as `String(n)`,
 * which is what JSON.stringify stored.
 *
 * What cannot be written (a key that is not an R4 element of its type, a value of the wrong shape, a
 * character XML 1.0 cannot carry, a narrative that is not one XHTML div) throws a 406 FhirError
 * naming the element: the client can ask for JSON instead. `replaceInvalidChars` writes U+FFFD for
 * unrepresentable characters instead (used for OperationOutcomes, which must always be sendable).
 */
import { FhirError } from '../../fhir/outcome';
import { numberText, type NumberLexemes } from '../json-numbers';
import { escapeAttribute, invalidXmlChar, replaceInvalidXmlChars } from './escape';
import { FHIR_NS, ownerOf, resourceOwner, type Owner, type Variant } from './model';
import { divForXml } from './xhtml';

type JsonObject = Record<string, unknown>;

export interface WriteOptions {
  /** Indent nested elements by two spaces, one per line (the narrative is kept as it is). */
  pretty?: boolean;
  /** Numbers' text as written (from parseJsonKeepingNumbers or the XML reader). */
  lexemes?: NumberLexemes;
  /** Write U+FFFD for characters XML 1.0 cannot represent instead of refusing. */
  replaceInvalidChars?: boolean;
  /** Omit the XML declaration. */
  omitDeclaration?: boolean;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

class Writer {
  private readonly out: string[] = [];
  private readonly path: string[] = [];

  constructor(private readonly options: WriteOptions) {}

  result(): string {
    return this.out.join('');
  }

  private fail(reason: string): never {
    throw new FhirError('not-acceptable', {
      diagnostics: `The content cannot be represented in FHIR XML: ${this.path.join('') || 'the resource'}: ${reason}; ask for JSON (application/fhir+json) instead`,
      ...(this.path.length ? { expression: [this.path.join('')] } : {}),
    });
  }

  private indent(level: number): string {
    return this.options.pretty ? `${level > 0 || this.out.length > 0 ? '\n' : ''}${'  '.repeat(level)}` : '';
  }

  private text(s: string): string {
    if (invalidXmlChar(s) >= 0) {
      if (!this.options.replaceInvalidChars) this.fail(`a character XML 1.0 cannot represent (U+${s.charCodeAt(invalidXmlChar(s)).toString(16).toUpperCase().padStart(4, '0')})`);
      s = replaceInvalidXmlChars(s);
    }
    return escapeAttribute(s);
  }

  resource(obj: unknown, level: number, root: boolean): void {
    if (!isObject(obj)) this.fail('a resource must be a JSON object');
    const type = obj['resourceType'];
    const owner = typeof type === 'string' ? resourceOwner(type) : undefined;
    if (!owner || typeof type !== 'string') this.fail(`${JSON.stringify(type)} is not an R4 resource type`);
    if (root) this.path.push(type);
    this.checkKeys(obj, owner, true);
    this.out.push(this.indent(level), '<', type, root ? ` xmlns="${FHIR_NS}"` : '');
    this.children(obj, owner, type, level);
    if (root) this.path.pop();
  }

  /** Writes `>` children `</name>`, or `/>` when there are none. */
  private children(obj: JsonObject, owner: Owner, name: string, level: number): void {
    const open = this.out.length;
    this.out.push('>');
    for (const spec of owner.elements) {
      if (spec.attribute) continue;
      for (const variant of spec.variants) {
        const value = obj[variant.key];
        const ext = variant.kind === 'primitive' ? obj[`_${variant.key}`] : undefined;
        if (value === undefined && ext === undefined) continue;
        if (spec.repeating) this.list(variant, value, ext, level + 1);
        else this.element(variant, value, ext, level + 1, obj, undefined);
      }
    }
    if (this.out.length === open + 1) {
      this.out[open] = '/>';
    } else {
      this.out.push(this.indent(level), '</', name, '>');
    }
  }

  private list(variant: Variant, value: unknown, ext: unknown, level: number): void {
    if ((value !== undefined && !Array.isArray(value)) || (ext !== undefined && ext !== null && !Array.isArray(ext))) {
      this.path.push(`.${variant.key}`);
      this.fail(`${variant.key} repeats (its maximum is above 1): a JSON array is expected`);
    }
    const values = (value ?? []) as unknown[];
    const exts = (ext ?? []) as unknown[];
    const n = Math.max(values.length, exts.length);
    if (n === 0) {
      this.path.push(`.${variant.key}`);
      this.fail('an empty array (R4 json.html: arrays are never empty)');
    }
    for (let i = 0; i < n; i++) this.element(variant, values[i] ?? undefined, exts[i] ?? undefined, level, values, i);
  }

  /** One element; `holder[index ?? key]` is where its JSON value sits (the object, or the list of a repeating element). */
  private element(variant: Variant, value: unknown, ext: unknown, level: number, holder: object, index: number | undefined): void {
    this.path.push(index === undefined ? `.${variant.key}` : `.${variant.key}[${index}]`);
    if (index === undefined && (Array.isArray(value) || Array.isArray(ext))) this.fail(`${variant.key} does not repeat (its maximum is 1): a JSON array is not allowed`);
    const name = variant.key;
    switch (variant.kind) {
      case 'primitive':
        this.primitive(variant, value, ext, level, holder, index);
        break;
      case 'xhtml': {
        if (typeof value !== 'string') this.fail('the narrative div must be a string');
        const div = divForXml(value);
        if (!div.ok) this.fail(`the narrative is not one XHTML div: ${div.reason}`);
        this.out.push(this.indent(level), div.xml);
        break;
      }
      case 'resource':
        this.out.push(this.indent(level), '<', name, '>');
        this.resource(value, level + 1, false);
        this.out.push(this.indent(level), '</', name, '>');
        break;
      case 'complex': {
        if (!isObject(value)) this.fail(`a ${variant.type} must be a JSON object`);
        if (Object.keys(value).length === 0) this.fail('an empty object (R4 json.html: objects are never empty)');
        const owner = ownerOf(variant.owner!);
        if (!owner) this.fail(`no R4 definition for the type ${variant.type}`);
        this.checkKeys(value, owner, false);
        this.out.push(this.indent(level), '<', name);
        for (const attr of owner.attributes.keys()) {
          const a = value[attr];
          if (a === undefined) continue;
          if (typeof a !== 'string') this.fail(`${attr} must be a string`);
          this.out.push(' ', attr, '="', this.text(a), '"');
        }
        this.children(value, owner, name, level);
        break;
      }
    }
    this.path.pop();
  }

  private primitive(variant: Variant, value: unknown, ext: unknown, level: number, holder: object, index: number | undefined): void {
    if (ext !== undefined && ext !== null && !isObject(ext)) this.fail(`_${variant.key} must be a JSON object`);
    const owner = variant.owner ? ownerOf(variant.owner) : undefined;
    const e = (ext ?? undefined) as JsonObject | undefined;
    if (e) {
      for (const k of Object.keys(e)) if (!owner?.jsonKeys.has(k)) this.fail(`_${variant.key} has ${JSON.stringify(k)}; a primitive's JSON object holds id and extension only`);
    }
    if (e && Object.keys(e).length === 0) this.fail(`_${variant.key} is an empty object (R4 json.html: objects are never empty)`);
    const id = e?.['id'];
    const extensions = e?.['extension'];
    if (value === null || value === undefined) {
      if (id === undefined && extensions === undefined) this.fail(index === undefined ? 'null is not a value' : `item ${index} is null and _${variant.key} gives nothing for it`);
    } else if (typeof value !== (variant.valueKind ?? 'string')) {
      this.fail(`a ${variant.type} must be a JSON ${variant.valueKind ?? 'string'}, not ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `the ${typeof value} ${JSON.stringify(value)}`}`);
    } else if (value === '') {
      this.fail('the empty string is not a value (R4: strings are never empty; xml.html: attributes are never empty)');
    }
    this.out.push(this.indent(level), '<', variant.key);
    if (id !== undefined) {
      if (typeof id !== 'string') this.fail('id must be a string');
      this.out.push(' id="', this.text(id), '"');
    }
    if (value !== null && value !== undefined) {
      const text =
        typeof value === 'number'
          ? numberText(this.options.lexemes, holder, index ?? variant.key, value)
          : typeof value === 'boolean'
            ? String(value)
            : this.text(String(value));
      this.out.push(' value="', text, '"');
    }
    if (extensions === undefined || !owner) {
      this.out.push('/>');
      return;
    }
    this.out.push('>');
    const extVariant = owner.byKey.get('extension');
    if (!extVariant) this.fail('a primitive of this type has no extensions');
    this.list(extVariant, extensions, undefined, level + 1);
    this.out.push(this.indent(level), '</', variant.key, '>');
  }

  private checkKeys(obj: JsonObject, owner: Owner, resource: boolean): void {
    for (const k of Object.keys(obj)) {
      if (resource && k === 'resourceType') continue;
      if (!owner.jsonKeys.has(k)) {
        this.path.push(`.${k}`);
        this.fail(`${k} is not an element of ${owner.key} in R4`);
      }
    }
  }
}

/** Writes one resource (a FHIR JSON object) as a FHIR XML document. */
export function writeFhirXml(resource: unknown, options: WriteOptions = {}): string {
  const w = new Writer(options);
  w.resource(resource, 0, true);
  const xml = w.result();
  if (options.omitDeclaration) return xml;
  return `<?xml version="1.0" encoding="UTF-8"?>${options.pretty ? '\n' : ''}${xml}`;
}
