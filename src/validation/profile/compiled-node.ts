/**
 * The compiled form of one element definition (FHIR R4 elementdefinition.html): everything a
 * validation needs from `ElementDefinition` (cardinality, types with profiles and target profiles,
 * `fixed[x]`, `pattern[x]`, `minValue[x]`/`maxValue[x]`, `maxLength`, binding, invariants, slicing)
 * is read once, when the profile is compiled, and kept on the node.
 */
import type { ElementDefinition, ElementDefinitionSlicingDiscriminator } from 'fhir/r4';
import type { ElementNode } from './element-tree';
import { compileInvariants, type Invariant } from './invariants';
import { capitalise, isPrimitiveType, typedProperty } from './values';

export interface TypeRef {
  /** The FHIR type code (FHIRPath system types are mapped to their FHIR type, e.g. `string`, `uri`). */
  code: string;
  profiles: string[];
  targetProfiles: string[];
}

export interface CompiledSlicing {
  discriminators: ElementDefinitionSlicingDiscriminator[];
  rules: 'open' | 'closed' | 'openAtEnd';
  ordered: boolean;
}

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

function typeCode(t: NonNullable<ElementDefinition['type']>[number]): string {
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const ext = t.extension?.find((e) => e.url === FHIR_TYPE_EXT);
    const named = ext?.valueUrl ?? ext?.valueUri;
    if (named) return named;
    const sys = t.code.slice('http://hl7.org/fhirpath/System.'.length);
    return sys === 'String' ? 'string' : sys.charAt(0).toLowerCase() + sys.slice(1);
  }
  return t.code;
}

export class CompiledNode {
  readonly def: ElementDefinition;
  readonly path: string;
  readonly name: string;
  readonly sliceName: string | undefined;
  readonly min: number;
  readonly max: number;
  /** Whether min/max differ from the base definition's (otherwise the JSON schema already enforces them). */
  readonly constrainsCardinality: boolean;
  readonly isChoice: boolean;
  /** For `value[x]`: `value`. */
  readonly choiceBase: string;
  readonly types: TypeRef[];
  readonly typeCodes: ReadonlySet<string>;
  readonly children: CompiledNode[];
  readonly childNames: ReadonlySet<string>;
  readonly slicing: CompiledSlicing | undefined;
  readonly slices: CompiledNode[];
  readonly fixed: { type: string; value: unknown } | undefined;
  readonly pattern: { type: string; value: unknown } | undefined;
  readonly minValue: { type: string; value: unknown } | undefined;
  readonly maxValue: { type: string; value: unknown } | undefined;
  readonly maxLength: number | undefined;
  readonly binding: { strength: 'required' | 'extensible'; valueSet: string } | undefined;
  readonly contentReference: string | undefined;
  readonly isModifier: boolean;
  private readonly invariantsByType = new Map<string, Invariant[]>();

  constructor(tree: ElementNode) {
    const def = tree.def;
    this.def = def;
    this.path = tree.path;
    this.name = tree.name;
    this.sliceName = tree.sliceName;
    this.min = def.min ?? 0;
    this.max = def.max === undefined || def.max === '*' ? Infinity : Number(def.max);
    const baseMin = def.base?.min ?? this.min;
    const baseMax = def.base?.max === undefined || def.base.max === '*' ? (def.base ? Infinity : this.max) : Number(def.base.max);
    this.constrainsCardinality = tree.sliceName !== undefined || this.min !== baseMin || this.max !== baseMax;
    this.isChoice = this.name.endsWith('[x]');
    this.choiceBase = this.isChoice ? this.name.slice(0, -3) : this.name;
    this.types = (def.type ?? []).map((t) => ({ code: typeCode(t), profiles: t.profile ?? [], targetProfiles: t.targetProfile ?? [] }));
    this.typeCodes = new Set(this.types.map((t) => t.code));
    this.children = tree.children.map((c) => new CompiledNode(c));
    this.childNames = new Set(this.children.map((c) => c.name));
    this.slicing = def.slicing
      ? { discriminators: def.slicing.discriminator ?? [], rules: def.slicing.rules ?? 'open', ordered: def.slicing.ordered === true }
      : undefined;
    this.slices = tree.slices.map((s) => new CompiledNode(s));
    this.fixed = typedProperty(def, 'fixed');
    this.pattern = typedProperty(def, 'pattern');
    this.minValue = typedProperty(def, 'minValue');
    this.maxValue = typedProperty(def, 'maxValue');
    this.maxLength = def.maxLength;
    const b = def.binding;
    this.binding = b?.valueSet && (b.strength === 'required' || b.strength === 'extensible') ? { strength: b.strength, valueSet: b.valueSet } : undefined;
    this.contentReference = def.contentReference;
    this.isModifier = def.isModifier === true;
  }

  /** The type of a value of this element when it is not a choice (undefined without a type, e.g. a contentReference). */
  get singleType(): string | undefined {
    return this.types.length === 1 ? this.types[0]?.code : undefined;
  }

  typeRef(code: string): TypeRef | undefined {
    return this.types.find((t) => t.code === code);
  }

  /**
   * The invariants of this element for a value of type `code`, compiled on first use with the right
   * FHIRPath type context (the element path, the typed choice path, or the data type).
   */
  invariants(code: string, isRoot: boolean): Invariant[] {
    let list = this.invariantsByType.get(code);
    if (!list) {
      let base: string;
      if (isRoot) base = this.path;
      else if (this.isChoice && !this.path.slice(0, -3).includes('[x]')) base = `${this.path.slice(0, -3)}${capitalise(code)}`;
      else if (code === 'BackboneElement' || code === 'Element' || code === '') base = this.path;
      else if (this.path.includes('[x]') || !isPrimitiveType(code)) base = code;
      else base = this.path;
      list = compileInvariants(this.def, base);
      this.invariantsByType.set(code, list);
    }
    return list;
  }
}
