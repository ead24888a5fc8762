/**
 * TestScript variable substitution (FHIR R4 testscript.html, TestScript.variable): `${name}` in an
 * operation's params, url, requestHeader values and in assert values is replaced by the variable's
 * value. Substitution is one pass: a value that itself contains `${...}` is not expanded again.
 */

export const VARIABLE_RE = /\$\{([^}]*)\}/g;

/** The names referenced as `${name}` in `text`, in order of first appearance. */
export function referencedVariables(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(VARIABLE_RE)) {
    const name = m[1] ?? '';
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

export class UnresolvedVariableError extends Error {
  constructor(readonly variable: string, readonly why: string) {
    super(`variable \${${variable}} has no value: ${why}`);
    this.name = 'UnresolvedVariableError';
  }
}

/**
 * Replaces every `${name}` in `text` with `resolve(name)`. `resolve` returns the value, or throws
 * UnresolvedVariableError. Text without `${` is returned unchanged.
 */
export function substitute(text: string, resolve: (name: string) => string): string {
  return text.replace(VARIABLE_RE, (_m, name: string) => resolve(name));
}
