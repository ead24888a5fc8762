/**
 * Shapes of compiled MongoDB searches (FHIR R4 §3.1.1 search.html): the filters the indexes of
 * index-docs.ts are built for, sub-queries of chains, and index-served `_lastUpdated` / `_id`
 * sorts. Semantics are proven by test/search/mongo-differential.test.ts; this pins the shapes.
 */
import assert from 'node:assert/strict';
import type { SearchQuery } from '../../../search/ir';
import { compileExpr } from './compile';
import type { MongoDoc } from './filter';
import { compileSearch, type MongoSearchTarget } from './run';

const noSubQueries = (): Promise<MongoDoc[]> => Promise.reject(new Error('no sub-query expected'));

describe('MongoDB search compiler: filter and pipeline shapes', () => {
  it('a typed predicate is one $elemMatch on the array of its kind bounded by param (index prefix t, <array>.p, value)', async () => {
    assert.deepEqual(await compileExpr({ op: 'token', param: 'code', system: 'http://loinc.org', code: '8310-5' }, ['Observation'], noSubQueries), {
      xt: { $elemMatch: { p: 'code', c: '8310-5', s: 'http://loinc.org' } },
    });
    assert.deepEqual(await compileExpr({ op: 'string', param: 'name', value: 'a.b', mode: 'start' }, ['Patient'], noSubQueries), {
      xs: { $elemMatch: { p: 'name', n: { $regex: '^a\\.b' } } },
    });
    assert.deepEqual(await compileExpr({ op: 'date', param: 'birthdate', prefix: 'ne', low: 1, high: 2 }, ['Patient'], noSubQueries), {
      xd: { $elemMatch: { p: 'birthdate', $or: [{ lo: { $lt: 1 } }, { hi: { $gt: 2 } }] } },
    });
  });

  it('user values never become keys: an operator-looking value is compared as a string', async () => {
    const c = await compileExpr({ op: 'string', param: 'name', value: '{"$gt":""}', mode: 'exact' }, ['Patient'], noSubQueries);
    assert.deepEqual(c, { xs: { $elemMatch: { p: 'name', e: '{"$gt":""}' } } });
  });

  it('a chain runs one sub-query for the live targets and restricts the reference entry to their ids', async () => {
    const seen: MongoDoc[][] = [];
    const aggregate = (p: MongoDoc[]): Promise<MongoDoc[]> => {
      seen.push(p);
      return Promise.resolve([{ t: 'Patient', i: 'a' }, { t: 'Patient', i: 'b' }]);
    };
    const c = await compileExpr({ op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'string', param: 'family', value: 'x', mode: 'start' } }, ['Observation'], aggregate);
    assert.deepEqual(c, { xr: { $elemMatch: { p: 'subject', rt: 'Patient', ri: { $in: ['a', 'b'] } } } });
    assert.deepEqual(seen[0]?.[0], { $match: { t: 'Patient', d: false, xs: { $elemMatch: { p: 'family', n: { $regex: '^x' } } } } });
  });

  it('a chain whose targets match nothing, an empty _id list or an empty anyOf match nothing without a query', async () => {
    assert.equal(await compileExpr({ op: 'id', ids: [] }, ['Patient'], noSubQueries), false);
    assert.equal(await compileExpr({ op: 'token', param: 'code', anyOf: [] }, ['Patient'], noSubQueries), false);
    assert.equal(await compileExpr({ op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'id', ids: [] } }, ['Observation'], noSubQueries), false);
  });

  it('unresolved IR is refused', async () => {
    await assert.rejects(compileExpr({ op: 'list', listId: 'x' }, ['Patient'], noSubQueries), /unresolved/);
    await assert.rejects(compileExpr({ op: 'token', param: 'code', valueSet: 'http://vs' }, ['Patient'], noSubQueries), /unresolved/);
  });

  it('a _lastUpdated sort is served by {t, d, u}: no computed stage, the keyset is a plain comparison', async () => {
    const target: MongoSearchTarget = { collectionName: 'resources', aggregate: noSubQueries };
    const q: SearchQuery = { resourceTypes: ['Patient'], sort: [{ param: '_lastUpdated', kind: 'special', descending: true }], count: 10, offset: 0, total: 'none', after: [5, 'Patient/x'] };
    const c = await compileSearch(target, q);
    assert.deepEqual(c.page, [
      { $match: { t: 'Patient', d: false } },
      { $match: { $or: [{ u: { $lt: 5 } }, { u: 5, _id: { $lt: 'Patient/x' } }] } },
      { $sort: { u: -1, _id: -1 } },
      { $limit: 11 },
      { $project: { _id: 1, t: 1, i: 1, v: 1, lu: 1, d: 1, m: 1, j: 1, u: 1 } },
    ]);
  });
});
