import assert from 'node:assert/strict';
import type { Patient } from 'fhir/r4';
import { spineIndexEntries, TRACE_CURRENT, TRACE_HISTORY } from './search-keys';

describe('Trace index keys', () => {
  const p: Patient = {
    resourceType: 'Patient',
    name: [{ family: 'Smith-Jones', given: ['Mary Ann'] }, { use: 'old', family: 'Brown', given: ['Mary'] }],
    birthDate: '1970-12-01',
    address: [{ postalCode: 'ls1 6ae' }, { postalCode: 'M1 1AA', period: { end: '2001-01-01' } }],
  };
  const entries = spineIndexEntries(p, new Date('2024-01-01T00:00:00Z'));
  const has = (param: string, system: string, code: string): boolean => entries.some((e) => e.param === param && e.system === system && e.code === code);

  it('indexes phonetic, normalised and postcode keys with current and history systems', () => {
    assert.ok(has('spine-family-phonetic', TRACE_CURRENT, 'S532'));
    assert.ok(has('spine-family-phonetic', TRACE_CURRENT, 'J520'));
    assert.ok(has('spine-family-phonetic', TRACE_HISTORY, 'B650'));
    assert.ok(has('spine-name', TRACE_CURRENT, 'smithjones'));
    assert.ok(has('spine-name', TRACE_CURRENT, 'maryann'));
    assert.ok(has('spine-postcode', TRACE_CURRENT, 'LS16AE'));
    assert.ok(has('spine-postcode', TRACE_CURRENT, 'LS1'));
    assert.ok(has('spine-postcode', TRACE_HISTORY, 'M11AA'));
  });

  it('indexes blocking keys joining name, birth date and postcode', () => {
    assert.ok(has('spine-block', TRACE_CURRENT, 'ND:smithjones:1970-12-01'));
    assert.ok(has('spine-block', TRACE_CURRENT, 'ND:jones:1970-12-01'));
    assert.ok(has('spine-block', TRACE_CURRENT, 'FD:S532:1970-12-01'));
    assert.ok(has('spine-block', TRACE_CURRENT, 'GD:M650:1970-12-01'));
    assert.ok(has('spine-block', TRACE_CURRENT, 'FG:S532:M650'));
    assert.ok(has('spine-block', TRACE_CURRENT, 'PD:LS16AE:1970-12-01'));
    assert.ok(has('spine-block', TRACE_HISTORY, 'ND:brown:1970-12-01'));
  });

  it('gives no birth-date keys for a partial birth date and no duplicate entries', () => {
    const e = spineIndexEntries({ ...p, birthDate: '1970' });
    assert.ok(!e.some((x) => /:1970/.test(x.code ?? '')));
    assert.equal(new Set(entries.map((x) => `${x.param}|${x.system}|${x.code}`)).size, entries.length);
  });
});
