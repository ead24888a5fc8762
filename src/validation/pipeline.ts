/**
 * The validation pipeline of every write and of `$validate` (FHIR R4 §2.4 validation.html "Validating
 * Resources"; profiles per §2.11 profiling.html and resource.html#profile: `meta.profile` is a claim
 * of conformance that the server checks).
 *
 * Stages, every issue collected before anything is thrown:
 * 1. JSON shape and envelope (src/validation/base-validator.ts: R4 JSON schema, resourceType of the
 *    endpoint, id of an update). An envelope problem ends validation (400).
 * 2. The base StructureDefinition of the type (compiled R4 profile: invariants, bindings,
 *    extensions, references, contained resources). Skipped when a profile of stage 3 constrains the
 *    type: its snapshot carries the base rules, so the walk would only repeat them.
 * 3. Each profile the resource claims in `meta.profile`, the configured required profile of its type
 *    (REQUIRED_PROFILES) and the profiles asked for by `$validate`'s `profile` parameter.
 *    A claimed profile the server does not know follows UNKNOWN_PROFILE: `reject` (error) or `warn`
 *    (warning, not checked). A required or requested profile that is unknown is an error.
 *
 * Compiled validators come from the conformance registry (FHIR_PACKAGES, profiles/, R4, runtime) and
 * are cached per profile until a StructureDefinition, ValueSet or CodeSystem changes: then the
 * compiler (and its cached expansions) is replaced. The pipeline also keeps the registry in step
 * with StructureDefinition/ValueSet/CodeSystem resources written through the API (`hook`, a
 * WriteHook, and `loadStored` at start-up), so a profile created by POST is usable at once.
 * Canonical urls of the specification's own namespace (http://hl7.org/fhir/) are never replaced at
 * run time: the base rules cannot be changed by a client.
 */
import type { Resource } from 'fhir/r4';
import type { UnknownProfilePolicy } from '../config/config';
import { ConfigError } from '../config/config';
import type { ConformanceRegistry } from '../definitions/conformance';
import type { ConformanceResource } from '../definitions/packages';
import { isConformanceResource } from '../definitions/packages';
import { typeUrl } from '../definitions/snapshot';
import type { ResourceValidator, ValidationReport, ValidationRequest, WriteEvent } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { Logger } from '../logging';
import type { StoreSession } from '../store/store';
import type { TerminologyService } from '../terminology/terminology';
import { validateResourceDetailed } from './base-validator';
import { profileCompiler } from './profile/compile';
import type { CompiledProfile, ProfileDeps } from './profile/types';
import type { ValidationIssue } from './schema-issues';

/** Conformance resource types written through the API that change validation at run time. */
export const RUNTIME_CONFORMANCE_TYPES: ReadonlySet<string> = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem']);

/** The specification's namespace: its canonical urls are owned by the R4 definitions. */
const SPEC_NAMESPACE = 'http://hl7.org/fhir/';

export interface ValidationPipelineOptions {
  registry: ConformanceRegistry;
  terminology: TerminologyService;
  /** Resource type -> canonical url of the profile every resource of that type must conform to. */
  requiredProfiles?: Readonly<Record<string, string>>;
  /** Claimed profiles the registry does not know: error (`reject`) or warning (`warn`, default). */
  unknownProfile?: UnknownProfilePolicy;
  /**
   * Severity of extensions whose definition is unknown (default `warning`: extensibility.html,
   * "applications should not reject resources merely because they contain extensions").
   */
  unknownExtension?: 'error' | 'warning';
  log?: Logger;
}

/** Why a profile takes part in a validation (changes the severity of "unknown" and the expression). */
type ProfileRole = { kind: 'base' } | { kind: 'claimed'; index: number } | { kind: 'required' } | { kind: 'requested' };

type Resolution = { profile: CompiledProfile } | { problem: string } | undefined;

const isError = (i: ValidationIssue): boolean => i.severity === 'error' || i.severity === 'fatal';

function issueKey(i: ValidationIssue): string {
  return `${i.severity}\u0000${i.code}\u0000${i.expression.join(',')}\u0000${i.diagnostics}`;
}

/** Errors first, then warnings, then information; duplicates (the same issue from two profiles) once. */
function orderAndDedupe(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  const out: ValidationIssue[] = [];
  for (const i of issues) {
    const k = issueKey(i);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(i);
  }
  const rank = (i: ValidationIssue): number => (isError(i) ? 0 : i.severity === 'warning' ? 1 : 2);
  return out.map((i, n) => ({ i, n })).sort((a, b) => rank(a.i) - rank(b.i) || a.n - b.n).map((x) => x.i);
}

export class ValidationPipeline implements ResourceValidator {
  private readonly registry: ConformanceRegistry;
  private readonly terminology: TerminologyService;
  private readonly required: Readonly<Record<string, string>>;
  private readonly unknownProfile: UnknownProfilePolicy;
  private readonly unknownExtension: 'error' | 'warning';
  private readonly log: Logger | undefined;
  /** A fresh deps object per generation: profileCompiler caches by deps object. */
  private deps: ProfileDeps;
  private readonly resolved = new Map<string, Resolution>();
  private supported: Map<string, string[]> | undefined;
  /** `Type/id` of each conformance resource written through the API -> the resource registered for it. */
  private readonly runtime = new Map<string, ConformanceResource>();

  constructor(options: ValidationPipelineOptions) {
    this.registry = options.registry;
    this.terminology = options.terminology;
    this.required = options.requiredProfiles ?? {};
    this.unknownProfile = options.unknownProfile ?? 'warn';
    this.unknownExtension = options.unknownExtension ?? 'warning';
    this.log = options.log;
    this.deps = this.newDeps();
    this.registry.onChange((change) => {
      if (RUNTIME_CONFORMANCE_TYPES.has(change.resource.resourceType)) this.invalidate();
    });
  }

  private newDeps(): ProfileDeps {
    const registry = this.registry;
    return { resolveProfile: (url) => registry.structureDefinition(url), terminology: this.terminology };
  }

  /** Drops every compiled validator and cached expansion (a profile, value set or code system changed). */
  invalidate(): void {
    this.deps = this.newDeps();
    this.resolved.clear();
    this.supported = undefined;
  }

  /** The compiled validator of a profile (compiled on first use, then reused), a problem, or undefined when unknown. */
  private resolve(url: string): Resolution {
    if (this.resolved.has(url)) return this.resolved.get(url);
    let r: Resolution;
    try {
      const sd = this.registry.structureDefinition(url);
      r = sd ? { profile: profileCompiler(this.deps, { unknownExtension: this.unknownExtension }).compile(sd) } : undefined;
    } catch (e) {
      // A differential that cannot be applied (SnapshotError) or a snapshot the compiler cannot read.
      r = { problem: e instanceof Error ? e.message : String(e) };
    }
    this.resolved.set(url, r);
    return r;
  }

  /**
   * Start-up check: every required profile exists, constrains its type and compiles. Throws a
   * ConfigError naming each problem (the server must not start enforcing a profile it cannot find).
   */
  checkRequiredProfiles(sources: string): void {
    const problems: string[] = [];
    for (const [type, url] of Object.entries(this.required)) {
      const r = this.resolve(url);
      if (r === undefined) problems.push(`REQUIRED_PROFILES: the profile ${url} required for ${type} was not found in ${sources}`);
      else if ('problem' in r) problems.push(`REQUIRED_PROFILES: the profile ${url} required for ${type} cannot be used: ${r.problem}`);
      else if (r.profile.type !== type) problems.push(`REQUIRED_PROFILES: the profile ${url} constrains ${r.profile.type}, not ${type}`);
    }
    if (problems.length > 0) throw new ConfigError(problems);
  }

  /** Every issue of `resource` (see the module header); never throws for any JSON value. */
  async validate(resource: unknown, req: ValidationRequest = {}): Promise<ValidationReport> {
    const base = validateResourceDetailed(resource, { ...(req.expectedType !== undefined ? { expectedType: req.expectedType } : {}), ...(req.expectedId !== undefined ? { expectedId: req.expectedId } : {}) });
    if (base.envelope) return base;
    const r = resource as Resource;
    const type = r.resourceType;
    const plan: Array<{ url: string; role: ProfileRole }> = [];
    const seen = new Set<string>();
    const add = (url: string, role: ProfileRole): void => {
      if (seen.has(url)) return;
      seen.add(url);
      plan.push({ url, role });
    };
    add(typeUrl(type), { kind: 'base' });
    const claimed: unknown = r.meta?.profile;
    if (Array.isArray(claimed)) claimed.forEach((u: unknown, index) => typeof u === 'string' && add(u, { kind: 'claimed', index }));
    const required = this.required[type];
    if (required !== undefined && req.requiredProfile !== false) add(required, { kind: 'required' });
    for (const u of req.profiles ?? []) add(u, { kind: 'requested' });

    // A profile constraining this type carries the base definition's elements, invariants and
    // bindings in its snapshot (profiling.html: constraints are inherited), so when one applies the
    // separate walk over the base definition would only repeat its issues.
    const covered = plan.some((p) => {
      if (p.role.kind === 'base') return false;
      const r = this.resolve(p.url);
      return r !== undefined && 'profile' in r && r.profile.type === type && r.profile.structureDefinition.derivation === 'constraint';
    });
    const stages = covered ? plan.filter((p) => p.role.kind !== 'base') : plan;
    const results = await Promise.all(stages.map((p) => this.runProfile(resource, type, p.url, p.role)));
    return { envelope: false, issues: orderAndDedupe([...base.issues, ...results.flat()]) };
  }

  private async runProfile(resource: unknown, type: string, url: string, role: ProfileRole): Promise<ValidationIssue[]> {
    const where = role.kind === 'claimed' ? `${type}.meta.profile[${role.index}]` : type;
    const r = this.resolve(url);
    if (r === undefined || 'problem' in r) {
      const why = r === undefined ? 'is not known to this server' : `cannot be used (${r.problem})`;
      switch (role.kind) {
        case 'base':
          return [];
        case 'claimed':
          return this.unknownProfile === 'reject'
            ? [{ severity: 'error', code: 'not-supported', diagnostics: `The claimed profile ${url} ${why} (UNKNOWN_PROFILE=reject)`, expression: [where] }]
            : [{ severity: 'warning', code: 'not-supported', diagnostics: `The claimed profile ${url} ${why}, so the resource was not checked against it`, expression: [where] }];
        case 'required':
          return [{ severity: 'error', code: 'not-supported', diagnostics: `The profile ${url} required for ${type} (REQUIRED_PROFILES) ${why}`, expression: [where] }];
        case 'requested':
          return [{ severity: 'error', code: 'not-supported', diagnostics: `The requested profile ${url} ${why}`, expression: [where] }];
      }
    }
    const profile = r.profile;
    if (profile.type !== type) {
      return [{ severity: 'error', code: 'invalid', diagnostics: `The profile ${url} constrains ${profile.type}: a ${type} cannot conform to it`, expression: [where] }];
    }
    try {
      const issues = await profile.validate(resource);
      if (role.kind !== 'required' || !issues.some(isError)) return issues;
      return [...issues, { severity: 'information', code: 'informational', diagnostics: `The errors above include those of the profile ${url}, required for every ${type} on this server (REQUIRED_PROFILES)`, expression: [type] }];
    } catch (e) {
      this.log?.error({ err: e, profile: url }, 'profile validation failed unexpectedly');
      return [{ severity: 'error', code: 'exception', diagnostics: `Validation against ${url} failed unexpectedly; the resource could not be checked`, expression: [type] }];
    }
  }

  /**
   * Throws one FhirError with every error when there is one: 400 for envelope problems, 422
   * otherwise. Warnings and information never fail a write and are not part of the error (`$validate`
   * reports them).
   */
  async assertValid(resource: unknown, req: ValidationRequest = {}): Promise<void> {
    const report = await this.validate(resource, req);
    const errors = report.issues.filter(isError);
    if (errors.length > 0) throw new FhirError(report.envelope ? 'invalid' : 'unprocessable', errors);
  }

  /**
   * The profiles known for a resource type other than the R4 base definitions: its required profile
   * and every resource profile (derivation constraint) from FHIR_PACKAGES, profiles/ and the API.
   */
  supportedProfiles(resourceType: string): string[] {
    if (!this.supported) {
      const byType = new Map<string, Set<string>>();
      const put = (t: string, url: string): void => {
        let s = byType.get(t);
        if (!s) byType.set(t, (s = new Set()));
        s.add(url);
      };
      for (const source of ['package', 'profiles', 'runtime'] as const) {
        for (const e of this.registry.entriesFrom('StructureDefinition', source)) {
          const sd = e.resource;
          if (sd.kind === 'resource' && sd.derivation === 'constraint' && sd.url) put(sd.type, sd.url);
        }
      }
      for (const [t, url] of Object.entries(this.required)) put(t, url);
      this.supported = new Map([...byType].map(([t, s]) => [t, [...s].sort()]));
    }
    return [...(this.supported.get(resourceType) ?? [])];
  }

  /** WriteHook: StructureDefinition/ValueSet/CodeSystem written through the API join (or leave) the registry. */
  readonly hook = (event: WriteEvent): void => {
    if (!RUNTIME_CONFORMANCE_TYPES.has(event.resourceType)) return;
    const key = `${event.resourceType}/${event.id}`;
    const previous = this.runtime.get(key);
    if (previous) {
      this.runtime.delete(key);
      this.unregister(previous);
    }
    if (event.kind !== 'delete' && event.resource) this.register(key, event.resource);
    // Value sets and code systems stored in the spec's namespace still change expansions.
    this.invalidate();
  };

  private register(key: string, resource: Resource): boolean {
    if (!isConformanceResource(resource)) return false;
    const url = resource.url;
    if (!url || url.startsWith(SPEC_NAMESPACE)) return false;
    this.runtime.set(key, resource);
    this.registry.add(resource, 'runtime');
    this.log?.info({ conformance: key, url }, 'conformance resource registered for validation');
    return true;
  }

  private unregister(resource: ConformanceResource): void {
    const url = resource.url;
    if (!url) return;
    this.registry.remove(url, undefined, 'runtime');
    // Other stored resources with the same url (other versions) stay registered.
    for (const other of this.runtime.values()) if (other.url === url) this.registry.add(other, 'runtime');
  }

  /** Registers the conformance resources already stored (at start-up). Returns how many joined the registry. */
  async loadStored(session: StoreSession): Promise<number> {
    let n = 0;
    const batch = 500;
    for (const type of RUNTIME_CONFORMANCE_TYPES) {
      for (let offset = 0; ; offset += batch) {
        const page = await session.search({ resourceTypes: [type], sort: [{ param: '_id', kind: 'special', descending: false }], count: batch, offset, total: 'none' });
        for (const v of page.entries) {
          const resource = v.json && !v.deleted ? (JSON.parse(v.json) as Resource) : undefined;
          if (resource && this.register(`${type}/${v.id}`, resource)) n++;
        }
        if (page.entries.length < batch) break;
      }
    }
    if (n > 0) this.invalidate();
    return n;
  }
}
