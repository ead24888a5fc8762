/**
 * Local terminology services (FHIR R4 §4.1 terminologies.html; ValueSet $expand and CodeSystem
 * subsumption semantics), used by search modifiers (`:in`, `:not-in`, token `:above`/`:below`) and
 * by binding validation. Only what can be computed locally: code systems and value sets shipped
 * with the R4 definitions, the project's profiles/ and packages, and those stored through the API.
 * SNOMED CT, LOINC, dm+d and other external systems are never "known" here.
 */

export interface CodeRef {
  system: string;
  code: string;
  display?: string;
}

export interface TerminologyService {
  /**
   * The codes of a ValueSet (canonical url, optionally `url|version`), or undefined when the value
   * set is unknown or cannot be expanded locally (e.g. it includes a whole external code system).
   */
  expand(valueSetUrl: string): Promise<CodeRef[] | undefined>;
  /**
   * The concept and every concept it subsumes (`direction: 'below'`) or that subsume it
   * (`'above'`), in a local CodeSystem; undefined when the system or code is not known locally.
   */
  hierarchy(system: string, code: string, direction: 'below' | 'above'): Promise<CodeRef[] | undefined>;
  /** Whether the system is known locally (codes from other systems are "not checked", never invalid). */
  knowsSystem(system: string): Promise<boolean>;
}
