/**
 * The value-level rules of TestScript asserts (FHIR R4 testscript.html, TestScript.setup.action.assert):
 * assert operators (assert-operator-codes), response codes (assert-response-code-types), format
 * codes of accept/contentType, the minimumId comparison, and the translation of the simple XPath
 * paths of older scripts (`fhir:Patient/fhir:name/fhir:family/@value`) to FHIRPath.
 */

export type AssertOperator = 'equals' | 'notEquals' | 'in' | 'notIn' | 'greaterThan' | 'lessThan' | 'empty' | 'notEmpty' | 'contains' | 'notContains' | 'eval';

export const OPERATORS: readonly AssertOperator[] = ['equals', 'notEquals', 'in', 'notIn', 'greaterThan', 'lessThan', 'empty', 'notEmpty', 'contains', 'notContains', 'eval'];

/** assert-response-code-types: the names of HTTP statuses. */
export const RESPONSE_CODES: Readonly<Record<string, number>> = {
  okay: 200,
  created: 201,
  noContent: 204,
  notModified: 304,
  bad: 400,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  conflict: 409,
  gone: 410,
  preconditionFailed: 412,
  unprocessable: 422,
};

export interface Comparison {
  ok: boolean;
  message: string;
}

function show(v: string | undefined): string {
  return v === undefined ? '(nothing)' : JSON.stringify(v);
}

function asNumber(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Applies an assert operator. `received` undefined means nothing was found. Lists for in/notIn are
 * comma-separated (items trimmed). greaterThan/lessThan compare numerically when both sides are
 * numbers, else by string order. `eval` is not a value comparison: callers handle it.
 */
export function compare(operator: AssertOperator, received: string | undefined, expected: string | undefined): Comparison {
  const needsExpected = !['empty', 'notEmpty', 'eval'].includes(operator);
  if (needsExpected && expected === undefined) return { ok: false, message: `operator ${operator} needs an expected value, none given` };
  const e = expected ?? '';
  const list = e.split(',').map((s) => s.trim());
  let ok: boolean;
  switch (operator) {
    case 'equals':
      ok = received === e;
      break;
    case 'notEquals':
      ok = received !== e;
      break;
    case 'in':
      ok = received !== undefined && list.includes(received);
      break;
    case 'notIn':
      ok = received === undefined || !list.includes(received);
      break;
    case 'greaterThan':
    case 'lessThan': {
      if (received === undefined) {
        ok = false;
        break;
      }
      const a = asNumber(received);
      const b = asNumber(e);
      const order = a !== undefined && b !== undefined ? Math.sign(a - b) : received < e ? -1 : received > e ? 1 : 0;
      ok = operator === 'greaterThan' ? order > 0 : order < 0;
      break;
    }
    case 'empty':
      ok = received === undefined || received === '';
      break;
    case 'notEmpty':
      ok = received !== undefined && received !== '';
      break;
    case 'contains':
      ok = received !== undefined && received.includes(e);
      break;
    case 'notContains':
      ok = received === undefined || !received.includes(e);
      break;
    case 'eval':
      return { ok: false, message: 'operator eval is not a value comparison' };
  }
  const expectation = needsExpected ? `${operator} ${show(expected)}` : operator;
  return { ok, message: ok ? `${expectation}: found ${show(received)}` : `expected ${expectation}, found ${show(received)}` };
}

export function isOperator(v: string): v is AssertOperator {
  return (OPERATORS as readonly string[]).includes(v);
}

/** The media type of a TestScript format code (STU3 short codes json/xml/ttl, or a MIME type). */
export function mediaTypeOf(code: string): string {
  switch (code.trim().toLowerCase()) {
    case 'json':
      return 'application/fhir+json';
    case 'xml':
      return 'application/fhir+xml';
    case 'ttl':
      return 'text/turtle';
    default:
      return code.trim();
  }
}

/** The bare media type of a Content-Type header value (no parameters, lower case). */
export function bareMediaType(headerValue: string | undefined): string | undefined {
  return headerValue?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/**
 * A FHIRPath expression equivalent to a simple XPath of a FHIR XML document
 * (`fhir:Bundle/fhir:type/@value`, `Patient/id`), or undefined for anything beyond element steps
 * (predicates, axes, other attributes, JSONPath).
 */
export function xpathToFhirPath(xpath: string): string | undefined {
  const steps = xpath.replace(/^\/+/, '').split('/');
  const names: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!.replace(/^fhir:/, '');
    if (step === '@value' && i === steps.length - 1 && i > 0) continue;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(step)) return undefined;
    names.push(step);
  }
  return names.length > 0 ? names.join('.') : undefined;
}

/**
 * minimumId: every element of `minimum` is present with the same value in `actual`; array items of
 * `minimum` must each match a distinct item of `actual`. Returns the paths where content is missing.
 */
export function minimumIdDifferences(minimum: unknown, actual: unknown, at = ''): string[] {
  if (Array.isArray(minimum)) {
    if (!Array.isArray(actual)) return [at || '$'];
    const remaining = [...actual];
    const missing: string[] = [];
    minimum.forEach((item, i) => {
      const idx = remaining.findIndex((candidate) => minimumIdDifferences(item, candidate).length === 0);
      if (idx < 0) missing.push(`${at}[${i}]`);
      else remaining.splice(idx, 1);
    });
    return missing;
  }
  if (minimum !== null && typeof minimum === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [at || '$'];
    const a = actual as Record<string, unknown>;
    return Object.entries(minimum as Record<string, unknown>).flatMap(([k, v]) => minimumIdDifferences(v, a[k], at ? `${at}.${k}` : k));
  }
  return minimum === actual ? [] : [at || '$'];
}
