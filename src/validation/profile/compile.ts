/**
 * Compilation of StructureDefinitions with snapshot into validators (FHIR R4 profiling.html,
 * structuredefinition.html; validation.html §2.4 "Validating Resources": "validation against a
 * profile"). `compileProfile` turns a snapshot into a tree of compiled element nodes once; the
 * result validates any number of resources without re-reading the snapshot. Compiled profiles are
 * cached by `url|version` per dependency set (resolver + terminology), as are the base types and
 * extension definitions they reach (compiled on first use).
 */
import type { StructureDefinition } from 'fhir/r4';
import { structureDefinition } from '../../definitions/structure-definitions';
import type { CodeRef } from '../../terminology/terminology';
import type { ValidationIssue } from '../schema-issues';
import { evaluateBindings, type BindingCheck } from './bindings';
import { CompiledNode } from './compiled-node';
import { buildElementTree } from './element-tree';
import type { CompiledProfile, ProfileDeps, ProfileOptions } from './types';
import { Walker, type ProfileRoot, type WalkContext, type WalkResolver } from './walker';

const BASE_SD = 'http://hl7.org/fhir/StructureDefinition/';

class CompiledRoot implements ProfileRoot {
  readonly url: string;
  readonly type: string;
  readonly root: CompiledNode;
  readonly isSpecialization: boolean;
  private readonly paths = new Map<string, CompiledNode>();

  constructor(readonly sd: StructureDefinition) {
    this.url = sd.url;
    this.type = sd.type;
    this.root = new CompiledNode(buildElementTree(sd));
    this.isSpecialization = sd.derivation !== 'constraint';
    const index = (n: CompiledNode): void => {
      if (!this.paths.has(n.path)) this.paths.set(n.path, n);
      for (const c of n.children) index(c);
    };
    index(this.root);
  }

  byPath(path: string): CompiledNode | undefined {
    return this.paths.get(path);
  }
}

interface Membership {
  pairs: Set<string>;
  codes: Set<string>;
}

function codedValues(value: unknown): Array<{ system?: string; code: string }> {
  if (typeof value === 'string') return [{ code: value }];
  if (typeof value !== 'object' || value === null) return [];
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.coding)) return o.coding.flatMap(codedValues);
  if (typeof o.code === 'string') return typeof o.system === 'string' ? [{ system: o.system, code: o.code }] : [{ code: o.code }];
  return [];
}

/** Compiles and caches profiles for one set of dependencies. */
export class ProfileCompiler implements WalkResolver {
  readonly unknownExtension: 'error' | 'warning';
  private readonly roots = new Map<string, CompiledRoot | null>();
  private readonly types = new Map<string, CompiledRoot | null>();
  private readonly ancestors = new Map<string, readonly string[]>();
  private readonly expansions = new Map<string, Membership | null>();
  private readonly profiles = new Map<string, CompiledProfile>();
  private readonly walker = new Walker(this);

  constructor(
    readonly deps: ProfileDeps,
    options: ProfileOptions = {},
  ) {
    this.unknownExtension = options.unknownExtension ?? 'error';
  }

  /** The compiled validator of a StructureDefinition with snapshot (cached by url|version). */
  compile(sd: StructureDefinition): CompiledProfile {
    const key = `${sd.url}|${sd.version ?? ''}`;
    let p = this.profiles.get(key);
    if (!p) {
      const root = this.rootOf(sd);
      p = this.makeProfile(root);
      this.profiles.set(key, p);
    }
    return p;
  }

  /** The compiled validator of a profile known to the resolver, or undefined. */
  compileUrl(url: string): CompiledProfile | undefined {
    const root = this.profile(url);
    return root ? this.compile(root.sd) : undefined;
  }

  private rootOf(sd: StructureDefinition): CompiledRoot {
    const key = `${sd.url}|${sd.version ?? ''}`;
    let r = this.roots.get(key);
    if (!r) {
      r = new CompiledRoot(sd);
      this.roots.set(key, r);
    }
    return r;
  }

  private makeProfile(root: CompiledRoot): CompiledProfile {
    return {
      url: root.url,
      version: root.sd.version,
      type: root.type,
      structureDefinition: root.sd,
      validate: (resource) => this.validate(root, resource),
    };
  }

  private async validate(root: CompiledRoot, resource: unknown): Promise<ValidationIssue[]> {
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
      return [{ severity: 'error', code: 'structure', diagnostics: 'The instance must be a JSON object', expression: [root.type] }];
    }
    const r = resource as Record<string, unknown>;
    const run = (): { ctx: WalkContext; bindings: BindingCheck[] } => {
      const bindings: BindingCheck[] = [];
      const ctx: WalkContext = { issues: [], bindings, env: { resource: r, rootResource: r }, outermost: r, missingExpansions: new Set(), depth: 0 };
      const path = typeof r.resourceType === 'string' ? r.resourceType : root.type;
      try {
        if (typeof r.resourceType === 'string') this.walker.resource(root, r, path, ctx);
        else this.walker.conforms(r, root.type, root.url, ctx, path);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        ctx.issues.push({ severity: 'error', code: 'structure', diagnostics: 'The resource is nested too deeply to be validated', expression: [path] });
      }
      return { ctx, bindings };
    };
    let { ctx, bindings } = run();
    if (ctx.missingExpansions.size > 0) {
      // Slices discriminated by a value set binding: load the expansions, then walk again.
      await Promise.all([...ctx.missingExpansions].map((vs) => this.loadExpansion(vs)));
      ({ ctx, bindings } = run());
    }
    const bindingIssues = await evaluateBindings(bindings, this.deps.terminology);
    return [...ctx.issues, ...bindingIssues];
  }

  private async loadExpansion(vs: string): Promise<void> {
    let codes: CodeRef[] | undefined;
    try {
      codes = await this.deps.terminology.expand(vs);
    } catch {
      codes = undefined;
    }
    this.expansions.set(vs, codes ? { pairs: new Set(codes.map((c) => `${c.system}\u0000${c.code}`)), codes: new Set(codes.map((c) => c.code)) } : null);
  }

  // ---- WalkResolver ----

  profile(url: string): ProfileRoot | undefined {
    const cached = this.roots.get(`${url}|`);
    if (cached !== undefined) return cached ?? undefined;
    let sd: StructureDefinition | undefined;
    try {
      sd = this.deps.resolveProfile(url) ?? (url.startsWith(BASE_SD) ? structureDefinition(url.slice(BASE_SD.length)) : undefined);
    } catch {
      sd = undefined; // e.g. a snapshot that cannot be generated: the profile is treated as unknown
    }
    if (!sd?.snapshot?.element?.length) {
      this.roots.set(`${url}|`, null);
      return undefined;
    }
    const root = this.rootOf(sd);
    this.roots.set(`${url}|`, root);
    return root;
  }

  typeRoot(code: string): ProfileRoot | undefined {
    if (code === '') return undefined;
    const cached = this.types.get(code);
    if (cached !== undefined) return cached ?? undefined;
    let sd: StructureDefinition | undefined = structureDefinition(code);
    try {
      sd ??= this.deps.resolveProfile(`${BASE_SD}${code}`);
    } catch {
      sd = undefined;
    }
    const root = sd?.snapshot?.element?.length ? this.rootOf(sd) : null;
    this.types.set(code, root);
    return root ?? undefined;
  }

  typeAncestors(code: string): readonly string[] {
    let list = this.ancestors.get(code);
    if (!list) {
      const out: string[] = [];
      let sd = structureDefinition(code);
      for (let i = 0; sd?.baseDefinition && i < 10; i++) {
        const parent = sd.baseDefinition.startsWith(BASE_SD) ? sd.baseDefinition.slice(BASE_SD.length) : undefined;
        if (!parent) break;
        out.push(parent);
        sd = structureDefinition(parent);
      }
      list = out;
      this.ancestors.set(code, list);
    }
    return list;
  }

  inValueSet(valueSet: string, value: unknown, _type: string | undefined, ctx: WalkContext): boolean | undefined {
    const m = this.expansions.get(valueSet);
    if (m === undefined) {
      ctx.missingExpansions.add(valueSet);
      return undefined;
    }
    if (m === null) return undefined;
    return codedValues(value).some((c) => (c.system === undefined ? m.codes.has(c.code) : m.pairs.has(`${c.system}\u0000${c.code}`)));
  }
}

const compilers = new WeakMap<ProfileDeps, Map<string, ProfileCompiler>>();

/** The compiler (and its caches) shared by every compilation with the same deps object and options. */
export function profileCompiler(deps: ProfileDeps, options: ProfileOptions = {}): ProfileCompiler {
  let byOptions = compilers.get(deps);
  if (!byOptions) {
    byOptions = new Map();
    compilers.set(deps, byOptions);
  }
  const key = options.unknownExtension ?? 'error';
  let c = byOptions.get(key);
  if (!c) {
    c = new ProfileCompiler(deps, options);
    byOptions.set(key, c);
  }
  return c;
}

/**
 * Compiles a StructureDefinition WITH snapshot into a validator, once per `url|version` and deps
 * object (later calls answer the cached validator).
 */
export function compileProfile(sd: StructureDefinition, deps: ProfileDeps, options: ProfileOptions = {}): CompiledProfile {
  return profileCompiler(deps, options).compile(sd);
}
