/**
 * Tests of local ValueSet expansion (FHIR R4 §4.9.5 compose, §4.9.8 expansion) over CodeSystems and
 * ValueSets added at run time or given by a store loader: every filter operator, imports, excludes,
 * cycles, size bound, existing expansions, and cache invalidation.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CodeSystem, ValueSet, ValueSetComposeInclude } from 'fhir/r4';
import { LocalTerminology, type TerminologyResource } from './local-terminology';

const CS = 'http://example.org/CodeSystem/colours';

const colours: CodeSystem = {
  resourceType: 'CodeSystem',
  url: CS,
  version: '1.0',
  status: 'active',
  content: 'complete',
  property: [
    { code: 'warm', type: 'boolean' },
    { code: 'status', type: 'code' },
    { code: 'rank', type: 'integer' },
  ],
  concept: [
    {
      code: 'red',
      display: 'Red',
      property: [{ code: 'warm', valueBoolean: true }, { code: 'rank', valueInteger: 1 }],
      concept: [
        { code: 'crimson', display: 'Crimson', property: [{ code: 'warm', valueBoolean: true }] },
        { code: 'scarlet', display: 'Scarlet', property: [{ code: 'status', valueCode: 'retired' }] },
      ],
    },
    { code: 'blue', display: 'Blue', property: [{ code: 'warm', valueBoolean: false }], concept: [{ code: 'navy', display: 'Navy' }] },
    { code: 'teal', display: 'Teal', property: [{ code: 'parent', valueCode: 'blue' }] },
  ],
};

let n = 0;
function vs(compose: ValueSet['compose'], extra: Partial<ValueSet> = {}): ValueSet {
  return { resourceType: 'ValueSet', url: `http://example.org/ValueSet/t${++n}`, status: 'active', compose, ...extra };
}
const include = (i: Omit<ValueSetComposeInclude, 'system'> & { system?: string }): ValueSetComposeInclude => ({ system: CS, ...i });

function service(...resources: TerminologyResource[]): LocalTerminology {
  const t = new LocalTerminology();
  for (const r of resources) t.addResource(r);
  return t;
}

async function codes(t: LocalTerminology, v: ValueSet): Promise<string[] | undefined> {
  t.addResource(v);
  return (await t.expand(v.url ?? ''))?.map((c) => c.code).sort();
}

describe('terminology/expand', () => {
  const t = service(colours);

  it('expands a whole local code system, nested concepts flattened, with displays', async () => {
    const v = vs({ include: [include({})] });
    t.addResource(v);
    const all = await t.expand(v.url ?? '');
    assert.deepEqual(all?.map((c) => c.code), ['red', 'crimson', 'scarlet', 'blue', 'navy', 'teal']);
    assert.deepEqual(all?.[0], { system: CS, code: 'red', display: 'Red' });
  });

  it('applies each filter operator', async () => {
    const f = async (property: string, op: string, value: string) => codes(t, vs({ include: [include({ filter: [{ property, op: op as '=', value }] })] }));
    assert.deepEqual(await f('concept', 'is-a', 'blue'), ['blue', 'navy', 'teal']);
    assert.deepEqual(await f('concept', 'descendent-of', 'red'), ['crimson', 'scarlet']);
    assert.deepEqual(await f('concept', 'is-not-a', 'red'), ['blue', 'navy', 'teal']);
    assert.deepEqual(await f('concept', 'generalizes', 'navy'), ['blue', 'navy']);
    assert.deepEqual(await f('concept', '=', 'navy'), ['navy']);
    assert.deepEqual(await f('concept', 'in', 'navy, red,unknown'), ['navy', 'red']);
    assert.deepEqual(await f('code', 'not-in', 'navy,red'), ['blue', 'crimson', 'scarlet', 'teal']);
    assert.deepEqual(await f('code', 'regex', '[a-z]{4}'), ['blue', 'navy', 'teal']);
    assert.deepEqual(await f('concept', 'is-a', 'unknown'), []);
    assert.deepEqual(await f('warm', '=', 'true'), ['crimson', 'red']);
    assert.deepEqual(await f('warm', 'exists', 'false'), ['navy', 'scarlet', 'teal']);
    assert.deepEqual(await f('rank', 'in', '1,2'), ['red']);
    assert.deepEqual(await f('display', 'regex', '.*e.*'), ['blue', 'red', 'scarlet', 'teal']);
    assert.deepEqual(await f('parent', '=', 'blue'), ['navy', 'teal']);
    assert.deepEqual(await f('child', '=', 'crimson'), ['red']);
  });

  it('ANDs the filters of one include', async () => {
    const filter = [
      { property: 'concept', op: 'is-a' as const, value: 'red' },
      { property: 'warm', op: '=' as const, value: 'true' },
    ];
    assert.deepEqual(await codes(t, vs({ include: [include({ filter })] })), ['crimson', 'red']);
  });

  it('cannot expand unknown properties or operators, bad or oversized regexes', async () => {
    const f = async (property: string, op: string, value: string) => codes(t, vs({ include: [include({ filter: [{ property, op: op as '=', value }] })] }));
    assert.equal(await f('colourfulness', '=', 'x'), undefined);
    assert.equal(await f('concept', 'exists', 'true'), undefined);
    assert.equal(await f('code', 'regex', '(unclosed'), undefined);
    assert.equal(await f('code', 'regex', 'a'.repeat(1001)), undefined);
    assert.equal(await f('warm', 'exists', 'maybe'), undefined);
  });

  it('never lets a regex match part of a value, whatever the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 6 }), async (text) => {
        const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const got = await codes(t, vs({ include: [include({ filter: [{ property: 'code', op: 'regex', value: escaped }] })] }));
        assert.deepEqual(got, ['red', 'crimson', 'scarlet', 'blue', 'navy', 'teal'].filter((c) => c === text));
      }),
      { numRuns: 50 },
    );
  });

  it('keeps explicit concept lists from any system, taking local displays when missing', async () => {
    const v = vs({
      include: [
        { system: 'http://snomed.info/sct', concept: [{ code: '22298006', display: 'Myocardial infarction' }] },
        include({ concept: [{ code: 'navy' }, { code: 'red', display: 'Rouge' }] }),
      ],
    });
    t.addResource(v);
    assert.deepEqual(await t.expand(v.url ?? ''), [
      { system: 'http://snomed.info/sct', code: '22298006', display: 'Myocardial infarction' },
      { system: CS, code: 'navy', display: 'Navy' },
      { system: CS, code: 'red', display: 'Rouge' },
    ]);
  });

  it('gives undefined for whole external systems and filters over them', async () => {
    assert.equal(await codes(t, vs({ include: [{ system: 'http://loinc.org' }] })), undefined);
    assert.equal(await codes(t, vs({ include: [{ system: 'http://snomed.info/sct', filter: [{ property: 'concept', op: 'is-a', value: '404684003' }] }] })), undefined);
    assert.equal(await codes(t, vs({ include: [include({}), { system: 'http://unitsofmeasure.org' }] })), undefined);
  });

  it('excludes codes, and cannot expand when an exclude is not computable', async () => {
    assert.deepEqual(await codes(t, vs({ include: [include({})], exclude: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'red' }] })] })), ['blue', 'navy', 'teal']);
    assert.deepEqual((await codes(t, vs({ include: [include({})], exclude: [{ system: 'http://loinc.org', concept: [{ code: '1-8' }] }] })))?.length, 6);
    assert.equal(await codes(t, vs({ include: [include({})], exclude: [{ system: 'http://loinc.org' }] })), undefined);
  });

  it('drops inactive concepts when compose.inactive is false', async () => {
    assert.deepEqual(await codes(t, vs({ inactive: false, include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'red' }] })] })), ['crimson', 'red']);
    assert.deepEqual(await codes(t, vs({ inactive: true, include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'red' }] })] })), ['crimson', 'red', 'scarlet']);
  });

  it('imports value sets: union across includes, intersection within one include', async () => {
    const reds = vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'red' }] })] });
    const warm = vs({ include: [include({ filter: [{ property: 'warm', op: '=', value: 'true' }] })] });
    const external = vs({ include: [{ system: 'http://snomed.info/sct', concept: [{ code: '1' }] }, include({ concept: [{ code: 'navy' }] })] });
    t.addResource(reds);
    t.addResource(warm);
    t.addResource(external);
    assert.deepEqual(await codes(t, vs({ include: [{ valueSet: [reds.url ?? ''] }, { valueSet: [external.url ?? ''] }] })), ['1', 'crimson', 'navy', 'red', 'scarlet']);
    assert.deepEqual(await codes(t, vs({ include: [{ valueSet: [reds.url ?? '', warm.url ?? ''] }] })), ['crimson', 'red']);
    // system + valueSet: the imports restricted to that system, even for an external system.
    assert.deepEqual(await codes(t, vs({ include: [{ system: 'http://snomed.info/sct', valueSet: [external.url ?? ''] }] })), ['1']);
    // system + filter + valueSet: intersection.
    assert.deepEqual(await codes(t, vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'red' }], valueSet: [external.url ?? ''] })] })), []);
    assert.equal(await codes(t, vs({ include: [{ valueSet: ['http://example.org/ValueSet/missing'] }] })), undefined);
  });

  it('gives undefined for import cycles, whichever value set is asked first, without hanging', async () => {
    const a: ValueSet = { resourceType: 'ValueSet', url: 'http://example.org/ValueSet/cycle-a', status: 'active', compose: { include: [{ valueSet: ['http://example.org/ValueSet/cycle-b'] }] } };
    const b: ValueSet = { resourceType: 'ValueSet', url: 'http://example.org/ValueSet/cycle-b', status: 'active', compose: { include: [{ valueSet: ['http://example.org/ValueSet/cycle-a|1'] }, include({ concept: [{ code: 'red' }] })] } };
    const self = vs({ include: [include({ concept: [{ code: 'red' }] })] });
    self.compose?.include.push({ valueSet: [self.url ?? ''] });
    const c = vs({ include: [{ valueSet: ['http://example.org/ValueSet/cycle-a'] }] });
    const cycle = service(colours, { ...a, version: '1' }, b, self, c);
    assert.equal(await cycle.expand('http://example.org/ValueSet/cycle-b'), undefined);
    assert.equal(await cycle.expand('http://example.org/ValueSet/cycle-a'), undefined);
    assert.equal(await cycle.expand(self.url ?? ''), undefined);
    assert.equal(await cycle.expand(c.url ?? ''), undefined);
    const fresh = service(colours, { ...a, version: '1' }, b);
    const [x, y] = await Promise.all([fresh.expand('http://example.org/ValueSet/cycle-a'), fresh.expand('http://example.org/ValueSet/cycle-b')]);
    assert.deepEqual([x, y], [undefined, undefined]);
  });

  it('follows a long acyclic import chain', async () => {
    const chain: ValueSet[] = [vs({ include: [include({ concept: [{ code: 'red' }] })] })];
    for (let i = 0; i < 30; i++) chain.push(vs({ include: [{ valueSet: [chain[chain.length - 1]?.url ?? ''] }] }));
    const s = service(colours, ...chain);
    assert.deepEqual((await s.expand(chain[chain.length - 1]?.url ?? ''))?.map((c) => c.code), ['red']);
  });

  it('refuses expansions over the size bound', async () => {
    const small = new LocalTerminology({ maxExpansionSize: 5 });
    small.addResource(colours);
    assert.equal(await codes(small, vs({ include: [include({})] })), undefined);
    assert.deepEqual(await codes(small, vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] })] })), ['blue', 'navy', 'teal']);
  });

  it('uses an existing expansion when compose cannot be expanded, unless it is partial', async () => {
    const contains = [
      { system: 'http://loinc.org', code: 'group', abstract: true, contains: [{ system: 'http://loinc.org', code: '1-8', display: 'One' }] },
      { system: 'http://loinc.org', code: '2-6' },
    ];
    const complete = vs({ include: [{ system: 'http://loinc.org' }] }, { expansion: { timestamp: '2020-01-01', contains } });
    assert.deepEqual(await codes(t, complete), ['1-8', '2-6']);
    assert.equal(await codes(t, vs({ include: [{ system: 'http://loinc.org' }] }, { expansion: { timestamp: '2020-01-01', total: 10, contains } })), undefined);
    assert.equal(await codes(t, vs({ include: [{ system: 'http://loinc.org' }] }, { expansion: { timestamp: '2020-01-01', offset: 2, contains } })), undefined);
    const unclosed = [{ url: 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed', valueBoolean: true }];
    assert.equal(await codes(t, vs({ include: [{ system: 'http://loinc.org' }] }, { expansion: { timestamp: '2020-01-01', extension: unclosed, contains } })), undefined);
    const noCompose: ValueSet = { resourceType: 'ValueSet', url: 'http://example.org/ValueSet/expansion-only', status: 'active', expansion: { timestamp: '2020-01-01', contains } };
    assert.deepEqual(await codes(t, noCompose), ['1-8', '2-6']);
  });

  it('answers undefined for unknown value sets', async () => {
    assert.equal(await t.expand('http://example.org/ValueSet/nothing'), undefined);
  });

  it('invalidates cached expansions on addResource and removeResource', async () => {
    const s = service(colours);
    const v = vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] })] });
    s.addResource(v);
    assert.deepEqual((await s.expand(v.url ?? ''))?.length, 3);
    s.addResource({ ...colours, version: '2.0', concept: [{ code: 'blue', concept: [{ code: 'cyan' }] }] });
    assert.deepEqual((await s.expand(v.url ?? ''))?.map((c) => c.code), ['blue', 'cyan']);
    // a pinned version still answers the old content
    const pinned = vs({ include: [include({ version: '1.0', filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] })] });
    assert.deepEqual(await codes(s, pinned), ['blue', 'navy', 'teal']);
    assert.equal(s.removeResource(`${CS}|2.0`), true);
    assert.deepEqual((await s.expand(v.url ?? ''))?.length, 3);
    assert.equal(s.removeResource(CS), true);
    assert.equal(await s.expand(v.url ?? ''), undefined);
    assert.equal(s.removeResource(CS), false);
    assert.throws(() => s.addResource({ resourceType: 'ValueSet', status: 'active' }), /without a url/);
  });

  it('asks the store loader, caches its answers until invalidate, believes only matching resources', async () => {
    const calls: string[] = [];
    const stored = new Map<string, TerminologyResource>([[CS, colours]]);
    const s = new LocalTerminology({
      loader: async (type, url, version) => {
        calls.push(`${type} ${url}${version ? `|${version}` : ''}`);
        if (url === 'http://example.org/wrong') return { ...colours, url: 'http://example.org/other' };
        const r = stored.get(url);
        return r?.resourceType === type ? r : undefined;
      },
    });
    const v = vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] })] });
    stored.set(v.url ?? '', v);
    assert.deepEqual((await s.expand(v.url ?? ''))?.length, 3);
    assert.deepEqual(await s.hierarchy(CS, 'red', 'below').then((r) => r?.map((c) => c.code)), ['red', 'crimson', 'scarlet']);
    assert.deepEqual(calls, [`ValueSet ${v.url}`, `CodeSystem ${CS}`]);
    assert.equal(await s.knowsSystem('http://example.org/wrong'), false);
    stored.delete(CS);
    assert.equal(await s.knowsSystem(CS), true, 'cached');
    s.invalidate();
    assert.equal(await s.knowsSystem(CS), false);
    assert.equal(await s.codeSystem(`${CS}|9`), undefined);
  });

  it('bounds its caches: loader answers are forgotten once the cache is full', async () => {
    const asked = new Map<string, number>();
    const s = new LocalTerminology({
      maxCacheEntries: 10,
      loader: async (_type, url) => {
        asked.set(url, (asked.get(url) ?? 0) + 1);
        return undefined;
      },
    });
    await s.knowsSystem('http://example.org/u0');
    await s.knowsSystem('http://example.org/u0');
    assert.equal(asked.get('http://example.org/u0'), 1);
    for (let i = 1; i <= 9; i++) await s.knowsSystem(`http://example.org/u${i}`);
    await s.knowsSystem('http://example.org/u0');
    assert.equal(asked.get('http://example.org/u0'), 1, 'still cached with 10 entries');
    await s.knowsSystem('http://example.org/u10');
    await s.knowsSystem('http://example.org/u0');
    assert.equal(asked.get('http://example.org/u0'), 2);
  });

  it('does not cache a failing loader', async () => {
    let fail = true;
    const s = new LocalTerminology({
      loader: async () => {
        if (fail) throw new Error('store down');
        return colours;
      },
    });
    await assert.rejects(s.knowsSystem(CS), /store down/);
    fail = false;
    assert.equal(await s.knowsSystem(CS), true);
  });

  it('prefers the newest version across sources, the run-time one on a tie', async () => {
    const s = new LocalTerminology({
      base: () => [{ ...colours, version: '3.0', concept: [{ code: 'base' }] }],
      loader: async (type) => (type === 'CodeSystem' ? { ...colours, version: '2.0', concept: [{ code: 'stored' }] } : undefined),
    });
    s.addResource({ ...colours, version: '3.0', concept: [{ code: 'runtime' }] });
    assert.deepEqual((await s.hierarchy(CS, 'runtime', 'below'))?.map((c) => c.code), ['runtime']);
    assert.equal((await s.codeSystem(`${CS}|2.0`))?.concept?.[0]?.code, 'stored');
    s.removeResource(CS);
    assert.equal((await s.codeSystem(CS))?.concept?.[0]?.code, 'base');
  });

  it('knows complete and fragment systems, expands neither a fragment nor an example system whole', async () => {
    const fragment: CodeSystem = { ...colours, url: 'http://example.org/fragment', content: 'fragment' };
    const example: CodeSystem = { ...colours, url: 'http://example.org/example', content: 'example' };
    const s = service(colours, fragment, example);
    assert.equal(await s.knowsSystem(CS), true);
    assert.equal(await s.knowsSystem(`${CS}|1.0`), true);
    assert.equal(await s.knowsSystem('http://example.org/fragment'), true);
    assert.equal(await s.knowsSystem('http://example.org/example'), false);
    assert.deepEqual((await s.hierarchy('http://example.org/fragment', 'blue', 'below'))?.length, 3);
    assert.equal(await s.hierarchy('http://example.org/example', 'blue', 'below'), undefined);
    assert.equal(await codes(s, vs({ include: [{ system: 'http://example.org/fragment' }] })), undefined);
    assert.equal(await codes(s, vs({ include: [{ system: 'http://example.org/example' }] })), undefined);
  });

  it('validates codes against expandable value sets only', async () => {
    const v = vs({ include: [include({ filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] })] });
    t.addResource(v);
    assert.equal(await t.validateCode(v.url ?? '', CS, 'navy'), true);
    assert.equal(await t.validateCode(v.url ?? '', CS, 'red'), false);
    assert.equal(await t.validateCode(v.url ?? '', 'http://other', 'navy'), false);
    assert.equal(await t.validateCode('http://example.org/ValueSet/nothing', CS, 'navy'), undefined);
  });
});
