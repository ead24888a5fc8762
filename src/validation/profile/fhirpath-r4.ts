/**
 * FHIRPath (FHIR R4 §2.1.0 fhirpath.html, http://hl7.org/fhirpath/N1) compiled once with fhirpath.js
 * and its R4 model, for invariants (elementdefinition.html `constraint.expression`) and comparisons.
 * `trace()` in published invariants (e.g. ref-1, dom-3) is silenced.
 */
import { compile } from 'fhirpath';
import { SAFE_REGEX_FUNCTIONS } from '../../fhirpath/safe-regex';
import { fhirpathR4Model } from '../../definitions/r4-package';

/** A compiled expression: evaluates against a node (with %resource / %rootResource) to a collection. */
export type CompiledFhirPath = (node: unknown, env?: Record<string, unknown>) => unknown[];

const silent = (): void => undefined;

/** Compiles `expression` for a context of type/path `base` (e.g. `Patient.contact`, `Quantity`); throws on a syntax error. */
export function compileFhirPath(base: string, expression: string): CompiledFhirPath {
  // matches()/replaceMatches() refuse backtracking-prone patterns (a constraint written through the API
  // could otherwise freeze validation); the invariant is then reported as not evaluated.
  const fn = compile({ base, expression }, fhirpathR4Model() as never, { traceFn: silent, userInvocationTable: SAFE_REGEX_FUNCTIONS });
  return (node, env) => fn(node, env) as unknown[];
}
