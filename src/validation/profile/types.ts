/**
 * Public types of the profile validator (FHIR R4 profiling.html "Profiling FHIR" and
 * validation.html §2.4 "Validating Resources": validation against a StructureDefinition).
 */
import type { StructureDefinition } from 'fhir/r4';
import type { TerminologyService } from '../../terminology/terminology';
import type { ValidationIssue } from '../schema-issues';

export type { ValidationIssue } from '../schema-issues';

export interface ProfileDeps {
  /** A StructureDefinition WITH snapshot by canonical url (`url` or `url|version`): profiles, extensions, base types. */
  resolveProfile(url: string): StructureDefinition | undefined;
  terminology: TerminologyService;
}

export interface ProfileOptions {
  /** Severity of an extension whose url resolves to no definition (default `error`). Unknown modifier extensions are always errors. */
  unknownExtension?: 'error' | 'warning';
}

export interface CompiledProfile {
  readonly url: string;
  readonly version: string | undefined;
  /** The resource or data type the profile constrains. */
  readonly type: string;
  readonly structureDefinition: StructureDefinition;
  /** Every issue of `resource` against the profile (invariants, bindings, slicing ...); never throws on any JSON value. */
  validate(resource: unknown): Promise<ValidationIssue[]>;
}
