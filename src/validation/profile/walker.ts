/**
 * Validation of an instance against a compiled StructureDefinition (FHIR R4 validation.html §2.4
 * "Validating Resources", profiling.html, elementdefinition.html, extensibility.html §2.5
 * "Extensions", references.html §2.3 "Resource References" and contained resources). One synchronous
 * walk of the JSON guided by the compiled element tree: cardinality, choice types, fixed/pattern,
 * maxLength, min/max values, references' target types, contained resources against their base type,
 * extensions resolved by url (context, modifier rules, their own definitions), slicing, invariants.
 * Binding checks are collected and evaluated asynchronously afterwards (bindings.ts).
 */
import type { StructureDefinition } from 'fhir/r4';
import { isResourceType } from '../../definitions/resource-types';
import type { ValidationIssue } from '../schema-issues';
import { BOUND_TYPES, type BindingCheck } from './bindings';
import type { CompiledNode } from './compiled-node';
import { sliceMatches, type DiscriminatorEnv, type PathValue } from './discriminator';
import type { Invariant, InvariantEnv } from './invariants';
import { assignSlices } from './slicing';
import { codePointLength, fixedMatches, isPrimitiveType, patternMatches, satisfiesBound, typeOfChoiceSuffix } from './values';

/** A compiled StructureDefinition: its root node and how to find nodes by path (contentReference). */
export interface ProfileRoot {
  readonly sd: StructureDefinition;
  readonly url: string;
  readonly type: string;
  readonly root: CompiledNode;
  /** Base definitions (derivation specialization): cardinality and choice types are left to the JSON schema. */
  readonly isSpecialization: boolean;
  byPath(path: string): CompiledNode | undefined;
}

/** What the walker needs from the compiler: compiled profiles and base types, options, expansions for slicing. */
export interface WalkResolver {
  profile(url: string): ProfileRoot | undefined;
  typeRoot(code: string): ProfileRoot | undefined;
  /** The type and its ancestors (`Age`, `Quantity`, `Element`). */
  typeAncestors(code: string): readonly string[];
  unknownExtension: 'error' | 'warning';
  /** Membership in a value set whose expansion was loaded; undefined when not loaded (recorded as needed). */
  inValueSet(valueSet: string, value: unknown, type: string | undefined, ctx: WalkContext): boolean | undefined;
}

export interface WalkContext {
  issues: ValidationIssue[];
  /** Binding checks to evaluate afterwards; undefined in conformance sub-walks (slicing by profile). */
  bindings: BindingCheck[] | undefined;
  env: InvariantEnv;
  /** The outermost resource (e.g. the Bundle), for resolving references within it. */
  outermost: Record<string, unknown>;
  /** Value sets a slice discriminator needed but which were not loaded yet. */
  missingExpansions: Set<string>;
  depth: number;
}

interface Item {
  key: string;
  path: string;
  type: string;
  value: unknown;
  /** The `_key` object of a primitive (id, extension). */
  ext: Record<string, unknown> | undefined;
}

interface Host {
  /** Paths naming the element holding extensions (element paths, no indexes). */
  paths: string[];
  /** The element path from the resource root (no indexes, choice elements as `value[x]`). */
  logical: string;
  type: string;
  resource: boolean;
  extensionUrl: string | undefined;
}

const MAX_DEPTH = 64;

interface ChildIndex {
  names: ReadonlySet<string>;
  byName: ReadonlyMap<string, CompiledNode>;
  choices: readonly CompiledNode[];
  /** Elements with a minimum (or slices with a minimum) that must be reported when absent. */
  checkedWhenAbsent: readonly CompiledNode[];
}

const childIndexes = new WeakMap<readonly CompiledNode[], ChildIndex>();

function hasMinimum(n: CompiledNode): boolean {
  return (n.constrainsCardinality && n.min > 0) || n.slices.some(hasMinimum);
}

function childIndex(children: readonly CompiledNode[]): ChildIndex {
  let idx = childIndexes.get(children);
  if (!idx) {
    const byName = new Map<string, CompiledNode>();
    for (const c of children) if (!c.isChoice) byName.set(c.name, c);
    idx = { names: new Set(children.map((c) => c.name)), byName, choices: children.filter((c) => c.isChoice), checkedWhenAbsent: children.filter(hasMinimum) };
    childIndexes.set(children, idx);
  }
  return idx;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function issue(severity: ValidationIssue['severity'], code: ValidationIssue['code'], diagnostics: string, path: string): ValidationIssue {
  return { severity, code, diagnostics, expression: [path] };
}

function stripIndexes(path: string): string {
  return path.replace(/\[\d+\]/g, '');
}

const REFERENCE_RE = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const BASE_SD = 'http://hl7.org/fhir/StructureDefinition/';
const CORE_EXTENSION = BASE_SD;
/** Contexts of core extensions that the R4 definitions themselves use more widely (see extensionContext). */
const LENIENT_CONTEXT = /^(ElementDefinition|StructureDefinition)\b/;

export class Walker {
  constructor(private readonly resolver: WalkResolver) {}

  /** Validates a resource (at `path`) against a compiled profile. */
  resource(profile: ProfileRoot, resource: Record<string, unknown>, path: string, ctx: WalkContext): void {
    const rt = typeof resource.resourceType === 'string' ? resource.resourceType : undefined;
    if (rt === undefined) return; // reported by the base validator
    if (profile.type !== rt && !this.resolver.typeAncestors(rt).includes(profile.type)) {
      ctx.issues.push(issue('error', 'structure', `${path}: a ${rt} cannot conform to ${profile.url} (a profile of ${profile.type})`, path));
      return;
    }
    if (ctx.depth > MAX_DEPTH) return;
    ctx.depth++;
    this.invariants([profile.root.invariants(rt, true)], resource, path, ctx, new Set());
    this.object(resource, profile.root, profile.root, profile, rt, path, ctx, { paths: [rt, profile.type], logical: rt, type: rt, resource: true, extensionUrl: undefined });
    ctx.depth--;
  }

  /** Whether a value conforms to a profile (no error), without binding checks. */
  conforms(value: unknown, type: string | undefined, url: string, ctx: WalkContext, path: string): boolean {
    const profile = this.resolver.profile(url);
    if (!profile) return false;
    const sub: WalkContext = { ...ctx, issues: [], bindings: undefined };
    if (isObject(value) && typeof value.resourceType === 'string') {
      if (value.resourceType !== profile.type && !this.resolver.typeAncestors(value.resourceType).includes(profile.type)) return false;
      this.resource(profile, value, path, { ...sub, env: { resource: value, rootResource: value } });
    } else {
      if (type !== undefined && type !== profile.type && !this.resolver.typeAncestors(type).includes(profile.type)) return false;
      this.typed(value, profile, type ?? profile.type, path, sub, new Set());
    }
    return !sub.issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
  }

  /** Walks a data type value against a profile on that type (its root checks, then its children). */
  private typed(value: unknown, profile: ProfileRoot, type: string, path: string, ctx: WalkContext, seen: Set<string>): void {
    this.valueChecks(value, profile.root, type, path, ctx);
    this.invariants([profile.root.invariants(type, true)], value, path, ctx, seen);
    if (isObject(value)) this.object(value, profile.root, profile.root, profile, type, path, ctx, { paths: [profile.type], logical: type, type, resource: false, extensionUrl: undefined });
  }

  private childrenOf(node: CompiledNode, base: CompiledNode, profile: ProfileRoot, type: string): { children: CompiledNode[]; profile: ProfileRoot } {
    if (node.children.length > 0) return { children: node.children, profile };
    if (base.children.length > 0) return { children: base.children, profile };
    const ref = node.contentReference ?? base.contentReference;
    if (ref) {
      const target = profile.byPath(ref.startsWith('#') ? ref.slice(1) : ref.slice(ref.indexOf('#') + 1));
      if (target) return { children: target.children, profile };
    }
    const t = this.resolver.typeRoot(type);
    return t ? { children: t.root.children, profile: t } : { children: [], profile };
  }

  private object(obj: Record<string, unknown>, node: CompiledNode, base: CompiledNode, profile: ProfileRoot, type: string, path: string, ctx: WalkContext, host: Host): void {
    const { children, profile: owner } = this.childrenOf(node, base, profile, type);
    const index = childIndex(children);
    // Only the elements present in the object, plus those that must be checked when absent.
    const todo = new Set<CompiledNode>();
    for (const key of Object.keys(obj)) {
      const bare = key.charCodeAt(0) === 95 ? key.slice(1) : key; // '_'
      const direct = index.byName.get(bare);
      if (direct) {
        todo.add(direct);
        continue;
      }
      for (const c of index.choices) if (bare.length > c.choiceBase.length && bare.startsWith(c.choiceBase)) todo.add(c);
    }
    for (const c of index.checkedWhenAbsent) todo.add(c);
    for (const child of children) if (todo.has(child)) this.element(obj, child, owner, path, ctx, host, index.names);
  }

  /** The items of an element in `obj`, and how many were rejected for a type the element does not allow. */
  private gather(obj: Record<string, unknown>, child: CompiledNode, parentPath: string, siblings: ReadonlySet<string>, ctx: WalkContext, check: boolean): { items: Item[]; rejected: number } {
    const keys: Array<{ key: string; type: string }> = [];
    let rejected = 0;
    if (child.isChoice) {
      for (const k of Object.keys(obj)) {
        if (k.length <= child.choiceBase.length || !k.startsWith(child.choiceBase) || siblings.has(k)) continue;
        const type = typeOfChoiceSuffix(k.slice(child.choiceBase.length));
        if (!type) continue;
        if (check && !child.typeCodes.has(type)) {
          const p = `${parentPath}.${k}`;
          ctx.issues.push(issue('error', 'structure', `${p}: the type ${type} is not allowed for ${child.path} here (allowed: ${[...child.typeCodes].join(', ')})`, p));
          rejected++;
          continue;
        }
        keys.push({ key: k, type });
      }
      for (const k of Object.keys(obj)) {
        if (!k.startsWith(`_${child.choiceBase}`)) continue;
        const bare = k.slice(1);
        const type = typeOfChoiceSuffix(bare.slice(child.choiceBase.length));
        if (type && obj[bare] === undefined && child.typeCodes.has(type)) keys.push({ key: bare, type });
      }
    } else {
      if (obj[child.name] === undefined && obj[`_${child.name}`] === undefined) return { items: [], rejected };
      keys.push({ key: child.name, type: child.singleType ?? '' });
    }
    const items: Item[] = [];
    for (const { key, type } of keys) {
      const v = obj[key];
      const e = obj[`_${key}`];
      if (Array.isArray(v) || Array.isArray(e)) {
        const vs = Array.isArray(v) ? v : [];
        const es = Array.isArray(e) ? e : [];
        const n = Math.max(vs.length, es.length);
        for (let i = 0; i < n; i++) {
          const value: unknown = vs[i] ?? undefined;
          const ext: unknown = es[i];
          if ((value === undefined || value === null) && !isObject(ext)) continue;
          items.push({ key, path: `${parentPath}.${key}[${i}]`, type: this.itemType(type, value), value: value === null ? undefined : value, ext: isObject(ext) ? ext : undefined });
        }
      } else {
        items.push({ key, path: `${parentPath}.${key}`, type: this.itemType(type, v), value: v, ext: isObject(e) ? e : undefined });
      }
    }
    return { items, rejected };
  }

  private itemType(declared: string, value: unknown): string {
    if (isObject(value) && typeof value.resourceType === 'string' && (declared === 'Resource' || declared === 'DomainResource' || isResourceType(declared) || declared === '')) {
      return value.resourceType;
    }
    return declared;
  }

  private element(obj: Record<string, unknown>, child: CompiledNode, profile: ProfileRoot, parentPath: string, ctx: WalkContext, host: Host, siblings: ReadonlySet<string>): void {
    const structural = !profile.isSpecialization;
    const { items, rejected } = this.gather(obj, child, parentPath, siblings, ctx, structural);
    const elementPath = `${parentPath}.${child.choiceBase}`;
    if (structural && child.constrainsCardinality) {
      if (items.length + rejected < child.min) {
        ctx.issues.push(issue('error', 'required', `${elementPath}: minimum required = ${child.min}, but only found ${items.length} (from ${profile.url})`, elementPath));
      }
      if (items.length > child.max) {
        ctx.issues.push(issue('error', 'structure', `${elementPath}: maximum allowed = ${child.max}, but found ${items.length} (from ${profile.url})`, elementPath));
      }
    }
    if (items.length === 0) {
      // Slices with a minimum still need checking when the element is absent.
      if (child.slicing) assignSlices([], child, elementPath, () => false, ctx.issues);
      return;
    }
    let effective: CompiledNode[] = items.map(() => child);
    if (child.slicing) {
      const env = this.discriminatorEnv(ctx, parentPath);
      effective = assignSlices(items, child, elementPath, (slice, sliced, item) => sliceMatches(slice, sliced, this.pathValue(item, child), env), ctx.issues);
    }
    items.forEach((item, i) => this.item(item, effective[i] ?? child, child, profile, ctx, host));
  }

  private pathValue(item: Item, node: CompiledNode): PathValue {
    const typePath = item.type === 'BackboneElement' || item.type === 'Element' || item.type === '' ? stripIndexes(node.path) : item.type;
    return { value: item.value, type: item.type || undefined, typePath };
  }

  private discriminatorEnv(ctx: WalkContext, path: string): DiscriminatorEnv {
    return {
      typeChildren: (code) => this.resolver.typeRoot(code)?.root.children,
      profileRoot: (url) => this.resolver.profile(url)?.root,
      conforms: (value, type, url) => this.conforms(value, type, url, ctx, path),
      inValueSet: (vs, value, type) => this.resolver.inValueSet(vs, value, type, ctx),
      resolveReference: (ref) => this.resolveReference(ref, ctx),
    };
  }

  private resolveReference(ref: string, ctx: WalkContext): Record<string, unknown> | undefined {
    if (ref.startsWith('#')) {
      const contained = ctx.env.rootResource.contained;
      return Array.isArray(contained) ? (contained.find((c) => isObject(c) && c.id === ref.slice(1)) as Record<string, unknown> | undefined) : undefined;
    }
    const b = ctx.outermost;
    if (b.resourceType !== 'Bundle' || !Array.isArray(b.entry)) return undefined;
    for (const e of b.entry) {
      if (!isObject(e) || !isObject(e.resource)) continue;
      const r = e.resource;
      if (e.fullUrl === ref) return r;
      if (typeof r.resourceType === 'string' && typeof r.id === 'string' && (ref === `${r.resourceType}/${r.id}` || (typeof e.fullUrl === 'string' && e.fullUrl.endsWith(`/${ref}`)))) return r;
    }
    return undefined;
  }

  private item(item: Item, node: CompiledNode, base: CompiledNode, profile: ProfileRoot, ctx: WalkContext, parentHost: Host): void {
    const { type, value, path } = item;
    if (isObject(value) && typeof value.resourceType === 'string' && type === value.resourceType) {
      this.nestedResource(value, node, path, ctx);
      return;
    }
    const seen = new Set<string>();
    if (value !== undefined) {
      this.valueChecks(value, node, type, path, ctx);
      const lists: Invariant[][] = [node.invariants(type, false)];
      // Constraints on the slicing entry apply to every item, also to those assigned to a slice
      // whose definition was copied before a derived profile added them (profiling.html "Slicing").
      if (base !== node) lists.push(base.invariants(type, false));
      const typeRoot = type !== '' && !isPrimitiveType(type) ? this.resolver.typeRoot(type) : undefined;
      if (typeRoot) lists.push(typeRoot.root.invariants(type, true));
      this.invariants(lists, value, path, ctx, seen);
    }
    const logical = `${parentHost.logical}.${base.name}`;
    const host: Host = { paths: [stripIndexes(node.path), logical], logical, type, resource: false, extensionUrl: undefined };
    // The element as a part of its parent's data type (e.g. `Address.line` for `Patient.address.line`).
    if (parentHost.type !== '' && !parentHost.resource && parentHost.type !== 'BackboneElement' && parentHost.type !== 'Element') host.paths.push(`${parentHost.type}.${base.name}`);
    const ref = node.contentReference ?? base.contentReference;
    if (ref) host.paths.push(ref.slice(ref.indexOf('#') + 1));
    if (base.isChoice) {
      const typed = `${base.choiceBase}${type.charAt(0).toUpperCase()}${type.slice(1)}`;
      host.paths.push(`${node.path.slice(0, -base.name.length)}${typed}`, `${parentHost.logical}.${typed}`);
    }
    if (type !== '' && isPrimitiveType(type)) {
      if (item.ext) this.object(item.ext, node, base, profile, type, path, ctx, host);
      return;
    }
    if (!isObject(value)) return;
    if (type === 'Reference') this.reference(value, node, path, ctx);
    if (type === 'Extension') {
      this.extension(value, node, base, profile, path, ctx, parentHost, seen);
      return;
    }
    const profiles = node.typeRef(type)?.profiles ?? [];
    if (profiles.length > 0 && node.children.length === 0) {
      this.typeProfiles(value, profiles, type, path, ctx, seen);
      return;
    }
    if (ctx.depth > MAX_DEPTH) return;
    ctx.depth++;
    this.object(value, node, base, profile, type, path, ctx, host);
    ctx.depth--;
  }

  private typeProfiles(value: Record<string, unknown>, urls: string[], type: string, path: string, ctx: WalkContext, seen: Set<string>): void {
    const resolved = urls.map((u) => this.resolver.profile(u)).filter((p): p is ProfileRoot => p !== undefined);
    if (resolved.length === 0) {
      ctx.issues.push(issue('warning', 'not-found', `${path}: the profile ${urls.join(', ')} of type ${type} is not known; validated against ${type} only`, path));
      const t = this.resolver.typeRoot(type);
      if (t) this.object(value, t.root, t.root, t, type, path, ctx, { paths: [type], logical: type, type, resource: false, extensionUrl: undefined });
      return;
    }
    const first = resolved[0] as ProfileRoot;
    if (resolved.length === 1 || resolved.some((p) => this.conforms(value, type, p.url, ctx, path))) {
      const chosen = resolved.length === 1 ? first : (resolved.find((p) => this.conforms(value, type, p.url, ctx, path)) as ProfileRoot);
      this.typed(value, chosen, type, path, ctx, seen);
      return;
    }
    ctx.issues.push(issue('error', 'structure', `${path}: does not conform to any of the profiles ${resolved.map((p) => p.url).join(', ')}`, path));
  }

  private nestedResource(value: Record<string, unknown>, node: CompiledNode, path: string, ctx: WalkContext): void {
    const rt = value.resourceType as string;
    const declared = node.types.map((t) => t.code);
    if (declared.length > 0 && !declared.some((d) => d === rt || d === 'Resource' || d === 'DomainResource' || this.resolver.typeAncestors(rt).includes(d))) {
      ctx.issues.push(issue('error', 'structure', `${path}: a ${rt} is not allowed here (allowed: ${declared.join(', ')})`, path));
      return;
    }
    const contained = stripIndexes(node.path).endsWith('.contained');
    const env: InvariantEnv = contained ? { resource: value, rootResource: ctx.env.rootResource } : { resource: value, rootResource: value };
    const sub: WalkContext = { ...ctx, env };
    const urls = (node.typeRef(rt) ?? node.typeRef('Resource'))?.profiles ?? [];
    const profiles = urls.map((u) => this.resolver.profile(u)).filter((p): p is ProfileRoot => p !== undefined && (p.type === rt || this.resolver.typeAncestors(rt).includes(p.type)));
    if (profiles.length === 0) {
      const baseProfile = this.resolver.typeRoot(rt);
      if (baseProfile) this.resource(baseProfile, value, path, sub);
      return;
    }
    const chosen = profiles.length === 1 ? profiles[0] : profiles.find((p) => this.conforms(value, rt, p.url, sub, path));
    if (!chosen) {
      ctx.issues.push(issue('error', 'structure', `${path}: the ${rt} does not conform to any of the profiles ${profiles.map((p) => p.url).join(', ')}`, path));
      return;
    }
    this.resource(chosen, value, path, sub);
  }

  private valueChecks(value: unknown, node: CompiledNode, type: string, path: string, ctx: WalkContext): void {
    if (node.fixed && !fixedMatches(node.fixed.value, value)) {
      ctx.issues.push(issue('error', 'value', `${path}: the value must be exactly ${JSON.stringify(node.fixed.value)} (fixed value), found ${JSON.stringify(value)}`, path));
    }
    if (node.pattern && !patternMatches(node.pattern.value, value)) {
      ctx.issues.push(issue('error', 'value', `${path}: the value must match the pattern ${JSON.stringify(node.pattern.value)}, found ${JSON.stringify(value)}`, path));
    }
    if (node.maxLength !== undefined && typeof value === 'string' && codePointLength(value) > node.maxLength) {
      ctx.issues.push(issue('error', 'too-long', `${path}: the value is longer than the maximum length ${node.maxLength}`, path));
    }
    for (const [side, bound] of [['min', node.minValue], ['max', node.maxValue]] as const) {
      if (!bound) continue;
      const ok = satisfiesBound(value, bound, side);
      if (ok === false) {
        ctx.issues.push(issue('error', 'value', `${path}: the value ${JSON.stringify(value)} is ${side === 'min' ? 'less' : 'greater'} than the ${side}imum ${JSON.stringify(bound.value)}`, path));
      } else if (ok === undefined) {
        ctx.issues.push(issue('warning', 'value', `${path}: the value could not be compared with the ${side}Value ${JSON.stringify(bound.value)}`, path));
      }
    }
    if (node.binding && ctx.bindings && BOUND_TYPES.has(type)) {
      ctx.bindings.push({ path, strength: node.binding.strength, valueSet: node.binding.valueSet, type: type as BindingCheck['type'], value });
    }
  }

  private invariants(lists: Invariant[][], value: unknown, path: string, ctx: WalkContext, seen: Set<string>): void {
    // Invariants sharing an expression on the same value (e.g. txt-1 and txt-2: htmlChecks()) are evaluated once.
    let byExpression: Map<string, boolean> | undefined;
    for (const list of lists) {
      for (const inv of list) {
        if (seen.has(inv.key)) continue;
        seen.add(inv.key);
        let ok: boolean;
        try {
          const known = byExpression?.get(inv.expression);
          ok = known ?? inv.check(value, ctx.env);
          if (known === undefined) (byExpression ??= new Map()).set(inv.expression, ok);
        } catch (e) {
          ctx.issues.push(issue('warning', 'processing', `${path}: the invariant ${inv.key} could not be evaluated (${e instanceof Error ? e.message : String(e)})`, path));
          continue;
        }
        if (!ok) ctx.issues.push(issue(inv.severity, 'invariant', `${path}: constraint ${inv.key} failed: ${inv.human} [${inv.expression}]`, path));
      }
    }
  }

  private reference(value: Record<string, unknown>, node: CompiledNode, path: string, ctx: WalkContext): void {
    const targets = node.typeRef('Reference')?.targetProfiles ?? [];
    if (targets.length === 0) return;
    const allowed = new Set<string>();
    for (const t of targets) {
      const tail = t.startsWith(BASE_SD) ? t.slice(BASE_SD.length) : undefined;
      const name = tail !== undefined && (isResourceType(tail) || tail === 'Resource') ? tail : this.resolver.profile(t)?.type;
      if (name === undefined) return; // an unknown target profile: cannot check
      allowed.add(name);
    }
    if (allowed.has('Resource') || allowed.has('DomainResource')) return;
    const ref = value.reference;
    let type: string | undefined;
    if (typeof ref === 'string') {
      if (ref.startsWith('#')) {
        const r = ref.length > 1 ? this.resolveReference(ref, ctx) : ctx.env.resource;
        type = typeof r?.resourceType === 'string' ? r.resourceType : undefined;
      } else {
        const m = REFERENCE_RE.exec(ref);
        if (m && isResourceType(m[1] as string)) type = m[1];
        else if (ref.startsWith('urn:')) {
          const r = this.resolveReference(ref, ctx);
          type = typeof r?.resourceType === 'string' ? r.resourceType : undefined;
        }
      }
    }
    const declared = typeof value.type === 'string' ? value.type : undefined;
    for (const t of [type, declared]) {
      if (t !== undefined && !allowed.has(t) && !this.resolver.typeAncestors(t).some((a) => allowed.has(a))) {
        ctx.issues.push(issue('error', 'structure', `${path}: the reference points to a ${t}, but the allowed target types are ${[...allowed].join(', ')}`, `${path}.reference`));
        return;
      }
    }
  }

  private extension(value: Record<string, unknown>, node: CompiledNode, base: CompiledNode, profile: ProfileRoot, path: string, ctx: WalkContext, host: Host, seen: Set<string>): void {
    const url = typeof value.url === 'string' ? value.url : undefined;
    const modifierElement = base.name === 'modifierExtension';
    const sliceProfiles = node.sliceName !== undefined ? (node.typeRef('Extension')?.profiles ?? []) : [];
    if (node.sliceName !== undefined && sliceProfiles.length === 0) {
      // An inline extension slice (e.g. inside a complex extension): its own children define it.
      this.object(value, node, base, profile, 'Extension', path, ctx, { paths: ['Extension'], logical: 'Extension', type: 'Extension', resource: false, extensionUrl: url });
      return;
    }
    const defUrl = sliceProfiles[0] ?? url;
    if (defUrl === undefined) return; // Extension.url is required: reported by the base validator
    const ext = this.resolver.profile(defUrl);
    if (!ext) {
      const severity = modifierElement ? 'error' : this.resolver.unknownExtension;
      ctx.issues.push(issue(severity, modifierElement ? 'structure' : 'extension', `${path}: the extension ${defUrl} is unknown${modifierElement ? ' (a modifier extension must be understood)' : ''}`, path));
      if (node.children.length > 0) this.object(value, node, base, profile, 'Extension', path, ctx, { paths: ['Extension'], logical: 'Extension', type: 'Extension', resource: false, extensionUrl: url });
      return;
    }
    if (ext.type !== 'Extension') {
      ctx.issues.push(issue('error', 'structure', `${path}: ${defUrl} is not an extension definition`, path));
      return;
    }
    const isModifier = ext.root.isModifier;
    if (modifierElement && !isModifier) {
      ctx.issues.push(issue('error', 'structure', `${path}: the extension ${defUrl} is not a modifier extension and cannot be used in modifierExtension`, path));
    } else if (!modifierElement && isModifier) {
      ctx.issues.push(issue('error', 'structure', `${path}: the extension ${defUrl} is a modifier extension and must be used in modifierExtension`, path));
    }
    this.extensionContext(ext.sd, defUrl, host, path, ctx);
    this.invariants([ext.root.invariants('Extension', true)], value, path, ctx, seen);
    if (ctx.depth > MAX_DEPTH) return;
    ctx.depth++;
    this.object(value, ext.root, ext.root, ext, 'Extension', path, ctx, { paths: ['Extension'], logical: 'Extension', type: 'Extension', resource: false, extensionUrl: defUrl });
    ctx.depth--;
  }

  private extensionContext(sd: StructureDefinition, url: string, host: Host, path: string, ctx: WalkContext): void {
    const contexts = sd.context ?? [];
    if (contexts.length === 0) return;
    const types = new Set([host.type, ...this.resolver.typeAncestors(host.type)]);
    const ok = contexts.some((c) => {
      if (c.type === 'fhirpath') return true; // FHIRPath contexts are not evaluated
      if (c.type === 'extension') return host.extensionUrl === c.expression;
      const e = c.expression;
      if (e === 'Element' || e === 'Base') return true;
      if (types.has(e)) return true;
      if (host.resource && (e === 'Resource' || e === 'DomainResource')) return types.has(e) || e === 'Resource';
      const normal = e.replace(/\[x\]/g, '');
      return host.paths.some(
        (p) =>
          p === e ||
          p.replace(/\[x\]/g, '') === normal ||
          (p.startsWith(normal) && /^[A-Z]/.test(p.slice(normal.length))) ||
          // Core extensions whose published R4 context is too narrow (e.g. structuredefinition-fhir-type on
          // ElementDefinition.type.code, used on ElementDefinition.type): accepted next to their context.
          (url.startsWith(CORE_EXTENSION) && LENIENT_CONTEXT.test(normal) && (p.startsWith(`${normal}.`) || normal.startsWith(`${p}.`) || types.has(normal.split('.')[0] ?? ''))),
      );
    });
    if (!ok) {
      const where = contexts.map((c) => c.expression).join(', ');
      ctx.issues.push(issue('error', 'structure', `${path}: the extension ${url} is not allowed here (${host.paths[0] ?? host.type}); its contexts are ${where}`, path));
    }
  }
}
