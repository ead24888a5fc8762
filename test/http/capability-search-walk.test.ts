/**
 * The CapabilityStatement is true about search (FHIR R4 capabilitystatement.html
 * `rest.resource.searchParam`: "Search parameters for implementations to support and/or make use
 * of"; search.html for the value syntax of each parameter type): every search parameter it lists
 * for every resource type answers a search with a value of its type with 200, under
 * `Prefer: handling=strict` (so a parameter the server would silently ignore fails too).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { CapabilityStatement } from 'fhir/r4';
import { testApp, type TestApp } from '../helpers/test-app';
import { diagnostic } from '../helpers/diagnostics';

/** A value of the parameter's type (search.html §3.1.1.4 "Search Parameter Types"). */
function valueOf(type: string, components: readonly string[]): string {
  switch (type) {
    case 'number':
      return '1';
    case 'date':
      return 'ge2020-01-01';
    case 'string':
      return 'walk';
    case 'token':
      return 'http://example.org/walk|code';
    case 'reference':
      return 'walk-id';
    case 'quantity':
      return 'ge1.5||mg';
    case 'uri':
      return 'http://example.org/walk';
    case 'composite':
      return components.map((c) => valueOf(c, []).replace(/^ge/, '')).join('$');
    default:
      return 'walk';
  }
}

describe('HTTP: every search parameter the CapabilityStatement lists answers 200', function () {
  this.timeout(120_000);
  let t: TestApp;
  let cs: CapabilityStatement;
  before(async () => {
    // The search parameters listed do not depend on AUTH_MODE (only rest.security does): no token needed.
    t = testApp();
    cs = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
  });
  after(() => t.close());

  it('walks every listed parameter of every type with a value of its type (strict handling)', async () => {
    const open = t;
    {
      const failures: string[] = [];
      let walked = 0;
      for (const resource of cs.rest?.[0]?.resource ?? []) {
        for (const p of resource.searchParam ?? []) {
          const def = open.services.searchParameters?.get(resource.type, p.name);
          const components = (def?.components ?? []).map((c) => open.services.searchParameters?.byCanonical(c.definition)?.type ?? 'token');
          const value = valueOf(p.type, components);
          const url = `/fhir/${resource.type}?${encodeURIComponent(p.name)}=${encodeURIComponent(value)}`;
          const res = await request(open.app).get(url).set('Prefer', 'handling=strict');
          walked++;
          if (res.status !== 200) failures.push(`${resource.type}?${p.name}=${value} (${p.type}) -> ${res.status} ${((res.body as { issue?: Array<{ diagnostics?: string }> }).issue ?? []).map((i) => i.diagnostics).join('; ')}`);
        }
      }
      diagnostic(`      CapabilityStatement walk: ${walked} listed search parameters searched, ${walked - failures.length} answered 200`);
      assert.ok(walked > 2500, `only ${walked} parameters listed`);
      assert.deepEqual(failures, [], `${failures.length} listed search parameters do not answer 200:\n  ${failures.slice(0, 40).join('\n  ')}`);
    }
  });
});
