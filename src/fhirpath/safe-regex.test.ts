/**
 * Backtracking-prone regular expressions are refused (src/fhirpath/safe-regex.ts): the known
 * exponential shapes are caught, no pattern of the shipped definitions (R4 base, search parameters,
 * the repository's profiles/) is refused, and the guarded FHIRPath functions answer exactly as
 * fhirpath.js's own for every accepted pattern. Found by the chaos suite (test/chaos): a FHIRPath
 * Patch path, a SearchParameter expression and a profile constraint with `matches('^(a+)+$')` each
 * froze the server for minutes on a 30-character value.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { compile } from 'fhirpath';
import { fhirpathR4Model } from '../definitions/r4-package';
import { SAFE_REGEX_FUNCTIONS, backtrackingRisk, riskyRegexCalls } from './safe-regex';

const RISKY = ['^(a+)+$', '(a|aa)+', '(.*a){20}', '([a-zA-Z]+)*$', '(a*)*', '((a+))+', '(\\w+\\s?)+$', '(x+x+)+y', '(\\d|\\d\\d)+', '(a|a)*', '(.*){1,32000}[bc]', '(\\w)\\1', '^(([a-z])+.)+[A-Z]([a-z])+$', '(a?){25}a{25}', '(?:a+)+b'];
const SAFE = ['[A-Z]([A-Za-z0-9_]){0,254}', '^[A-Za-z][A-Za-z0-9_]*$', '^[0-9]{10}$', '^https?://fhir[.]nhs[.](uk|net)/id/nhs-?number/?$', '(uk|net)+', '(ab)*', '(\\.[a-z]+)*', '(ab?)*', 'a{2}b', '[A-Za-z][A-Za-z0-9]*(\\.[a-z][A-Za-z0-9]*(\\[x])?)*', '^\\d{3}-\\d{4}$', '.*', 'a+b+c+'];

/** Every string-literal pattern of a matches()/matchesFull()/replaceMatches() call in the JSON files under `dir`. */
function shippedPatterns(files: string[]): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\b(?:matches|matchesFull|replaceMatches)\s*\(\s*'((?:[^'\\]|\\.)*)'/g)) out.add(m[1]!);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const f of files) walk(JSON.parse(fs.readFileSync(f, 'utf8')));
  return [...out];
}

function jsonFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsonFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
}

describe('FHIRPath regular expressions: backtracking-prone patterns are refused', () => {
  it('refuses the exponential shapes', () => {
    for (const p of RISKY) assert.notEqual(backtrackingRisk(p), undefined, p);
  });

  it('accepts unambiguous patterns, including every pattern of the shipped definitions and profiles', () => {
    for (const p of SAFE) assert.equal(backtrackingRisk(p), undefined, p);
    const root = path.resolve(__dirname, '..', '..', '..');
    const defs = path.join(root, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');
    const patterns = shippedPatterns([...['profiles-resources.json', 'profiles-types.json', 'profiles-others.json', 'search-parameters.json'].map((f) => path.join(defs, f)), ...jsonFiles(path.join(root, 'profiles'))]);
    assert.ok(patterns.length >= 5, `found ${patterns.length} shipped patterns`);
    // FHIRPath string escapes: '\\.' in the JSON text is the regex \. once the FHIRPath literal is read.
    const refused = patterns.map((p) => p.replace(/\\\\/g, '\\').replace(/\\'/g, "'")).filter((p) => backtrackingRisk(p) !== undefined);
    assert.deepEqual(refused, []);
  });

  it('finds refused patterns in expressions before any data reaches them', () => {
    assert.match(riskyRegexCalls("Basic.code.text.where($this.matches('^(a+)+$'))").join(), /matches\("\^\(a\+\)\+\$"\)/);
    assert.deepEqual(riskyRegexCalls("id.matches('[A-Za-z0-9\\\\-\\\\.]{1,64}') and name.replaceMatches('\\\\s+', ' ').exists()"), []);
    assert.match(riskyRegexCalls('code.matches(display)').join(), /not a string literal/);
  });

  const evaluate = (expression: string, resource: unknown, guarded: boolean): unknown => {
    try {
      const fn = compile(expression, fhirpathR4Model() as never, guarded ? { userInvocationTable: SAFE_REGEX_FUNCTIONS } : {});
      return fn(resource as never);
    } catch (e) {
      return `error: ${(e as Error).message.slice(0, 20)}`;
    }
  };

  it('property: the guarded functions answer exactly as fhirpath.js for accepted patterns', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SAFE, '^a', 'A', '\\s', 'é+', '^$'),
        fc.string({ maxLength: 12 }),
        fc.constantFrom("matches('P')", "matches('P', 'i')", "matchesFull('P')", "matchesFull('P', 'im')", "replaceMatches('P', '-')"),
        (pattern, text, call) => {
          const expression = `Basic.code.text.${call.replace('P', pattern.replace(/\\/g, '\\\\').replace(/'/g, "\\'"))}`;
          const resource = { resourceType: 'Basic', code: { text } };
          assert.deepEqual(evaluate(expression, resource, true), evaluate(expression, resource, false), expression);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refused patterns throw at once instead of running', () => {
    const started = Date.now();
    const out = evaluate("Basic.code.text.matches('^(a+)+$')", { resourceType: 'Basic', code: { text: `${'a'.repeat(40)}!` } }, true);
    assert.match(String(out), /^error: /);
    assert.ok(Date.now() - started < 10_000, 'answered within a generous bound (the unguarded call would take years)');
  });
});
