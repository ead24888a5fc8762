/**
 * Test and benchmark support: the validation stack of FHIR R4 validation.html §2.4 "Validating
 * Resources" (base JSON representation + base StructureDefinition rules + a profile) assembled from
 * a conformance registry (FHIR packages and/or the repository's profiles/ folder, see
 * src/definitions/conformance.ts) and the local terminology service. The server's own wiring lives
 * in src/validation/pipeline.ts; this module only builds the same parts for tests and benchmarks.
 */
import path from 'node:path';
import { loadConformanceRegistry, type ConformanceRegistry, type RegistrySources } from '../../src/definitions/conformance';
import { LocalTerminology } from '../../src/terminology/local-terminology';
import { r4TerminologyResources } from '../../src/terminology/r4-content';
import { validateResource, type ValidationIssue } from '../../src/validation/base-validator';
import { repoRoot } from '../../src/validation/external-test-data';
import { profileCompiler, type ProfileCompiler } from '../../src/validation/profile/compile';
import type { CompiledProfile, ProfileDeps } from '../../src/validation/profile/types';

/** The repository's own profile set. */
export const PROFILES_DIR = path.join(repoRoot(__dirname), 'profiles');

export const UK_CORE_SD = 'https://fhir.hl7.org.uk/StructureDefinition/';
export const UK_CORE_PATIENT = `${UK_CORE_SD}UKCore-Patient`;
export const UK_CORE_MEDICATION_REQUEST = `${UK_CORE_SD}UKCore-MedicationRequest`;
export const UK_CORE_COMPOSITION = `${UK_CORE_SD}UKCore-Composition`;
/** The project's Patient profile: UK Core Patient + the NHS Number checks. */
export const SPINE_PATIENT = 'https://spine-fhir-server.example/StructureDefinition/Spine-Patient';
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

export interface ValidationStack {
  registry: ConformanceRegistry;
  terminology: LocalTerminology;
  deps: ProfileDeps;
  compiler: ProfileCompiler;
  /** Problems met loading the sources (unreadable files). */
  problems: string[];
  /** The compiled profile of a canonical url; throws when unknown. */
  profile(url: string): CompiledProfile;
  /** Base validation, then the profile's (an R4 base StructureDefinition url for "base only + invariants"). */
  validate(resource: unknown, profileUrl: string): Promise<ValidationIssue[]>;
}

/** Builds a registry from the sources, hands its ValueSets/CodeSystems to a local terminology service, compiles on demand. */
export function validationStack(sources: RegistrySources): ValidationStack {
  const { registry, problems } = loadConformanceRegistry(sources);
  const terminology = new LocalTerminology({ base: r4TerminologyResources });
  for (const r of registry.valueSetsAndCodeSystems()) terminology.addResource(r);
  const deps: ProfileDeps = { resolveProfile: (url) => registry.structureDefinition(url), terminology };
  const compiler = profileCompiler(deps);
  const profile = (url: string): CompiledProfile => {
    const p = compiler.compileUrl(url);
    if (!p) throw new Error(`unknown profile ${url}`);
    return p;
  };
  return {
    registry,
    terminology,
    deps,
    compiler,
    problems,
    profile,
    async validate(resource, profileUrl) {
      const base = validateResource(resource);
      return [...base, ...(await profile(profileUrl).validate(resource))];
    },
  };
}

export const errorsOf = (issues: readonly ValidationIssue[]): ValidationIssue[] => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');

/** `severity expression: diagnostics` lines, for assertion messages. */
export const describeIssues = (issues: readonly ValidationIssue[]): string => issues.map((i) => `${i.severity} ${i.expression.join(',')}: ${i.diagnostics}`).join('\n');
