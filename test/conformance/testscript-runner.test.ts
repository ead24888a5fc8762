/**
 * Unit tests of the TestScript runner (FHIR R4 testscript.html): variable substitution, assert
 * operators, XPath translation, minimumId, and hand-written TestScripts run against a small fake
 * server (JSON and FHIR XML), including asserts that must fail, warningOnly asserts, XPath over XML
 * and unsupported features.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { TestScript, TestScriptSetupAction, TestScriptSetupActionAssert, TestScriptSetupActionOperation } from 'fhir/r4';
import { compare, minimumIdDifferences, OPERATORS, xpathToFhirPath, type AssertOperator } from './testscript/operators';
import { referencedVariables, substitute, UnresolvedVariableError } from './testscript/variables';
import { readFhirXml, writeFhirXml } from '../../src/formats/xml';
import { TestScriptRunner, type PhaseReport, type RunnerRequest, type RunnerResponse, type Transport } from './testscript-runner';

const BASE = 'http://test.example/fhir';

describe('TestScript runner: variable substitution', function () {
  it('replaces each ${name} with its value, in order, and lists the names', function () {
    const vars: Record<string, string> = { a: '1', long_name: 'x y' };
    assert.equal(substitute('/${a}?q=${long_name}&r=${a}', (n) => vars[n]!), '/1?q=x y&r=1');
    assert.deepEqual(referencedVariables('/${a}?q=${long_name}&r=${a}'), ['a', 'long_name']);
  });

  it('is one pass: a value containing ${...} is not expanded again', function () {
    assert.equal(
      substitute('${a}', (n) => (n === 'a' ? '${b}' : 'B')),
      '${b}',
    );
  });

  it('propagates an unresolved variable as an error naming it', function () {
    assert.throws(
      () =>
        substitute('x${missing}', (n) => {
          throw new UnresolvedVariableError(n, 'not declared');
        }),
      /\$\{missing\} has no value: not declared/,
    );
  });

  it('leaves text without ${ unchanged and never calls the resolver (property)', function () {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('${')),
        (s) => substitute(s, () => assert.fail('resolver called')) === s,
      ),
    );
  });

  it('the result contains every value and none of the placeholders (property)', function () {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/);
    const chunk = fc.string().filter((s) => !s.includes('$') && !s.includes('{') && !s.includes('}'));
    fc.assert(
      fc.property(fc.array(fc.tuple(chunk, name)), chunk, (parts, tail) => {
        const text = parts.map(([c, n]) => `${c}\${${n}}`).join('') + tail;
        const out = substitute(text, (n) => `<${n.toUpperCase()}>`);
        return out === parts.map(([c, n]) => `${c}<${n.toUpperCase()}>`).join('') + tail && !out.includes('${');
      }),
    );
  });
});

describe('TestScript runner: assert operators', function () {
  const table: Array<[AssertOperator, string | undefined, string | undefined, boolean]> = [
    ['equals', '200', '200', true],
    ['equals', '201', '200', false],
    ['equals', undefined, '200', false],
    ['notEquals', '201', '200', true],
    ['notEquals', '200', '200', false],
    ['in', '204', '200, 204', true],
    ['in', '404', '200,204', false],
    ['notIn', '404', '200,204', true],
    ['notIn', '200', '200,204', false],
    ['greaterThan', '10', '9', true],
    ['greaterThan', '9', '10', false],
    ['greaterThan', 'b', 'a', true],
    ['lessThan', '9', '10', true],
    ['lessThan', '10', '10', false],
    ['lessThan', undefined, '10', false],
    ['empty', undefined, undefined, true],
    ['empty', '', undefined, true],
    ['empty', 'x', undefined, false],
    ['notEmpty', 'x', undefined, true],
    ['notEmpty', undefined, undefined, false],
    ['contains', 'http://x/Patient?family=a', 'family', true],
    ['contains', 'http://x/Patient?given=a', 'family', false],
    ['notContains', 'abc', 'z', true],
    ['notContains', 'abc', 'b', false],
  ];
  for (const [op, received, expected, ok] of table) {
    it(`${op}: ${JSON.stringify(received)} vs ${JSON.stringify(expected)} ${ok ? 'passes' : 'fails'}`, function () {
      const r = compare(op, received, expected);
      assert.equal(r.ok, ok, r.message);
    });
  }

  it('an operator that needs a value fails without one', function () {
    assert.equal(compare('equals', 'x', undefined).ok, false);
  });

  it('complementary operators never agree (property)', function () {
    const value = fc.option(fc.string({ maxLength: 6 }), { nil: undefined });
    fc.assert(
      fc.property(value, fc.string({ maxLength: 6 }), (received, expected) => {
        const pairs: Array<[AssertOperator, AssertOperator]> = [
          ['equals', 'notEquals'],
          ['in', 'notIn'],
          ['contains', 'notContains'],
          ['empty', 'notEmpty'],
        ];
        return pairs.every(([a, b]) => compare(a, received, expected).ok !== compare(b, received, expected).ok);
      }),
    );
  });

  it('knows every R4 assert-operator-code', function () {
    assert.deepEqual([...OPERATORS].sort(), ['contains', 'empty', 'equals', 'eval', 'greaterThan', 'in', 'lessThan', 'notContains', 'notEmpty', 'notEquals', 'notIn'].sort());
  });
});

describe('TestScript runner: XPath paths and minimumId', function () {
  it('translates simple XPath element steps to FHIRPath', function () {
    assert.equal(xpathToFhirPath('fhir:Patient/fhir:name/fhir:family/@value'), 'Patient.name.family');
    assert.equal(xpathToFhirPath('Patient/id'), 'Patient.id');
    assert.equal(xpathToFhirPath('/fhir:Bundle/fhir:type/@value'), 'Bundle.type');
  });

  it('refuses predicates, other attributes and JSONPath', function () {
    assert.equal(xpathToFhirPath('fhir:Patient/fhir:name[1]/fhir:family/@value'), undefined);
    assert.equal(xpathToFhirPath('fhir:Patient/fhir:name/@id'), undefined);
    assert.equal(xpathToFhirPath('$.name[0].family'), undefined);
    assert.equal(xpathToFhirPath('@value'), undefined);
  });

  it('minimumId: a subset passes, missing or different content fails with its path', function () {
    const actual = { resourceType: 'Patient', id: 'p', name: [{ family: 'A', given: ['B', 'C'] }, { given: ['D'] }], meta: { versionId: '2' } };
    assert.deepEqual(minimumIdDifferences({ resourceType: 'Patient', name: [{ given: ['D'] }, { family: 'A' }] }, actual), []);
    assert.deepEqual(minimumIdDifferences({ name: [{ family: 'Z' }] }, actual), ['name[0]']);
    assert.deepEqual(minimumIdDifferences({ gender: 'male' }, actual), ['gender']);
    assert.deepEqual(minimumIdDifferences({ name: [{ given: ['D'] }, { given: ['D'] }] }, actual), ['name[1]'], 'one actual item matches one minimum item only');
  });
});

// ---------------------------------------------------------------------------------------------
// A fake FHIR server: enough of read/create/update/delete/search to drive hand-written scripts.

interface FakeServer {
  transport: Transport;
  requests: RunnerRequest[];
  store: Map<string, Record<string, unknown>>;
}

function fakeServer(): FakeServer {
  const store = new Map<string, Record<string, unknown>>();
  const requests: RunnerRequest[] = [];
  let next = 1;
  const json = (status: number, body?: unknown, headers: Record<string, string> = {}): RunnerResponse => {
    const text = body === undefined ? '' : JSON.stringify(body);
    return { status, headers: { ...(body !== undefined ? { 'content-type': 'application/fhir+json; charset=utf-8' } : {}), ...headers }, text, body };
  };
  const outcome = (status: number, diagnostics: string): RunnerResponse => json(status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics }] });
  let xmlAnswer = false;
  const transport: Transport = async (req) => {
    const answer = await respond(req);
    if (!xmlAnswer || answer.body === undefined) return answer;
    return { ...answer, headers: { ...answer.headers, 'content-type': 'application/fhir+xml; charset=utf-8' }, text: writeFhirXml(answer.body) };
  };
  const respond = async (req: RunnerRequest): Promise<RunnerResponse> => {
    requests.push(req);
    xmlAnswer = /xml/.test(req.headers['accept'] ?? '');
    const [pathPart, query = ''] = req.path.split('?') as [string, string?];
    const segs = pathPart.split('/').filter((s) => s !== '');
    const [type, id] = segs as [string?, string?];
    const body = req.body === undefined ? undefined : /xml/.test(req.headers['content-type'] ?? '') ? readFhirXml(req.body).value : (JSON.parse(req.body) as Record<string, unknown>);
    const save = (t: string, i: string, created: boolean): RunnerResponse => {
      const prev = store.get(`${t}/${i}`);
      const version = String(Number((prev?.['meta'] as { versionId?: string } | undefined)?.versionId ?? '0') + 1);
      const stored = { ...body, id: i, meta: { versionId: version, lastUpdated: '2024-01-01T00:00:00Z' } };
      store.set(`${t}/${i}`, stored);
      return json(created ? 201 : 200, stored, { location: `${BASE}/${t}/${i}/_history/${version}`, 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' });
    };
    if (!type) return outcome(400, 'no type');
    if (req.method === 'POST' && !id) return save(type, `srv-${next++}`, true);
    if (req.method === 'PUT' && id) {
      if (body?.['id'] !== id) return outcome(400, 'id mismatch');
      return save(type, id, !store.has(`${type}/${id}`));
    }
    if (req.method === 'GET' && id && (segs.length === 2 || (segs.length === 4 && segs[2] === '_history'))) {
      const r = store.get(`${type}/${id}`);
      return r ? json(200, r, { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }) : outcome(404, `${type}/${id} not found`);
    }
    if (req.method === 'DELETE' && id) {
      store.delete(`${type}/${id}`);
      return json(204);
    }
    if (req.method === 'GET' && !id) {
      const family = new URLSearchParams(query).get('family');
      const matches = [...store.entries()].filter(([k, r]) => k.startsWith(`${type}/`) && (!family || JSON.stringify(r['name'] ?? '').includes(family)));
      return json(200, { resourceType: 'Bundle', type: 'searchset', total: matches.length, link: [{ relation: 'self', url: `${BASE}${req.path}` }], entry: matches.map(([, r]) => ({ resource: r })) });
    }
    return outcome(405, 'not supported by the fake');
  };
  return { transport, requests, store };
}

const OPS = 'http://terminology.hl7.org/CodeSystem/testscript-operation-codes';

function op(code: string, more: Partial<TestScriptSetupActionOperation> = {}): TestScriptSetupAction {
  return { operation: { type: { system: OPS, code }, encodeRequestUrl: true, ...more } };
}

function check(more: Partial<TestScriptSetupActionAssert>): TestScriptSetupAction {
  return { assert: { warningOnly: false, ...more } };
}

function script(parts: Partial<TestScript>): TestScript {
  return { resourceType: 'TestScript', name: 'unit', status: 'draft', url: 'urn:test', ...parts };
}

function outcomes(r: PhaseReport): string[] {
  return r.actions.map((a) => `${a.outcome} ${a.label}`);
}

describe('TestScript runner: hand-written scripts against a fake server', function () {
  let dir: string;
  const patient = { resourceType: 'Patient', id: 'pat-1', name: [{ family: 'Chalmers', given: ['Peter'] }], gender: 'male' };

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testscript-runner-'));
    fs.mkdirSync(path.join(dir, 'fx'));
    fs.writeFileSync(path.join(dir, 'fx', 'patient.json'), JSON.stringify(patient));
    fs.writeFileSync(path.join(dir, 'fx', 'patient-min.json'), JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Chalmers' }] }));
    fs.writeFileSync(path.join(dir, 'fx', 'other.json'), JSON.stringify({ resourceType: 'Patient', id: 'other', gender: 'female' }));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fixtures = [
    { id: 'f-patient', autocreate: false, autodelete: false, resource: { reference: 'fx/patient.json' } },
    { id: 'f-min', autocreate: false, autodelete: false, resource: { reference: 'fx/patient-min.json' } },
    { id: 'f-other', autocreate: false, autodelete: false, resource: { reference: 'fx/other.json' } },
  ];

  it('substitutes variables from a fixture path, a response header, an expression, a default and the tester', async function () {
    const server = fakeServer();
    const s = script({
      fixture: fixtures,
      variable: [
        { name: 'pid', path: 'Patient/id', sourceId: 'f-patient' },
        { name: 'loc', headerField: 'Location', sourceId: 'created' },
        { name: 'family', expression: 'Patient.name.first().family', sourceId: 'f-patient' },
        { name: 'dflt', defaultValue: 'male' },
        { name: 'asked', hint: '[a given name]' },
      ],
      setup: { action: [op('update', { resource: 'Patient', params: '/${pid}', sourceId: 'f-patient', responseId: 'created' }), check({ responseCode: '201' })] },
      test: [
        {
          name: 'uses them',
          action: [
            op('read', { url: '${loc}' }),
            check({ response: 'okay' }),
            op('search', { resource: 'Patient', params: '?family=${family}&gender=${dflt}&given=${asked}' }),
            check({ requestURL: 'family=Chalmers&gender=male&given=Peter', operator: 'contains' }),
            check({ expression: 'Bundle.total', value: '1' }),
          ],
        },
      ],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir, variables: { asked: 'Peter' } });
    const setup = await runner.setup();
    assert.equal(setup.outcome, 'pass', outcomes(setup).join('\n'));
    const test = await runner.runTest(0);
    assert.equal(test.outcome, 'pass', test.actions.map((a) => `${a.outcome} ${a.label}: ${a.message}`).join('\n'));
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      ['PUT /Patient/pat-1', 'GET /Patient/pat-1/_history/1', 'GET /Patient?family=Chalmers&gender=male&given=Peter'],
    );
  });

  it('an unresolved variable makes its operation an error and stops the test', async function () {
    const server = fakeServer();
    const s = script({
      variable: [{ name: 'asked', hint: '[id]' }],
      test: [{ name: 't', action: [op('read', { resource: 'Patient', params: '/${asked}' }), check({ response: 'okay' })] }],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir });
    await runner.setup();
    const r = await runner.runTest(0);
    assert.equal(r.outcome, 'fail');
    assert.deepEqual(outcomes(r), ['error read', 'skip assert']);
    assert.match(r.actions[0]!.message, /\$\{asked\} has no value: it must be supplied by the tester \(hint: \[id\]\)/);
    assert.equal(server.requests.length, 0);
  });

  it('fails asserts that do not hold (each kind), and skips what follows a failure', async function () {
    const server = fakeServer();
    const failing: Array<Partial<TestScriptSetupActionAssert>> = [
      { response: 'created' },
      { responseCode: '404' },
      { responseCode: '200,204', operator: 'notIn' },
      { resource: 'Observation' },
      { contentType: 'application/fhir+xml' },
      { headerField: 'ETag', operator: 'notEmpty' },
      { expression: 'Patient.name.family', value: 'Smith' },
      { expression: 'Patient.gender = \'female\'' },
      { path: 'fhir:Patient/fhir:name/fhir:given/@value', value: 'Paul' },
      { expression: 'Patient.name.family', compareToSourceId: 'f-other', compareToSourceExpression: 'Patient.gender' },
      { minimumId: 'f-other' },
      { navigationLinks: true },
      { requestMethod: 'post' },
      { requestURL: '/Observation', operator: 'contains' },
      { expression: 'Patient.name.count()', value: '1', operator: 'greaterThan' },
    ];
    const s = script({
      fixture: fixtures,
      setup: { action: [op('update', { resource: 'Patient', params: '/pat-1', sourceId: 'f-patient' })] },
      test: failing.map((a, i) => ({ name: `fails ${i}`, action: [op('read', { targetId: 'f-patient' }), check({ label: `a${i}`, ...a }), check({ label: 'after', response: 'okay' })] })),
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir });
    assert.equal((await runner.setup()).outcome, 'pass');
    for (let i = 0; i < failing.length; i++) {
      const r = await runner.runTest(i);
      assert.equal(r.outcome, 'fail', `${JSON.stringify(failing[i])} should fail: ${r.actions.map((a) => a.message).join(' | ')}`);
      assert.deepEqual(outcomes(r), ['pass read', `fail a${i}`, 'skip after'], JSON.stringify(failing[i]));
    }
  });

  it('passes the same kinds of assert when they hold', async function () {
    const server = fakeServer();
    const passing: Array<Partial<TestScriptSetupActionAssert>> = [
      { response: 'okay' },
      { responseCode: '200' },
      { responseCode: '200,204', operator: 'in' },
      { resource: 'Patient' },
      { contentType: 'json' },
      { headerField: 'Last-Modified', operator: 'notEmpty' },
      { expression: 'Patient.name.family', value: 'Chalmers' },
      { expression: 'Patient.gender = \'male\'' },
      { path: 'fhir:Patient/fhir:name/fhir:given/@value', value: 'Peter' },
      { expression: 'Patient.name.family', compareToSourceId: 'f-patient', compareToSourceExpression: 'Patient.name.first().family' },
      { path: 'fhir:Patient/fhir:name/fhir:family/@value', compareToSourceId: 'f-patient', compareToSourcePath: 'fhir:Patient/fhir:name/fhir:family/@value' },
      { minimumId: 'f-min' },
      { requestMethod: 'get' },
      { requestURL: '/Patient/pat-1', operator: 'contains' },
      { expression: 'Patient.name.given.count()', value: '0', operator: 'greaterThan' },
      { headerField: 'ETag', operator: 'empty' },
    ];
    const s = script({
      fixture: fixtures,
      setup: { action: [op('update', { resource: 'Patient', params: '/pat-1', sourceId: 'f-patient' })] },
      test: [{ name: 'all pass', action: [op('read', { targetId: 'f-patient', responseId: 'r' }), ...passing.map((a, i) => check({ label: `a${i}`, ...a }))] }],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir });
    assert.equal((await runner.setup()).outcome, 'pass');
    const r = await runner.runTest(0);
    assert.equal(r.outcome, 'pass', r.actions.filter((a) => a.outcome !== 'pass').map((a) => `${a.label}: ${a.message}`).join('\n'));
  });

  it('warningOnly turns a failure into a warning and the test goes on', async function () {
    const server = fakeServer();
    const s = script({
      fixture: fixtures,
      test: [{ name: 't', action: [op('read', { resource: 'Patient', params: '/nope' }), check({ label: 'w', response: 'okay', warningOnly: true }), check({ label: 'x', response: 'notFound' })] }],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir });
    await runner.setup();
    const r = await runner.runTest(0);
    assert.deepEqual(outcomes(r), ['pass read', 'warning w', 'pass x']);
    assert.equal(r.outcome, 'pass');
  });

  it('reports unsupported features instead of passing them', async function () {
    const server = fakeServer();
    const s = script({
      fixture: fixtures,
      profile: [{ id: 'p', reference: 'http://example.org/StructureDefinition/custom' }],
      test: [
        {
          name: 't',
          action: [
            op('update', { resource: 'Patient', params: '/pat-1', sourceId: 'f-patient', accept: 'xml', contentType: 'xml' }),
            check({ label: 'format', contentType: 'xml' }),
            check({ label: 'profile', validateProfileId: 'p' }),
            check({ label: 'jsonpath', path: '$.name[0].family', value: 'Chalmers' }),
            op('$everything', { resource: 'Patient' }),
            check({ label: 'after-unsupported-op', response: 'okay' }),
          ],
        },
      ],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir, serverFormats: ['application/fhir+json'] });
    await runner.setup();
    const r = await runner.runTest(0);
    assert.deepEqual(outcomes(r), ['pass update', 'unsupported format', 'unsupported profile', 'unsupported jsonpath', 'unsupported $everything', 'unsupported after-unsupported-op']);
    assert.equal(r.outcome, 'unsupported');
    assert.equal(server.requests[0]!.headers['accept'], 'application/fhir+json', 'XML replaced by the format the server speaks');
    assert.match(r.actions[0]!.message, /application\/fhir\+xml replaced by application\/fhir\+json/);
  });

  it('speaks FHIR XML: XML bodies written from the fixtures, XML answers read, XPath 1.0 over them', async function () {
    const server = fakeServer();
    const s = script({
      fixture: fixtures,
      variable: [{ name: 'given2', path: 'fhir:Patient/fhir:name[1]/fhir:given[1]/@value', sourceId: 'f-patient' }],
      setup: { action: [op('update', { resource: 'Patient', params: '/pat-1', sourceId: 'f-patient', accept: 'xml', contentType: 'xml', requestId: 'sent' })] },
      test: [
        {
          name: 'xml',
          action: [
            check({ label: 'request-format', direction: 'request', contentType: 'xml' }),
            check({ label: 'request-path', direction: 'request', path: 'fhir:Patient/fhir:gender/@value', value: 'male' }),
            op('read', { targetId: 'f-patient', accept: 'xml', responseId: 'r' }),
            check({ label: 'format', contentType: 'xml' }),
            check({ label: 'resource', resource: 'Patient' }),
            check({ label: 'fhirpath', expression: 'Patient.name.family', value: 'Chalmers' }),
            check({ label: 'predicate', path: 'fhir:Patient/fhir:name[fhir:family/@value="Chalmers"]/fhir:given/@value', value: '${given2}' }),
            check({ label: 'count', path: 'count(fhir:Patient/fhir:name)', value: '1' }),
            check({ label: 'boolean', path: 'boolean(fhir:Patient/fhir:meta/fhir:versionId)' }),
            check({ label: 'compare', path: 'fhir:Patient/fhir:name/fhir:family/@value', compareToSourceId: 'sent', compareToSourcePath: 'fhir:Patient/fhir:name/fhir:family/@value' }),
            check({ label: 'shorthand', path: 'Patient/gender', value: 'male' }),
          ],
        },
        { name: 'xpath-fails', action: [op('read', { targetId: 'f-patient', accept: 'xml' }), check({ label: 'wrong', path: 'fhir:Patient/fhir:gender/@value', value: 'female' })] },
        { name: 'xpath-bad', action: [op('read', { targetId: 'f-patient' }), check({ label: 'syntax', path: 'fhir:Patient/[', value: 'x' })] },
      ],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir, serverFormats: ['application/fhir+json', 'application/fhir+xml'] });
    assert.equal((await runner.setup()).outcome, 'pass');
    assert.equal(server.requests[0]!.headers['content-type'], 'application/fhir+xml');
    assert.match(server.requests[0]!.body ?? '', /^<\?xml version="1\.0" encoding="UTF-8"\?><Patient xmlns="http:\/\/hl7\.org\/fhir"><id value="pat-1"\/>/);
    const r = await runner.runTest(0);
    assert.equal(r.outcome, 'pass', r.actions.filter((a) => a.outcome !== 'pass').map((a) => `${a.label}: ${a.message}`).join('\n'));
    assert.match(r.actions.find((a) => a.label === 'predicate')!.message, /\(XPath\) equals "Peter"/);
    assert.deepEqual(outcomes(await runner.runTest(1)), ['pass read', 'fail wrong']);
    const bad = await runner.runTest(2);
    assert.deepEqual(outcomes(bad), ['pass read', 'fail syntax']);
    assert.match(bad.actions[1]!.message, /XPath fhir:Patient\/\[ could not be evaluated/);
  });

  it('autocreate POSTs the fixture in setup, targetId follows the server id, autodelete removes it in teardown', async function () {
    const server = fakeServer();
    const s = script({
      fixture: [{ id: 'auto', autocreate: true, autodelete: true, resource: { reference: 'fx/patient.json' } }],
      test: [{ name: 't', action: [op('read', { targetId: 'auto' }), check({ response: 'okay' }), check({ expression: 'Patient.id', value: 'srv-1' })] }],
    });
    const runner = new TestScriptRunner(s, { transport: server.transport, baseUrl: BASE, fixtureDir: dir });
    assert.equal((await runner.setup()).outcome, 'pass');
    assert.equal((await runner.runTest(0)).outcome, 'pass');
    const teardown = await runner.teardown();
    assert.equal(teardown.outcome, 'pass');
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      ['POST /Patient', 'GET /Patient/srv-1', 'DELETE /Patient/srv-1'],
    );
    assert.equal(server.store.size, 0);
  });

  it('an update of a fixture to another id sends the URL id (reported), or the server rejects it when alignment is off', async function () {
    const s = script({
      fixture: fixtures,
      test: [{ name: 't', action: [op('update', { resource: 'Patient', params: '/elsewhere', sourceId: 'f-patient' }), check({ responseCode: '201' })] }],
    });
    const aligned = new TestScriptRunner(s, { transport: fakeServer().transport, baseUrl: BASE, fixtureDir: dir });
    await aligned.setup();
    const r1 = await aligned.runTest(0);
    assert.equal(r1.outcome, 'pass');
    assert.match(r1.actions[0]!.message, /id "pat-1" sent as "elsewhere"/);
    const strict = new TestScriptRunner(s, { transport: fakeServer().transport, baseUrl: BASE, fixtureDir: dir, alignUpdateId: false });
    await strict.setup();
    assert.equal((await strict.runTest(0)).outcome, 'fail');
  });

  it('a failed setup assert fails the setup phase', async function () {
    const s = script({ fixture: fixtures, setup: { action: [op('read', { resource: 'Patient', params: '/absent' }), check({ label: 's', response: 'okay' })] } });
    const runner = new TestScriptRunner(s, { transport: fakeServer().transport, baseUrl: BASE, fixtureDir: dir });
    const setup = await runner.setup();
    assert.equal(setup.outcome, 'fail');
    assert.deepEqual(outcomes(setup), ['pass read', 'fail s']);
  });

  it('a missing fixture file is a setup error', async function () {
    const s = script({ fixture: [{ id: 'gone', autocreate: false, autodelete: false, resource: { reference: 'fx/does-not-exist.json' } }] });
    const runner = new TestScriptRunner(s, { transport: fakeServer().transport, baseUrl: BASE, fixtureDir: dir });
    const setup = await runner.setup();
    assert.equal(setup.outcome, 'fail');
    assert.match(setup.actions[0]!.message, /cannot load fx\/does-not-exist.json/);
  });
});
