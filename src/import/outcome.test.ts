import assert from 'node:assert/strict';
import { interpret, isRequiredProfileRejection } from './outcome';
import { unitsOfJson, unitsOfNdjson } from './units';

const oo = (diagnostics: string) => ({ resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'invalid' as const, diagnostics }] });

describe('import outcome', () => {
  it('a batch answer loads its 2xx entries and rejects the others with their outcome and source position', () => {
    const unit = unitsOfNdjson('f.ndjson', '{"resourceType":"Patient"}\n\n{"resourceType":"Patient"}').units[0]!;
    const r = interpret(unit, { status: 200, body: { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '201 Created' } }, { response: { status: '422', outcome: oo('bad gender') } }] } });
    assert.equal(r.loaded, 1);
    assert.equal(r.rejected, 1);
    assert.deepEqual(r.rejectedEntries, [1]);
    assert.deepEqual(r.rejections, [{ file: 'f.ndjson', entry: 3, status: 422, resources: 1, diagnostics: ['bad gender'] }]);
  });

  it('a failed transaction rejects every entry, once, with the diagnostics; a successful one loads them all', () => {
    const unit = unitsOfJson('t.json', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{}, {}, {}] })).units[0]!;
    const bad = interpret(unit, { status: 422, body: oo('Bundle.entry[1] (POST Patient): wrong') });
    assert.equal(bad.rejected, 3);
    assert.equal(bad.rejections.length, 1);
    assert.deepEqual(bad.rejections[0], { file: 't.json', status: 422, resources: 3, diagnostics: ['Bundle.entry[1] (POST Patient): wrong'] });
    assert.equal(interpret(unit, { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response' } }).loaded, 3);
    assert.deepEqual(interpret(unit, { status: 502 }).rejections[0]!.diagnostics, ['the server answered 502']);
  });

  it('tells rejections by a required profile apart', () => {
    const url = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient';
    assert.equal(isRequiredProfileRejection({ file: 'f', status: 422, resources: 1, diagnostics: [`x (from ${url})`] }, [url]), true);
    assert.equal(isRequiredProfileRejection({ file: 'f', status: 422, resources: 1, diagnostics: ['required for Patient (REQUIRED_PROFILES)'] }, []), true);
    assert.equal(isRequiredProfileRejection({ file: 'f', status: 422, resources: 1, diagnostics: ['Patient.gender: bad code'] }, [url]), false);
  });
});
