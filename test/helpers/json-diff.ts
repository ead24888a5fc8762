/**
 * Structural comparison of JSON values for conformance reports: names the first path where two
 * FHIR JSON documents differ (FHIR R4 §2.6.2 json.html: property order is not significant, array
 * order is).
 */

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return 'absent';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The first difference between `expected` and `actual` as `path: expected X, got Y`, or undefined
 * when they are deep-equal (object key order ignored, array order significant).
 */
export function firstDifference(expected: unknown, actual: unknown, at = '$'): string | undefined {
  if (expected === actual) return undefined;
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return `${at}: expected ${show(expected)}, got ${show(actual)}`;
    if (expected.length !== actual.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(expected[i], actual[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected !== null && actual !== null && typeof expected === 'object' && typeof actual === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
    for (const k of [...keys].sort()) {
      const d = firstDifference(e[k], a[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return `${at}: expected ${show(expected)}, got ${show(actual)}`;
}

/** Every string value of a property named `key`, anywhere in `value`, with its path. */
export function stringsNamed(value: unknown, key: string, at = '$'): Array<{ path: string; value: string }> {
  const out: Array<{ path: string; value: string }> = [];
  const walk = (v: unknown, p: string): void => {
    if (Array.isArray(v)) v.forEach((c, i) => walk(c, `${p}[${i}]`));
    else if (v !== null && typeof v === 'object') {
      for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
        if (k === key && typeof c === 'string') out.push({ path: `${p}.${k}`, value: c });
        else walk(c, `${p}.${k}`);
      }
    }
  };
  walk(value, at);
  return out;
}
