/**
 * Test support for the profile validator (FHIR R4 profiling.html): hand-written differential
 * profiles get their snapshots from the conformance registry, then compile against it with the
 * R4 terminology. Used by tests only.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { ConformanceRegistry } from '../../definitions/conformance';
import { LocalTerminology } from '../../terminology/local-terminology';
import { r4TerminologyResources } from '../../terminology/r4-content';
import type { ValidationIssue } from '../schema-issues';
import { compileProfile } from './compile';
import type { CompiledProfile, ProfileDeps, ProfileOptions } from './types';

export interface TestBed {
  registry: ConformanceRegistry;
  deps: ProfileDeps;
  terminology: LocalTerminology;
  /** Adds a differential profile of `type` and compiles it. */
  profile(name: string, type: string, elements: ElementDefinition[], options?: ProfileOptions, extra?: Partial<StructureDefinition>): CompiledProfile;
  /** Compiles a StructureDefinition the registry knows by url. */
  compiled(url: string, options?: ProfileOptions): CompiledProfile;
}

let counter = 0;

export function testBed(): TestBed {
  const registry = new ConformanceRegistry();
  const terminology = new LocalTerminology({ base: r4TerminologyResources });
  const deps: ProfileDeps = { resolveProfile: (url) => registry.structureDefinition(url), terminology };
  const compiled = (url: string, options?: ProfileOptions): CompiledProfile => {
    const sd = registry.structureDefinition(url);
    if (!sd) throw new Error(`unknown profile ${url}`);
    return compileProfile(sd, deps, options);
  };
  return {
    registry,
    deps,
    terminology,
    compiled,
    profile(name, type, elements, options, extra = {}) {
      const url = `http://example.org/StructureDefinition/${name}-${++counter}`;
      const isExtension = type === 'Extension';
      registry.add({
        resourceType: 'StructureDefinition',
        url,
        name: name.replace(/[^A-Za-z0-9]/g, ''),
        status: 'active',
        kind: isExtension ? 'complex-type' : 'resource',
        abstract: false,
        type,
        baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
        derivation: 'constraint',
        differential: { element: elements },
        ...extra,
      });
      return compiled(url, options);
    },
  };
}

export const errorsOf = (issues: readonly ValidationIssue[]): ValidationIssue[] => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');

/** The expressions of the error issues, for compact assertions. */
export const errorPaths = (issues: readonly ValidationIssue[]): string[] => errorsOf(issues).flatMap((i) => i.expression);
