/**
 * Terminology bindings (FHIR R4 terminologies.html §4.1.0.3 "Binding strengths" and
 * elementdefinition.html `ElementDefinition.binding`): `required` -> error when the code is not in
 * the expanded value set, `extensible` -> warning, `preferred` / `example` -> nothing. A
 * CodeableConcept satisfies a required binding when one of its codings is in the value set, or
 * when it has text and no coding. Codes of systems not known locally (SNOMED CT, dm+d, LOINC) and
 * value sets that cannot be expanded locally give information "not checked", never an error.
 *
 * Bindings are collected during the synchronous walk of the resource and evaluated here at the end,
 * each distinct value set expanded once per validation (the terminology service caches expansions).
 */
import type { CodeRef, TerminologyService } from '../../terminology/terminology';
import type { ValidationIssue } from '../schema-issues';

export type BoundType = 'code' | 'Coding' | 'CodeableConcept' | 'Quantity' | 'string' | 'uri';

export interface BindingCheck {
  path: string;
  strength: 'required' | 'extensible';
  valueSet: string;
  type: BoundType;
  value: unknown;
}

export const BOUND_TYPES: ReadonlySet<string> = new Set<BoundType>(['code', 'Coding', 'CodeableConcept', 'Quantity', 'string', 'uri']);

interface Membership {
  pairs: Set<string>;
  codes: Set<string>;
}

const memberships = new WeakMap<CodeRef[], Membership>();

function membershipOf(codes: CodeRef[]): Membership {
  let m = memberships.get(codes);
  if (!m) {
    m = { pairs: new Set(codes.map((c) => `${c.system}\u0000${c.code}`)), codes: new Set(codes.map((c) => c.code)) };
    memberships.set(codes, m);
  }
  return m;
}

interface Coded {
  system?: string;
  code: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function coded(v: unknown): Coded | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const code = str(o.code);
  if (code === undefined) return undefined;
  const system = str(o.system);
  return system === undefined ? { code } : { system, code };
}

/** The codes a bound value carries, and whether it has nothing to check (e.g. a CodeableConcept with text only). */
function codesOf(check: BindingCheck): Coded[] {
  const v = check.value;
  switch (check.type) {
    case 'code':
    case 'string':
    case 'uri':
      return typeof v === 'string' ? [{ code: v }] : [];
    case 'Coding':
    case 'Quantity': {
      const c = coded(v);
      return c ? [c] : [];
    }
    case 'CodeableConcept': {
      const codings = typeof v === 'object' && v !== null ? (v as { coding?: unknown }).coding : undefined;
      return Array.isArray(codings) ? codings.map(coded).filter((c): c is Coded => c !== undefined) : [];
    }
  }
}

function inValueSet(m: Membership, c: Coded): boolean {
  return c.system === undefined ? m.codes.has(c.code) : m.pairs.has(`${c.system}\u0000${c.code}`);
}

function shown(c: Coded): string {
  return c.system === undefined ? `'${c.code}'` : `'${c.system}#${c.code}'`;
}

/** Evaluates collected binding checks against the terminology service. */
export async function evaluateBindings(checks: readonly BindingCheck[], terminology: TerminologyService): Promise<ValidationIssue[]> {
  if (checks.length === 0) return [];
  const expansions = new Map<string, Promise<CodeRef[] | undefined>>();
  const known = new Map<string, Promise<boolean>>();
  const expand = (url: string): Promise<CodeRef[] | undefined> => {
    let p = expansions.get(url);
    if (!p) {
      p = terminology.expand(url).catch(() => undefined);
      expansions.set(url, p);
    }
    return p;
  };
  const knows = (system: string): Promise<boolean> => {
    let p = known.get(system);
    if (!p) {
      p = terminology.knowsSystem(system).catch(() => false);
      known.set(system, p);
    }
    return p;
  };
  const results = await Promise.all(checks.map((c) => evaluateOne(c, expand, knows)));
  return results.flat();
}

async function evaluateOne(
  check: BindingCheck,
  expand: (url: string) => Promise<CodeRef[] | undefined>,
  knows: (system: string) => Promise<boolean>,
): Promise<ValidationIssue[]> {
  const codes = codesOf(check);
  if (codes.length === 0) return [];
  const info = (text: string): ValidationIssue[] => [{ severity: 'information', code: 'informational', diagnostics: text, expression: [check.path] }];
  const expansion = await expand(check.valueSet);
  if (!expansion) return info(`${check.path}: not checked: the value set ${check.valueSet} (${check.strength} binding) cannot be expanded locally`);
  const m = membershipOf(expansion);
  if (codes.some((c) => inValueSet(m, c))) return [];
  const outside = codes.filter((c) => !inValueSet(m, c));
  const unknownSystems: Coded[] = [];
  for (const c of outside) if (c.system !== undefined && !(await knows(c.system))) unknownSystems.push(c);
  if (unknownSystems.length === outside.length) {
    return info(`${check.path}: not checked: ${outside.map(shown).join(', ')} from a code system not available locally (value set ${check.valueSet})`);
  }
  const text = `${check.path}: ${outside.map(shown).join(', ')} ${outside.length > 1 ? 'are' : 'is'} not in the value set ${check.valueSet} (${check.strength} binding)`;
  return [{ severity: check.strength === 'required' ? 'error' : 'warning', code: 'code-invalid', diagnostics: text, expression: [check.path] }];
}
