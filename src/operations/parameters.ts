/**
 * Reading an operation's input (FHIR R4 §2.1.0.4 operations.html "Executing an Operation"; the
 * Parameters resource parameters.html): at GET every parameter is a query parameter and arrives as
 * `valueString`; at POST it is a typed `value[x]`, a `resource` or `part`s. These helpers accept both
 * spellings of each primitive type, refuse a repeated single-valued parameter, and refuse input
 * parameters the operation's OperationDefinition does not declare (silently ignoring one could give a
 * wrong answer, e.g. an `$expand` `date` the server cannot honour).
 */
import type { CodeableConcept, Coding, OperationDefinition, ParametersParameter, Resource } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import { validateResource } from '../validation/base-validator';
import type { OperationInvocation } from './registry';

/** Query parameters of any request that are not operation input (formats, and paging positions). */
const TRANSPORT = new Set(['_format', '_pretty', '_cursor', '_summary', '_elements']);

export class OperationInput {
  private readonly list: ParametersParameter[];

  constructor(
    readonly inv: OperationInvocation,
    private readonly code: string,
  ) {
    const raw: unknown = inv.parameters.parameter;
    if (raw !== undefined && (!Array.isArray(raw) || raw.some((p: unknown) => typeof p !== 'object' || p === null || typeof (p as { name?: unknown }).name !== 'string'))) {
      throw new FhirError('invalid', { code: 'structure', diagnostics: `$${code}: Parameters.parameter must be a list of parameters, each with a name`, expression: ['Parameters.parameter'] });
    }
    this.list = (raw as ParametersParameter[] | undefined) ?? [];
  }

  private bad(name: string, why: string): FhirError {
    return new FhirError('invalid', { code: 'value', diagnostics: `$${this.code}: parameter ${name} ${why}`, expression: [name] });
  }

  /** Refuses input parameters the definition does not declare (besides transport parameters). */
  assertDeclared(definition: OperationDefinition, extra: readonly string[] = []): void {
    const known = new Set([...(definition.parameter ?? []).filter((p) => p.use === 'in').map((p) => p.name), ...extra]);
    const unknown = [...new Set(this.list.map((p) => p.name).filter((n) => !known.has(n) && !TRANSPORT.has(n)))];
    if (unknown.length > 0) {
      throw new FhirError('invalid', {
        code: 'not-supported',
        diagnostics: `$${this.code}: parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not supported (supported: ${[...known].join(', ') || 'none'})`,
        expression: unknown,
      });
    }
  }

  all(name: string): ParametersParameter[] {
    return this.list.filter((p) => p.name === name);
  }

  has(name: string): boolean {
    return this.list.some((p) => p.name === name);
  }

  /** The one parameter of this name (undefined when absent; 400 when repeated). */
  one(name: string): ParametersParameter | undefined {
    const found = this.all(name);
    if (found.length > 1) throw this.bad(name, 'may be given at most once');
    return found[0];
  }

  /** A primitive parameter as its string value (code, uri, canonical, string, date, instant, ...). */
  string(name: string): string | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    const v = p.valueString ?? p.valueCode ?? p.valueUri ?? p.valueCanonical ?? p.valueUrl ?? p.valueId ?? p.valueDate ?? p.valueDateTime ?? p.valueInstant ?? p.valueMarkdown ?? p.valueOid;
    if (typeof v !== 'string' || v.trim() === '') throw this.bad(name, 'needs a value');
    return v.trim();
  }

  /** Every value of a repeatable primitive parameter (each may itself be comma-separated when `split`). */
  strings(name: string, split = false): string[] {
    const out: string[] = [];
    for (const p of this.all(name)) {
      const v = p.valueString ?? p.valueCode ?? p.valueUri ?? p.valueCanonical ?? p.valueUrl;
      if (typeof v !== 'string' || v.trim() === '') throw this.bad(name, 'needs a value');
      out.push(...(split ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : [v.trim()]));
    }
    return out;
  }

  boolean(name: string): boolean | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    if (typeof p.valueBoolean === 'boolean') return p.valueBoolean;
    if (p.valueString === 'true' || p.valueString === 'false') return p.valueString === 'true';
    throw this.bad(name, 'must be true or false');
  }

  /** A non-negative integer parameter, at most `max`. */
  integer(name: string, max: number): number | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    const raw = p.valueInteger ?? p.valueUnsignedInt ?? p.valuePositiveInt ?? p.valueString;
    const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw this.bad(name, `must be an integer from 0 to ${max}`);
    return n;
  }

  /** A Coding parameter (at GET: `system|code`, as the token search syntax writes it). */
  coding(name: string): Coding | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    if (p.valueCoding !== undefined) {
      const c: unknown = p.valueCoding;
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw this.bad(name, 'must be a Coding');
      const coding = c as Coding;
      if (typeof coding.code !== 'string' || coding.code === '') throw this.bad(name, 'must have a code');
      for (const k of ['system', 'version', 'display'] as const) if (coding[k] !== undefined && typeof coding[k] !== 'string') throw this.bad(name, `must have a ${k} that is a string`);
      return coding;
    }
    if (typeof p.valueString === 'string') {
      const bar = p.valueString.indexOf('|');
      const coding: Coding = bar < 0 ? { code: p.valueString } : { system: p.valueString.slice(0, bar), code: p.valueString.slice(bar + 1) };
      if (!coding.code) throw this.bad(name, 'must have a code (system|code)');
      if (coding.system === '') delete coding.system;
      return coding;
    }
    throw this.bad(name, 'must be a Coding');
  }

  /** A CodeableConcept parameter (POST only: it has no GET syntax). */
  codeableConcept(name: string): CodeableConcept | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    const cc: unknown = p.valueCodeableConcept;
    if (cc && typeof cc === 'object' && !Array.isArray(cc)) {
      const codings: unknown = (cc as CodeableConcept).coding;
      const wellFormed = (c: unknown): boolean => {
        if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
        const x = c as Record<string, unknown>;
        return ['system', 'code', 'version', 'display'].every((k) => x[k] === undefined || typeof x[k] === 'string');
      };
      if (codings === undefined || (Array.isArray(codings) && codings.every(wellFormed))) return cc as CodeableConcept;
    }
    throw this.bad(name, 'must be a CodeableConcept with a list of codings (POST a Parameters resource)');
  }

  /** A resource parameter of the given type (POST only), which must be a valid R4 resource (it is read, not stored). */
  resource<T extends Resource>(name: string, type: T['resourceType']): T | undefined {
    const p = this.one(name);
    if (!p) return undefined;
    const r = p.resource;
    if (!r || typeof r !== 'object' || r.resourceType !== type) throw this.bad(name, `must carry a ${type} resource (parameter.resource)`);
    const problems = validateResource(r, { expectedType: type }).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (problems.length > 0) {
      throw new FhirError(
        'invalid',
        problems.map((i) => ({ severity: 'error' as const, code: i.code, diagnostics: `$${this.code}: the ${type} in parameter ${name} is not a valid R4 ${type}: ${i.diagnostics}`, expression: i.expression })),
      );
    }
    return r as T;
  }
}
