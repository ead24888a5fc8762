/**
 * Tests of the terminology and list rewrite of search queries (FHIR R4 §3.1.1.5 search.html `:in`,
 * `:not-in`, `:below`, `:above`; `_list`), with a small fake TerminologyService.
 */
import assert from 'node:assert/strict';
import type { List } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import type { CodeRef, TerminologyService } from '../terminology/terminology';
import type { SearchExpr, SearchQuery } from './ir';
import { needsRewrite, rewriteQuery, type RewriteContext } from './rewrite';

const GENDER = 'http://hl7.org/fhir/administrative-gender';
const LOCAL = 'http://example.org/cs';

class FakeTerminology implements TerminologyService {
  calls = 0;
  async expand(url: string): Promise<CodeRef[] | undefined> {
    this.calls++;
    if (url === 'http://example.org/vs/fm') return [{ system: GENDER, code: 'female' }, { system: GENDER, code: 'male' }];
    return undefined;
  }
  async hierarchy(system: string, code: string, direction: 'below' | 'above'): Promise<CodeRef[] | undefined> {
    if (system !== LOCAL || !['a', 'a1', 'a2'].includes(code)) return undefined;
    if (direction === 'below') return code === 'a' ? ['a', 'a1', 'a2'].map((c) => ({ system, code: c })) : [{ system, code }];
    return code === 'a' ? [{ system, code }] : [{ system, code }, { system, code: 'a' }];
  }
  async knowsSystem(system: string): Promise<boolean> {
    return system === LOCAL || system === GENDER;
  }
}

const lists: Record<string, List> = {
  l1: {
    resourceType: 'List',
    status: 'current',
    mode: 'working',
    entry: [
      { item: { reference: 'Patient/p1' } },
      { item: { reference: 'Observation/o1' } },
      { item: { reference: 'http://host/fhir/Patient/p2' } },
      { item: { reference: 'Patient/p3/_history/2' } },
      { item: { reference: 'Patient/p4' }, deleted: true },
      { item: { display: 'no reference' } },
    ],
  },
};

function context(): RewriteContext & { terminology: FakeTerminology } {
  return {
    terminology: new FakeTerminology(),
    readList: async (id) => lists[id],
    valueSetExists: async (url) => url === 'http://example.org/vs/snomed-all',
    baseUrl: 'http://host/fhir',
  };
}

const q = (where: SearchExpr, resourceTypes = ['Patient']): SearchQuery => ({ resourceTypes, where, sort: [], count: 10, offset: 0, total: 'none' });

async function rejects(p: Promise<unknown>, category: string, mentions: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FhirError && e.category === category && e.message.includes(mentions));
}

describe('search/rewrite', () => {
  it(':in becomes anyOf the expansion; :not-in keeps its not', async () => {
    const ctx = context();
    const inVs: SearchExpr = { op: 'token', param: 'gender', valueSet: 'http://example.org/vs/fm' };
    const out = await rewriteQuery(q({ op: 'and', args: [inVs, { op: 'not', arg: inVs }] }), ctx);
    const anyOf = [
      { system: GENDER, code: 'female' },
      { system: GENDER, code: 'male' },
    ];
    assert.deepEqual(out.where, { op: 'and', args: [{ op: 'token', param: 'gender', anyOf }, { op: 'not', arg: { op: 'token', param: 'gender', anyOf } }] });
    assert.equal(ctx.terminology.calls, 1, 'one expansion per value set and rewrite');
    assert.equal(needsRewrite(out.where), false);
  });

  it('an unknown value set is invalid, one that cannot be expanded is unsupported; both name it', async () => {
    await rejects(rewriteQuery(q({ op: 'token', param: 'code', valueSet: 'http://nowhere/vs' }), context()), 'invalid', 'http://nowhere/vs');
    await rejects(rewriteQuery(q({ op: 'token', param: 'code', valueSet: 'http://example.org/vs/snomed-all' }), context()), 'unsupported', 'snomed-all');
  });

  it(':below / :above become anyOf the local hierarchy; unknown systems are unsupported, unknown codes match nothing', async () => {
    const below = await rewriteQuery(q({ op: 'token', param: 'code', hierarchy: { system: LOCAL, code: 'a', direction: 'below' } }, ['Condition']), context());
    assert.deepEqual(below.where, { op: 'token', param: 'code', anyOf: ['a', 'a1', 'a2'].map((code) => ({ system: LOCAL, code })) });
    const above = await rewriteQuery(q({ op: 'token', param: 'code', hierarchy: { system: LOCAL, code: 'a1', direction: 'above' } }, ['Condition']), context());
    assert.deepEqual(above.where, { op: 'token', param: 'code', anyOf: [{ system: LOCAL, code: 'a1' }, { system: LOCAL, code: 'a' }] });
    const unknownCode = await rewriteQuery(q({ op: 'token', param: 'code', hierarchy: { system: LOCAL, code: 'zz', direction: 'below' } }), context());
    assert.deepEqual(unknownCode.where, { op: 'token', param: 'code', anyOf: [] });
    await rejects(rewriteQuery(q({ op: 'token', param: 'code', hierarchy: { system: 'http://snomed.info/sct', code: '1', direction: 'below' } }), context()), 'unsupported', 'snomed');
  });

  it('_list becomes the ids of the list items of the searched type; a missing list matches nothing', async () => {
    const out = await rewriteQuery(q({ op: 'list', listId: 'l1' }), context());
    assert.deepEqual(out.where, { op: 'id', ids: ['p1', 'p2', 'p3'] });
    const obs = await rewriteQuery(q({ op: 'list', listId: 'l1' }, ['Observation']), context());
    assert.deepEqual(obs.where, { op: 'id', ids: ['o1'] });
    const missing = await rewriteQuery(q({ op: 'list', listId: 'nope' }), context());
    assert.deepEqual(missing.where, { op: 'id', ids: [] });
  });

  it('rewrites inside chains, _has, composites and boolean connectives, with the right types', async () => {
    const where: SearchExpr = {
      op: 'or',
      args: [
        { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'list', listId: 'l1' } },
        { op: 'has', targetType: 'Observation', param: 'subject', where: { op: 'list', listId: 'l1' } },
        { op: 'composite', param: 'cv', components: [{ op: 'token', param: 'code', valueSet: 'http://example.org/vs/fm' }] },
      ],
    };
    const out = await rewriteQuery(q(where, ['Encounter']), context());
    assert.deepEqual(out.where, {
      op: 'or',
      args: [
        { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'id', ids: ['p1', 'p2', 'p3'] } },
        { op: 'has', targetType: 'Observation', param: 'subject', where: { op: 'id', ids: ['o1'] } },
        { op: 'composite', param: 'cv', components: [{ op: 'token', param: 'code', anyOf: [{ system: GENDER, code: 'female' }, { system: GENDER, code: 'male' }] }] },
      ],
    });
  });

  it('returns the query itself when there is nothing to resolve, and never changes its input', async () => {
    const plain = q({ op: 'token', param: 'gender', code: 'male' });
    assert.equal(await rewriteQuery(plain, context()), plain);
    const withList = q({ op: 'list', listId: 'l1' });
    const copy = structuredClone(withList);
    await rewriteQuery(withList, context());
    assert.deepEqual(withList, copy);
  });
});
